/* Limits, the rate limits: each raced (on separate connections, as HTTP/2 streams), exhausted,
 * then escaped (forged client addresses, other spellings of the path and Host, a new token per
 * request). Bounded: a limit is exhausted with at most its size + 5 requests, and limits over 200
 * a period are skipped. The size and time limits of a request are cases_limits_request.c's. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

#define OWASP_LIMITS "API4:2023"
#define MAX_EXHAUST 200  /* the largest limit (count or burst) the probe exhausts */
#define EXHAUST_EXTRA 5  /* requests past the limit's size before it is judged not to hold */
#define ESCAPES 5        /* rotations tried once the limit holds */
#define MAX_H2_FIELDS 64 /* fields of a request the HTTP/2 case carries over */

static bool usable(gh_probe *p, const gh_probe_route *r)
{
    return r->conf && (p->selftest || r->safe);
}

static uint64_t limit_size(const gh_rate_limit_conf *l)
{
    uint64_t burst = l->rule.burst > 0 ? (uint64_t)l->rule.burst : l->count;
    return burst > l->count ? burst : l->count;
}

/* The route's first limit of kind (-1: any) small enough to exhaust, or NULL. A limit in shadow
 * mode is one too: it refuses nothing, and the cases say so. */
static const gh_rate_limit_conf *limit_of(const gh_route_conf *c, int kind)
{
    for (size_t i = 0; c && i < c->nlimits; i++) {
        const gh_rate_limit_conf *l = c->limits[i];
        if ((kind < 0 || (int)l->key == kind) && limit_size(l) <= MAX_EXHAUST)
            return l;
    }
    return NULL;
}

static bool any_limit(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && limit_of(r->conf, -1);
}

static bool header_limit(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && limit_of(r->conf, GH_LKEY_HEADER);
}

static bool ip_limit(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && limit_of(r->conf, GH_LKEY_CLIENT_IP);
}

static bool claim_limit(gh_probe *p, const gh_probe_route *r)
{
    const gh_jwt_provider *prov = r->conf ? r->conf->auth_token : NULL;
    return usable(p, r) && limit_of(r->conf, GH_LKEY_CLAIM) && prov && !prov->introspect &&
           gh_probe_key_of(p, prov);
}

/* Whether any configured limit of the route is too large to exhaust (for the skip's words). */
static bool limit_too_large(const gh_probe *p)
{
    for (size_t i = 0; p->conf && i < p->conf->nrate_limits; i++)
        if (limit_size(&p->conf->rate_limits[i]) > MAX_EXHAUST)
            return true;
    return false;
}

/* ---- one bucket ---- */

typedef struct bucket {
    const gh_probe_route *route;
    const gh_rate_limit_conf *lim;
    const char *key; /* a header key's value for this bucket ("probe-a") */
    bool own_claim;  /* key is also the limit's claim in tokens the probe signs (a fresh bucket) */
    size_t sent, passed;
} bucket;

static bool limited(int status)
{
    return status == 429 || status == 503; /* 503: nginx's limit_req default */
}

/* A request of the route in b's bucket, on path and Host (NULL: the route's), extra lines added. */
static const char *bucket_request(gh_probe *p, const bucket *b, const char *path, const char *host,
                                  const char *extra, size_t *len)
{
    gh_probe_route copy = *b->route;
    copy.path = path ? path : b->route->path;
    copy.host = host ? host : b->route->host;
    const char *lines = extra ? extra : "";
    if (b->lim->key == GH_LKEY_HEADER && strcasecmp(b->lim->key_arg, "Host") != 0 &&
        !strcasestr(lines, b->lim->key_arg))
        lines = gh_arena_printf(&p->arena, "%s: %s\r\n%s", b->lim->key_arg, b->key, lines);
    if (!b->own_claim)
        return gh_probe_valid_request(p, &copy, lines, len);
    json_t *c = gh_probe_claims(p, b->route);
    json_object_set_new(c, b->lim->key_arg, json_string(b->key));
    const char *token = gh_probe_sign_claims(p, b->route->conf->auth_token, c);
    json_decref(c);
    return gh_probe_request(
        p, copy.method, copy.path, copy.host,
        gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n%s", token ? token : "", lines),
        NULL, len);
}

