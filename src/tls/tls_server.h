/* A TLS listener's server side: one OpenSSL context per certificate, the certificate chosen by
 * the name the client asks for (SNI: exact names first, then wildcards; the first certificate
 * when nothing matches or no name is sent), TLS 1.2 or 1.3 at least, the Mozilla "intermediate"
 * ciphers by default, ALPN. Built with the configuration and shared by every worker; each
 * connection holds a reference while it lives, so a reload never pulls contexts from under a
 * handshake. */
#ifndef GH_TLS_TLS_SERVER_H
#define GH_TLS_TLS_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct gh_tls_server gh_tls_server;

typedef struct gh_tls_cert_files {
    const char *certificate; /* PEM chain, leaf first */
    const char *private_key;
} gh_tls_cert_files;

typedef enum { GH_CLIENT_AUTH_NONE, GH_CLIENT_AUTH_OPTIONAL, GH_CLIENT_AUTH_REQUIRED } gh_client_auth;

typedef struct gh_tls_server_opts {
    const gh_tls_cert_files *certs; /* the first is the default */
    size_t ncerts;
    int min_version;     /* TLS1_2_VERSION or TLS1_3_VERSION */
    const char *ciphers; /* TLS 1.2 cipher list; NULL: intermediate */
    gh_client_auth client_auth;
    const char *client_ca; /* the CAs that sign client certificates (required with client_auth) */
    const char *crl_file;  /* revoked client certificates (PEM CRLs), or NULL */
    struct gh_ticket_ring *tickets; /* the process's ticket keys; NULL (check): OpenSSL's own */
    bool h2;                        /* offer HTTP/2 by ALPN */
    bool no_tickets;                /* no resumption: every handshake in full */
} gh_tls_server_opts;

/* The intermediate profile's TLS 1.2 ciphers (TLS 1.3 suites are OpenSSL's, all AEAD). */
#define GH_TLS_INTERMEDIATE_CIPHERS                                                                \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"       \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* NULL with the reason in err; *bad names the certificate it concerns (or ncerts: none). */
gh_tls_server *gh_tls_server_new(const gh_tls_server_opts *o, char *err, size_t errlen, size_t *bad);
void gh_tls_server_ref(gh_tls_server *s);
void gh_tls_server_unref(gh_tls_server *s);

/* The context a new connection starts on (the default certificate's). */
SSL_CTX *gh_tls_server_ctx(const gh_tls_server *s);
/* The certificate chosen for name (lower or mixed case), as its index. */
size_t gh_tls_server_pick(const gh_tls_server *s, const char *name);
/* The certificates, for expiry metrics: a label (the first name) and the end of validity. */
size_t gh_tls_server_count(const gh_tls_server *s);
const char *gh_tls_server_cert_label(const gh_tls_server *s, size_t i);
time_t gh_tls_server_cert_not_after(const gh_tls_server *s, size_t i);
/* The leaf certificate itself, for what events say of it (tls/cert_info.h). */
X509 *gh_tls_server_cert_x509(const gh_tls_server *s, size_t i);

#endif
