/* The WebSocket handshake at the gateway (websocket.h). */
#include <string.h>
#include <strings.h>

#include "gate/cors.h"
#include "gate/pipeline.h"
#include "gate/websocket.h"
#include "wire/ws_frame.h"

#define FIELD(req, lit) GH_H1_FIND((req)->h1.headers, (req)->h1.nheaders, lit)

/* The one field of this name, or NULL (none, or more than one). */
static const gh_h1_header *single(const gh_request *req, const char *lower, size_t len)
{
    const gh_h1_header *h = gh_h1_find(req->h1.headers, req->h1.nheaders, lower, len);
    if (!h)
        return NULL;
    const gh_h1_header *end = req->h1.headers + req->h1.nheaders;
    return gh_h1_find(h + 1, (size_t)(end - h - 1), lower, len) ? NULL : h;
}
#define SINGLE(req, lit) single((req), lit, sizeof(lit) - 1)

static bool field_has(const gh_request *req, const char *lower, size_t len, const char *token)
{
    const gh_h1_header *end = req->h1.headers + req->h1.nheaders;
    for (const gh_h1_header *h = req->h1.headers;
         (h = gh_h1_find(h, (size_t)(end - h), lower, len)); h++)
        if (gh_h1_list_has_n(h->value, h->value_len, token, strlen(token)))
            return true;
    return false;
}

bool gh_ws_requested(const gh_request *req)
{
    return field_has(req, "upgrade", 7, "websocket");
}

/* The page's origin, against the route's list; with no list, the page must come from the
 * host it connects to (its Origin's host and port are the request's Host). A request without
 * Origin comes from no browser page: cross-site WebSocket hijacking needs a browser, and
 * browsers always send it. */
static bool origin_allowed(const gh_request *req, const gh_websocket_conf *ws)
{
    const gh_h1_header *o = FIELD(req, "origin");
    if (!o || ws->any_origin)
        return true;
    if (!SINGLE(req, "origin"))
        return false; /* two pages at once: the first must not vouch for the second */
    for (size_t i = 0; i < ws->norigins; i++)
        if (gh_cors_origin_matches(ws->origins[i], o->value, o->value_len))
            return true;
    if (ws->norigins)
        return false;
    const char *host = memchr(o->value, ':', o->value_len);
    if (!host || (size_t)(o->value + o->value_len - host) < 3 || memcmp(host, "://", 3) != 0)
        return false; /* "null" and anything that is no origin */
    host += 3;
    size_t len = (size_t)(o->value + o->value_len - host);
    return req->h1.host && len == req->h1.host_len && strncasecmp(host, req->h1.host, len) == 0;
}

/* RFC 6455 4.2.1's requirements on the request; the reason refused, or GH_R_OK. */
static gh_reason judge(gh_request *req, const char **detail)
{
    const gh_h1_request *h1 = &req->h1;
    const gh_websocket_conf *ws = req->match.route->websocket;
    if (!ws) {
        *detail = "the route has no websocket settings: its Upgrade is refused, not served as a "
                  "plain request";
        return GH_R_WS_NOT_ALLOWED;
    }
    if (req->peer.h2) {
        *detail = "WebSocket over HTTP/2 (RFC 8441) is not supported: use HTTP/1.1";
        return GH_R_WS_BAD_HANDSHAKE;
    }
    if (h1->method_len != 3 || memcmp(h1->method, "GET", 3) != 0 || h1->minor != 1 ||
        h1->body != GH_BODY_NONE) {
        *detail = "the handshake is an HTTP/1.1 GET without a body";
        return GH_R_WS_BAD_HANDSHAKE;
    }
    if (!field_has(req, "connection", 10, "upgrade")) {
        *detail = "Connection does not name upgrade";
        return GH_R_WS_BAD_HANDSHAKE;
    }
    const gh_h1_header *v = SINGLE(req, "sec-websocket-version");
    if (!v || v->value_len != 2 || memcmp(v->value, "13", 2) != 0) {
        *detail = "Sec-WebSocket-Version must be 13, once";
        return GH_R_WS_VERSION;
    }
    const gh_h1_header *k = SINGLE(req, "sec-websocket-key");
    if (!k || !gh_ws_key_ok(k->value, k->value_len)) {
        *detail = "Sec-WebSocket-Key must be the base64 of 16 bytes, once";
        return GH_R_WS_BAD_HANDSHAKE;
    }
    if (!origin_allowed(req, ws)) {
        *detail = ws->norigins ? "the Origin is not in websocket.origins"
                               : "the Origin is not the host's own (websocket.origins lists "
                                 "the pages of other origins that may connect)";
        return GH_R_WS_ORIGIN;
    }
    gh_ws_accept(k->value, k->value_len, req->ws.accept);
    return GH_R_OK;
}

/* A session of the route's, unless max_connections are open (counted across workers). */
static bool take_session(const gh_websocket_conf *ws)
{
    unsigned n = atomic_load_explicit(ws->sessions, memory_order_relaxed);
    do {
        if (n >= ws->max_connections)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(ws->sessions, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

bool gh_ws_handshake(gh_request *req)
{
    const char *detail = NULL;
    gh_reason r = judge(req, &detail);
    if (r == GH_R_WS_VERSION) {
        const char *more = "Sec-WebSocket-Version: 13\r\n", *had = req->extra_headers;
        size_t hl = had ? strlen(had) : 0;
        char *both = gh_arena_alloc(&req->arena, hl + strlen(more) + 1);
        if (both) {
            memcpy(both, had ? had : "", hl);
            strcpy(both + hl, more);
            req->extra_headers = both;
        }
    }
    if (r == GH_R_OK && req->svc->draining) {
        r = GH_R_DRAINING;
        detail = "the gateway is draining: no new session";
    } else if (r == GH_R_OK && !take_session(req->match.route->websocket)) {
        r = GH_R_WS_FULL;
        detail = "the route has websocket.max_connections sessions open";
    }
    if (r != GH_R_OK) {
        gh_request_refuse(req, r, detail);
        return false;
    }
    req->ws.upgrade = true;
    return true;
}

void gh_ws_release(gh_request *req)
{
    if (!req->ws.upgrade)
        return;
    req->ws.upgrade = false;
    if (req->ws.open)
        gh_metrics_websocket(&req->svc->metrics, req->match.route->name, req->ws.close_code,
                             req->ws.frames_in, req->ws.frames_out, req->ws.bytes_in,
                             req->ws.bytes_out);
    atomic_fetch_sub_explicit(req->match.route->websocket->sessions, 1, memory_order_relaxed);
}