static int send_one(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *bytes,
                    size_t len)
{
    gh_probe_exchange x;
    if (gh_probe_send(p, r, t, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
        return -1;
    gh_probe_note(p, r, &x);
    gh_probe_upstream_note(p, r, NULL);
    return x.nresponses ? x.r[0].status : 0;
}

/* Sends b's requests until one is limited: true then. Otherwise r says why (fail: more passed
 * than the limit allows in the time taken; skip: refused otherwise, or it refilled as fast). */
static bool exhaust(gh_probe *p, gh_probe_result *r, bucket *b)
{
    const gh_rate_limit_conf *l = b->lim;
    uint64_t size = limit_size(l), burst = l->rule.burst > 0 ? (uint64_t)l->rule.burst : l->count;
    double t0 = gh_probe_now();
    size_t passed = 0;
    for (uint64_t i = 0; i < size + EXHAUST_EXTRA; i++) {
        size_t len;
        const char *bytes = bucket_request(p, b, NULL, NULL, NULL, &len);
        int status = send_one(p, r, b->route->target, bytes, len);
        if (status < 0)
            return false;
        b->sent++;
        if (limited(status))
            return true;
        if (status == 0 || status >= 400) {
            gh_probe_skip(r,
                          "a request in the bucket of limit %s was answered %d, not limited: the "
                          "limit cannot "
                          "be exhausted from here",
                          l->name, status);
            return false;
        }
        passed++;
        b->passed++;
        double refill =
            (gh_probe_now() - t0) * (double)l->count / (double)(l->period_s ? l->period_s : 1);
        if ((double)passed > (double)burst + refill + 1) {
            gh_probe_fail(
                r,
                "%zu requests of one client on limit %s (%llu per %llu s, burst %llu%s%s) passed "
                "within %.1f s: the limit does not hold%s",
                passed, l->name, (unsigned long long)l->count, (unsigned long long)l->period_s,
                (unsigned long long)burst, l->key_arg ? ", keyed on " : "",
                l->key_arg ? l->key_arg : "", gh_probe_now() - t0,
                l->shadow ? " (it is in shadow mode)" : "");
            return false;
        }
    }
    gh_probe_skip(
        r, "limit %s refilled as fast as the probe sent (%zu passed): nothing to escape from",
        l->name, passed);
    return false;
}

/* With b's bucket empty, sends the attempt: fails r when it passed and the bucket is still
 * empty right after (it was another bucket, not a refill). */
static void try_escape(gh_probe *p, gh_probe_result *r, bucket *b, const char *bytes, size_t len,
                       const char *what)
{
    if (!exhaust(p, r, b))
        return;
    int status = send_one(p, r, b->route->target, bytes, len);
    if (status <= 0 || status >= 300 || limited(status))
        return;
    const char *sent = r->sent, *observed = r->observed;
    size_t plen;
    const char *plain = bucket_request(p, b, NULL, NULL, NULL, &plen);
    int again = send_one(p, r, b->route->target, plain, plen);
    r->sent = sent;
    r->observed = observed;
    if (limited(again))
        gh_probe_fail(r,
                      "%s passed (%d) while limit %s held the bucket it escaped: each variant is a "
                      "fresh bucket",
                      what, status, b->lim->name);
}

/* The route for a limit case, its bucket, the valid request shown to pass. */
static bool aim_bucket(gh_probe *p, gh_probe_result *r, bucket *b,
                       bool (*want)(gh_probe *, const gh_probe_route *), int kind)
{
    const gh_probe_route *route = gh_probe_find_route(p, want);
    if (!route) {
        gh_probe_skip(
            r, "no route has a rate limit%s%s", kind == GH_LKEY_CLAIM ? " keyed on a claim" : "",
            limit_too_large(p) ? " of at most 200 a period (larger ones are not exhausted)" : "");
        return false;
    }
    *b = (bucket){.route = route, .lim = limit_of(route->conf, kind), .key = GH_PROBE_PARAM_VALUE};
    gh_probe_aim(p, r, route->conf);
    return gh_probe_baseline(p, r, route);
}

/* A bucket no request touched yet, where the limit's key lets the probe choose it (a header's
 * value, a claim of the tokens it signs), on the first route that has such a limit, else any
 * limited route's own bucket. */
static bool aim_fresh(gh_probe *p, gh_probe_result *r, bucket *b, const char *tag)
{
    bool header = gh_probe_find_route(p, header_limit),
         claim = !header && gh_probe_find_route(p, claim_limit);
    if (!aim_bucket(p, r, b,
                    header  ? header_limit
                    : claim ? claim_limit
                            : any_limit,
                    header  ? GH_LKEY_HEADER
                    : claim ? GH_LKEY_CLAIM
                            : -1))
        return false;
    if (header && strcasecmp(b->lim->key_arg, "Host") != 0)
        b->key = tag;
    else if (claim)
        b->key = tag, b->own_claim = true;
    return true;
}

/* How many of n answers passed (2xx) and were limited; judges the burst against the limit. */
static void judge_burst(gh_probe_result *r, const bucket *b, const int *statuses, size_t n,
                        double seconds, const char *how)
{
    uint64_t burst = b->lim->rule.burst > 0 ? (uint64_t)b->lim->rule.burst : b->lim->count;
    double refill =
        seconds * (double)b->lim->count / (double)(b->lim->period_s ? b->lim->period_s : 1);
    size_t passed = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        passed += statuses[i] >= 200 && statuses[i] < 300;
        refused += limited(statuses[i]);
    }
    if ((double)passed > (double)burst + refill + 0.999)
        gh_probe_fail(r, "%zu of %zu %s in one bucket of limit %s passed; it allows %llu at once",
                      passed, n, how, b->lim->name, (unsigned long long)burst);
    else if (passed == 0)
        gh_probe_skip(r,
                      "none of %zu %s passed (%zu limited): the bucket was empty before the race",
                      n, how, refused);
    else
        gh_probe_pass(r, "%zu of %zu %s passed and %zu were limited (limit %s allows %llu at once)",
                      passed, n, how, refused, b->lim->name, (unsigned long long)burst);
}

/* ---- the rate-limit cases ---- */

static void race(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_fresh(p, r, &b, "probe-race"))
        return;
    size_t n = (size_t)limit_size(b.lim) + 3;
    const char **bytes = gh_arena_alloc(&p->arena, n * sizeof(*bytes));
    size_t *lens = gh_arena_alloc(&p->arena, n * sizeof(*lens));
    gh_probe_exchange *xs = gh_arena_alloc(&p->arena, n * sizeof(*xs));
    int *statuses = gh_arena_alloc(&p->arena, n * sizeof(*statuses));
    for (size_t i = 0; i < n; i++)
        bytes[i] = bucket_request(p, &b, NULL, NULL, NULL, &lens[i]);
    double t0 = gh_probe_now();
    if (gh_probe_send_many(p, r, b.route->target, bytes, lens, n, xs) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        statuses[i] = xs[i].nresponses ? xs[i].r[0].status : 0;
        if ((statuses[i] >= 200 && statuses[i] < 300) || i == 0)
            gh_probe_note(p, r, &xs[i]);
    }
    gh_probe_upstream_note(p, r, NULL);
    judge_burst(r, &b, statuses, n, gh_probe_now() - t0, "parallel requests");
}

