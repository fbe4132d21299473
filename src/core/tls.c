#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/tls.h"

/* The first error OpenSSL queued on this thread, or what fallback says. */
static void error_reason(char *err, size_t errlen, const char *fallback)
{
    unsigned long e = ERR_get_error();
    if (e) {
        char what[200];
        ERR_error_string_n(e, what, sizeof(what));
        snprintf(err, errlen, "%s: %s", fallback, what);
    } else {
        snprintf(err, errlen, "%s", fallback);
    }
    ERR_clear_error();
}

SSL_CTX *gh_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
                           char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        error_reason(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        error_reason(err, errlen, ca_file ? "no CA certificate could be read from ca_file"
                                          : "the system's CA certificates cannot be read");
    } else if (cert_file && SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        error_reason(err, errlen, "no certificate could be read from certificate");
        ok = 0;
    } else if (key_file && SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        error_reason(err, errlen, mismatch ? "private_key does not belong to certificate"
                                           : "no private key could be read from private_key");
        ok = 0;
    } else if (cert_file && SSL_CTX_check_private_key(ctx) != 1) {
        error_reason(err, errlen, "private_key does not belong to certificate");
        ok = 0;
    }
    if (ok != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* A session on ctx reading ciphertext from a memory BIO and writing it to out (a memory BIO,
 * or a sink); the session owns both BIOs. 0 or -1. */
static int pipe_open(gh_tls_pipe *p, SSL_CTX *ctx, BIO *out)
{
    p->ssl = SSL_new(ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = out;
    if (!p->ssl || !p->in || !p->out) {
        SSL_free(p->ssl);
        BIO_free(p->in);
        BIO_free(p->out);
        memset(p, 0, sizeof(*p));
        return -1;
    }
    BIO_set_mem_eof_return(p->in, -1); /* empty means "no data yet", not end of file */
    SSL_set_bio(p->ssl, p->in, p->out);
    return 0;
}

/* The client expects the server to be server_name: a DNS name (also sent as SNI) or an IP
 * address literal (matched against the certificate's IP addresses). */
static int expect_peer(gh_tls_pipe *p, const char *server_name)
{
    unsigned char ip[16];
    bool literal = inet_pton(AF_INET, server_name, ip) == 1 || inet_pton(AF_INET6, server_name, ip) == 1;
    int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->ssl), server_name)
                     : SSL_set1_host(p->ssl, server_name) && SSL_set_tlsext_host_name(p->ssl, server_name);
    return ok == 1 ? 0 : -1;
}

int gh_tls_pipe_client(gh_tls_pipe *p, SSL_CTX *ctx, const char *server_name)
{
    memset(p, 0, sizeof(*p));
    BIO *out = BIO_new(BIO_s_mem());
    if (out)
        BIO_set_mem_eof_return(out, -1);
    if (pipe_open(p, ctx, out) != 0)
        return -1;
    SSL_set_connect_state(p->ssl);
    if (expect_peer(p, server_name) != 0) {
        gh_tls_pipe_free(p);
        return -1;
    }
    return 0;
}

static int sink_write(BIO *b, const char *data, int len)
{
    gh_tls_pipe *p = BIO_get_data(b);
    gh_tls_io *io = p->io;
    BIO_clear_retry_flags(b);
    if (p->sink_failed)
        return -1;
    size_t n = (size_t)len;
    if (io->staged + n > io->cap && gh_tls_pipe_flush(p) != 0)
        return -1;
    if (n > io->cap) { /* larger than the stage: straight through */
        if (p->sink(p->sink_arg, data, n) != 0) {
            p->sink_failed = true;
            return -1;
        }
        return len;
    }
    memcpy(io->stage + io->staged, data, n);
    io->staged += n;
    return len;
}

static long sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int sink_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

#define GH_TLS_STAGE (64u * 1024u)

int gh_tls_io_init(gh_tls_io *io)
{
    memset(io, 0, sizeof(*io));
    io->sink_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gatehouse sink");
    io->stage = malloc(GH_TLS_STAGE);
    io->cap = GH_TLS_STAGE;
    io->rbuf = malloc(GH_TLS_STAGE);
    io->rcap = GH_TLS_STAGE;
    if (!io->sink_method || !io->stage || !io->rbuf || !BIO_meth_set_write(io->sink_method, sink_write) ||
        !BIO_meth_set_ctrl(io->sink_method, sink_ctrl) ||
        !BIO_meth_set_create(io->sink_method, sink_create)) {
        gh_tls_io_free(io);
        return -1;
    }
    return 0;
}

