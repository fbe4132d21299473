/* The heads the proxy writes: the upstream request head (what the client sent that may pass,
 * what the gateway adds, the operator's rules) and the client's response fields (the upstream's
 * end-to-end fields the rules keep, then what every response carries). */
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "tls/client_cert.h"
#include "gate/cors.h"
#include "wire/header_ops.h"
#include "wire/host.h"
#include "gate/respond.h"
#include "gate/trace.h"
#include "upstream/upconn.h"

#define FOLDS(h, lit) gh_h1_name_folds_to((h), lit, sizeof(lit) - 1)

static bool folds_to_string(const gh_h1_header *h, const char *name)
{
    return name && gh_h1_name_folds_to(h, name, strlen(name));
}

/* Headers that say who the client is, where it connected from, or which URL or method it
 * "really" sent: backends and frameworks believe them, so only a trusted proxy may pass them on.
 * Names compare with '_' and '-' alike (gh_h1_name_folds_to). */
static bool gateway_owned(const gh_h1_header *h)
{
    static const char *const names[] = {"forwarded",      "x-real-ip",     "x-client-ip",
                                        "true-client-ip", "cf-connecting-ip", "x-original-url",
                                        "x-rewrite-url",  "x-override-url", "x-http-method-override",
                                        "x-http-method",  "x-method-override", NULL};
    if (h->name_len > 12) {
        gh_h1_header prefix = {h->name, NULL, 12, 0};
        if (FOLDS(&prefix, "x-forwarded-"))
            return true;
    }
    for (size_t i = 0; names[i]; i++)
        if (folds_to_string(h, names[i]))
            return true;
    return false;
}

/* Headers only the gateway sets (from claims and API keys it verified, on any route): dropped
 * from every request, from trusted peers too, in any spelling. */
static bool set_by_gateway(const gh_config *c, const gh_h1_header *h)
{
    for (size_t i = 0; i < c->nowned_headers; i++)
        if (gh_h1_name_folds_to(h, c->owned_headers[i].name, c->owned_headers[i].name_len))
            return true;
    return FOLDS(h, "client-cert") || FOLDS(h, "client-cert-chain") || FOLDS(h, "x-request-id");
}

/* Headers a route sets from verified claims are removed from every request first, whatever
 * the client sent; the client's Authorization when the route drops it; an API key always. */
static bool route_owned(const gh_route_conf *r, const gh_h1_header *h)
{
    if (!r->forward_authorization && GH_H1_NAME_IS(h, "authorization"))
        return true;
    if ((r->auth_api_key && folds_to_string(h, r->auth_api_key->header)) ||
        folds_to_string(h, r->forward_api_client))
        return true;
    for (size_t i = 0; i < r->nforward_claims; i++)
        if (folds_to_string(h, r->forward_claims[i].header))
            return true;
    return false;
}

/* Whether the Connection header(s) of a message name this field (it is then hop-by-hop). */
static bool named_by_connection(const gh_h1_header *hdrs, size_t n, const gh_h1_header *h)
{
    for (size_t i = 0; i < n; i++)
        if (GH_H1_NAME_IS(&hdrs[i], "connection") &&
            gh_h1_list_has_n(hdrs[i].value, hdrs[i].value_len, h->name, h->name_len))
            return true;
    return false;
}

/* Whether a Connection header names any field (anything but close and keep-alive): only then
 * must each field be checked against it. */
static bool connection_names_fields(const gh_h1_header *hdrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!GH_H1_NAME_IS(&hdrs[i], "connection"))
            continue;
        const char *p = hdrs[i].value, *end = p + hdrs[i].value_len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            const char *t = e;
            while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            size_t len = (size_t)(t - p);
            if (len && !(len == 5 && strncasecmp(p, "close", 5) == 0) &&
                !(len == 10 && strncasecmp(p, "keep-alive", 10) == 0))
                return true;
            p = e + 1;
        }
    }
    return false;
}

static void add_field(gh_sbuf *b, const char *name, size_t nlen, const char *value, size_t vlen)
{
    gh_sbuf_add(b, name, nlen);
    GH_SBUF_LIT(b, ": ");
    gh_sbuf_add(b, value, vlen);
    GH_SBUF_LIT(b, "\r\n");
}

static void add_strings(gh_sbuf *b, const char *name, const char *value)
{
    add_field(b, name, strlen(name), value, strlen(value));
}

/* Whether another field of the request has h's name in another spelling ('_' for '-'): the
 * gateway read one of them (an authorization rule, a policy) and a CGI-style backend might
 * read the other. */
static bool spelled_twice(const gh_h1_request *h1, const gh_h1_header *h)
{
    for (size_t i = 0; i < h1->nheaders; i++)
        if (&h1->headers[i] != h && gh_h1_name_folds_to(&h1->headers[i], h->name, h->name_len))
            return true;
    return false;
}