/* Whether the listener behind t speaks HTTP/2: h2c on a plain one, http2 on a TLS one (live with
 * -c, the listener whose port is the target's). */
static bool speaks_h2(const gh_probe *p, const gh_probe_target *t)
{
    const gh_listener_conf *l = t->listener;
    for (size_t i = 0; !l && p->conf && i < p->conf->nlisteners; i++) {
        const char *colon = strrchr(p->conf->listeners[i].address, ':');
        if (colon && atoi(colon + 1) == t->port)
            l = &p->conf->listeners[i];
    }
    return l ? (t->tls ? l->http2 : l->h2c) : t->tls;
}

/* The fields of a request's head (lower-case names, by turns with values), Host left out. */
static const char **head_fields(gh_probe *p, const char *bytes, size_t *nfields)
{
    size_t cap = 2 * (MAX_H2_FIELDS), n = 0;
    const char **out = gh_arena_alloc(&p->arena, cap * sizeof(*out));
    const char *line = strstr(bytes, "\r\n");
    while (line && line[2] != '\r' && n + 2 <= cap) {
        line += 2;
        const char *end = strstr(line, "\r\n"), *colon = memchr(line, ':', (size_t)(end - line));
        if (!end || !colon)
            break;
        char *name = gh_arena_strndup(&p->arena, line, (size_t)(colon - line));
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (strcmp(name, "host") != 0) {
            out[n++] = name;
            out[n++] = gh_arena_strndup(&p->arena, colon + 2, (size_t)(end - colon - 2));
        }
        line = end;
    }
    *nfields = n;
    return out;
}