void gh_tls_io_free(gh_tls_io *io)
{
    BIO_meth_free(io->sink_method);
    free(io->stage);
    free(io->rbuf);
    memset(io, 0, sizeof(*io));
}

int gh_tls_pipe_sink(gh_tls_pipe *p, SSL_CTX *ctx, bool accept, const char *server_name,
                     gh_tls_io *io, gh_tls_sink sink, void *arg)
{
    memset(p, 0, sizeof(*p));
    BIO *out = BIO_new(io->sink_method);
    if (out)
        BIO_set_data(out, p);
    if (pipe_open(p, ctx, out) != 0)
        return -1;
    p->io = io;
    p->sink = sink;
    p->sink_arg = arg;
    if (accept) {
        SSL_set_accept_state(p->ssl);
        return 0;
    }
    SSL_set_connect_state(p->ssl);
    if (expect_peer(p, server_name) != 0) {
        gh_tls_pipe_free(p);
        return -1;
    }
    return 0;
}

int gh_tls_pipe_flush(gh_tls_pipe *p)
{
    gh_tls_io *io = p->io;
    if (!io || !io->staged)
        return p->sink_failed ? -1 : 0;
    size_t n = io->staged;
    io->staged = 0;
    if (!p->sink_failed && p->sink(p->sink_arg, io->stage, n) != 0)
        p->sink_failed = true;
    return p->sink_failed ? -1 : 0;
}

void gh_tls_pipe_info(const gh_tls_pipe *p, gh_tls_info *out)
{
    out->version = SSL_get_version(p->ssl);
    out->cipher = SSL_get_cipher_name(p->ssl);
    SSL_get0_alpn_selected(p->ssl, &out->alpn, &out->alpn_len);
}

size_t gh_tls_pipe_buffered(const gh_tls_pipe *p)
{
    return BIO_ctrl_pending(p->in) + (size_t)SSL_pending(p->ssl);
}

void gh_tls_pipe_free(gh_tls_pipe *p)
{
    if (p->io)
        p->io->staged = 0; /* empty between operations; never carried to another session */
    SSL_free(p->ssl); /* and its BIOs */
    memset(p, 0, sizeof(*p));
}

int gh_tls_pipe_feed(gh_tls_pipe *p, const char *data, size_t len)
{
    return len && BIO_write(p->in, data, (int)len) != (int)len ? -1 : 0;
}

/* A bounded label for an OpenSSL failure reason: what operators graph. */
static const char *failure_label(int reason)
{
    switch (reason) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return "plain_http";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
        return "no_shared_cipher";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "certificate_rejected";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return "peer_rejected_certificate";
    default:
        return "protocol_error";
    }
}

/* Why the session failed after an OpenSSL call returned ret. */
static void session_error(gh_tls_pipe *p, int ret, char *err, size_t errlen)
{
    long verify = SSL_get_verify_result(p->ssl);
    int code = SSL_get_error(p->ssl, ret);
    unsigned long e = ERR_peek_error();
    if (verify != X509_V_OK) {
        p->failure = "certificate_rejected";
        snprintf(err, errlen, GH_TLS_UNTRUSTED_PEER ": %s",
                 X509_verify_cert_error_string(verify));
    } else if (code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && !e)) {
        p->failure = "closed";
        snprintf(err, errlen, "the peer closed the TLS session");
    } else {
        p->failure = failure_label(ERR_GET_REASON(e));
        error_reason(err, errlen, "TLS failed");
    }
    ERR_clear_error();
}

