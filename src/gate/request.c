#include <arpa/inet.h>
#include <string.h>

#include "core/clock.h"
#include "gate/request.h"
#include "gate/span.h"
#include "gate/trace.h"
#include "wire/host.h"

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

bool gh_request_addr_in(const gh_cidr *list, size_t n, int fam, const unsigned char *addr)
{
    for (size_t i = 0; i < n; i++) {
        const gh_cidr *t = &list[i];
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

static bool in_cidrs(const gh_config *cfg, int fam, const unsigned char *addr)
{
    return gh_request_addr_in(cfg->trusted_proxies, cfg->ntrusted_proxies, fam, addr);
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

static void format_peer(gh_request *req)
{
    int fam = req->peer.family == 6 ? AF_INET6 : AF_INET;
    if (fam == AF_INET)
        format_ipv4(req->peer.addr, req->client_ip);
    else if (!inet_ntop(fam, req->peer.addr, req->client_ip, sizeof(req->client_ip)))
        strcpy(req->client_ip, "-");
    req->trusted_peer = gh_request_trusted_addr(req->config, fam, req->peer.addr);
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
gh_request *gh_request_new(gh_services *svc, const gh_downstream_ops *ds, void *downstream,
                           const gh_peer *peer)
{
    gh_arena a;
    gh_arena_init_spares(&a, GH_REQUEST_ARENA_CHUNK, GH_REQUEST_ARENA_LIMIT, &svc->arena_spares);
    gh_request *req = gh_arena_zalloc(&a, sizeof(*req));
    if (!req) {
        gh_arena_free(&a);
        return NULL;
    }
    req->arena = a;
    req->svc = svc;
    req->ds = ds;
    req->downstream = downstream;
    req->peer = *peer;
    req->snap = gh_snapshots_get(&svc->snapshots);
    req->config = req->snap->config;
    req->start_us = gh_now_us();
    gh_id_gen_next(&svc->ids, req->id);
    req->id_len = 32;
    gh_trace_begin(req);
    gh_span_request_begin(req);
    format_peer(req);
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

/* From here on the host is its canonical form, in the Host field too: routing, limits
 * (header.Host keys), authorization rules, policies and the upstream request all read this
 * one. hdrs: the head's fields (req->h1.headers is set from them by the caller). */
static bool canon_host(gh_request *req, gh_h1_header *hdrs)
{
    if (!req->h1.host)
        return true;
    char *canon = gh_arena_alloc(&req->arena, GH_HOST_CANON_MAX);
    if (!canon)
        return false;
    /* The scheme's own port is no port (RFC 3986 6.2.3): admin.test:80 is admin.test. */
    if (req->h1.host_parts.port == (req->peer.tls ? 443 : 80))
        req->h1.host_parts.port = -1;
    size_t n = gh_host_canon(req->h1.host, &req->h1.host_parts, canon);
    for (size_t i = 0; i < req->h1.nheaders; i++)
        if (hdrs[i].value == req->h1.host) {
            hdrs[i].value = canon;
            hdrs[i].value_len = (uint32_t)n;
        }
    req->h1.host = canon;
    req->h1.host_len = n;
    return true;
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
    if (req->h1.host)
        req->h1.host += d;
    for (size_t i = 0; i < h1->nheaders; i++) {
        h[i] = hdrs[i];
        h[i].name += d;
        h[i].value += d;
    }
    req->h1.headers = h;
    return canon_host(req, h);
}

bool gh_request_take_head(gh_request *req, const gh_h1_request *h1)
{
    req->h1 = *h1;
    return canon_host(req, h1->headers);
}

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
