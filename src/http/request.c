#include <arpa/inet.h>
#include <string.h>

#include "core/clock.h"
#include "http/conn_internal.h"
#include "http/cors.h"
#include "wire/normalize.h"
#include "http/request.h"
#include "http/respond.h"
#include "upstream/proxy.h"

#define GH_REQUEST_ARENA_CHUNK 8192
#define GH_REQUEST_ARENA_LIMIT (256u * 1024u)

/* Dotted quad without printf: this runs for every request. */
static void format_ipv4(const unsigned char *a, char *out)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            *out++ = (char)('0' + v / 100);
        if (v >= 10)
            *out++ = (char)('0' + v / 10 % 10);
        *out++ = (char)('0' + v % 10);
        *out++ = i < 3 ? '.' : '\0';
    }
}

static bool in_cidrs(const gh_config *cfg, int fam, const unsigned char *addr)
{
    for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
        const gh_cidr *t = &cfg->trusted_proxies[i];
        if (t->family != fam)
            continue;
        int bits = t->prefix, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (t->addr[k] != addr[k])
                break;
        if (bits >= 8)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        if (bits == 0 || (t->addr[k] & mask) == (addr[k] & mask))
            return true;
    }
    return false;
}

bool gh_request_trusted_addr(const gh_config *cfg, int fam, const unsigned char *addr)
{
    /* An IPv4 peer of a dual-stack listener, or a hop written ::ffff:a.b.c.d, is also that IPv4
     * address: a proxy in 10.0.0.0/8 is trusted whichever way its address is spelled. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (in_cidrs(cfg, fam, addr))
        return true;
    return fam == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0 &&
           in_cidrs(cfg, AF_INET, addr + 12);
}

static void format_peer(gh_conn *c, gh_request *req)
{
    int fam = c->peer_family == 6 ? AF_INET6 : AF_INET;
    if (fam == AF_INET)
        format_ipv4(c->peer_addr, req->client_ip);
    else if (!inet_ntop(fam, c->peer_addr, req->client_ip, sizeof(req->client_ip)))
        strcpy(req->client_ip, "-");
    req->trusted_peer = gh_request_trusted_addr(req->config, fam, c->peer_addr);
}

/* Where a ":port" suffix (1 to 5 digits) starts in s[0..len), or len when there is none. An
 * unbracketed IPv6 address has more than one ':' and so never ends in a port. */
static size_t port_at(const char *s, size_t len)
{
    const char *colon = memrchr(s, ':', len);
    size_t at = colon ? (size_t)(colon - s) : len, digits = len - at - (colon ? 1 : 0);
    if (!colon || digits == 0 || digits > 5 || (s[0] != '[' && memchr(s, ':', at)))
        return len;
    for (size_t i = at + 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return len;
    return s[0] == '[' && (at == 0 || s[at - 1] != ']') ? len : at;
}

int gh_request_parse_addr(const char *s, size_t len, unsigned char out[16])
{
    char buf[48];
    /* Proxies write a hop as an address, [IPv6], or either with the port it connected from
     * (RFC 7239 node syntax, and what some load balancers put in X-Forwarded-For): the port
     * names no other client, so it is no part of the address. */
    len = port_at(s, len);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out) == 1)
        return AF_INET;
    return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
}

/* The element of an X-Forwarded-For value that ends at *end (exclusive), trimmed; *end moves
 * before its comma. */
static const char *previous_element(const char *value, const char **end, size_t *len)
{
    const char *e = *end, *p = e;
    while (p > value && p[-1] != ',')
        p--;
    *end = p > value ? p - 1 : value;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *len = (size_t)(e - p);
    return p;
}

