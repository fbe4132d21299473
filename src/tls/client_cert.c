#include <openssl/evp.h>
#include <stdbool.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "tls/client_cert.h"

/* Cap on what a client's chain may make us hold: RFC 9440 headers of a sane chain fit well. */
#define GH_CERT_MAX_HEADER (16u * 1024u)

/* ":<base64>:" of one certificate, appended to out at *len (NUL-terminated); false when it
 * would pass the cap. */
static bool append_sf_binary(char *out, size_t *len, X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return false;
    size_t need = 4 * (((size_t)n + 2) / 3) + 3;
    bool ok = *len + need < GH_CERT_MAX_HEADER;
    if (ok) {
        out[(*len)++] = ':';
        *len += (size_t)EVP_EncodeBlock((unsigned char *)out + *len, der, n);
        out[(*len)++] = ':';
        out[*len] = '\0';
    }
    OPENSSL_free(der);
    return ok;
}

static char *sf_binary_list(STACK_OF(X509) *chain, X509 *leaf, bool rest)
{
    char *out = malloc(GH_CERT_MAX_HEADER);
    size_t len = 0;
    if (!out)
        return NULL;
    out[0] = '\0';
    if (!rest) {
        if (!append_sf_binary(out, &len, leaf)) {
            free(out);
            return NULL;
        }
        return out;
    }
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (X509_cmp(x, leaf) == 0)
            continue;
        if (len && len + 2 < GH_CERT_MAX_HEADER) {
            out[len++] = ',';
            out[len++] = ' ';
        }
        if (!append_sf_binary(out, &len, x))
            break; /* the chain is cut at the cap; the leaf always goes whole */
    }
    if (!len) {
        free(out);
        return NULL;
    }
    return out;
}

static void read_names(gh_client_cert *cert, X509 *x)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        const ASN1_STRING *v = g->type == GEN_URI ? g->d.uniformResourceIdentifier
                               : g->type == GEN_DNS ? g->d.dNSName
                                                    : NULL;
        char **list = g->type == GEN_URI ? cert->uris : cert->dns;
        size_t *count = g->type == GEN_URI ? &cert->nuris : &cert->ndns;
        if (!v || *count == GH_CERT_MAX_NAMES || ASN1_STRING_length(v) > 2048)
            continue;
        const char *data = (const char *)ASN1_STRING_get0_data(v);
        size_t n = (size_t)ASN1_STRING_length(v);
        if (memchr(data, '\0', n))
            continue; /* an embedded NUL would make two names of one */
        char *copy = strndup(data, n);
        if (copy)
            list[(*count)++] = copy;
    }
    GENERAL_NAMES_free(sans);
}

static gh_client_cert *describe(SSL *ssl, X509 *x)
{
    gh_client_cert *cert = calloc(1, sizeof(*cert));
    if (!cert)
        return NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, cert->subject, sizeof(cert->subject) - 1);
        cert->subject[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
        gh_hex_encode(md, mdlen, cert->sha256);
    read_names(cert, x);
    cert->header = sf_binary_list(NULL, x, false);
    cert->chain_header = sf_binary_list(SSL_get_peer_cert_chain(ssl), x, true);
    return cert;
}

gh_client_cert *gh_client_cert_read(SSL *ssl)
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    return describe(ssl, x);
}

void gh_client_cert_free(gh_client_cert *cert)
{
    if (!cert)
        return;
    for (size_t i = 0; i < cert->nuris; i++)
        free(cert->uris[i]);
    for (size_t i = 0; i < cert->ndns; i++)
        free(cert->dns[i]);
    free(cert->header);
    free(cert->chain_header);
    free(cert);
}
