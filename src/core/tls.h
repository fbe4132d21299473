/* TLS as a filter between a byte transport and plaintext: OpenSSL over two memory BIOs, so the
 * caller keeps its own sockets and loop (libuv) and TLS never blocks or touches a descriptor.
 * Ciphertext that arrives is fed in; plaintext comes out of read; plaintext to send goes into
 * write, and the ciphertext it became is taken out for the socket. */
#ifndef GH_CORE_TLS_H
#define GH_CORE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <stddef.h>
#include <sys/types.h>

/* A client context: TLS 1.2 or later, the peer's certificate verified against ca_file (or the
 * system's CAs when NULL), and a client certificate when cert_file and key_file are given.
 * NULL with a reason in err. */
SSL_CTX *gh_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
                           char *err, size_t errlen);

/* Where a server session's ciphertext goes (a connection's output queue): 0, or -1 when the
 * transport is broken. */
typedef int (*gh_tls_sink)(void *arg, const char *data, size_t len);

/* One per thread: server sessions write their records into stage (so that a handshake flight or
 * a response becomes one write, not one per record) through the sink BIO method, and every
 * operation on a session ends with gh_tls_pipe_flush, so the stage never holds another
 * session's bytes. */
typedef struct gh_tls_io {
    BIO_METHOD *sink_method;
    char *stage;
    size_t staged, cap;
    char *rbuf; /* ciphertext read from sockets, fed to a session at once */
    size_t rcap;
} gh_tls_io;

int gh_tls_io_init(gh_tls_io *io);
void gh_tls_io_free(gh_tls_io *io);

typedef struct gh_tls_pipe {
    SSL *ssl;
    BIO *in;  /* ciphertext from the peer, read by OpenSSL */
    BIO *out; /* ciphertext OpenSSL wrote for the peer: a memory BIO, or the sink */
    bool established;
    const char *failure; /* once failed: protocol_version, no_shared_cipher, plain_http, ... */
    /* server sessions */
    gh_tls_io *io;
    gh_tls_sink sink;
    void *sink_arg;
    bool sink_failed;
    /* The last host a request named that the session may answer for (gh_tls_pipe_serves). */
    char served[64];
    uint8_t served_len;
} gh_tls_pipe;

/* A client session on ctx that expects the peer to be server_name: a DNS name (also sent as
 * SNI) or an IP address literal (matched against the certificate's IP addresses). 0 or -1. */
int gh_tls_pipe_client(gh_tls_pipe *p, SSL_CTX *ctx, const char *server_name);
/* A session on ctx whose output goes through io's stage to sink(arg): the server side of an
 * accepted connection, or (accept false) the client side of one to server_name. 0 or -1. */
int gh_tls_pipe_sink(gh_tls_pipe *p, SSL_CTX *ctx, bool accept, const char *server_name,
                     gh_tls_io *io, gh_tls_sink sink, void *arg);
void gh_tls_pipe_free(gh_tls_pipe *p);
/* Hands what a server session staged to its sink: 0, or -1 when the sink failed. */
int gh_tls_pipe_flush(gh_tls_pipe *p);
/* Ciphertext that arrived and was not decrypted yet, and plaintext decrypted and not read. */
size_t gh_tls_pipe_buffered(const gh_tls_pipe *p);

/* Whether a server session may answer a request for host (a canonical name without its port,
 * an IPv6 literal in brackets): the client asked for no name (SNI), or for this one, or the
 * certificate it was given covers it (HTTP/2 may carry several hosts a certificate covers,
 * RFC 9113 9.1.1). A request for any other host was misdirected (RFC 9110 15.5.20). */
bool gh_tls_pipe_serves(gh_tls_pipe *p, const char *host, size_t len);

/* What an established session agreed on, for logs: static strings, alpn not terminated. */
typedef struct gh_tls_info {
    const char *version, *cipher;
    const unsigned char *alpn;
    unsigned alpn_len;
} gh_tls_info;
void gh_tls_pipe_info(const gh_tls_pipe *p, gh_tls_info *out);

/* Ciphertext from the socket. 0, or -1 when out of memory. */
int gh_tls_pipe_feed(gh_tls_pipe *p, const char *data, size_t len);
/* Moves the handshake on: 1 established, 0 waiting for the peer, -1 failed (reason in err, and
 * as a short label for metrics in p->failure). */
int gh_tls_pipe_handshake(gh_tls_pipe *p, char *err, size_t errlen);
/* How err begins when the peer's certificate failed verification (the security event stream
 * tells an upstream that could not be trusted from one that was merely down). */
#define GH_TLS_UNTRUSTED_PEER "the peer's certificate is not trusted"
/* Plaintext that arrived: > 0 bytes, 0 none yet, -1 the session ended or failed (reason in err). */
ssize_t gh_tls_pipe_read(gh_tls_pipe *p, char *buf, size_t cap, char *err, size_t errlen);
/* Plaintext to send, after the handshake: the bytes taken (all of them, or 0 while the session
 * waits for the peer), -1 on failure. */
ssize_t gh_tls_pipe_write(gh_tls_pipe *p, const char *data, size_t len);
/* Plaintext into buf while there is room and the session has some: *got bytes. 0, 1 when the
 * peer ended the session (close_notify), -1 on failure. Sink sessions are flushed after. */
int gh_tls_pipe_read_into(gh_tls_pipe *p, char *buf, size_t cap, size_t *got);
/* Seals buffers of plaintext (small ones gathered into one record) and flushes the records to
 * the sink. 0 or -1. */
int gh_tls_pipe_writev(gh_tls_pipe *p, const uv_buf_t *bufs, unsigned n);
/* The ciphertext waiting for the socket, moved into a new malloc'd buffer (*len bytes); NULL
 * when there is none. */
char *gh_tls_pipe_take_output(gh_tls_pipe *p, size_t *len);

#endif