const char *gh_request_client_address(const gh_request *req, size_t *len)
{
    const char *leftmost = NULL;
    size_t leftmost_len = 0;
    for (size_t i = req->trusted_peer ? req->h1.nheaders : 0; i-- > 0;) {
        const gh_h1_header *h = &req->h1.headers[i];
        if (!GH_H1_NAME_IS(h, "x-forwarded-for"))
            continue;
        const char *end = h->value + h->value_len;
        while (end > h->value) {
            size_t n;
            const char *e = previous_element(h->value, &end, &n);
            unsigned char addr[16];
            if (n == 0)
                continue;
            leftmost = e;
            leftmost_len = n;
            int fam = gh_request_parse_addr(e, n, addr);
            if (!fam || !gh_request_trusted_addr(req->config, fam, addr)) {
                *len = n;
                return e;
            }
        }
    }
    if (leftmost) { /* every hop is a trusted proxy: the first one is the client */
        *len = leftmost_len;
        return leftmost;
    }
    *len = strlen(req->client_ip);
    return req->client_ip;
}

/* A request in its own arena, on the worker's current snapshot, attached to the connection.
 * NULL (and the connection closed) when memory ran out. */
gh_request *gh_request_new(gh_conn *c)
{
    gh_arena a;
    gh_arena_init_spares(&a, GH_REQUEST_ARENA_CHUNK, GH_REQUEST_ARENA_LIMIT, &c->svc->arena_spares);
    gh_request *req = gh_arena_zalloc(&a, sizeof(*req));
    if (!req) {
        gh_arena_free(&a);
        gh_conn_close(c);
        return NULL;
    }
    req->arena = a;
    req->conn = c;
    req->snap = gh_snapshots_get(&c->svc->snapshots);
    req->config = req->snap->config;
    req->start_us = gh_now_us();
    gh_id_gen_next(&c->svc->ids, req->id);
    req->id_len = 32;
    format_peer(c, req);
    c->req = req;
    return req;
}

/* A trusted proxy's X-Request-Id becomes this request's id, so one id follows the request
 * through every hop; only a plain token is taken (it is echoed into logs and headers). */
void gh_request_adopt_id(gh_request *req)
{
    if (!req->trusted_peer)
        return;
    for (size_t i = 0; i < req->h1.nheaders; i++) {
        const gh_h1_header *h = &req->h1.headers[i];
        if (!GH_H1_NAME_IS(h, "x-request-id") || h->value_len == 0 || h->value_len > 64)
            continue;
        for (size_t k = 0; k < h->value_len; k++) {
            char ch = h->value[k];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
                return;
        }
        memcpy(req->id, h->value, h->value_len);
        req->id[h->value_len] = '\0';
        req->id_len = (uint8_t)h->value_len;
        return;
    }
}

/* Copies the head into the request's arena so the input block can be reused and compacted
 * while the request lives; pointers are rebased. */
bool gh_request_adopt_head(gh_request *req, const char *base, const gh_h1_request *h1,
                           const gh_h1_header *hdrs)
{
    char *copy = gh_arena_alloc(&req->arena, h1->head_len);
    gh_h1_header *h = gh_arena_alloc(&req->arena, (h1->nheaders ? h1->nheaders : 1) * sizeof(*h));
    if (!copy || !h)
        return false;
    memcpy(copy, base, h1->head_len);
    ptrdiff_t d = copy - base;
    req->h1 = *h1;
    req->h1.method += d;
    req->h1.target += d;
    for (size_t i = 0; i < h1->nheaders; i++) {
        h[i] = hdrs[i];
        h[i].name += d;
        h[i].value += d;
    }
    if (req->h1.host) {
        /* From here on the host is its canonical form, in the Host field too: routing, limits
         * (header.Host keys), authorization rules, policies and the upstream request all read
         * this one. */
        char *canon = gh_arena_alloc(&req->arena, GH_HOST_CANON_MAX);
        if (!canon)
            return false;
        /* The scheme's own port is no port (RFC 3986 6.2.3): admin.test:80 is admin.test. */
        if (req->h1.host_parts.port == (gh_conn_tls(req->conn) ? 443 : 80))
            req->h1.host_parts.port = -1;
        size_t n = gh_host_canon(req->h1.host + d, &req->h1.host_parts, canon);
        for (size_t i = 0; i < h1->nheaders; i++)
            if (hdrs[i].value == h1->host) {
                h[i].value = canon;
                h[i].value_len = (uint32_t)n;
            }
        req->h1.host = canon;
        req->h1.host_len = n;
    }
    req->h1.headers = h;
    return true;
}

