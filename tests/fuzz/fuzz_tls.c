/* Fuzzes the TLS glue that reads peer bytes: the input is fed, in pieces whose sizes it chooses
 * itself, to a server session (what a client sends to a listener) and to a client session
 * (what an upstream or Redis sends back), through the same calls the gateway makes: feed,
 * handshake, read into a bounded buffer, write, flush into a sink. Whatever the bytes, the
 * sessions fail cleanly, never write past their buffers and never leak. */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tls.h"

typedef struct fuzz_env {
    SSL_CTX *server, *client;
    gh_tls_io io;
} fuzz_env;

static fuzz_env *env;

/* A throwaway P-256 certificate for localhost, made once in memory. */
static SSL_CTX *server_ctx(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

static size_t sunk;

static int sink(void *arg, const char *data, size_t len)
{
    (void)arg;
    volatile char first = len ? data[0] : 0, last = len ? data[len - 1] : 0; /* touch the bytes */
    (void)first, (void)last;
    sunk += len;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    env = calloc(1, sizeof(*env));
    env->server = server_ctx();
    char err[256];
    env->client = gh_tls_client_ctx(NULL, NULL, NULL, err, sizeof(err));
    SSL_CTX_set_verify(env->client, SSL_VERIFY_NONE, NULL);
    gh_tls_io_init(&env->io);
    return 0;
}

/* Feeds data in pieces, driving the session as a connection would. */
static void drive(gh_tls_pipe *p, const uint8_t *data, size_t size)
{
    char why[256], plain[4096];
    size_t off = 0;
    while (off < size) {
        size_t piece = 1 + data[off] % 64;
        off++;
        if (piece > size - off)
            piece = size - off;
        if (gh_tls_pipe_feed(p, (const char *)data + off, piece) != 0)
            return;
        off += piece;
        if (!p->established) {
            int hs = gh_tls_pipe_handshake(p, why, sizeof(why));
            if (gh_tls_pipe_flush(p) != 0 || hs < 0)
                return;
            if (hs == 0)
                continue;
        }
        size_t got = 0;
        if (gh_tls_pipe_read_into(p, plain, sizeof(plain), &got) != 0 || got > sizeof(plain))
            return;
        uv_buf_t out = uv_buf_init(plain, (unsigned)got);
        if (got && gh_tls_pipe_writev(p, &out, 1) != 0)
            return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_tls_pipe server, client;
    if (gh_tls_pipe_sink(&server, env->server, true, NULL, &env->io, sink, NULL) == 0) {
        drive(&server, data, size);
        gh_tls_pipe_free(&server);
    }
    if (gh_tls_pipe_sink(&client, env->client, false, "localhost", &env->io, sink, NULL) == 0) {
        gh_tls_pipe_handshake(&client, (char[64]){0}, 64); /* the ClientHello */
        gh_tls_pipe_flush(&client);
        drive(&client, data, size);
        gh_tls_pipe_free(&client);
    }
    return 0;
}
