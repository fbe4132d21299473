/* TLS as a filter between a byte transport and plaintext: OpenSSL over two memory BIOs, so the
 * caller keeps its own sockets and loop (libuv) and TLS never blocks or touches a descriptor.
 * Ciphertext that arrives is fed in; plaintext comes out of read; plaintext to send goes into
 * write, and the ciphertext it became is taken out for the socket. */
#ifndef GH_CORE_TLS_H
#define GH_CORE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A client context: TLS 1.2 or later, the peer's certificate verified against ca_file (or the
 * system's CAs when NULL), and a client certificate when cert_file and key_file are given.
 * NULL with a reason in err. */
SSL_CTX *gh_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
                           char *err, size_t errlen);

typedef struct gh_tls_pipe {
    SSL *ssl;
    BIO *in;  /* ciphertext from the peer, read by OpenSSL */
    BIO *out; /* ciphertext OpenSSL wrote for the peer */
    bool established;
} gh_tls_pipe;

/* A client session on ctx that expects the peer to be server_name: a DNS name (also sent as
 * SNI) or an IP address literal (matched against the certificate's IP addresses). 0 or -1. */
int gh_tls_pipe_client(gh_tls_pipe *p, SSL_CTX *ctx, const char *server_name);
void gh_tls_pipe_free(gh_tls_pipe *p);

/* Ciphertext from the socket. 0, or -1 when out of memory. */
int gh_tls_pipe_feed(gh_tls_pipe *p, const char *data, size_t len);
/* Moves the handshake on: 1 established, 0 waiting for the peer, -1 failed (reason in err). */
int gh_tls_pipe_handshake(gh_tls_pipe *p, char *err, size_t errlen);
/* Plaintext that arrived: > 0 bytes, 0 none yet, -1 the session ended or failed (reason in err). */
ssize_t gh_tls_pipe_read(gh_tls_pipe *p, char *buf, size_t cap, char *err, size_t errlen);
/* Plaintext to send, after the handshake: the bytes taken (all of them, or 0 while the session
 * waits for the peer), -1 on failure. */
ssize_t gh_tls_pipe_write(gh_tls_pipe *p, const char *data, size_t len);
/* The ciphertext waiting for the socket, moved into a new malloc'd buffer (*len bytes); NULL
 * when there is none. */
char *gh_tls_pipe_take_output(gh_tls_pipe *p, size_t *len);

#endif