static void route_action(gh_request *req);

uint64_t gh_request_max_body(const gh_request *req)
{
    const gh_body_conf *b = req->match.route ? req->match.route->body : NULL;
    return b && b->max_bytes ? b->max_bytes : req->config->limits.max_body_bytes;
}

/* The route's own setting, or the global one when it leaves it unset. */
static uint64_t route_or(uint64_t own, uint64_t global)
{
    return own != GH_BODY_UNSET ? own : global;
}

gh_body_limits gh_request_body_limits(const gh_request *req)
{
    const gh_body_conf *b = req->match.route ? req->match.route->body : NULL;
    const gh_limits_conf *l = &req->config->limits;
    gh_body_limits out = {l->body_timeout_ms, l->body_deadline_ms, l->body_min_rate,
                          l->body_rate_window_ms, l->body_buffer_bytes};
    if (!b)
        return out;
    if (b->timeout_ms)
        out.timeout_ms = b->timeout_ms;
    out.deadline_ms = route_or(b->deadline_ms, out.deadline_ms);
    out.min_rate = route_or(b->min_rate, out.min_rate);
    out.rate_window_ms = route_or(b->rate_window_ms, out.rate_window_ms);
    out.buffer_bytes = route_or(b->buffer_bytes, out.buffer_bytes);
    return out;
}

gh_verdict gh_stage_refuse(gh_request *req, gh_reason reason, const char *detail)
{
    req->reason = reason;
    req->detail = detail;
    return GH_DONE;
}

/* Runs one stage (or a waiting stage's next step) with the request marked as in a stage, so
 * that a refusal made inside is only recorded; it is answered here, after the stage has
 * returned, and nothing reads the request after that. True when the request goes on. */
static bool stage_passes(gh_request *req, gh_stage_step step, const void *arg, size_t at)
{
    req->in_stage = true;
    gh_verdict v = step(req, arg);
    req->in_stage = false;
    if (req->reason == GH_R_OK && v == GH_NEXT)
        return true;
    if (req->reason == GH_R_OK && v == GH_WAIT) {
        req->stage_at = (uint8_t)at;
        return false;
    }
    if (req->reason == GH_R_OK) /* GH_DONE with no reason recorded: a stage's fault */
        gh_stage_refuse(req, GH_R_INTERNAL, "a stage refused without saying why");
    gh_conn_refuse(req, req->reason, req->detail);
    return false;
}

/* The route's stages from the first'th on; a stage that waits resumes through
 * gh_request_resume. */
static void run_stages(gh_request *req, size_t first)
{
    const gh_route_conf *route = req->match.route;
    for (size_t i = first; i < route->nstages; i++)
        if (!stage_passes(req, route->stages[i].stage->run, route->stages[i].conf, i))
            return;
    route_action(req);
}

void gh_request_resume(gh_request *req, gh_stage_step step, const void *arg)
{
    /* Taken first: once the step or the stages after it answer, req is freed. The connection
     * itself outlives this call (its memory goes in a later loop callback). */
    gh_conn *c = req->conn;
    size_t at = req->stage_at;
    req->wait_abort = NULL;
    if (stage_passes(req, step, arg, at))
        run_stages(req, at + 1);
    if (!c->closing)
        gh__conn_process(c); /* body bytes that arrived meanwhile, or the next pipelined request */
}

