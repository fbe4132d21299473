/* Forwarding a request to an upstream endpoint over a pooled HTTP/1.1 connection and streaming
 * the response back. Both directions are streamed with backpressure: nothing is fully
 * buffered. */
#ifndef GH_UPSTREAM_PROXY_H
#define GH_UPSTREAM_PROXY_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "gate/action.h"
#include "gate/services.h"

/* The proxy as a route's action (gate/action.h): takes a concurrency slot, picks an endpoint
 * and sends the head, then streams the body up and the response down; refuses with 503 when
 * the upstream is at max_concurrency. */
extern const gh_action_ops gh_proxy_action;

/* Readies a loaded configuration's upstream TLS contexts for the proxy (session reuse per pool,
 * ALPN http/1.1), before any worker serves it. */
void gh_upstreams_prepare(gh_config *c);

/* The proxy on a worker's services: its action table (svc->proxy) and the keep-alive pools it
 * keeps per worker (svc->pools), freed by gh_pools_close. 0 or -ENOMEM. */
int gh_proxy_worker_init(gh_services *svc);
/* Closes pooled connections idle past their upstream's keepalive.idle_timeout (called by the
 * worker about once a second). */
void gh_pools_sweep(gh_services *svc);
/* Worker teardown: closes idle pooled connections and frees the pools. */
void gh_pools_close(gh_services *svc);

#endif