static void h2_multiplex(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_fresh(p, r, &b, "probe-h2"))
        return;
    if (!speaks_h2(p, b.route->target)) {
        gh_probe_skip(
            r, "the listener does not speak HTTP/2 (h2c on a plain listener, http2 on a TLS one)");
        return;
    }
    size_t n = (size_t)limit_size(b.lim) + 3, len, nfields;
    const char *bytes = bucket_request(p, &b, NULL, NULL, NULL, &len);
    const char **fields = head_fields(p, bytes, &nfields);
    int *statuses = gh_arena_alloc(&p->arena, n * sizeof(*statuses));
    double t0 = gh_probe_now();
    if (gh_probe_h2_burst(p, r, b.route->target, b.route->method, b.route->path, b.route->host,
                          fields, nfields, n, statuses) != 0)
        return;
    const char *seen = "";
    for (size_t i = 0; i < n; i++)
        seen = gh_arena_printf(&p->arena, "%s%s%d", seen, i ? " " : "", statuses[i]);
    r->sent = gh_arena_printf(&p->arena, "HTTP/2, %zu streams on one connection, each:\n%s", n,
                              gh_probe_escape(p, bytes, len));
    r->observed = gh_arena_printf(&p->arena, "the streams' statuses: %s", seen);
    gh_probe_upstream_note(p, r, NULL);
    judge_burst(r, &b, statuses, n, gh_probe_now() - t0, "streams on one HTTP/2 connection");
}

/* Every limit of every route, each in its own bucket (the route's first one the probe can fill). */
static void exhaust_case(gh_probe *p, gh_probe_result *r)
{
    size_t held = 0, large = 0;
    const char *first = NULL, *skipped = NULL;
    for (size_t i = 0; i < p->nroutes; i++) {
        const gh_probe_route *route = &p->routes[i];
        for (size_t k = 0; usable(p, route) && k < route->conf->nlimits; k++) {
            const gh_rate_limit_conf *l = route->conf->limits[k];
            if (limit_size(l) > MAX_EXHAUST) {
                large++;
                continue;
            }
            if (!gh_probe_baseline(p, r, route)) {
                skipped = r->why;
                break;
            }
            bucket b = {.route = route, .lim = l, .key = GH_PROBE_PARAM_VALUE};
            gh_probe_aim(p, r, route->conf);
            if (!exhaust(p, r, &b)) {
                if (r->verdict == GH_PV_FAIL || r->verdict == GH_PV_ERROR)
                    return;
                skipped = r->why;
                continue;
            }
            if (held++ == 0)
                first = gh_arena_printf(
                    &p->arena,
                    "limit %s (%llu per %llu s) on route %s refused request %zu of one "
                    "bucket (%zu passed before it)",
                    l->name, (unsigned long long)l->count, (unsigned long long)l->period_s,
                    route->conf->name, b.sent, b.passed);
        }
    }
    if (held)
        gh_probe_pass(
            r, "%s%s%s", first,
            held > 1 ? gh_arena_printf(&p->arena, "; %zu other limit%s held too", held - 1,
                                       held > 2 ? "s" : "")
                     : "",
            large ? gh_arena_printf(&p->arena, "; %zu over 200 a period not exhausted", large)
                  : "");
    else
        gh_probe_skip(r, "%s",
                      skipped ? skipped
                      : large ? "every rate limit is over 200 a period: not exhausted"
                              : "no route has a rate limit");
}

/* Lines naming a forged client: each client-describing header a gateway might key on. */
static const char *forged_client(gh_probe *p, unsigned i)
{
    return gh_arena_printf(&p->arena,
                           "X-Forwarded-For: 198.51.100.%u\r\nX-Real-IP: "
                           "198.51.100.%u\r\nForwarded: for=198.51.100.%u\r\n"
                           "True-Client-IP: 198.51.100.%u\r\nX-Client-IP: 198.51.100.%u\r\n",
                           i, i, i, i, i);
}