static void dispatch(gh_request *req)
{
    const gh_config *cfg = req->config;
    const char *t = req->h1.target;
    size_t tlen = req->h1.target_len;
    const char *q = memchr(t, '?', tlen);
    size_t plen = q ? (size_t)(q - t) : tlen;
    if (q) {
        req->query = q;
        req->query_len = tlen - plen;
    }
    const char *detail = NULL;
    req->path = gh_arena_alloc(&req->arena, GH_NORMALIZED_MAX(plen));
    if (!req->path) {
        gh_conn_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_reason r = gh_normalize_path(t, plen, &cfg->paths, req->path, &req->path_len, &detail);
    if (r == GH_R_OK && q)
        r = gh_check_query(q + 1, tlen - plen - 1, &detail);
    if (r != GH_R_OK) {
        req->path_len = 0;
        gh_conn_refuse(req, r, detail);
        return;
    }
    if (req->conn->underscores == GH_US_REFUSE) {
        for (size_t i = 0; i < req->h1.nheaders; i++)
            if (memchr(req->h1.headers[i].name, '_', req->h1.headers[i].name_len)) {
                gh_conn_refuse(req, GH_R_UNDERSCORE_HEADER,
                               "a header name contains '_' (headers_with_underscores: refuse)");
                return;
            }
    }
    unsigned m = gh_route_method_bit(req->h1.method, req->h1.method_len);
    if (!(m & req->conn->methods)) {
        req->match.allow = req->conn->methods;
        gh_conn_refuse(req, GH_R_METHOD_NOT_ALLOWED, "the listener does not accept this method");
        return;
    }
    /* A CORS preflight is answered for the route of the method it asks about, before any
     * authentication: browsers send it without credentials. */
    unsigned asked;
    if (gh_cors_is_preflight(req, &asked) && (asked & req->conn->methods) &&
        gh_route_find(cfg, req->conn->listener, req->h1.host, req->h1.host_parts.name_len,
                      req->path, req->path_len, asked, &req->match) == GH_R_OK &&
        req->match.route->cors) {
        gh_cors_answer_preflight(req);
        return;
    }
    r = gh_route_find(cfg, req->conn->listener, req->h1.host, req->h1.host_parts.name_len,
                      req->path, req->path_len, m, &req->match);
    if (r != GH_R_OK) {
        gh_conn_refuse(req, r,
                       r == GH_R_NOT_FOUND ? "no route matches this host and path"
                                           : "the route does not allow this method");
        return;
    }
    gh_cors_note_origin(req);
    run_stages(req, 0);
}

/* The route's action, once every stage has let the request through. */
static void route_action(gh_request *req)
{
    const gh_route_conf *route = req->match.route;
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > gh_request_max_body(req)) {
        gh_conn_refuse(req, GH_R_BODY_TOO_LARGE,
                       route->body && route->body->max_bytes
                           ? "Content-Length exceeds the route's body.max_bytes"
                           : "Content-Length exceeds limits.max_body_bytes");
        return;
    }
    if (!route->upstream) {
        /* A direct response reads and discards the body first, so the connection stays
         * usable; a client waiting for 100-continue gets the answer without sending it. */
        if (!req->body_done && !req->h1.expect_continue) {
            req->discard_body = true;
            gh__conn_body_begin(req);
            return;
        }
        gh_respond_direct(req);
        gh_conn_response_done(req);
        return;
    }
    /* The body (up to body.buffer_before_upstream of it) is read before an upstream slot is
     * taken: a client that sends it slowly holds a connection of its own, not the upstream's. */
    uint64_t buffer = gh_request_body_limits(req).buffer_bytes;
    if (!req->body_done && buffer && !req->body_buffered) {
        req->body_buffered = true;
        gh_conn_collect_body_upto(req, buffer, route_action);
        return;
    }
    if (!req->body_done)
        gh__conn_body_begin(req);
    gh_proxy_start(req);
}

void gh__request_begin(gh_conn *c, const gh_h1_request *h1, const gh_h1_header *hdrs)
{
    gh_request *req = gh_request_new(c);
    if (!req)
        return;
    const char *base = c->in->data + c->in->off;
    c->in->off += (uint32_t)h1->head_len;
    c->scanned = 0;
    if (!gh_request_adopt_head(req, base, h1, hdrs)) {
        gh_conn_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_request_adopt_id(req);
    req->body_left = req->h1.body == GH_BODY_LENGTH ? req->h1.content_length : 0;
    req->body_done = req->h1.body == GH_BODY_NONE;
    if (req->h1.ambiguous)
        req->close_after = true;
    c->state = GH_CS_WAIT;
    gh__conn_stop_timer(c);
    dispatch(req);
}
