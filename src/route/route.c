#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "route/route.h"

static const struct {
    const char *name;
    size_t len;
    unsigned bit;
} methods[] = {
    {"GET", 3, GH_M_GET},         {"HEAD", 4, GH_M_HEAD},   {"POST", 4, GH_M_POST},
    {"PUT", 3, GH_M_PUT},         {"PATCH", 5, GH_M_PATCH}, {"DELETE", 6, GH_M_DELETE},
    {"OPTIONS", 7, GH_M_OPTIONS},
};

unsigned gh_route_method_bit(const char *method, size_t len)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (methods[i].len == len && memcmp(methods[i].name, method, len) == 0)
            return methods[i].bit;
    return 0;
}

size_t gh_route_allow_list(unsigned set, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (!(set & methods[i].bit))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", methods[i].name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    return n;
}

static bool host_matches(const gh_route_conf *r, const char *host, size_t len)
{
    if (!r->host)
        return true;
    if (!host)
        return false;
    size_t rl = strlen(r->host);
    if (!r->host_wildcard)
        return rl == len && strncasecmp(r->host, host, len) == 0;
    return len > rl && strncasecmp(host + len - rl, r->host, rl) == 0;
}

/* Route path bytes against request path bytes, ASCII case folded when the route says so. */
static bool same(const gh_route_conf *r, const char *a, const char *b, size_t n)
{
    return r->path_nocase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

static bool template_matches(const gh_route_conf *r, const char *path, size_t len,
                             gh_route_match *m)
{
    const char *t = r->path, *te = r->path + r->path_len, *p = path, *pe = path + len;
    m->nparams = 0;
    while (t < te && p < pe) {
        if (*t == '{') {
            const char *close = memchr(t, '}', (size_t)(te - t));
            const char *seg_end = memchr(p, '/', (size_t)(pe - p));
            if (!seg_end)
                seg_end = pe;
            if (seg_end == p || m->nparams == GH_ROUTE_MAX_PARAMS)
                return false;
            m->params[m->nparams++] =
                (gh_route_param){t + 1, (size_t)(close - t - 1), p, (size_t)(seg_end - p)};
            t = close + 1;
            p = seg_end;
        } else if (!same(r, t++, p++, 1)) {
            return false;
        }
    }
    return t == te && p == pe;
}

static bool path_matches(const gh_route_conf *r, const char *path, size_t len, gh_route_match *m)
{
    switch (r->path_kind) {
    case GH_PATH_EXACT:
        return r->path_len == len && same(r, r->path, path, len);
    case GH_PATH_PREFIX:
        if (r->path_len == 1)
            return true;
        return len >= r->path_len && same(r, r->path, path, r->path_len) &&
               (len == r->path_len || path[r->path_len] == '/');
    case GH_PATH_TEMPLATE:
        return template_matches(r, path, len, m);
    }
    return false;
}

bool gh_route_on_listener(const gh_route_conf *r, uint64_t listener)
{
    for (size_t i = 0; i < r->nlistener_ids; i++)
        if (r->listener_ids[i] == listener)
            return true;
    return r->nlistener_ids == 0;
}

gh_reason gh_route_find(const gh_config *c, uint64_t listener, const char *host, size_t host_len,
                        const char *path, size_t path_len, unsigned method, gh_route_match *m)
{
    m->route = NULL;
    m->allow = 0;
    m->nparams = 0;
    for (size_t i = 0; i < c->nroutes; i++) {
        const gh_route_conf *r = &c->routes[i];
        if (!gh_route_on_listener(r, listener) || !host_matches(r, host, host_len) ||
            !path_matches(r, path, path_len, m))
            continue;
        if (r->methods & method) {
            m->route = r;
            return GH_R_OK;
        }
        m->allow |= r->methods;
    }
    m->nparams = 0;
    return m->allow ? GH_R_METHOD_NOT_ALLOWED : GH_R_NOT_FOUND;
}
