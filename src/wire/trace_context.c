/* W3C Trace Context and b3, read strictly: lowercase hex only, ids that are not all zeros, the
 * lengths the formats fix. */
#include <string.h>

#include "wire/trace_context.h"

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool all_zeros(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

/* n lowercase hex digits, not all zeros, copied into out and NUL-ended. */
static bool take_id(const char *s, size_t n, char *out)
{
    if (!lower_hex(s, n) || all_zeros(s, n))
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static uint8_t hex_byte(const char *s)
{
    uint8_t v = 0;
    for (int i = 0; i < 2; i++)
        v = (uint8_t)(v << 4 | (uint8_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10));
    return v;
}

bool gh_traceparent_parse(const char *v, size_t len, gh_trace_parent *out)
{
    /* version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 */
    if (len < GH_TRACEPARENT_LEN || !lower_hex(v, 2) || v[2] != '-' || v[35] != '-' ||
        v[52] != '-' || !lower_hex(v + 53, 2))
        return false;
    bool v00 = v[0] == '0' && v[1] == '0';
    if (v[0] == 'f' && v[1] == 'f') /* version ff is invalid */
        return false;
    if (v00 ? len != GH_TRACEPARENT_LEN : (len > GH_TRACEPARENT_LEN && v[55] != '-'))
        return false;
    if (!take_id(v + 3, GH_TRACE_ID_HEX, out->trace_id) ||
        !take_id(v + 36, GH_SPAN_ID_HEX, out->parent_id))
        return false;
    uint8_t flags = hex_byte(v + 53);
    /* A later version's other flags may mean something else: only "sampled" is understood. */
    out->flags = v00 ? flags : (uint8_t)(flags & GH_TRACE_SAMPLED);
    return true;
}

bool gh_b3_parse(const char *v, size_t len, gh_trace_parent *out)
{
    const char *dash = memchr(v, '-', len);
    size_t tlen = dash ? (size_t)(dash - v) : len;
    if (!dash || (tlen != 16 && tlen != GH_TRACE_ID_HEX))
        return false;
    char trace[GH_TRACE_ID_HEX];
    memset(trace, '0', sizeof(trace));
    memcpy(trace + GH_TRACE_ID_HEX - tlen, v, tlen);
    const char *span = dash + 1, *end = v + len;
    if ((size_t)(end - span) < GH_SPAN_ID_HEX || !take_id(trace, GH_TRACE_ID_HEX, out->trace_id) ||
        !take_id(span, GH_SPAN_ID_HEX, out->parent_id))
        return false;
    const char *p = span + GH_SPAN_ID_HEX;
    out->flags =
        GH_TRACE_SAMPLED; /* no sampling state: the receiver decides; the gateway samples */
    if (p == end)
        return true;
    if (end - p < 2 || p[0] != '-' || (p[1] != '0' && p[1] != '1' && p[1] != 'd'))
        return false;
    out->flags = p[1] == '0' ? 0 : GH_TRACE_SAMPLED;
    p += 2;
    if (p == end)
        return true;
    char parent[GH_SPAN_ID_HEX + 1];
    return end - p == 1 + GH_SPAN_ID_HEX && p[0] == '-' && take_id(p + 1, GH_SPAN_ID_HEX, parent);
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/';
}

/* simple-key: lcalpha then up to 255 key characters; multi-tenant-key: tenant-id (lcalpha or
 * DIGIT first, up to 241) "@" system-id (lcalpha first, up to 14). */
static bool key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    for (size_t i = 0; i < n; i++)
        if (k + i != at && !key_char(k[i]))
            return false;
    if (!at)
        return n >= 1 && n <= 256 && k[0] >= 'a' && k[0] <= 'z';
    size_t tenant = (size_t)(at - k), system = n - tenant - 1;
    return tenant >= 1 && tenant <= 241 && system >= 1 && system <= 14 && at[1] >= 'a' &&
           at[1] <= 'z';
}

/* 0 to 255 printable characters (space included) and a last one that is not a space; neither
 * ',' nor '='. */
static bool value_ok(const char *s, size_t n)
{
    if (n < 1 || n > 256 || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',' || s[i] == '=')
            return false;
    return true;
}

bool gh_tracestate_ok(const char *v, size_t len)
{
    const char *keys[GH_TRACESTATE_MAX_MEMBERS];
    size_t key_lens[GH_TRACESTATE_MAX_MEMBERS], members = 0;
    if (len > GH_TRACESTATE_MAX_BYTES)
        return false;
    for (const char *p = v, *end = v + len; p <= end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end, *s = p;
        p = e + 1;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e)
            continue; /* an empty member is allowed and counts for nothing */
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq || members == GH_TRACESTATE_MAX_MEMBERS || !key_ok(s, (size_t)(eq - s)) ||
            !value_ok(eq + 1, (size_t)(e - eq - 1)))
            return false;
        for (size_t i = 0; i < members; i++)
            if (key_lens[i] == (size_t)(eq - s) && memcmp(keys[i], s, key_lens[i]) == 0)
                return false;
        keys[members] = s;
        key_lens[members++] = (size_t)(eq - s);
    }
    return true;
}