static void rotation(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    bool (*want)(gh_probe *, const gh_probe_route *) =
        gh_probe_find_route(p, header_limit) ? header_limit
        : gh_probe_find_route(p, ip_limit)   ? ip_limit
                                             : any_limit;
    int kind = want == header_limit ? GH_LKEY_HEADER : want == ip_limit ? GH_LKEY_CLIENT_IP : -1;
    if (!aim_bucket(p, r, &b, want, kind))
        return;
    bool by_header = b.lim->key == GH_LKEY_HEADER && strcasecmp(b.lim->key_arg, "Host") != 0;
    for (unsigned i = 1; i <= ESCAPES && r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP;
         i++) {
        const char *lines = forged_client(p, 10 + i);
        if (by_header && !strcasestr(lines, b.lim->key_arg))
            lines =
                gh_arena_printf(&p->arena, "%s: probe-rotated-%u\r\n%s", b.lim->key_arg, i, lines);
        size_t len;
        gh_probe_route copy = *b.route;
        const char *bytes = gh_probe_valid_request(p, &copy, lines, &len);
        bool own_value = by_header && !strcasestr(forged_client(p, 0), b.lim->key_arg);
        try_escape(p, r, &b, bytes, len,
                   own_value ? gh_arena_printf(&p->arena, "a request with %s: probe-rotated-%u",
                                               b.lim->key_arg, i)
                             : gh_arena_printf(&p->arena,
                                               "a request from a forged client (X-Forwarded-For: "
                                               "198.51.100.%u)",
                                               10 + i));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(
            r, "%d requests, each with a new forged client address%s, stayed limited by %s",
            ESCAPES, by_header ? gh_arena_printf(&p->arena, " and %s", b.lim->key_arg) : "",
            b.lim->name);
}

static const char *swap_case(gh_probe *p, const char *s)
{
    char *out = gh_arena_strdup(&p->arena, s);
    for (char *c = out; *c; c++)
        *c = (char)(islower((unsigned char)*c) ? toupper((unsigned char)*c)
                                               : tolower((unsigned char)*c));
    return out;
}

static void path_variants(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_bucket(p, r, &b, any_limit, -1))
        return;
    const char *path = b.route->path;
    const char *variants[] = {gh_arena_printf(&p->arena, "%s/", path), swap_case(p, path),
                              gh_arena_printf(&p->arena, "%s?probe=1", path),
                              gh_arena_printf(&p->arena, "/%s", path),
                              gh_arena_printf(&p->arena, "/.%s", path)};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]) && r->verdict != GH_PV_FAIL &&
                       r->verdict != GH_PV_SKIP;
         i++) {
        size_t len;
        const char *bytes = bucket_request(p, &b, variants[i], NULL, NULL, &len);
        try_escape(p, r, &b, bytes, len, gh_arena_printf(&p->arena, "the path %s", variants[i]));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(
            r,
            "%s with a trailing slash, in other cases, with a query, // and /./ stayed limited or "
            "were refused",
            path);
}

static void host_variants(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_bucket(p, r, &b, any_limit, -1))
        return;
    const char *host = b.route->host;
    size_t name_len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    const char *name = gh_arena_strndup(&p->arena, host, name_len);
    const char *variants[] = {
        swap_case(p, host),
        host[name_len] ? name : gh_arena_printf(&p->arena, "%s:%d", name, b.route->target->port),
        gh_arena_printf(&p->arena, "%s.%s", name, host + name_len),
        gh_arena_printf(&p->arena, "%s:0%d", name, b.route->target->port)};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]) && r->verdict != GH_PV_FAIL &&
                       r->verdict != GH_PV_SKIP;
         i++) {
        size_t len;
        const char *bytes = bucket_request(p, &b, NULL, variants[i], NULL, &len);
        try_escape(p, r, &b, bytes, len, gh_arena_printf(&p->arena, "Host: %s", variants[i]));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(r,
                      "Host %s in other cases, with and without a port, with a trailing dot stayed "
                      "limited or "
                      "were refused",
                      host);
}

