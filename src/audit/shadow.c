/* GH-ROUTE-001: routes are tried in order and the first match wins, so a request that matches an
 * earlier route never sees a later one's controls. Two routes overlap when some request matches
 * both (host, method and path); the later one is shadowed where the earlier, proxying to a
 * backend, is weaker. An earlier route the gateway answers itself reaches nothing. */
#include <string.h>
#include <strings.h>

#include "audit/audit_internal.h"
#include "core/json.h"
#include "route/route.h"

#define GH_SHADOW_MAX_SEGMENTS 64

typedef struct segs {
    const char *at[GH_SHADOW_MAX_SEGMENTS];
    size_t len[GH_SHADOW_MAX_SEGMENTS];
    size_t n;
    bool truncated;
} segs;

static void split(const char *path, segs *s)
{
    s->n = 0;
    s->truncated = false;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (s->n == GH_SHADOW_MAX_SEGMENTS) {
            s->truncated = true;
            return;
        }
        s->at[s->n] = p;
        s->len[s->n++] = len;
        p += len;
    }
}

static bool is_param(const char *s, size_t len)
{
    return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

static bool seg_match(const segs *a, size_t i, const segs *b, size_t k, bool nocase)
{
    if (is_param(a->at[i], a->len[i]) || is_param(b->at[k], b->len[k]))
        return true;
    if (a->len[i] != b->len[k])
        return false;
    return nocase ? strncasecmp(a->at[i], b->at[k], a->len[i]) == 0
                  : memcmp(a->at[i], b->at[k], a->len[i]) == 0;
}

/* Whether the first n segments of both could be the same request's. */
static bool leading_match(const segs *a, const segs *b, size_t n, bool nocase)
{
    for (size_t i = 0; i < n; i++)
        if (!seg_match(a, i, b, i, nocase))
            return false;
    return true;
}

static bool paths_overlap(const gh_route_conf *a, const gh_route_conf *b)
{
    segs sa, sb;
    split(a->path, &sa);
    split(b->path, &sb);
    if (sa.truncated || sb.truncated)
        return true; /* too deep to tell: assume they meet */
    bool nocase = a->path_nocase || b->path_nocase;
    bool pa = a->path_kind == GH_PATH_PREFIX, pb = b->path_kind == GH_PATH_PREFIX;
    if (pa && pb)
        return leading_match(&sa, &sb, sa.n < sb.n ? sa.n : sb.n, nocase);
    if (pa)
        return sb.n >= sa.n && leading_match(&sa, &sb, sa.n, nocase);
    if (pb)
        return sa.n >= sb.n && leading_match(&sa, &sb, sb.n, nocase);
    return sa.n == sb.n && leading_match(&sa, &sb, sa.n, nocase);
}

/* Some listener serves both. */
static bool listeners_meet(const gh_route_conf *a, const gh_route_conf *b)
{
    if (!b->nlistener_ids)
        return true;
    for (size_t i = 0; i < b->nlistener_ids; i++)
        if (gh_route_on_listener(a, b->listener_ids[i]))
            return true;
    return false;
}

/* host holds the suffix with its leading dot for a wildcard. */
static bool hosts_overlap(const gh_route_conf *a, const gh_route_conf *b)
{
    if (!a->host || !b->host)
        return true;
    size_t al = strlen(a->host), bl = strlen(b->host);
    if (!a->host_wildcard && !b->host_wildcard)
        return strcasecmp(a->host, b->host) == 0;
    if (a->host_wildcard && b->host_wildcard)
        return al <= bl ? strcasecmp(b->host + bl - al, a->host) == 0
                        : strcasecmp(a->host + al - bl, b->host) == 0;
    const gh_route_conf *w = a->host_wildcard ? a : b, *e = a->host_wildcard ? b : a;
    size_t wl = strlen(w->host), el = strlen(e->host);
    return el > wl && strcasecmp(e->host + el - wl, w->host) == 0;
}

/* Whether route r requires scope (among the scopes every caller needs). */
static bool requires_scope(const gh_audit *a, const gh_route_conf *r, const char *scope)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHORIZE));)
        for (size_t k = 0; k < f->all.n; k++)
            if (strcmp(f->all.at[k], scope) == 0)
                return true;
    return false;
}

