/* HTTP/2 for clients (RFC 9113) through nghttp2: ALPN "h2" on TLS listeners, or the prior-
 * knowledge preface on plain listeners that allow h2c. Each stream is a downstream of its own
 * (h2_stream.c): its head, gathered as fields, passes the same judgement as an HTTP/1.1 head
 * (gh_h1_check_request) and starts a request like one, so every stage, limit, refusal and log
 * line applies to a stream exactly as to an HTTP/1.1 request; its response leaves as the
 * status and fields it is handed, and streams go to upstreams over the HTTP/1.1 pools.
 *
 * Defences: SETTINGS bound concurrent streams, header list size and windows; request bodies
 * open the window only as they are consumed; a stream that ends for any reason (either side's
 * RST_STREAM with any code, the connection ending) ends its request and so its work (upstream
 * request, stage wait) at once; a client whose streams end without their response
 * (reset by it, rapid reset CVE-2023-44487, or by the gateway, MadeYouReset CVE-2025-8671) much
 * more often than they finish, or that sends endless CONTINUATION frames, is sent GOAWAY
 * ENHANCE_YOUR_CALM, and every connection error closes the connection once its GOAWAY is out,
 * while other connections keep being served. Every wait has a timer (head, idle, the client). */
#ifndef GH_HTTP_H2_H
#define GH_HTTP_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct gh_conn gh_conn;
typedef struct gh_h2 gh_h2;
typedef struct gh_h2_stream gh_h2_stream;
struct gh_h1_header;

/* The client's connection preface, as an HTTP/1.1 parser first sees it. */
#define GH_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

typedef struct gh_services gh_services;
/* The worker's end-of-iteration send of HTTP/2 frames (set up and closed with svc->conns). */
void gh_h2_worker_init(gh_services *svc);
void gh_h2_worker_close(gh_services *svc, uv_close_cb last);

/* The connection speaks HTTP/2 from now on (its input block holds what came so far). 0 or -1. */
int gh_h2_start(gh_conn *c);
/* Bytes in the connection's input block: frames in, frames out. False when the connection
 * must close (a protocol error, a flood, or both sides done). */
bool gh_h2_input(gh_conn *c);
/* The connection's output drained: more frames may go. */
void gh_h2_output_drained(gh_conn *c);
/* Closing: every stream's request goes with it. */
void gh_h2_end(gh_conn *c);
/* Draining: GOAWAY now, streams in flight finish. */
void gh_h2_drain(gh_conn *c);
/* Whether the session has nothing left to do (no stream, nothing to send). */
bool gh_h2_idle(const gh_conn *c);
/* Grows when a stream begins or response DATA goes out: PING, SETTINGS, PRIORITY or
 * WINDOW_UPDATE frames that let nothing flow are no progress, and extend no timeout. */
uint64_t gh_h2_progress(const gh_conn *c);
/* What the connection waits for, which decides its timer: nothing (idle), a stream's request
 * at work (its own timers bound it), the rest of a header block, or only the client (to take
 * frames, open its window or finish a request whose response is done). */
typedef enum { GH_H2_IDLE, GH_H2_WORKING, GH_H2_HEAD, GH_H2_CLIENT } gh_h2_wait;
gh_h2_wait gh_h2_waits_on(const gh_conn *c);

#endif
