/* JSON Web Keys (RFC 7517/7518/8037) for verifying signatures: import, with the checks that
 * keep a weak or mislabelled key out of a key set. */
#ifndef GH_IDENTITY_JWK_H
#define GH_IDENTITY_JWK_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

/* Signature algorithms, as a bit set for allow-lists. */
typedef enum {
    GH_ALG_RS256 = 1 << 0,
    GH_ALG_RS384 = 1 << 1,
    GH_ALG_RS512 = 1 << 2,
    GH_ALG_PS256 = 1 << 3,
    GH_ALG_PS384 = 1 << 4,
    GH_ALG_PS512 = 1 << 5,
    GH_ALG_ES256 = 1 << 6,
    GH_ALG_ES384 = 1 << 7,
    GH_ALG_ES512 = 1 << 8,
    GH_ALG_EDDSA = 1 << 9,
    GH_ALG_HS256 = 1 << 10,
    GH_ALG_HS384 = 1 << 11,
    GH_ALG_HS512 = 1 << 12,
} gh_alg;

#define GH_ALG_ASYMMETRIC (GH_ALG_HS256 - 1)
#define GH_ALG_HMAC (GH_ALG_HS256 | GH_ALG_HS384 | GH_ALG_HS512)

/* The algorithm named s (n bytes), 0 for an unknown name or "none". */
unsigned gh_alg_from_name(const char *s, size_t n);
const char *gh_alg_name(unsigned alg);

typedef enum { GH_KTY_RSA, GH_KTY_EC, GH_KTY_OKP, GH_KTY_OCT } gh_kty;

typedef struct gh_jwk {
    gh_kty kty;
    unsigned algs; /* the algorithms this key may verify: its kty/crv, narrowed by its "alg" */
    char *kid;     /* NULL when absent */
    EVP_PKEY *pkey;  /* RSA, EC, OKP */
    unsigned char *secret; /* oct */
    size_t secret_len;
    unsigned char print[32]; /* SHA-256 of the key material: the same key across fetched sets */
} gh_jwk;

typedef struct gh_jwks {
    gh_jwk *keys;
    size_t n;
    bool has_secret, has_public; /* a set mixing both is never used for HMAC */
} gh_jwks;

/* Imports a JWK Set ({"keys": [...]}) or a single JWK. Keys that are not signature keys or fail
 * a check are refused with the reason in *err (a static string); returns 0 or -1. */
int gh_jwks_parse(const char *json, size_t len, gh_jwks *out, const char **err);
void gh_jwks_free(gh_jwks *set);
/* Adds an HMAC secret (copied) as a key without kid; -1 when it is shorter than 32 bytes. */
int gh_jwks_add_secret(gh_jwks *set, const unsigned char *secret, size_t len);

/* The key of set with kid (NULL: without kid) and the same material as print, or NULL. */
const gh_jwk *gh_jwks_find_print(const gh_jwks *set, const char *kid, const unsigned char print[32]);

/* Whether an RSA modulus carries the ROCA fingerprint (CVE-2017-15361). */
bool gh_rsa_roca_fingerprint(const unsigned char *n, size_t len);

#endif
