/* Limits, those of one request: its target, head, fields and body over their sizes (414, 431,
 * 413), and clients too slow with the head or the body (408 or the connection closed), each
 * slow case capped at the gateway's own timeout + 3 s. The rate limits are cases_limits.c's. */
#include <string.h>

#include "probe/probe_internal.h"

#define OWASP_LIMITS "API4:2023"
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
static const char *open_head(gh_probe *p, const gh_probe_route *route, const char *method,
                             const char *path, const char *extra, size_t *len)
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
    gh_probe_expect_refusal(
        p, r, route, bytes, len, exact ? 414 : 400, exact ? 414 : 431,
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
    const char *bytes = gh_probe_valid_request(
        p, route, gh_arena_printf(&p->arena, "X-Probe-Pad: %s\r\n", a), &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, p->conf ? 431 : 400, 431,
                            gh_arena_printf(&p->arena, "a head of %zu bytes (limit %zu)", len, max),
                            NULL);
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
                            gh_arena_printf(&p->arena,
                                            "%zu header fields beyond the route's own (limit %zu)",
                                            max + 1, max),
                            NULL);
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

/* A proxied route that takes a body, its valid request shown to pass; NULL with r set. */
static const gh_probe_route *aim_body_route(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, body_route);
    if (!route) {
        gh_probe_skip(r, "no proxied route takes a request body (POST, PUT, PATCH)");
        return NULL;
    }
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* An oversized body: its Content-Length over the limit (413 before anything is read), and, when the
 * limit is small enough to send, a chunked body streaming past it (413 or the connection closed).
 */
static void body_too_big(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_body_route(p, r);
    if (!route)
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
                                            (unsigned long long)max + 1, (unsigned long long)max),
                            &x);
    if (r->verdict == GH_PV_PASS && x.nresponses == 0 && !x.closed)
        gh_probe_fail(r, "a Content-Length over the limit was neither refused nor cut: the gateway "
                         "waited for it");
    if (r->verdict != GH_PV_PASS || max > (1u << 20))
        return;
    size_t chunk = 16384, n = (size_t)max / chunk + 1;
    char *data = gh_arena_alloc(&p->arena, chunk + 1);
    memset(data, 'a', chunk);
    data[chunk] = '\0';
    const char *one = gh_arena_printf(&p->arena, "%zx\r\n%s\r\n", chunk, data), *chunks = "";
    for (size_t i = 0; i < n; i++)
        chunks = gh_arena_printf(&p->arena, "%s%s", chunks, one);
    bytes =
        gh_arena_printf(&p->arena, "%sTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n", head, chunks);
    if (gh_probe_send(p, r, route->target, bytes, strlen(bytes), &(gh_probe_opts){.responses = 1},
                      &x) != 0)
        return;
    gh_probe_note(p, r, &x);
    gh_probe_upstream_note(p, r, NULL);
    int status = x.nresponses ? x.r[0].status : 0;
    if (status != 413 && !(status == 0 && x.closed))
        gh_probe_fail(r, "a chunked body of %zu bytes (limit %llu) was answered %d, not 413",
                      n * chunk, (unsigned long long)max, status);
    else
        gh_probe_pass(r, "a Content-Length over %llu and a chunked body past it were refused (413)",
                      (unsigned long long)max);
}

/* ---- slow clients ---- */

/* Sends parts pausing SLOW_PAUSE_MS between them for at most cap_s; judges the gateway closed (or
 * answered 408) within bound_s. */
static void slow_send(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                      const char *const *parts, const size_t *lens, size_t n, double bound_s,
                      const char *what)
{
    uint64_t saved = p->caps.exchange_ms;
    p->caps.exchange_ms = (uint64_t)((bound_s + SLOW_GRACE_S) * 1000);
    gh_probe_exchange x;
    double t0 = gh_probe_now();
    int rc = gh_probe_send(p, r, route->target, NULL, 0,
                           &(gh_probe_opts){.parts = parts,
                                            .part_lens = lens,
                                            .nparts = n,
                                            .pause_ms = SLOW_PAUSE_MS,
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
                      status ? gh_arena_printf(&p->arena, "answered %d", status)
                             : "closed the connection",
                      took, bound_s);
}

/* bytes cut into n parts of one byte each. */
static void one_byte_parts(gh_probe *p, const char *bytes, size_t n, const char ***parts,
                           size_t **lens)
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
        gh_probe_skip(r, "limits.head_timeout is %.0f s: longer than the case's cap (%d s)",
                      timeout, SLOW_MAX_S);
        return;
    }
    size_t n = (size_t)((timeout + SLOW_GRACE_S) * 1000 / SLOW_PAUSE_MS) + 1, hlen;
    const char *head = open_head(p, route, route->method, route->path, NULL, &hlen);
    while (hlen < n) { /* long enough that the head is never done before the cap */
        head = gh_arena_printf(&p->arena, "%sX-Probe-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                               head);
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
    uint64_t window =
        b && b->rate_window_ms != GH_BODY_UNSET ? b->rate_window_ms : l->body_rate_window_ms;
    double bound = (double)deadline / 1000.0;
    if (rate > 1000 / SLOW_PAUSE_MS && (double)window / 1000.0 < bound)
        bound = (double)window / 1000.0;
    return bound;
}

static void slow_body(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim_body_route(p, r);
    if (!route)
        return;
    double bound = slow_body_bound(p, route->conf);
    if (bound > SLOW_MAX_S - SLOW_GRACE_S) {
        gh_probe_skip(r,
                      "the route's body limits let a slow body go on for %.0f s: longer than the "
                      "case's cap (%d s)",
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

const gh_probe_case gh_probe_cases_limits_request[] = {
    {"LIM-008", "limits", "a request target over limits.max_target_bytes", OWASP_LIMITS, 770,
     GH_PSEV_LOW, 0, "414, nothing forwarded", "Keep limits.max_target_bytes small (8k default).",
     target_too_long},
    {"LIM-009", "limits", "a request head over limits.max_head_bytes", OWASP_LIMITS, 770,
     GH_PSEV_LOW, 0, "431, nothing forwarded", "Keep limits.max_head_bytes small (16k default).",
     head_too_big},
    {"LIM-010", "limits", "more header fields than limits.max_headers", OWASP_LIMITS, 770,
     GH_PSEV_LOW, 0, "431, nothing forwarded", "Keep limits.max_headers small (100 default).",
     too_many_fields},
    {"LIM-011", "limits", "a body over the route's limit (Content-Length, then chunked)",
     OWASP_LIMITS, 770, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_WRITE,
     "413, nothing forwarded for a Content-Length over the limit",
     "Set body.max_bytes on routes that take bodies (limits.max_body_bytes otherwise).",
     body_too_big},
    {"LIM-012", "limits",
     "slowloris: a head sent a byte every 200 ms (capped at head_timeout + 3 s)", OWASP_LIMITS, 400,
     GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD,
     "408 or the connection closed within limits.head_timeout",
     "Keep limits.head_timeout short (10s default).", slowloris},
    {"LIM-013", "limits", "a body sent a byte every 200 ms (capped at the body limits + 3 s)",
     OWASP_LIMITS, 400, GH_PSEV_MEDIUM, GH_PN_CONFIG | GH_PN_LOAD | GH_PN_WRITE,
     "408 or the connection closed within limits.body_rate_window (body_min_rate) or body_deadline",
     "Keep limits.body_min_rate and body_deadline (or the route's body.min_rate, body.deadline) "
     "set.",
     slow_body},
    {0},
};