/* Whether the client's field h goes upstream. A name with '_' goes only where the listener
 * allows such names, and never when it spells a name the gateway owns (a trusted proxy sends
 * those with '-') or another field's name. Proxy never goes, from anyone: no HTTP message has
 * it, and CGI-style backends turn it into HTTP_PROXY, which their own HTTP clients take as the
 * proxy to send requests (and credentials) through ("httpoxy", CVE-2016-5385 and others). */
static bool passes_upstream(const gh_request *req, bool conn_hdr, const gh_h1_header *h)
{
    const gh_h1_request *h1 = &req->h1;
    const gh_route_conf *route = req->match.route;
    bool underscore = memchr(h->name, '_', h->name_len) != NULL;
    if (underscore && (req->peer.underscores != GH_US_ALLOW || spelled_twice(h1, h)))
        return false;
    return !(gh_h1_is_hop_by_hop(h) || GH_H1_NAME_IS(h, "host") ||
             GH_H1_NAME_IS(h, "content-length") || GH_H1_NAME_IS(h, "expect") ||
             route_owned(route, h) || set_by_gateway(req->config, h) || gh_trace_field(h) ||
             (gateway_owned(h) && (!req->trusted_peer || underscore)) ||
             FOLDS(h, "x-forwarded-for") || FOLDS(h, "proxy") ||
             (req->ws.upgrade && GH_H1_NAME_IS(h, "sec-websocket-extensions")) ||
             !gh_header_ops_keeps(&req->config->headers.request, &route->headers.request, h) ||
             (conn_hdr && named_by_connection(h1->headers, h1->nheaders, h)));
}

/* What the gateway tells the upstream about the request: the client's address and scheme, the
 * request id and trace context, verified claims, the client certificate, the API key's client. */
static void add_gateway_fields(gh_request *req, gh_sbuf *b)
{
    const gh_h1_request *h1 = &req->h1;
    const gh_route_conf *route = req->match.route;
    /* A trusted proxy's X-Forwarded-For lines are one list (RFC 9110 5.3), in order: a proxy
     * that appends a line of its own (HAProxy's option forwardfor) puts the address it saw
     * last, where the client cannot reach. */
    GH_SBUF_LIT(b, "X-Forwarded-For: ");
    for (size_t i = 0; req->trusted_peer && i < h1->nheaders; i++) {
        const gh_h1_header *h = &h1->headers[i];
        if (GH_H1_NAME_IS(h, "x-forwarded-for") && h->value_len) {
            gh_sbuf_add(b, h->value, h->value_len);
            GH_SBUF_LIT(b, ", ");
        }
    }
    gh_sbuf_adds(b, req->client_ip);
    GH_SBUF_LIT(b, "\r\n");
    if (!req->trusted_peer || !GH_H1_FIND(h1->headers, h1->nheaders, "x-forwarded-proto"))
        add_strings(b, "X-Forwarded-Proto", req->peer.tls ? "https" : "http");
    if (h1->host &&
        (!req->trusted_peer || !GH_H1_FIND(h1->headers, h1->nheaders, "x-forwarded-host")))
        add_field(b, "X-Forwarded-Host", 16, h1->host, h1->host_len);
    add_field(b, "X-Request-Id", 12, req->id, req->id_len);
    gh_trace_fields(req, b);
    for (size_t i = 0; req->claim_values && i < route->nforward_claims; i++)
        if (req->claim_values[i])
            add_strings(b, route->forward_claims[i].header, req->claim_values[i]);
    const gh_client_cert *cert = route->forward_client_cert ? req->ds->client_cert(req) : NULL;
    if (cert && cert->header) { /* RFC 9440; copies the client sent were dropped */
        add_strings(b, "Client-Cert", cert->header);
        if (cert->chain_header)
            add_strings(b, "Client-Cert-Chain", cert->chain_header);
    }
    if (route->forward_api_client && req->api_client)
        add_strings(b, route->forward_api_client, req->api_client);
}

/* The Host the upstream is sent: the route's rewrite.host, else its upstream's host, else the
 * client's (preserve), which a request without one (HTTP/1.0) takes from the endpoint. */
static void add_host(const gh_request *req, gh_sbuf *b)
{
    const gh_host_rule *rule = &req->match.route->rewrite.host;
    if (!rule->mode)
        rule = &req->upstream->host;
    GH_SBUF_LIT(b, "Host: ");
    if (rule->mode == GH_UPHOST_VALUE)
        gh_sbuf_adds(b, rule->value);
    else if (rule->mode != GH_UPHOST_ENDPOINT && req->h1.host)
        gh_sbuf_add(b, req->h1.host, req->h1.host_len);
    else
        gh_sbuf_adds(b, req->endpoint->authority);
    GH_SBUF_LIT(b, "\r\n");
}

