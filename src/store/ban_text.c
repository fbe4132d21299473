/* The ban table's text (store/bans.h): what a key may be, how a reason or a detector's name is
 * kept, and the shared store's entries read back. Keys, reasons and names reach the table from
 * requests, operators and the shared store, and leave it in JSON, security events, metrics and
 * a terminal: whatever is kept must be listable as it is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "store/bans.h"

#define SKEW_S 86400 /* a peer's clock ahead of this one, at most */

bool gh_ban_key_ok(const char *key, size_t len)
{
    if (len == 0 || len >= GH_BAN_KEY_MAX)
        return false;
    const unsigned char *s = (const unsigned char *)key;
    for (size_t i = 0; i < len;) {
        size_t n = gh_utf8_char(s + i, len - i);
        if (!n || s[i] == 0)
            return false;
        i += n;
    }
    return true;
}

void gh_ban_text_copy(char *out, size_t cap, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < len && s[i];) {
        size_t n = gh_utf8_char(s + i, len - i);
        if (o + (n ? n : 1) >= cap)
            break; /* a character that does not fit whole is left out */
        if (n)
            memcpy(out + o, s + i, n);
        else
            out[o] = '?';
        o += n ? n : 1;
        i += n ? n : 1;
    }
    if (cap)
        out[o] = '\0';
}

void gh_ban_name_copy(char out[GH_BAN_NAME_MAX], const char *name, size_t len)
{
    size_t n = 0;
    for (; name && n < len && name[n] && n + 1 < GH_BAN_NAME_MAX; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        out[n] = ok ? c : '_';
    }
    if (n == 0)
        memcpy(out, "unknown", 8);
    else
        out[n] = '\0';
}

/* A decimal number from *p up to the next '|' (which is skipped), within [min, max]. */
static bool number(const char **p, const char *end, long long min, long long max, long long *out)
{
    const char *bar = memchr(*p, '|', (size_t)(end - *p));
    char text[24];
    size_t n = bar ? (size_t)(bar - *p) : 0;
    if (!bar || n == 0 || n >= sizeof(text))
        return false;
    memcpy(text, *p, n);
    text[n] = '\0';
    for (size_t i = text[0] == '-' ? 1 : 0; i < n; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    errno = 0;
    char *stop;
    long long v = strtoll(text, &stop, 10);
    if (errno || *stop || v < min || v > max)
        return false;
    *out = v;
    *p = bar + 1;
    return true;
}

bool gh_ban_parse_shared(const char *key, size_t key_len, const char *value, size_t value_len,
                         int64_t now, gh_ban *out)
{
    memset(out, 0, sizeof(*out));
    if (!gh_ban_key_ok(key, key_len) || memchr(value, '\0', value_len))
        return false;
    const char *p = value, *end = value + value_len;
    long long until, since, strikes;
    if (!number(&p, end, 0, now + GH_BAN_MAX_SECONDS + SKEW_S, &until) ||
        !number(&p, end, 0, until, &since) || !number(&p, end, 0, UINT32_MAX, &strikes))
        return false;
    const char *bar = memchr(p, '|', (size_t)(end - p));
    if (!bar)
        return false;
    memcpy(out->key, key, key_len);
    gh_ban_name_copy(out->detector, p, (size_t)(bar - p));
    gh_ban_text_copy(out->reason, sizeof(out->reason), bar + 1, (size_t)(end - bar - 1));
    out->until = until;
    out->since = since;
    out->strikes = strikes > GH_BAN_MAX_STRIKES ? GH_BAN_MAX_STRIKES : (uint32_t)strikes;
    return true;
}
