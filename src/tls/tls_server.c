#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls/ticket_keys.h"
#include "tls/tls_server.h"

#define GH_TLS_MAX_NAMES 100 /* per certificate: SNI candidates */

typedef struct tls_cert {
    SSL_CTX *ctx;
    char *names[GH_TLS_MAX_NAMES]; /* DNS names of the certificate, "*.example.com" included */
    size_t nnames;
    time_t not_after;
} tls_cert;

struct gh_tls_server {
    atomic_int refs;
    bool h2; /* ALPN offers h2 first */
    unsigned char trust_id[SSL_MAX_SID_CTX_LENGTH]; /* digest of the client trust settings */
    size_t ncerts;
    tls_cert certs[];
};

static const unsigned char ALPN_HTTP11[] = "\x08http/1.1";
static const unsigned char ALPN_H2[] = "\x02h2\x08http/1.1";

/* ALPN: h2 when the listener speaks it and the client offers it, else HTTP/1.1; a client that
 * offers only other protocols goes on without ALPN and is answered in HTTP/1.1. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    (void)ssl;
    const gh_tls_server *s = arg;
    const unsigned char *ours = s->h2 ? ALPN_H2 : ALPN_HTTP11;
    unsigned ours_len = s->h2 ? sizeof(ALPN_H2) - 1 : sizeof(ALPN_HTTP11) - 1;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, ours, ours_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static bool name_matches(const char *pattern, const char *name)
{
    if (pattern[0] != '*')
        return strcasecmp(pattern, name) == 0;
    const char *dot = strchr(name, '.'); /* a wildcard covers exactly one label */
    return dot && dot != name && strcasecmp(pattern + 1, dot) == 0;
}

size_t gh_tls_server_pick(const gh_tls_server *s, const char *name)
{
    for (int wildcard = 0; wildcard < 2; wildcard++)
        for (size_t i = 0; i < s->ncerts; i++)
            for (size_t k = 0; k < s->certs[i].nnames; k++)
                if ((s->certs[i].names[k][0] == '*') == wildcard &&
                    name_matches(s->certs[i].names[k], name))
                    return i;
    return 0;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    const gh_tls_server *s = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    size_t i = name ? gh_tls_server_pick(s, name) : 0;
    if (i != 0 && !SSL_set_SSL_CTX(ssl, s->certs[i].ctx))
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static void add_name(tls_cert *c, const char *name, size_t len)
{
    if (c->nnames == GH_TLS_MAX_NAMES || len == 0 || len > 253)
        return;
    for (size_t i = 0; i < len; i++) /* host names only: they are matched, logged and labelled */
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '.' ||
              name[i] == '_' || (name[i] == '*' && i == 0)))
            return;
    char *copy = strndup(name, len);
    if (copy)
        c->names[c->nnames++] = copy;
}

/* The names a client may ask for: the certificate's DNS names, or its common name when it has
 * none. */
static void read_names(tls_cert *c, X509 *x)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            add_name(c, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                     (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    if (c->nnames)
        return;
    X509_NAME *subject = X509_get_subject_name(x);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    ASN1_STRING *cn = at >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)) : NULL;
    if (cn)
        add_name(c, (const char *)ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn));
}

static void fail(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    char why[200] = "";
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    snprintf(err, errlen, "%s %s%s%s", what, file, e ? ": " : "", why);
    ERR_clear_error();
}

/* Client certificates: asked for (or required), verified against client_ca, and checked
 * against the CRLs of crl_file when it is given. */
static int load_client_auth(SSL_CTX *ctx, const gh_tls_server_opts *o, char *err, size_t errlen)
{
    int mode = SSL_VERIFY_PEER;
    if (o->client_auth == GH_CLIENT_AUTH_REQUIRED)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca);
    if (!names || SSL_CTX_load_verify_locations(ctx, o->client_ca, NULL) != 1) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        fail(err, errlen, "no CA certificate could be read from", o->client_ca);
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* the client is told which CAs count */
    if (!o->crl_file)
        return 0;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, o->crl_file, X509_FILETYPE_PEM) <= 0) {
        fail(err, errlen, "no CRL could be read from", o->crl_file);
        return -1;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    return 0;
}

