/* Action ops: what a route does with a request that passed its stages. The proxy implements
 * them (upstream/proxy.c) and so do direct responses (gate/respond.c); the pipeline starts
 * one and the downstream's body pump feeds it. See docs/architecture.md, "Interfaces". */
#ifndef GH_GATE_ACTION_H
#define GH_GATE_ACTION_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gh_request gh_request;

typedef struct gh_action_ops {
    /* Starts the action; it answers through the request's downstream ops. */
    void (*start)(gh_request *req);
    /* Request body bytes (de-chunked). 0, or -1 when the action failed (and reported it). */
    int (*body)(gh_request *req, const char *data, size_t len);
    /* The request body is complete. 0, or -1 when the action failed (and reported it). */
    int (*body_end)(gh_request *req);
    /* Whether the action cannot take body bytes now (not ready, or enough queued): the client
     * is not the slow one while this holds. */
    bool (*body_full)(const gh_request *req);
    /* The client took queued response bytes: the action may produce more. */
    void (*client_drained)(gh_request *req);
    /* An open tunnel's bytes from the client (downstream op tunnel); len 0: the client ended its
     * side. Returns how many it took now: the rest is offered again after body_drained. The
     * request may have ended inside (the downstream checks). NULL: the action opens none. */
    size_t (*tunnel_in)(gh_request *req, const char *data, size_t len);
    /* The gateway is draining: a tunnel says goodbye (WebSocket close 1001) and ends. NULL:
     * nothing to do, the response finishes as usual. */
    void (*going_away)(gh_request *req);
    /* The request goes away (the client left, a timeout, a refusal after the start): let go of
     * what the action holds. */
    void (*abort)(gh_request *req);
} gh_action_ops;

#endif