int gh_tls_pipe_handshake(gh_tls_pipe *p, char *err, size_t errlen)
{
    if (p->established)
        return 1;
    ERR_clear_error();
    int ret = SSL_do_handshake(p->ssl);
    if (ret == 1) {
        p->established = true;
        return 1;
    }
    int code = SSL_get_error(p->ssl, ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
        return 0;
    session_error(p, ret, err, errlen);
    return -1;
}

ssize_t gh_tls_pipe_read(gh_tls_pipe *p, char *buf, size_t cap, char *err, size_t errlen)
{
    ERR_clear_error();
    int ret = SSL_read(p->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (ret > 0)
        return ret;
    int code = SSL_get_error(p->ssl, ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
        return 0;
    session_error(p, ret, err, errlen);
    return -1;
}

ssize_t gh_tls_pipe_write(gh_tls_pipe *p, const char *data, size_t len)
{
    if (!len)
        return 0;
    ERR_clear_error();
    int ret = SSL_write(p->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
    if (ret > 0)
        return ret;
    int code = SSL_get_error(p->ssl, ret);
    ERR_clear_error();
    return code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

int gh_tls_pipe_read_into(gh_tls_pipe *p, char *buf, size_t cap, size_t *got)
{
    char why[256];
    int rc = 0;
    *got = 0;
    while (*got < cap) {
        ssize_t n = gh_tls_pipe_read(p, buf + *got, cap - *got, why, sizeof(why));
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        if (n < 0)
            rc = strcmp(p->failure, "closed") == 0 ? 1 : -1;
        break;
    }
    if (gh_tls_pipe_flush(p) != 0) /* reading may answer (a key update) */
        return -1;
    return rc;
}

/* Plaintext gathered into one record: a head and a small body go out as one. */
#define GH_TLS_GATHER 16384

int gh_tls_pipe_writev(gh_tls_pipe *p, const uv_buf_t *bufs, unsigned n)
{
    char gather[GH_TLS_GATHER];
    size_t gathered = 0;
    int rc = 0;
    for (unsigned i = 0; i <= n && rc == 0; i++) {
        bool last = i == n;
        if (!last && gathered + bufs[i].len <= sizeof(gather)) {
            memcpy(gather + gathered, bufs[i].base, bufs[i].len);
            gathered += bufs[i].len;
            continue;
        }
        if (gathered && gh_tls_pipe_write(p, gather, gathered) != (ssize_t)gathered)
            rc = -1;
        gathered = 0;
        if (last || rc)
            break;
        if (bufs[i].len > sizeof(gather)) { /* a large buffer is sealed on its own */
            if (gh_tls_pipe_write(p, bufs[i].base, bufs[i].len) != (ssize_t)bufs[i].len)
                rc = -1;
        } else {
            memcpy(gather, bufs[i].base, bufs[i].len);
            gathered = bufs[i].len;
        }
    }
    if (gh_tls_pipe_flush(p) != 0)
        rc = -1;
    return rc;
}

char *gh_tls_pipe_take_output(gh_tls_pipe *p, size_t *len)
{
    size_t n = BIO_ctrl_pending(p->out);
    *len = 0;
    if (!n)
        return NULL;
    char *buf = malloc(n);
    if (!buf)
        return NULL;
    int got = BIO_read(p->out, buf, (int)n);
    if (got <= 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)got;
    return buf;
}

bool gh_tls_pipe_serves(gh_tls_pipe *p, const char *host, size_t len)
{
    if (len == p->served_len && memcmp(host, p->served, len) == 0)
        return true;
    const char *sni = SSL_get_servername(p->ssl, TLSEXT_NAMETYPE_host_name);
    bool ok = !sni || (strlen(sni) == len && strncasecmp(sni, host, len) == 0);
    X509 *cert = ok ? NULL : SSL_get_certificate(p->ssl);
    if (cert && len >= 2 && host[0] == '[') { /* an IPv6 literal */
        char ip[64];
        snprintf(ip, sizeof(ip), "%.*s", (int)(len - 2 < sizeof(ip) - 1 ? len - 2 : 0), host + 1);
        ok = X509_check_ip_asc(cert, ip, 0) == 1;
    } else if (cert) {
        unsigned char v4[4];
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) - 1 ? len : 0), host);
        ok = inet_pton(AF_INET, name, v4) == 1 ? X509_check_ip_asc(cert, name, 0) == 1
                                               : X509_check_host(cert, host, len, 0, NULL) == 1;
    }
    if (ok && len <= sizeof(p->served)) {
        memcpy(p->served, host, len);
        p->served_len = (uint8_t)len;
    }
    return ok;
}
