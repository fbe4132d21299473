/* Verifying compact JWS (RFC 7515) with keys from a JWK set: the path every bearer token takes.
 * Claims are checked by the caller on the verified payload. */
#ifndef GH_IDENTITY_JWS_H
#define GH_IDENTITY_JWS_H

#include <openssl/evp.h>

#include <stddef.h>

#include "identity/jwk.h"

/* X(name, slug): every outcome of checking a credential (a token's signature and claims, an API
 * key); slugs are the `auth_reason` of the access log and the reason label of
 * gatehouse_auth_failures_total. */
#define GH_JWS_STATUSES(X)                                                                         \
    X(OK, "ok")                                                                                    \
    X(MALFORMED, "malformed")                                                                      \
    X(TOO_LARGE, "too_large")                                                                      \
    X(NOT_COMPACT_JWS, "not_compact_jws")                                                          \
    X(ALG_NOT_ALLOWED, "alg_not_allowed")                                                          \
    X(FORBIDDEN_HEADER, "forbidden_header")                                                        \
    X(UNKNOWN_KID, "unknown_kid")                                                                  \
    X(AMBIGUOUS_KEY, "ambiguous_key")                                                              \
    X(KEY_MISMATCH, "key_mismatch")                                                                \
    X(SIGNATURE, "signature")                                                                      \
    X(MISSING, "missing")                                                                          \
    X(CLAIMS_MALFORMED, "claims_malformed")                                                        \
    X(MISSING_EXP, "missing_exp")                                                                  \
    X(EXPIRED, "expired")                                                                          \
    X(NOT_YET_VALID, "not_yet_valid")                                                              \
    X(ISSUED_IN_FUTURE, "issued_in_future")                                                        \
    X(LIFETIME_TOO_LONG, "lifetime_too_long")                                                      \
    X(ISS_MISMATCH, "iss_mismatch")                                                                \
    X(AUD_MISMATCH, "aud_mismatch")                                                                \
    X(MISSING_CLAIM, "missing_claim")                                                              \
    X(NO_KEYS, "keys_unavailable")                                                                 \
    X(UNKNOWN_API_KEY, "unknown_api_key")                                                          \
    X(INACTIVE, "inactive")                                                                        \
    X(INTROSPECTION_FAILED, "introspection_failed")                                                \
    X(INTROSPECTION_BUSY, "introspection_busy")                                                    \
    X(NO_CLIENT_CERT, "no_client_certificate")                                                     \
    X(CLIENT_CERT_MISMATCH, "client_certificate_mismatch")

typedef enum {
#define GH_JWS_ENUM(name, slug) GH_JWS_##name,
    GH_JWS_STATUSES(GH_JWS_ENUM)
#undef GH_JWS_ENUM
        GH_JWS__COUNT
} gh_jws_status;

const char *gh_jws_status_slug(gh_jws_status s);

/* Metric codes beside the statuses: token cache lookups. */
#define GH_AUTH_CACHE_HIT 1000
#define GH_AUTH_CACHE_MISS 1001

typedef struct gh_jws {
    unsigned alg;
    const gh_jwk *key;
    const unsigned char *payload; /* decoded, in the caller's scratch buffer */
    size_t payload_len;
} gh_jws;

/* Per-thread verification state: digests fetched once and verify contexts kept initialized per
 * key, so a signature check does not set OpenSSL up again every time. Owned by one worker. */
#define GH_JWS_VERIFIER_SLOTS 16
typedef struct gh_jws_verifier {
    EVP_MD *md[3]; /* SHA-256, SHA-384, SHA-512 */
    EVP_MD_CTX *mdctx;
    struct {
        const EVP_PKEY *pkey; /* the context holds a reference: the address is not reused */
        unsigned alg;
        EVP_PKEY_CTX *ctx;
    } slots[GH_JWS_VERIFIER_SLOTS];
    size_t next;
} gh_jws_verifier;

int gh_jws_verifier_init(gh_jws_verifier *v);
/* Forgets every kept context. Slots are keyed by the EVP_PKEY their context holds a reference
 * to, so a freed key set can never alias a kept context; clearing returns the memory early
 * (a snapshot released). */
void gh_jws_verifier_clear(gh_jws_verifier *v);
void gh_jws_verifier_free(gh_jws_verifier *v);

/* Verifies token[0..len) (at most max_len bytes) with a key of set whose algorithm is in
 * allowed. scratch must hold len bytes. On GH_JWS_OK, out describes the verified token. */
gh_jws_status gh_jws_verify(const char *token, size_t len, size_t max_len, const gh_jwks *set,
                            unsigned allowed, unsigned char *scratch, gh_jws *out);
/* Same, with a verifier (NULL: the plain path). Results are identical. */
gh_jws_status gh_jws_verify_with(gh_jws_verifier *v, const char *token, size_t len, size_t max_len,
                                 const gh_jwks *set, unsigned allowed, unsigned char *scratch,
                                 gh_jws *out);

/* ECDSA signatures are malleable: (r, s) and (r, n - s) both verify, so one token has two
 * spellings. Both are accepted (issuers commonly sign without normalising, and refusing high s
 * would refuse about half of their tokens), but whatever is keyed by a token (the verified-token
 * cache, replay detection) keys its canonical spelling: this rewrites a P1363 signature of a
 * P-256, P-384 or P-521 length (64, 96 or 132 bytes) in place to the low-s form. False when len
 * is none of those. */
bool gh_jws_ecdsa_low_s(unsigned char *sig, size_t len);

/* The signature check alone, for one key and algorithm: GH_JWS_OK or GH_JWS_SIGNATURE (or
 * GH_JWS_KEY_MISMATCH when the key cannot do alg). gh_jws_verify calls exactly this. */
gh_jws_status gh_jws_check_signature(const gh_jwk *key, unsigned alg, const unsigned char *input,
                                     size_t input_len, const unsigned char *sig, size_t sig_len);
/* The same check through a verifier's kept contexts (the gateway's path); v may be NULL. */
gh_jws_status gh_jws_check_signature_with(gh_jws_verifier *v, const gh_jwk *key, unsigned alg,
                                          const unsigned char *input, size_t input_len,
                                          const unsigned char *sig, size_t sig_len);

/* The digest a JWS algorithm signs over (NULL for EdDSA, which hashes itself). */
const EVP_MD *gh_jws_alg_md(unsigned alg);

#endif
