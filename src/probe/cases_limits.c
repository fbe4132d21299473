/* Limits: the rate limits of the configuration exhausted and then escaped (forged client
 * addresses, other spellings of the path and Host, a new token per request, a race on the last
 * units), and the size and time limits of a request (413, 414, 431, a slow head, a slow body).
 * Bounded: a limit is exhausted with at most its size + 5 requests, and limits over 200 a period
 * are skipped; the slow clients stop at the gateway's own timeout + 3 s. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

#define OWASP_LIMITS "API4:2023"
#define MAX_EXHAUST 200    /* the largest limit (count or burst) the probe exhausts */
#define EXHAUST_EXTRA 5    /* requests past the limit's size before it is judged not to hold */
#define ESCAPES 5          /* rotations tried once the limit holds */
#define MAX_H2_FIELDS 64   /* fields of a request the HTTP/2 case carries over */
#define SLOW_PAUSE_MS 200  /* a slow client's pause between bytes */
#define SLOW_GRACE_S 3     /* a slow case waits this much past the gateway's own timeout */
#define SLOW_MAX_S 30      /* and never longer than this */
#define DEFAULT_HEAD 16384 /* Gatehouse's defaults, for a live target without -c */
#define DEFAULT_FIELDS 100
#define DEFAULT_TARGET 8192

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
    return usable(p, r) && limit_of(r->conf, GH_LKEY_CLAIM) && prov && !prov->introspect && gh_probe_key_of(p, prov);
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
    return gh_probe_request(p, copy.method, copy.path, copy.host,
                            gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n%s", token ? token : "", lines),
                            NULL, len);
}

static int send_one(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *bytes, size_t len)
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
            gh_probe_skip(r, "a request in the bucket of limit %s was answered %d, not limited: the limit cannot "
                             "be exhausted from here", l->name, status);
            return false;
        }
        passed++;
        b->passed++;
        double refill = (gh_probe_now() - t0) * (double)l->count / (double)(l->period_s ? l->period_s : 1);
        if ((double)passed > (double)burst + refill + 1) {
            gh_probe_fail(r, "%zu requests of one client on limit %s (%llu per %llu s, burst %llu%s%s) passed "
                             "within %.1f s: the limit does not hold%s", passed, l->name, (unsigned long long)l->count,
                          (unsigned long long)l->period_s, (unsigned long long)burst, l->key_arg ? ", keyed on " : "",
                          l->key_arg ? l->key_arg : "", gh_probe_now() - t0,
                          l->shadow ? " (it is in shadow mode)" : "");
            return false;
        }
    }
    gh_probe_skip(r, "limit %s refilled as fast as the probe sent (%zu passed): nothing to escape from", l->name,
                  passed);
    return false;
}

/* With b's bucket empty, sends the attempt: fails r when it passed and the bucket is still
 * empty right after (it was another bucket, not a refill). */
static void try_escape(gh_probe *p, gh_probe_result *r, bucket *b, const char *bytes, size_t len, const char *what)
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
        gh_probe_fail(r, "%s passed (%d) while limit %s held the bucket it escaped: each variant is a fresh bucket",
                      what, status, b->lim->name);
}

