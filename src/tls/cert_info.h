/* What an event says about a certificate: its subject and issuer (RFC 4514 distinguished
 * names), its serial number and SHA-256 fingerprint (uppercase hex, as ECS writes them), its
 * validity, and whether it expired or expires within a warning window. Pure: no I/O. */
#ifndef GH_TLS_CERT_INFO_H
#define GH_TLS_CERT_INFO_H

#include <openssl/x509.h>
#include <stdint.h>
#include <time.h>

typedef struct gh_cert_info {
    char subject[512]; /* cut (and ended with "...") when longer */
    char issuer[512];
    char serial[80];     /* hex, uppercase; a serial longer than 39 bytes is cut */
    char sha256[65];     /* of the DER encoding */
    char not_before[32]; /* RFC 3339, UTC */
    char not_after[32];
    time_t not_before_t, not_after_t;
} gh_cert_info;

/* Fills info from x; -1 when x is NULL or cannot be encoded. */
int gh_cert_info_of(X509 *x, gh_cert_info *info);

typedef enum { GH_CERT_VALID, GH_CERT_EXPIRING, GH_CERT_EXPIRED } gh_cert_state;

/* At now, with a warning window of warn_s seconds (0: never expiring, only expired). */
gh_cert_state gh_cert_state_at(time_t not_after, time_t now, uint64_t warn_s);

#endif
