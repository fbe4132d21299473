/* The entry-point table: one row per route and method, every control that stands in front of it
 * written out; and the phrases it shares with the diagram. */
#include <openssl/ssl.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "route/route.h"
#include "core/json.h"

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

/* A list of strings joined by sep into the arena, or "-" when empty. */
static const char *joined(gh_audit *a, const char *const *items, size_t n, const char *sep)
{
    if (!n)
        return "-";
    char buf[1024];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        if (i)
            gh_sbuf_adds(&b, sep);
        gh_sbuf_adds(&b, items[i]);
    }
    return gh__audit_fmt(a, "%.*s", (int)b.len, buf);
}

const char *gh__describe_listener(gh_audit *a, const gh_listener_conf *l)
{
    static const char *const client_auth[] = {"", ", mTLS optional", ", mTLS required"};
    int ca = l->client_auth >= 0 && l->client_auth <= 2 ? l->client_auth : 0;
    const char *named = strcmp(l->name, l->address) == 0 ? "" : gh__audit_fmt(a, "%s ", l->name);
    return gh__audit_fmt(a, "%s%s (%s, %s%s)", named, l->address,
                         gh__exposure_name(gh__audit_exposure(&l->addr)), l->tls ? "TLS" : "plain HTTP",
                         client_auth[ca]);
}

const char *gh__describe_auth(gh_audit *a, const gh_route_conf *r)
{
    if (!gh__route_authenticates(r))
        return "none";
    const char *parts[4];
    size_t n = 0;
    if (r->auth_mtls)
        parts[n++] = "client certificate";
    if (r->auth_token)
        parts[n++] = gh__audit_fmt(a, "%s %s", r->auth_token->introspect ? "introspection" : "jwt",
                                   r->auth_token->name);
    if (r->auth_api_key)
        parts[n++] = gh__audit_fmt(a, "api_key %s", r->auth_api_key->name);
    if (r->auth_hmac)
        parts[n++] = gh__audit_fmt(a, "hmac %s", r->auth_hmac->name);
    return joined(a, parts, n, " + ");
}

static const char *describe_authz(gh_audit *a, const gh_route_conf *r)
{
    const char *parts[5];
    size_t n = 0;
    const gh_authz_conf *z = &r->authz;
    if (z->nscopes)
        parts[n++] = gh__audit_fmt(a, "scopes %s", joined(a, z->scopes, z->nscopes, " "));
    if (z->nscopes_any)
        parts[n++] = gh__audit_fmt(a, "any of %s", joined(a, z->scopes_any, z->nscopes_any, " "));
    if (z->nclaims) {
        const char *names[16]; /* the table names the first 16 claims */
        size_t k = 0;
        for (size_t i = 0; i < z->nclaims && k < 16; i++)
            names[k++] = z->claims[i].claim;
        parts[n++] = gh__audit_fmt(a, "claims %s", joined(a, names, k, " "));
    }
    const gh_mtls_rule *m = r->auth_mtls;
    if (m && (m->nspiffe_ids || m->nsubjects || m->nfingerprints))
        parts[n++] = gh__audit_fmt(a, "certificates %zu named",
                                   m->nspiffe_ids + m->nsubjects + m->nfingerprints);
    if (r->has_authz && z->shadow)
        parts[n++] = "SHADOW";
    return joined(a, parts, n, "; ");
}

static const char *period_name(uint64_t s)
{
    return s == 1 ? "s" : s == 60 ? "min" : s == 3600 ? "h" : "period";
}

const char *gh__describe_limits(gh_audit *a, const gh_route_conf *r)
{
    static const char *const keys[] = {"jwt.", "api_key", "client_ip", "header.", "route"};
    const char *parts[GH_MAX_ROUTE_LIMITS];
    for (size_t i = 0; i < r->nlimits; i++) {
        const gh_rate_limit_conf *l = r->limits[i];
        const char *quota = l->quota_window == GH_QUOTA_NONE
                                ? ""
                                : gh__audit_fmt(a, ", quota %llu/%s", (unsigned long long)l->rule.quota,
                                                l->quota_window == GH_QUOTA_DAY ? "day" : "month");
        parts[i] = gh__audit_fmt(a, "%s %llu/%s per %s%s%s%s%s", l->name,
                                 (unsigned long long)l->count, period_name(l->period_s),
                                 keys[l->key], l->key_arg && (l->key == GH_LKEY_CLAIM || l->key == GH_LKEY_HEADER) ? l->key_arg : "",
                                 quota, l->redis ? ", redis" : "", l->shadow ? ", SHADOW" : "");
    }
    return joined(a, parts, r->nlimits, "; ");
}

const char *gh__describe_size(gh_audit *a, uint64_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        return gh__audit_fmt(a, "%llu MiB", (unsigned long long)(n >> 20));
    if (n >= 1024 && n % 1024 == 0)
        return gh__audit_fmt(a, "%llu KiB", (unsigned long long)(n >> 10));
    return gh__audit_fmt(a, "%llu bytes", (unsigned long long)n);
}