/* The route for a limit case, its bucket, the valid request shown to pass. */
static bool aim_bucket(gh_probe *p, gh_probe_result *r, bucket *b, bool (*want)(gh_probe *, const gh_probe_route *),
                       int kind)
{
    const gh_probe_route *route = gh_probe_find_route(p, want);
    if (!route) {
        gh_probe_skip(r, "no route has a rate limit%s%s", kind == GH_LKEY_CLAIM ? " keyed on a claim" : "",
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
    bool header = gh_probe_find_route(p, header_limit), claim = !header && gh_probe_find_route(p, claim_limit);
    if (!aim_bucket(p, r, b, header ? header_limit : claim ? claim_limit : any_limit,
                    header ? GH_LKEY_HEADER : claim ? GH_LKEY_CLAIM : -1))
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
    double refill = seconds * (double)b->lim->count / (double)(b->lim->period_s ? b->lim->period_s : 1);
    size_t passed = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        passed += statuses[i] >= 200 && statuses[i] < 300;
        refused += limited(statuses[i]);
    }
    if ((double)passed > (double)burst + refill + 0.999)
        gh_probe_fail(r, "%zu of %zu %s in one bucket of limit %s passed; it allows %llu at once", passed, n, how,
                      b->lim->name, (unsigned long long)burst);
    else if (passed == 0)
        gh_probe_skip(r, "none of %zu %s passed (%zu limited): the bucket was empty before the race", n, how,
                      refused);
    else
        gh_probe_pass(r, "%zu of %zu %s passed and %zu were limited (limit %s allows %llu at once)", passed, n, how,
                      refused, b->lim->name, (unsigned long long)burst);
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
        gh_probe_skip(r, "the listener does not speak HTTP/2 (h2c on a plain listener, http2 on a TLS one)");
        return;
    }
    size_t n = (size_t)limit_size(b.lim) + 3, len, nfields;
    const char *bytes = bucket_request(p, &b, NULL, NULL, NULL, &len);
    const char **fields = head_fields(p, bytes, &nfields);
    int *statuses = gh_arena_alloc(&p->arena, n * sizeof(*statuses));
    double t0 = gh_probe_now();
    if (gh_probe_h2_burst(p, r, b.route->target, b.route->method, b.route->path, b.route->host, fields, nfields, n,
                          statuses) != 0)
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
                first = gh_arena_printf(&p->arena, "limit %s (%llu per %llu s) on route %s refused request %zu of one "
                                                   "bucket (%zu passed before it)", l->name,
                                        (unsigned long long)l->count, (unsigned long long)l->period_s,
                                        route->conf->name, b.sent, b.passed);
        }
    }
    if (held)
        gh_probe_pass(r, "%s%s%s", first,
                      held > 1 ? gh_arena_printf(&p->arena, "; %zu other limit%s held too", held - 1, held > 2 ? "s" : "") : "",
                      large ? gh_arena_printf(&p->arena, "; %zu over 200 a period not exhausted", large) : "");
    else
        gh_probe_skip(r, "%s", skipped ? skipped : large ? "every rate limit is over 200 a period: not exhausted"
                                                         : "no route has a rate limit");
}

/* Lines naming a forged client: each client-describing header a gateway might key on. */
static const char *forged_client(gh_probe *p, unsigned i)
{
    return gh_arena_printf(&p->arena,
                           "X-Forwarded-For: 198.51.100.%u\r\nX-Real-IP: 198.51.100.%u\r\nForwarded: for=198.51.100.%u\r\n"
                           "True-Client-IP: 198.51.100.%u\r\nX-Client-IP: 198.51.100.%u\r\n",
                           i, i, i, i, i);
}

static void rotation(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    bool (*want)(gh_probe *, const gh_probe_route *) =
        gh_probe_find_route(p, header_limit) ? header_limit : gh_probe_find_route(p, ip_limit) ? ip_limit : any_limit;
    int kind = want == header_limit ? GH_LKEY_HEADER : want == ip_limit ? GH_LKEY_CLIENT_IP : -1;
    if (!aim_bucket(p, r, &b, want, kind))
        return;
    bool by_header = b.lim->key == GH_LKEY_HEADER && strcasecmp(b.lim->key_arg, "Host") != 0;
    for (unsigned i = 1; i <= ESCAPES && r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP; i++) {
        const char *lines = forged_client(p, 10 + i);
        if (by_header && !strcasestr(lines, b.lim->key_arg))
            lines = gh_arena_printf(&p->arena, "%s: probe-rotated-%u\r\n%s", b.lim->key_arg, i, lines);
        size_t len;
        gh_probe_route copy = *b.route;
        const char *bytes = gh_probe_valid_request(p, &copy, lines, &len);
        bool own_value = by_header && !strcasestr(forged_client(p, 0), b.lim->key_arg);
        try_escape(p, r, &b, bytes, len,
                   own_value ? gh_arena_printf(&p->arena, "a request with %s: probe-rotated-%u", b.lim->key_arg, i)
                             : gh_arena_printf(&p->arena, "a request from a forged client (X-Forwarded-For: "
                                                          "198.51.100.%u)", 10 + i));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(r, "%d requests, each with a new forged client address%s, stayed limited by %s", ESCAPES,
                      by_header ? gh_arena_printf(&p->arena, " and %s", b.lim->key_arg) : "", b.lim->name);
}

static const char *swap_case(gh_probe *p, const char *s)
{
    char *out = gh_arena_strdup(&p->arena, s);
    for (char *c = out; *c; c++)
        *c = (char)(islower((unsigned char)*c) ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
    return out;
}

static void path_variants(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_bucket(p, r, &b, any_limit, -1))
        return;
    const char *path = b.route->path;
    const char *variants[] = {gh_arena_printf(&p->arena, "%s/", path), swap_case(p, path),
                              gh_arena_printf(&p->arena, "%s?probe=1", path), gh_arena_printf(&p->arena, "/%s", path),
                              gh_arena_printf(&p->arena, "/.%s", path)};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]) && r->verdict != GH_PV_FAIL &&
                       r->verdict != GH_PV_SKIP;
         i++) {
        size_t len;
        const char *bytes = bucket_request(p, &b, variants[i], NULL, NULL, &len);
        try_escape(p, r, &b, bytes, len, gh_arena_printf(&p->arena, "the path %s", variants[i]));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(r, "%s with a trailing slash, in other cases, with a query, // and /./ stayed limited or "
                         "were refused", path);
}

