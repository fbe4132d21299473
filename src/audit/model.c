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

/* The proofs in their order (the cheapest first), whatever the order their stages run in. */
const char *gh__describe_auth(gh_audit *a, const gh_route_conf *r)
{
    if (!gh__route_authenticates(a, r))
        return "none";
    const char *parts[GH_MAX_FACTS];
    size_t n = 0;
    for (int p = GH_PROOF_NONE; p < GH_NPROOFS; p++)
        for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE));)
            if (f->proof == (gh_fact_proof)p)
                parts[n++] = gh__fact_label(a, f);
    return joined(a, parts, n, " + ");
}

/* At most 16 names of a list (the table names no more). */
static const char *first_names(gh_audit *a, gh_fact_names names)
{
    return joined(a, names.at, names.n < 16 ? names.n : 16, " ");
}

static const char *describe_authz(gh_audit *a, const gh_route_conf *r)
{
    const char *parts[3 * GH_MAX_FACTS + 1];
    size_t n = 0;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHORIZE));) {
        if (f->all.n)
            parts[n++] = gh__audit_fmt(a, "scopes %s", joined(a, f->all.at, f->all.n, " "));
        if (f->any.n)
            parts[n++] = gh__audit_fmt(a, "any of %s", joined(a, f->any.at, f->any.n, " "));
        if (f->claims.n)
            parts[n++] = gh__audit_fmt(a, "claims %s", first_names(a, f->claims));
    }
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE));)
        if (f->named)
            parts[n++] = gh__audit_fmt(a, "%s %zu named", gh__proof_plural(f->proof), f->named);
    if (gh__route_authz_shadow(a, r))
        parts[n++] = "SHADOW";
    return joined(a, parts, n, "; ");
}

const char *gh__describe_limits(gh_audit *a, const gh_route_conf *r)
{
    const char *parts[GH_MAX_FACTS];
    size_t n = 0;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_LIMIT));)
        parts[n++] = gh__audit_fmt(a, "%s%s%s%s", f->name ? f->name : f->what,
                                   f->detail ? " " : "", f->detail ? f->detail : "",
                                   f->shadow ? ", SHADOW" : "");
    return joined(a, parts, n, "; ");
}

static const char *describe_policy(gh_audit *a, const gh_route_conf *r)
{
    const char *parts[GH_MAX_FACTS];
    size_t n = 0;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_POLICY));)
        parts[n++] = gh__audit_fmt(a, "%s%s", f->name ? f->name : f->what,
                                   f->fails_open ? " (fails open)" : "");
    return joined(a, parts, n, "; ");
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
    const char *global = gh__audit_fmt(a, "global %s", gh__describe_size(a, a->c->limits.max_body_bytes));
    const gh_stage_fact *b = gh__route_next(a, r, NULL, GH_FACT_BODY);
    if (!b || (!b->max_bytes && !b->validates && !b->any.n))
        return global;
    return gh__audit_fmt(a, "%s%s%s%s", b->max_bytes ? gh__describe_size(a, b->max_bytes) : global,
                         b->any.n ? "; " : "", b->any.n ? joined(a, b->any.at, b->any.n, " ") : "",
                         b->validates ? "; schema" : "");
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
            .policy = describe_policy(a, r),
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
