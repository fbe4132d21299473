/* Signing JWS (compact form) and exporting public keys as JWK: what an identity provider does.
 * The gateway itself only verifies; `gatehouse token` and `gatehouse probe` sign, so that what
 * they make goes through the real verification path. */
#ifndef GH_IDENTITY_JWS_SIGN_H
#define GH_IDENTITY_JWS_SIGN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

/* The GH_ALG_* bits a key can sign with (0: a key of no JWS algorithm). */
unsigned gh_jws_key_algs(EVP_PKEY *k);
/* A new key for alg: EC on alg's curve, Ed25519, or RSA of 2048 bits for RS and PS. NULL for
 * HMAC algorithms (their secret is bytes) or on failure. */
EVP_PKEY *gh_jws_keygen(unsigned alg);
/* The signature of input (the "header.payload" text) with k, or, when k is NULL, with the HMAC
 * secret (alg one of GH_ALG_HMAC). ECDSA signatures in the fixed r||s form of JWS. 0, or -1
 * when alg does not fit the key. sig holds at least 1024 bytes. */
int gh_jws_sign_input(EVP_PKEY *k, const unsigned char *secret, size_t secret_len, unsigned alg,
                      const char *input, unsigned char *sig, size_t *sig_len);
/* "b64(header).b64(payload).b64(sig)", malloc'd: header and payload as the bytes given (not
 * re-encoded: a test of duplicate keys or odd spacing keeps them), sig as given (may be empty). */
char *gh_jws_compact(const char *header, size_t header_len, const char *payload,
                     size_t payload_len, const unsigned char *sig, size_t sig_len);
/* header and payload signed with k (or the secret): the compact token, malloc'd, or NULL. */
char *gh_jws_sign(EVP_PKEY *k, const unsigned char *secret, size_t secret_len, unsigned alg,
                  const char *header, const char *payload);
/* k's public half as a JWK object ("use": "sig", "kid" when given, "alg" when alg is not 0),
 * or NULL for a key type JWS does not use. */
json_t *gh_jwk_public(EVP_PKEY *k, const char *kid, unsigned alg);

#endif