static void host_variants(gh_probe *p, gh_probe_result *r)
{
    bucket b;
    if (!aim_bucket(p, r, &b, any_limit, -1))
        return;
    const char *host = b.route->host;
    size_t name_len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    const char *name = gh_arena_strndup(&p->arena, host, name_len);
    const char *variants[] = {swap_case(p, host),
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
        gh_probe_pass(r, "Host %s in other cases, with and without a port, with a trailing dot stayed limited or "
                         "were refused", host);
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
        const char *bytes = gh_probe_request(p, b.route->method, b.route->path, b.route->host,
                                             gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", token), NULL,
                                             &len);
        try_escape(p, r, &b, bytes, len,
                   gh_arena_printf(&p->arena, "a new token for the same sub (new jti) on limit keyed on %s",
                                   b.lim->key_arg));
    }
    if (r->verdict != GH_PV_FAIL && r->verdict != GH_PV_SKIP)
        gh_probe_pass(r, "%d fresh tokens of the same subject stayed limited by %s (keyed on %s)", ESCAPES,
                      b.lim->name, b.lim->key_arg);
}

/* ---- sizes ---- */

static bool plain_route(gh_probe *p, const gh_probe_route *r)
{
    return usable(p, r) && r->proxied && r->conf->nlimits == 0;
}

static bool any_route(gh_probe *p, const gh_probe_route *r)
{
    return !r->conf || usable(p, r);
}

/* A route for the request-size cases (one without a rate limit first), its valid request shown
 * to pass. */
static const gh_probe_route *aim_any(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, plain_route);
    if (!route)
        route = gh_probe_find_route(p, any_route);
    if (!route) {
        gh_probe_skip(r, "no route to aim at");
        return NULL;
    }
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* The valid request's head for route without its blank line (method given, no body). */
static const char *open_head(gh_probe *p, const gh_probe_route *route, const char *method, const char *path,
                             const char *extra, size_t *len)
{
    gh_probe_route copy = *route;
    copy.method = method;
    copy.path = path;
    copy.safe = true;
    const char *bytes = gh_probe_valid_request(p, &copy, extra, len);
    *len -= 2;
    return gh_arena_strndup(&p->arena, bytes, *len);
}

static void target_too_long(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_any(p, r);
    if (!route)
        return;
    size_t max = p->conf ? p->conf->limits.max_target_bytes : DEFAULT_TARGET;
    size_t pad = max + 1 > strlen(route->path) + 7 ? max + 1 - strlen(route->path) - 7 : 1;
    char *a = gh_arena_alloc(&p->arena, pad + 1);
    memset(a, 'a', pad);
    a[pad] = '\0';
    const char *target = gh_arena_printf(&p->arena, "%s?probe=%s", route->path, a);
    gh_probe_route copy = *route;
    copy.path = target;
    size_t len;
    const char *bytes = gh_probe_valid_request(p, &copy, NULL, &len);
    bool exact = p->conf && max < p->conf->limits.max_head_bytes - 256;
    gh_probe_expect_refusal(p, r, route, bytes, len, exact ? 414 : 400, exact ? 414 : 431,
                            gh_arena_printf(&p->arena, "a target of %zu bytes (limit %zu)", strlen(target), max), NULL);
}

static void head_too_big(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_any(p, r);
    if (!route)
        return;
    size_t max = p->conf ? p->conf->limits.max_head_bytes : DEFAULT_HEAD;
    char *a = gh_arena_alloc(&p->arena, max + 1);
    memset(a, 'a', max);
    a[max] = '\0';
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, gh_arena_printf(&p->arena, "X-Probe-Pad: %s\r\n", a), &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, p->conf ? 431 : 400, 431,
                            gh_arena_printf(&p->arena, "a head of %zu bytes (limit %zu)", len, max), NULL);
}