static int load_cert(gh_tls_server *s, tls_cert *c, const gh_tls_cert_files *f,
                     const gh_tls_server_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = c->ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fail(err, errlen, "cannot make a TLS context for", f->certificate);
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, o->min_version);
    /* No renegotiation (a CPU sink for clients), no compression (CRIME); the client's cipher
     * order, as the intermediate profile says: every suite offered is a good one. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Resumption is by tickets only (sealed with the context's keys, shared by every worker):
     * no server-side session cache to lock. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, o->no_tickets ? 0 : 1);
    if (o->no_tickets)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_set_cipher_list(ctx, o->ciphers ? o->ciphers : GH_TLS_INTERMEDIATE_CIPHERS) != 1) {
        fail(err, errlen, "no usable cipher in", o->ciphers ? o->ciphers : "the default list");
        return -1;
    }
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
        fail(err, errlen, "cannot set the key exchange groups for", f->certificate);
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, f->certificate) != 1) {
        fail(err, errlen, "no certificate could be read from", f->certificate);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, f->private_key, SSL_FILETYPE_PEM) != 1) {
        bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        fail(err, errlen, mismatch ? "the private key does not belong to" : "no private key could be read from",
             mismatch ? f->certificate : f->private_key);
        return -1;
    }
    /* Resumed sessions keep the client certificate they were verified with, so they resume only
     * under the same client trust: the context id is a digest of it (OpenSSL refuses a session
     * whose id differs, and the client does a full handshake). */
    SSL_CTX_set_session_id_context(ctx, s->trust_id, sizeof(s->trust_id));
    if (o->client_auth != GH_CLIENT_AUTH_NONE && load_client_auth(ctx, o, err, errlen) != 0)
        return -1;
    if (o->tickets && !o->no_tickets)
        gh_ticket_ring_attach(o->tickets, ctx);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, s);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, s);
    X509 *x = SSL_CTX_get0_certificate(ctx);
    read_names(c, x);
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        c->not_after = timegm(&tm);
    return 0;
}

/* Adds a file's bytes to the digest (at most max; a file that cannot be read adds nothing,
 * and loading it fails later with its reason). */
static void digest_file(EVP_MD_CTX *md, const char *path, size_t max)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    char buf[16384];
    size_t n, total = 0;
    while (f && total < max && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        total += n;
    }
    if (f)
        fclose(f);
}

/* What a resumed session's client certificate was judged by: the mode, the CAs, the CRLs. */
static void trust_digest(const gh_tls_server_opts *o, unsigned char out[SSL_MAX_SID_CTX_LENGTH])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    memset(out, 0, SSL_MAX_SID_CTX_LENGTH);
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        unsigned char mode = (unsigned char)o->client_auth;
        EVP_DigestUpdate(ctx, "gatehouse", 9);
        EVP_DigestUpdate(ctx, &mode, 1);
        if (o->client_auth != GH_CLIENT_AUTH_NONE) {
            digest_file(ctx, o->client_ca, 4u << 20);
            EVP_DigestUpdate(ctx, "\0", 1);
            digest_file(ctx, o->crl_file, 64u << 20);
        }
        EVP_DigestFinal_ex(ctx, md, &len);
        memcpy(out, md, len < SSL_MAX_SID_CTX_LENGTH ? len : SSL_MAX_SID_CTX_LENGTH);
    }
    EVP_MD_CTX_free(ctx);
}

gh_tls_server *gh_tls_server_new(const gh_tls_server_opts *o, char *err, size_t errlen, size_t *bad)
{
    *bad = o->ncerts;
    gh_tls_server *s = calloc(1, sizeof(*s) + o->ncerts * sizeof(tls_cert));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->ncerts = o->ncerts;
    s->h2 = o->h2;
    trust_digest(o, s->trust_id);
    ERR_clear_error();
    for (size_t i = 0; i < o->ncerts; i++) {
        if (load_cert(s, &s->certs[i], &o->certs[i], o, err, errlen) != 0) {
            *bad = i;
            gh_tls_server_unref(s);
            return NULL;
        }
    }
    return s;
}

void gh_tls_server_ref(gh_tls_server *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void gh_tls_server_unref(gh_tls_server *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->ncerts; i++) {
        SSL_CTX_free(s->certs[i].ctx);
        for (size_t k = 0; k < s->certs[i].nnames; k++)
            free(s->certs[i].names[k]);
    }
    free(s);
}

SSL_CTX *gh_tls_server_ctx(const gh_tls_server *s)
{
    return s->certs[0].ctx;
}

size_t gh_tls_server_count(const gh_tls_server *s)
{
    return s->ncerts;
}

const char *gh_tls_server_cert_label(const gh_tls_server *s, size_t i)
{
    return s->certs[i].nnames ? s->certs[i].names[0] : "(unnamed)";
}

time_t gh_tls_server_cert_not_after(const gh_tls_server *s, size_t i)
{
    return s->certs[i].not_after;
}

X509 *gh_tls_server_cert_x509(const gh_tls_server *s, size_t i)
{
    return SSL_CTX_get0_certificate(s->certs[i].ctx);
}
