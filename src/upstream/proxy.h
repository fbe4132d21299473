/* Forwarding a request to an upstream endpoint over a pooled HTTP/1.1 connection and streaming
 * the response back. Both directions are streamed with backpressure: nothing is fully
 * buffered. */
#ifndef GH_UPSTREAM_PROXY_H
#define GH_UPSTREAM_PROXY_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/conn.h"

/* Takes a concurrency slot, picks an endpoint and sends the head. Reports through the
 * gh_conn_* callbacks; refuses with 503 when the upstream is at max_concurrency. */
void gh_proxy_start(gh_request *req);
/* Request body bytes (already de-chunked); framed for the upstream as needed. */
int gh_proxy_body(gh_request *req, const char *data, size_t len);
/* The request body is complete. */
int gh_proxy_body_end(gh_request *req);
/* Whether the upstream has enough unsent body queued that the client should wait. */
bool gh_proxy_body_full(const gh_request *req);
/* The client went away or the request was cut: drop the upstream connection. */
void gh_proxy_abort(gh_request *req);
/* The client took queued response bytes: resume reading the upstream. */
void gh_proxy_client_drained(gh_request *req);

/* Sets a client context up for upstream connections: session reuse per pool, ALPN http/1.1. */
void gh_upstream_tls_prepare(SSL_CTX *ctx);

/* Closes pooled connections idle past their upstream's keepalive.idle_timeout (called by the
 * worker about once a second). */
void gh_pools_sweep(gh_services *svc);
/* Worker teardown: closes idle pooled connections and frees the pools. */
void gh_pools_close(gh_services *svc);

#endif