static void too_many_fields(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_any(p, r);
    if (!route)
        return;
    size_t max = p->conf ? p->conf->limits.max_headers : DEFAULT_FIELDS;
    const char *lines = "";
    for (size_t i = 0; i <= max; i++)
        lines = gh_arena_printf(&p->arena, "%sX-Probe-%zu: 1\r\n", lines, i);
    size_t len;
    const char *bytes = gh_probe_valid_request(p, route, lines, &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, p->conf ? 431 : 400, 431,
                            gh_arena_printf(&p->arena, "%zu header fields beyond the route's own (limit %zu)", max + 1,
                                            max), NULL);
}

static bool body_route(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    return r->conf && r->proxied && (r->conf->methods & (GH_M_POST | GH_M_PUT | GH_M_PATCH));
}

static const char *body_method(const gh_route_conf *c)
{
    return c->methods & GH_M_POST ? "POST" : c->methods & GH_M_PUT ? "PUT" : "PATCH";
}

static uint64_t body_max(const gh_probe *p, const gh_route_conf *c)
{
    return c->body && c->body->max_bytes ? c->body->max_bytes : p->conf->limits.max_body_bytes;
}

/* An oversized body: its Content-Length over the limit (413 before anything is read), and, when the
 * limit is small enough to send, a chunked body streaming past it (413 or the connection closed). */
