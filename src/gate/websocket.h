/* The WebSocket handshake at the gateway (RFC 6455 4.2.1): whether a request asks for a
 * session, and whether its route lets it open one. It runs after every stage of the route has
 * let the request through, so the handshake is authenticated, authorized and limited like any
 * request; the session itself is the proxy's (upstream/ws_tunnel.c). */
#ifndef GH_GATE_WEBSOCKET_H
#define GH_GATE_WEBSOCKET_H

#include <stdbool.h>

#include "gate/exchange.h"

/* Whether the request asks to switch to WebSocket: an Upgrade field naming websocket. Other
 * upgrades (h2c) are ignored as RFC 9110 7.8 allows: the request is served as HTTP/1.1. */
bool gh_ws_requested(const gh_request *req);
/* Judges the handshake against the route's websocket settings and takes one of its sessions:
 * true when the session may be proxied (req->ws.upgrade set), false after a refusal was
 * answered. */
bool gh_ws_handshake(gh_request *req);
/* The request ends: its session (if it took one) is given back to the route. */
void gh_ws_release(gh_request *req);

#endif
