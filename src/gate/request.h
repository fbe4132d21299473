/* A request's start on a downstream connection: its own arena on the worker's current snapshot,
 * its id, the client's address (and whether the peer is a trusted proxy), and its head copied
 * out of the connection's input block. */
#ifndef GH_GATE_REQUEST_H
#define GH_GATE_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "gate/exchange.h"

/* A request on svc's current snapshot, arrived on conn (served by ds), from peer. NULL when
 * memory ran out. */
gh_request *gh_request_new(gh_services *svc, const gh_downstream_ops *ds, void *downstream,
                           const gh_peer *peer);
/* Whether an address (AF_INET: 4 bytes, AF_INET6: 16) is among the trusted_proxies. */
bool gh_request_trusted_addr(const gh_config *cfg, int family, const unsigned char *addr);
/* Whether an address (AF_INET: 4 bytes, AF_INET6: 16) is in one of the n CIDRs of list. */
bool gh_request_addr_in(const gh_cidr *list, size_t n, int family, const unsigned char *addr);
/* Parses an address, an IPv6 one optionally in brackets, either optionally followed by ":port"
 * (which is ignored): AF_INET, AF_INET6, or 0 if it is none. */
int gh_request_parse_addr(const char *s, size_t len, unsigned char out[16]);
/* The client's address: from a trusted proxy, the X-Forwarded-For lines taken as one list
 * (RFC 9110 5.3) and walked from the right past the trusted proxies' own addresses; otherwise
 * the TCP peer. Used by everything that keys on or reports the client behind proxies. */
const char *gh_request_client_address(const gh_request *req, size_t *len);
/* A trusted proxy's X-Request-Id, when it is a plain token, becomes the request's id. */
void gh_request_adopt_id(gh_request *req);
/* Copies the parsed head at base into the request's arena. False when memory ran out. */
bool gh_request_adopt_head(gh_request *req, const char *base, const gh_h1_request *h1,
                           const gh_h1_header *hdrs);
/* Takes a head whose memory outlives the request (an HTTP/2 stream's fields) where it is; its
 * fields' array is written (the Host made canonical). False when memory ran out. */
bool gh_request_take_head(gh_request *req, const gh_h1_request *h1);

/* The body limits that apply to req: its route's body settings, else the global limits. */
uint64_t gh_request_max_body(const gh_request *req);
typedef struct gh_body_limits {
    uint64_t timeout_ms;     /* the longest pause */
    uint64_t deadline_ms;    /* the whole body */
    uint64_t min_rate;       /* bytes a second over each window; 0: none */
    uint64_t rate_window_ms; /* the window */
    uint64_t buffer_bytes;   /* read before an upstream slot is taken; 0: none */
} gh_body_limits;
gh_body_limits gh_request_body_limits(const gh_request *req);

#endif
