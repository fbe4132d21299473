/* Verdicts and their evidence: what a case sent, what came back, what the upstream received,
 * as printable text that every report can carry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/locate.h"
#include "probe/probe_internal.h"

static void verdict(gh_probe_result *r, gh_probe_verdict v, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    r->verdict = v;
    r->why = gh_arena_strdup(r->arena, buf);
}

#define VERDICT(name, v)                                                                      \
    void name(gh_probe_result *r, const char *fmt, ...)                                       \
    {                                                                                         \
        va_list ap;                                                                           \
        va_start(ap, fmt);                                                                    \
        verdict(r, v, fmt, ap);                                                               \
        va_end(ap);                                                                           \
    }
VERDICT(gh_probe_pass, GH_PV_PASS)
VERDICT(gh_probe_fail, GH_PV_FAIL)
VERDICT(gh_probe_skip, GH_PV_SKIP)
VERDICT(gh_probe_error, GH_PV_ERROR)

void gh_probe_aim(gh_probe *p, gh_probe_result *r, const gh_route_conf *route)
{
    if (!route || !p->conf)
        return;
    r->route = route->name;
    r->line = r->col = 0;
    if (p->loc) {
        char key[64];
        snprintf(key, sizeof(key), "routes[%zu]", (size_t)(route - p->conf->routes));
        gh_locator_where(p->loc, key, &r->line, &r->col);
    }
}

/* Appends the escaped form of s[0..len) to out (cap bytes, NUL kept), from *n; false once full. */
static bool escape_into(char *out, size_t cap, size_t *n, const char *s, size_t len, size_t *done)
{
    static const char hex[] = "0123456789abcdef";
    for (*done = 0; *done < len; (*done)++) {
        unsigned char c = (unsigned char)s[*done];
        char e[5] = {0};
        if (c == '\r' || c == '\n' || c == '\t' || c == '\\') {
            e[0] = '\\';
            e[1] = c == '\r' ? 'r' : c == '\n' ? 'n' : c == '\t' ? 't' : '\\';
        } else if (c < 0x20 || c >= 0x7f) {
            e[0] = '\\', e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15];
        } else {
            e[0] = (char)c;
        }
        size_t el = strlen(e);
        if (*n + el >= cap)
            return false;
        memcpy(out + *n, e, el);
        *n += el;
    }
    out[*n] = '\0';
    return true;
}

const char *gh_probe_escape_parts(gh_probe *p, const char *const *parts, const size_t *lens,
                                  size_t nparts)
{
    char *out = gh_arena_alloc(&p->arena, GH_PROBE_EVIDENCE_MAX + 64);
    if (!out)
        return "";
    size_t n = 0, total = 0, kept = 0;
    bool full = false;
    out[0] = '\0';
    for (size_t i = 0; i < nparts; i++) {
        total += lens[i];
        size_t done = 0;
        if (!full) {
            full = !escape_into(out, GH_PROBE_EVIDENCE_MAX, &n, parts[i], lens[i], &done);
            kept += done;
        }
    }
    if (total > kept)
        snprintf(out + n, 64, "...(%zu more bytes)", total - kept);
    return out;
}

const char *gh_probe_escape(gh_probe *p, const char *bytes, size_t len)
{
    return gh_probe_escape_parts(p, &bytes, &len, 1);
}

void gh_probe_note(gh_probe *p, gh_probe_result *r, const gh_probe_exchange *x)
{
    r->sent = x->sent;
    if (x->connect_failed)
        r->observed = "(the connection was refused)";
    else if (x->tls_error)
        r->observed = gh_arena_printf(&p->arena, "(TLS handshake failed: %s)", x->tls_error);
    else if (x->nresponses == 0)
        r->observed = x->closed ? "(closed without an answer)" : "(no answer)";
    else {
        const char *heads = "";
        for (int i = 0; i < x->nresponses; i++)
            heads = gh_arena_printf(&p->arena, "%s%s%s", heads, i ? "\n--- next answer ---\n" : "",
                                    gh_probe_escape(p, x->r[i].head, x->r[i].head_len));
        r->observed = gh_arena_printf(&p->arena, "%s%s", heads,
                                      x->closed ? "\n(then the connection closed)" : "");
    }
}

const char *gh_probe_request(gh_probe *p, const char *method, const char *target,
                             const char *host, const char *extra, const char *body, size_t *len)
{
    char cl[48] = "";
    if (body)
        snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
    const char *s = gh_arena_printf(&p->arena,
                                    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " GH_PROBE_UA
                                    "\r\n%s%s\r\n%s",
                                    method, target, host, extra ? extra : "", cl, body ? body : "");
    if (len)
        *len = s ? strlen(s) : 0;
    return s ? s : "";
}

int gh_probe_upstream_note(gh_probe *p, gh_probe_result *r, gh_probe_upreq **out)
{
    if (out)
        *out = NULL;
    if (!p->server)
        return -1;
    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(p->server, &v);
    if (n == 0) {
        r->upstream = "nothing";
    } else {
        const char *text = "";
        for (size_t i = 0; i < n; i++)
            text = gh_arena_printf(&p->arena, "%s%s%s", text, i ? "\n--- next request ---\n" : "",
                                   gh_probe_escape(p, v[i].head, v[i].head_len));
        r->upstream = text;
    }
    if (out && n)
        *out = v;
    else
        gh_probe_upreqs_free(v, n);
    return (int)n;
}