static int build_request_head(gh_request *req, gh_sbuf *b)
{
    const gh_h1_request *h1 = &req->h1;
    const gh_route_conf *route = req->match.route;
    bool conn_hdr = connection_names_fields(h1->headers, h1->nheaders);
    gh_sbuf_add(b, h1->method, h1->method_len);
    GH_SBUF_LIT(b, " ");
    if (req->upstream_path)
        gh_sbuf_add(b, req->upstream_path, req->upstream_path_len);
    else
        gh_sbuf_add(b, req->path, req->path_len);
    if (req->query)
        gh_sbuf_add(b, req->query, req->query_len);
    GH_SBUF_LIT(b, " HTTP/1.1\r\n");
    add_host(req, b);
    for (size_t i = 0; i < h1->nheaders; i++) {
        const gh_h1_header *h = &h1->headers[i];
        if (passes_upstream(req, conn_hdr, h))
            add_field(b, h->name, h->name_len, h->value, h->value_len);
    }
    add_gateway_fields(req, b);
    gh_h1_header put[4 * GH_HEADER_OPS_MAX];
    size_t nput = 0;
    gh_header_ops_put(&req->config->headers.request, &route->headers.request, put, &nput,
                      sizeof(put) / sizeof(put[0]));
    for (size_t i = 0; i < nput; i++)
        add_field(b, put[i].name, put[i].name_len, put[i].value, put[i].value_len);
    if (h1->body == GH_BODY_LENGTH) {
        GH_SBUF_LIT(b, "Content-Length: ");
        gh_sbuf_add_u64(b, h1->content_length);
        GH_SBUF_LIT(b, "\r\n");
    } else if (h1->body == GH_BODY_CHUNKED) {
        GH_SBUF_LIT(b, "Transfer-Encoding: chunked\r\n");
    }
    if (h1->ambiguous)
        GH_SBUF_LIT(b, "Connection: close\r\n");
    else if (req->ws.upgrade) /* the handshake, judged by gate/websocket.c; no extension offered */
        GH_SBUF_LIT(b, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    GH_SBUF_LIT(b, "\r\n");
    return b->overflow ? -1 : 0;
}

static size_t ops_bytes(const gh_header_ops *ops)
{
    size_t n = 0;
    for (size_t i = 0; i < ops->nput; i++)
        n += ops->put[i].name_len + ops->put[i].value_len + 4;
    return n;
}

char *gh__request_head(gh_request *req, size_t *len)
{
    const gh_route_conf *route = req->match.route;
    size_t cap = req->h1.head_len + 1024 + ops_bytes(&req->config->headers.request) +
                 ops_bytes(&route->headers.request) + req->upstream_path_len +
                 GH_HOST_CANON_MAX + strlen(req->endpoint->authority) + gh_trace_fields_bytes(req);
    for (size_t i = 0; req->claim_values && i < route->nforward_claims; i++)
        if (req->claim_values[i])
            cap += strlen(req->claim_values[i]) + strlen(route->forward_claims[i].header) + 4;
    if (req->api_client && route->forward_api_client)
        cap += strlen(req->api_client) + strlen(route->forward_api_client) + 4;
    const gh_client_cert *cert = route->forward_client_cert ? req->ds->client_cert(req) : NULL;
    if (cert && cert->header)
        cap += strlen(cert->header) + (cert->chain_header ? strlen(cert->chain_header) : 0) + 40;
    char *buf = gh_arena_alloc(&req->arena, cap);
    gh_sbuf b = gh_sbuf_make(buf, buf ? cap : 0);
    if (!buf || build_request_head(req, &b) != 0)
        return NULL;
    *len = b.len;
    return b.p;
}

/* Whether the upstream's response field h goes on to the client. A Content-Length on a 204 is
 * dropped (RFC 9110 8.6 forbids it; HTTP/2 clients reject the stream over it); so are the
 * upstream's Strict-Transport-Security and CORS fields where the gateway sends its own. */
static bool passes_to_client(const gh_request *req, const gh_h1_response *r, bool conn_hdr,
                             const gh_h1_header *h)
{
    const gh_route_conf *route = req->match.route;
    return !gh_h1_is_hop_by_hop(h) && !GH_H1_NAME_IS(h, "x-request-id") &&
           !(r->status == 204 && GH_H1_NAME_IS(h, "content-length")) &&
           gh_header_ops_keeps(&req->config->headers.response, &route->headers.response, h) &&
           !(gh_respond_sends_hsts(req) && GH_H1_NAME_IS(h, "strict-transport-security")) &&
           !(route->cors && gh_cors_field(h)) &&
           !(conn_hdr && named_by_connection(r->headers, r->nheaders, h));
}

size_t gh__response_fields(const gh_request *req, const gh_h1_response *r, gh_h1_header *out,
                           size_t max)
{
    size_t n = 0;
    bool conn_hdr = connection_names_fields(r->headers, r->nheaders);
    for (size_t i = 0; i < r->nheaders && n < max; i++)
        if (passes_to_client(req, r, conn_hdr, &r->headers[i]))
            out[n++] = r->headers[i];
    return gh_respond_added_fields(req, out, n, max);
}