static void body_too_big(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, body_route);
    if (!route) {
        gh_probe_skip(r, "no proxied route takes a request body (POST, PUT, PATCH)");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    uint64_t max = body_max(p, route->conf);
    size_t send = max + 1 < 65536 ? (size_t)max + 1 : 65536, hlen;
    const char *head = open_head(p, route, body_method(route->conf), route->path,
                                 "Content-Type: application/json\r\n", &hlen);
    char *body = gh_arena_alloc(&p->arena, send + 1);
    memset(body, 'a', send);
    body[send] = '\0';
    const char *bytes = gh_arena_printf(&p->arena, "%sContent-Length: %llu\r\n\r\n%s", head,
                                        (unsigned long long)max + 1, body);
    gh_probe_exchange x;
    gh_probe_expect_refusal(p, r, route, bytes, strlen(bytes), 413, 413,
                            gh_arena_printf(&p->arena, "a Content-Length of %llu (limit %llu)",
                                            (unsigned long long)max + 1, (unsigned long long)max), &x);
    if (r->verdict == GH_PV_PASS && x.nresponses == 0 && !x.closed)
        gh_probe_fail(r, "a Content-Length over the limit was neither refused nor cut: the gateway waited for it");
    if (r->verdict != GH_PV_PASS || max > (1u << 20))
        return;
    size_t chunk = 16384, n = (size_t)max / chunk + 1;
    char *data = gh_arena_alloc(&p->arena, chunk + 1);
    memset(data, 'a', chunk);
    data[chunk] = '\0';
    const char *one = gh_arena_printf(&p->arena, "%zx\r\n%s\r\n", chunk, data), *chunks = "";
    for (size_t i = 0; i < n; i++)
        chunks = gh_arena_printf(&p->arena, "%s%s", chunks, one);
    bytes = gh_arena_printf(&p->arena, "%sTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n", head, chunks);
    if (gh_probe_send(p, r, route->target, bytes, strlen(bytes), &(gh_probe_opts){.responses = 1}, &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (status != 413 && !(status == 0 && x.closed))
        gh_probe_fail(r, "a chunked body of %zu bytes (limit %llu) was answered %d, not 413", n * chunk,
                      (unsigned long long)max, status);
    else
        gh_probe_pass(r, "a Content-Length over %llu and a chunked body past it were refused (413)",
                      (unsigned long long)max);
}

/* ---- slow clients ---- */

/* Sends parts pausing SLOW_PAUSE_MS between them for at most cap_s; judges the gateway closed (or
 * answered 408) within bound_s. */
static void slow_send(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const char *const *parts,
                      const size_t *lens, size_t n, double bound_s, const char *what)
{
    uint64_t saved = p->caps.exchange_ms;
    p->caps.exchange_ms = (uint64_t)((bound_s + SLOW_GRACE_S) * 1000);
    gh_probe_exchange x;
    double t0 = gh_probe_now();
    int rc = gh_probe_send(p, r, route->target, NULL, 0,
                           &(gh_probe_opts){.parts = parts, .part_lens = lens, .nparts = n, .pause_ms = SLOW_PAUSE_MS,
                                            .responses = 1},
                           &x);
    double took = gh_probe_now() - t0;
    p->caps.exchange_ms = saved;
    if (rc != 0)
        return;
    gh_probe_note(p, r, &x);
    gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    bool ended = x.closed || status == 408;
    if (!ended || took > bound_s + 1.5)
        gh_probe_fail(r, "%s: the gateway %s after %.1f s (its timeout: %.1f s)", what,
                      ended ? "gave up only" : "still held the connection", took, bound_s);
    else
        gh_probe_pass(r, "%s: the gateway %s after %.1f s (its timeout: %.1f s)", what,
                      status ? gh_arena_printf(&p->arena, "answered %d", status) : "closed the connection", took,
                      bound_s);
}

/* bytes cut into n parts of one byte each. */
static void one_byte_parts(gh_probe *p, const char *bytes, size_t n, const char ***parts, size_t **lens)
{
    *parts = gh_arena_alloc(&p->arena, n * sizeof(**parts));
    *lens = gh_arena_alloc(&p->arena, n * sizeof(**lens));
    for (size_t i = 0; i < n; i++) {
        (*parts)[i] = bytes + i;
        (*lens)[i] = 1;
    }
}

static void slowloris(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_any(p, r);
    if (!route)
        return;
    double timeout = (double)p->conf->limits.head_timeout_ms / 1000.0;
    if (timeout > SLOW_MAX_S - SLOW_GRACE_S) {
        gh_probe_skip(r, "limits.head_timeout is %.0f s: longer than the case's cap (%d s)", timeout, SLOW_MAX_S);
        return;
    }
    size_t n = (size_t)((timeout + SLOW_GRACE_S) * 1000 / SLOW_PAUSE_MS) + 1, hlen;
    const char *head = open_head(p, route, route->method, route->path, NULL, &hlen);
    while (hlen < n) { /* long enough that the head is never done before the cap */
        head = gh_arena_printf(&p->arena, "%sX-Probe-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", head);
        hlen = strlen(head);
    }
    const char **parts;
    size_t *lens;
    one_byte_parts(p, head, n, &parts, &lens);
    slow_send(p, r, route, parts, lens, n, timeout,
              gh_arena_printf(&p->arena, "a head sent a byte every %d ms", SLOW_PAUSE_MS));
}

/* How long a body coming at 5 bytes a second lasts before the route's body limits end it. */
static double slow_body_bound(const gh_probe *p, const gh_route_conf *c)
{
    const gh_limits_conf *l = &p->conf->limits;
    const gh_body_conf *b = c->body;
    uint64_t deadline = b && b->deadline_ms != GH_BODY_UNSET ? b->deadline_ms : l->body_deadline_ms;
    uint64_t rate = b && b->min_rate != GH_BODY_UNSET ? b->min_rate : l->body_min_rate;
    uint64_t window = b && b->rate_window_ms != GH_BODY_UNSET ? b->rate_window_ms : l->body_rate_window_ms;
    double bound = (double)deadline / 1000.0;
    if (rate > 1000 / SLOW_PAUSE_MS && (double)window / 1000.0 < bound)
        bound = (double)window / 1000.0;
    return bound;
}

static void slow_body(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, body_route);
    if (!route) {
        gh_probe_skip(r, "no proxied route takes a request body (POST, PUT, PATCH)");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    double bound = slow_body_bound(p, route->conf);
    if (bound > SLOW_MAX_S - SLOW_GRACE_S) {
        gh_probe_skip(r, "the route's body limits let a slow body go on for %.0f s: longer than the case's cap (%d s)",
                      bound, SLOW_MAX_S);
        return;
    }
    size_t n = (size_t)((bound + SLOW_GRACE_S) * 1000 / SLOW_PAUSE_MS) + 1, hlen;
    const char *head = open_head(p, route, body_method(route->conf), route->path,
                                 "Content-Type: application/json\r\n", &hlen);
    head = gh_arena_printf(&p->arena, "%sContent-Length: %zu\r\n\r\n", head, n + 64);
    char *body = gh_arena_alloc(&p->arena, n + 1);
    memset(body, ' ', n);
    body[n] = '\0';
    const char **parts;
    size_t *lens;
    one_byte_parts(p, body, n, &parts, &lens);
    parts[0] = head; /* the head at once, then the body a byte at a time */
    lens[0] = strlen(head);
    slow_send(p, r, route, parts, lens, n, bound,
              gh_arena_printf(&p->arena, "a body sent a byte every %d ms", SLOW_PAUSE_MS));
}

const gh_probe_case gh_probe_cases_limits[] = {
    {"LIM-001", "limits", "the last units of a rate limit raced: its size + 3 requests at once", OWASP_LIMITS, 362,
     GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "at most the limit's burst pass; the rest 429 (at most 203 connections, limits over 200 a period skipped)",
     "Keep rate_limits in one table per limit (Gatehouse's local store), or store: redis across gateways.", race},
    {"LIM-002", "limits", "the last units of a rate limit raced on one HTTP/2 connection (size + 3 streams)",
     OWASP_LIMITS, 362, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "at most the limit's burst pass, as on separate connections (skipped when the listener has no h2)",
     "Count each HTTP/2 stream as a request in every rate limit (Gatehouse runs every stage per stream).",
     h2_multiplex},
    {"LIM-003", "limits", "one client past each rate limit (at most its size + 5 requests a limit)", OWASP_LIMITS,
     770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "429 (or 503) once the burst is spent, for every limit of every route (limits over 200 a period skipped)",
     "Give the route a rate limit (rate_limit) in mode: enforce (shadow refuses nothing).", exhaust_case},
    {"LIM-004", "limits", "the exhausted limit escaped with a forged client (X-Forwarded-For rotated)", OWASP_LIMITS,
     290, GH_PSEV_HIGH, GH_PN_CONFIG | GH_PN_LOAD,
     "still 429: X-Forwarded-For, X-Real-IP, Forwarded, True-Client-IP and a header key rotated each request",
     "Key limits on what a client cannot choose: key: client_ip with trusted_proxies listing only your proxies, "
     "jwt.sub or api_key; never header.X-Forwarded-For or a client-sent id.", rotation},
    {"LIM-005", "limits", "the exhausted limit escaped by other spellings of the path (/x/, /X, /x?y, //x)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD, "still 429, or refused (400-405)",
     "Key limits on the client, not the path; Gatehouse limits the canonical path's route.", path_variants},
    {"LIM-006", "limits", "the exhausted limit escaped by other spellings of Host (case, port, trailing dot)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD, "still 429, or refused (400)",
     "Key limits on the client; a header.Host key reads the canonical host.", host_variants},
    {"LIM-007", "limits", "the exhausted limit escaped with a new token per request (new jti, same sub)",
     OWASP_LIMITS, 770, GH_PSEV_HIGH, GH_PN_CONFIG | GH_PN_LOAD | GH_PN_SIGN,
     "still 429: a claim-keyed limit counts the subject, whatever token it shows",
     "Key on a claim naming the caller (jwt.sub, jwt.client_id), never one each token has anew (jti, iat).",
     token_rotation},
    {"LIM-008", "limits", "a request target over limits.max_target_bytes", OWASP_LIMITS, 770, GH_PSEV_LOW, 0,
     "414, nothing forwarded", "Keep limits.max_target_bytes small (8k default).", target_too_long},
    {"LIM-009", "limits", "a request head over limits.max_head_bytes", OWASP_LIMITS, 770, GH_PSEV_LOW, 0,
     "431, nothing forwarded", "Keep limits.max_head_bytes small (16k default).", head_too_big},
    {"LIM-010", "limits", "more header fields than limits.max_headers", OWASP_LIMITS, 770, GH_PSEV_LOW, 0,
     "431, nothing forwarded", "Keep limits.max_headers small (100 default).", too_many_fields},
    {"LIM-011", "limits", "a body over the route's limit (Content-Length, then chunked)", OWASP_LIMITS, 770,
     GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_WRITE, "413, nothing forwarded for a Content-Length over the limit",
     "Set body.max_bytes on routes that take bodies (limits.max_body_bytes otherwise).", body_too_big},
    {"LIM-012", "limits", "slowloris: a head sent a byte every 200 ms (capped at head_timeout + 3 s)", OWASP_LIMITS,
     400, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD, "408 or the connection closed within limits.head_timeout",
     "Keep limits.head_timeout short (10s default).", slowloris},
    {"LIM-013", "limits", "a body sent a byte every 200 ms (capped at the body limits + 3 s)", OWASP_LIMITS, 400,
     GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD | GH_PN_WRITE,
     "408 or the connection closed within limits.body_rate_window (body_min_rate) or body_deadline",
     "Keep limits.body_min_rate and body_deadline (or the route's body.min_rate, body.deadline) set.", slow_body},
    {0},
};
