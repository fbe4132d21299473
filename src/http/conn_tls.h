/* TLS on a downstream connection: ciphertext from the socket goes into the session, plaintext
 * comes out into the connection's input block; plaintext the connection writes is sealed into
 * records that go to its output queue. Everything else about the connection is as for plain
 * HTTP. Internal to http/conn.c. */
#ifndef GH_HTTP_CONN_TLS_H
#define GH_HTTP_CONN_TLS_H

#include "http/conn.h"
#include "tls/tls_server.h"

/* Starts the server session of an accepted connection. 0 or -1. */
int gh_conn_tls_start(gh_conn *c, gh_tls_server *server);
void gh_conn_tls_end(gh_conn *c);

typedef enum {
    GH_TLS_IN_WAIT,        /* the handshake goes on */
    GH_TLS_IN_READY,       /* established: plaintext may be waiting */
    GH_TLS_IN_FAILED,      /* the handshake failed (c->tls->failure says why) */
} gh_tls_input;

/* Ciphertext that arrived on the socket. */
gh_tls_input gh_conn_tls_input(gh_conn *c, const char *data, size_t len);
/* Decrypts into the connection's input block while it has room: 0, 1 when the client ended
 * the session (close_notify, as end of file), -1 on failure. */
int gh_conn_tls_fill(gh_conn *c);
/* Writes plaintext: 0, or a negative libuv error. */
int gh_conn_tls_write(gh_conn *c, const uv_buf_t *bufs, unsigned n);
/* Whether ALPN chose HTTP/2. */
bool gh_conn_tls_alpn_h2(const gh_conn *c);
/* Sends close_notify once, before the write side is shut. */
void gh_conn_tls_close_notify(gh_conn *c);
/* Whether reading the socket may go on: bounded ciphertext waiting in the session. */
bool gh_conn_tls_wants_input(const gh_conn *c);

#endif
