#include <string.h>
#include <strings.h>

#include "route/rewrite.h"

size_t gh_route_rewrite_max(const gh_route_conf *r, size_t len)
{
    return r->rewrite.path_len + (r->rewrite.refs + 1) * len + 1;
}

/* Refuses the escaped separators in bytes copied from the client, a capture or the rest after
 * the prefix (normalization upper-cases escapes; either case is refused all the same). */
static gh_reason no_separators(const char *s, size_t n, bool capture, const char **detail)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if (s[i] != '%')
            continue;
        if (strncasecmp(s + i + 1, "2F", 2) == 0) {
            *detail = capture ? "a capture the route's rewrite.path fills holds an encoded slash"
                              : "the path after the prefix rewrite.prefix replaces holds an "
                                "encoded slash";
            return GH_R_ENCODED_SLASH;
        }
        if (strncasecmp(s + i + 1, "5C", 2) == 0) {
            *detail = capture ? "a capture the route's rewrite.path fills holds an encoded "
                                "backslash"
                              : "the path after the prefix rewrite.prefix replaces holds an "
                                "encoded backslash";
            return GH_R_BACKSLASH;
        }
    }
    return GH_R_OK;
}

/* rewrite.prefix in place of match.prefix, segment by segment: the rest of the path (empty, or
 * from a '/') follows the new prefix without a doubled slash. "/" as match.prefix matches the
 * whole path, which is then the rest. */
static gh_reason replace_prefix(const gh_route_conf *r, const char *path, size_t len, char *out,
                                size_t *out_len, const char **detail)
{
    size_t matched = r->path_len == 1 ? 0 : r->path_len;
    const char *rest = path + matched;
    size_t rest_len = len - matched, n = r->rewrite.path_len;
    gh_reason reason = no_separators(rest, rest_len, false, detail);
    if (reason != GH_R_OK)
        return reason;
    if (rest_len && r->rewrite.path[n - 1] == '/')
        n--;
    memcpy(out, r->rewrite.path, n);
    memcpy(out + n, rest, rest_len);
    *out_len = n + rest_len;
    out[*out_len] = '\0';
    return GH_R_OK;
}

static const gh_route_param *capture(const gh_route_match *m, const char *name, size_t len)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (m->params[i].name_len == len && memcmp(m->params[i].name, name, len) == 0)
            return &m->params[i];
    return NULL;
}

/* rewrite.path with its {name}s filled. A capture is one non-empty segment of the canonical
 * path, so never "." or ".." and never holding a '/': it stays the one segment it fills. */
static gh_reason fill_template(const gh_route_match *m, char *out, size_t *out_len,
                               const char **detail)
{
    const gh_rewrite_conf *rw = &m->route->rewrite;
    const char *t = rw->path, *end = rw->path + rw->path_len;
    size_t n = 0;
    while (t < end) {
        const char *open = memchr(t, '{', (size_t)(end - t));
        const char *lit_end = open ? open : end;
        memcpy(out + n, t, (size_t)(lit_end - t));
        n += (size_t)(lit_end - t);
        if (!open)
            break;
        const char *close = memchr(open, '}', (size_t)(end - open));
        const gh_route_param *p = capture(m, open + 1, (size_t)(close - open - 1));
        if (!p) { /* the configuration checks every name: a fault if it happens */
            *detail = "rewrite.path names a capture the match did not fill";
            return GH_R_INTERNAL;
        }
        gh_reason reason = no_separators(p->value, p->value_len, true, detail);
        if (reason != GH_R_OK)
            return reason;
        memcpy(out + n, p->value, p->value_len);
        n += p->value_len;
        t = close + 1;
    }
    *out_len = n;
    out[n] = '\0';
    return GH_R_OK;
}

gh_reason gh_route_rewrite(const gh_route_match *m, const char *path, size_t len, char *out,
                           size_t *out_len, const char **detail)
{
    if (m->route->rewrite.kind == GH_REWRITE_PREFIX)
        return replace_prefix(m->route, path, len, out, out_len, detail);
    return fill_template(m, out, out_len, detail);
}
