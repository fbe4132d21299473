/* The client certificate of a TLS connection, read once when a request first needs it: the
 * subject (RFC 2253), the SHA-256 fingerprint of the certificate, its URI (SPIFFE IDs) and DNS
 * names, and the RFC 9440 header values that carry it upstream. OpenSSL verified it during the
 * handshake (chain to client_ca, CRL, validity); this only describes it. */
#ifndef GH_TLS_CLIENT_CERT_H
#define GH_TLS_CLIENT_CERT_H

#include <stddef.h>

#define GH_CERT_MAX_NAMES 16

typedef struct gh_client_cert {
    char subject[512];
    char sha256[65]; /* lower-case hex */
    char *uris[GH_CERT_MAX_NAMES];
    size_t nuris;
    char *dns[GH_CERT_MAX_NAMES];
    size_t ndns;
    char *header;       /* Client-Cert: ":<base64 DER>:" */
    char *chain_header; /* Client-Cert-Chain: the rest of the chain the client sent, or NULL */
} gh_client_cert;

typedef struct ssl_st SSL;
/* The session's client certificate described (free it with gh_client_cert_free), or NULL when it
 * has none, it failed verification, or memory ran out. */
gh_client_cert *gh_client_cert_read(SSL *ssl);
void gh_client_cert_free(gh_client_cert *cert);

#endif