/* A fresh token per request (new jti and iat, same sub): for a claim-keyed limit, one bucket. */
static void token_rotation(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_bucket(p, r, &b, claim_limit, GH_LKEY_CLAIM))
        return;
    const gh_jwt_provider *prov = b.route->conf->auth_token;
    for (unsigned i = 0; i < ESCAPES && r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP; i++) {
        json_t *c = gh_probe_claims(p, b.route);
        json_object_set_new(c, "jti", json_sprintf("probe-rotated-%u-%d", i, rand()));
        if (!json_object_get(c, b.lim->key_arg))
            json_object_set_new(c, b.lim->key_arg, json_string(GH_PROBE_PARAM_VALUE));
        const char *token = gh_probe_sign_claims(p, prov, c);
        json_decref(c);
        if (!token) {
            gh_probe_error(r, "cannot sign the token");
            return;
        }
        size_t len;
        const char *bytes = gh_probe_request(
            p, b.route->method, b.route->path, b.route->host,
            gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", token), NULL, &len);
        try_escape(p, r, &b, bytes, len,
                   gh_arena_printf(&p->arena,
                                   "a new token for the same sub (new jti) on limit keyed on %s",
                                   b.lim->key_arg));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(r, "%d fresh tokens of the same subject stayed limited by %s (keyed on %s)",
                      ESCAPES, b.lim->name, b.lim->key_arg);
}

const gh_probe_case gh_probe_cases_limits[] = {
    {"LIM-001", "limits", "the last units of a rate limit raced: its size + 3 requests at once",
     OWASP_LIMITS, 362, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "at most the limit's burst pass; the rest 429 (at most 203 connections, limits over 200 a "
     "period skipped)",
     "Keep rate_limits in one table per limit (Gatehouse's local store), or store: redis across "
     "gateways.",
     race},
    {"LIM-002", "limits",
     "the last units of a rate limit raced on one HTTP/2 connection (size + 3 streams)",
     OWASP_LIMITS, 362, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "at most the limit's burst pass, as on separate connections (skipped when the listener has no "
     "h2)",
     "Count each HTTP/2 stream as a request in every rate limit (Gatehouse runs every stage per "
     "stream).",
     h2_multiplex},
    {"LIM-003", "limits", "one client past each rate limit (at most its size + 5 requests a limit)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "429 (or 503) once the burst is spent, for every limit of every route (limits over 200 a "
     "period skipped)",
     "Give the route a rate limit (routes[].rate_limit naming one of rate_limits) in mode: enforce (shadow refuses nothing).",
     exhaust_case},
    {"LIM-004", "limits",
     "the exhausted limit escaped with a forged client (X-Forwarded-For rotated)", OWASP_LIMITS,
     290, GH_PSEV_HIGH, GH_PN_CONFIG | GH_PN_LOAD,
     "still 429: X-Forwarded-For, X-Real-IP, Forwarded, True-Client-IP and a header key rotated "
     "each request",
     "Key limits on what a client cannot choose: key: client_ip with trusted_proxies listing only "
     "your proxies, "
     "jwt.sub or api_key; never header.X-Forwarded-For or a client-sent id.",
     rotation},
    {"LIM-005", "limits",
     "the exhausted limit escaped by other spellings of the path (/x/, /X, /x?y, //x)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "still 429, or refused (400-405)",
     "Key limits on the client, not the path; Gatehouse limits the canonical path's route.",
     path_variants},
    {"LIM-006", "limits",
     "the exhausted limit escaped by other spellings of Host (case, port, trailing dot)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD, "still 429, or refused (400)",
     "Key limits on the client; a header.Host key reads the canonical host.", host_variants},
    {"LIM-007", "limits",
     "the exhausted limit escaped with a new token per request (new jti, same sub)", OWASP_LIMITS,
     770, GH_PSEV_HIGH, GH_PN_CONFIG | GH_PN_LOAD | GH_PN_SIGN,
     "still 429: a claim-keyed limit counts the subject, whatever token it shows",
     "Key on a claim naming the caller (jwt.sub, jwt.client_id), never one each token has anew "
     "(jti, iat).",
     token_rotation},
    {0},
};