/* Every scope want requires, have requires too. */
static bool scopes_include(const gh_audit *a, const gh_route_conf *have, const gh_route_conf *want)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, want, f, GH_FACT_AUTHORIZE));)
        for (size_t i = 0; i < f->all.n; i++)
            if (!requires_scope(a, have, f->all.at[i]))
                return false;
    return true;
}

/* Scopes, claims or a policy that refuse what they would. */
static bool enforces_authz(const gh_audit *a, const gh_route_conf *r)
{
    return (gh__route_count(a, r, GH_FACT_AUTHORIZE) || gh__route_count(a, r, GH_FACT_POLICY)) &&
           !gh__route_authz_shadow(a, r);
}

/* Who may call: what late checks that early does not, into lost; the count added. */
static size_t lost_callers(const gh_audit *a, const gh_route_conf *early, const gh_route_conf *late,
                           const char **lost)
{
    size_t n = 0;
    if (gh__route_authenticates(a, late) && !gh__route_authenticates(a, early))
        lost[n++] = "authentication";
    else
        for (int p = GH_PROOF_NONE; p < GH_NPROOFS; p++)
            if (gh__route_proof(a, late, (gh_fact_proof)p) && !gh__route_proof(a, early, (gh_fact_proof)p))
                lost[n++] = gh__proof_lost((gh_fact_proof)p);
    if (gh__route_authorizes(a, late) && !gh__route_authorizes(a, early))
        lost[n++] = "its authorization rules";
    else if (enforces_authz(a, late) && !scopes_include(a, early, late))
        lost[n++] = "some of its scopes";
    return n;
}

/* What b enforces that a does not, as a phrase; *severe when it is who may call. NULL: nothing. */
static const char *lost_protection(gh_audit *a, const gh_route_conf *early, const gh_route_conf *late,
                                   bool *severe)
{
    const char *lost[GH_NPROOFS + 4];
    size_t n = lost_callers(a, early, late, lost);
    *severe = n > 0;
    if (gh__route_count(a, late, GH_FACT_LIMIT) && !gh__route_count(a, early, GH_FACT_LIMIT))
        lost[n++] = "its rate limits";
    if (gh__route_bounds_body(a, late) && !gh__route_bounds_body(a, early))
        lost[n++] = "its body checks";
    if (!n)
        return NULL;
    char buf[256];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        gh_sbuf_adds(&b, i == 0 ? "" : i + 1 == n ? " and " : ", ");
        gh_sbuf_adds(&b, lost[i]);
    }
    return gh__audit_fmt(a, "%.*s", (int)b.len, buf);
}

void gh__audit_check_shadowing(gh_audit *a)
{
    const gh_config *c = a->c;
    for (size_t j = 1; j < c->nroutes; j++) {
        const gh_route_conf *late = &c->routes[j];
        for (size_t i = 0; i < j; i++) {
            const gh_route_conf *early = &c->routes[i];
            if (!early->upstream)
                continue; /* answered by the gateway: nothing behind it is reached */
            if (!(early->methods & late->methods) || !listeners_meet(early, late) ||
                !hosts_overlap(early, late) || !paths_overlap(early, late))
                continue;
            bool severe;
            const char *lost = lost_protection(a, early, late, &severe);
            if (!lost)
                continue;
            gh__audit_find(a, "GH-ROUTE-001", severe ? GH_SEV_HIGH : GH_SEV_MEDIUM, (int)j,
                           gh__audit_fmt(a, "routes[%zu].match", j),
                           gh__audit_fmt(a, "route %s", late->name),
                           "requests for route '%s' that also match the earlier route '%s' "
                           "(routes[%zu]) go there, without %s",
                           late->name, early->name, i, lost);
            break; /* the first weaker route is the one to fix */
        }
    }
}