static const char *describe_body(gh_audit *a, const gh_route_conf *r)
{
    const gh_body_conf *b = r->body;
    if (!b || (!b->max_bytes && !b->schema && !b->ncontent_types))
        return gh__audit_fmt(a, "global %s", gh__describe_size(a, a->c->limits.max_body_bytes));
    const char *max = b->max_bytes ? gh__describe_size(a, b->max_bytes)
                                   : gh__audit_fmt(a, "global %s", gh__describe_size(a, a->c->limits.max_body_bytes));
    return gh__audit_fmt(a, "%s%s%s%s", max, b->ncontent_types ? "; " : "",
                         b->ncontent_types ? joined(a, b->content_types, b->ncontent_types, " ") : "",
                         b->schema ? "; schema" : "");
}

const char *gh__describe_upstream(gh_audit *a, const gh_upstream_conf *u)
{
    bool tls = false, plain_remote = false, remote = false;
    for (size_t i = 0; i < u->nendpoints; i++) {
        tls |= u->endpoints[i].tls;
        remote |= gh__endpoint_remote(&u->endpoints[i]);
        plain_remote |= !u->endpoints[i].tls && gh__endpoint_remote(&u->endpoints[i]);
    }
    const char *how;
    if (!tls)
        how = remote ? "plain HTTP" : "plain HTTP, loopback";
    else if (u->insecure)
        how = "HTTPS, NOT VERIFIED";
    else
        how = u->tls && SSL_CTX_get0_certificate(u->tls) ? "HTTPS verified, mTLS" : "HTTPS verified";
    return gh__audit_fmt(a, "%s (%s%s)", u->name, how, tls && plain_remote ? ", some plain HTTP" : "");
}

static const char *describe_path(gh_audit *a, const gh_route_conf *r)
{
    const char *p = r->path_kind == GH_PATH_PREFIX
                        ? gh__audit_fmt(a, "%s%s*", r->path, r->path_len > 1 ? "/" : "")
                        : r->path;
    return r->path_nocase ? gh__audit_fmt(a, "%s (any case)", p) : p;
}

gh_entry_point *gh__audit_entry_points(gh_audit *a, size_t *count)
{
    const gh_config *c = a->c;
    size_t n = 0;
    for (size_t i = 0; i < c->nroutes; i++)
        n += (size_t)__builtin_popcount(c->routes[i].methods);
    gh_entry_point *rows = gh_arena_zalloc(&a->arena, (n ? n : 1) * sizeof(*rows));
    *count = 0;
    for (size_t i = 0; rows && i < c->nroutes; i++) {
        const gh_route_conf *r = &c->routes[i];
        const char *names[16]; /* at most 16 listeners */
        size_t nl = 0;
        for (size_t k = 0; k < c->nlisteners && nl < 16; k++)
            if (gh_route_on_listener(r, c->listeners[k].id))
                names[nl++] = c->listeners[k].name;
        gh_entry_point base = {
            .route = r,
            .listeners = joined(a, names, nl, " "),
            .exposure = gh__exposure_name(gh__route_exposure(a, r)),
            .host = r->host ? (r->host_wildcard ? gh__audit_fmt(a, "*%s", r->host) : r->host) : "*",
            .path = describe_path(a, r),
            .auth = gh__describe_auth(a, r),
            .authz = describe_authz(a, r),
            .policy = r->policy ? gh__audit_fmt(a, "%s%s", r->policy->name,
                                                r->policy->on_error_allow ? " (fails open)" : "")
                                : "-",
            .limits = gh__describe_limits(a, r),
            .body = describe_body(a, r),
            .upstream = r->upstream ? gh__describe_upstream(a, r->upstream)
                                    : gh__audit_fmt(a, "answered by the gateway (%d)", r->respond_status),
            .tags = joined(a, r->tags, r->ntags, " "),
            .critical = r->critical,
        };
        for (unsigned m = 0; m < 7; m++) {
            if (!(r->methods & (1u << m)))
                continue;
            rows[*count] = base;
            rows[*count].method = method_names[m];
            (*count)++;
        }
    }
    return rows;
}

const char *const *gh__entry_headings(void)
{
    static const char *const heads[GH_ENTRY_COLUMNS] = {
        "ROUTE", "METHOD", "LISTENERS", "EXPOSURE", "HOST", "PATH", "AUTH", "AUTHZ", "POLICY",
        "RATE LIMITS", "BODY", "UPSTREAM", "TAGS", "CRITICAL"};
    return heads;
}

void gh__entry_cells(const gh_entry_point *e, const char *cells[GH_ENTRY_COLUMNS])
{
    const char *row[GH_ENTRY_COLUMNS] = {e->route->name, e->method,   e->listeners, e->exposure,
                                         e->host,        e->path,     e->auth,      e->authz,
                                         e->policy,      e->limits,   e->body,      e->upstream,
                                         e->tags,        e->critical ? "yes" : "-"};
    memcpy(cells, row, sizeof(row));
}
