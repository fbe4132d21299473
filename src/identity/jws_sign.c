/* JWS signing and public JWK export (jws_sign.h). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "identity/jwk.h"
#include "identity/jws.h"
#include "identity/jws_sign.h"

#define ECDSA_ALGS (GH_ALG_ES256 | GH_ALG_ES384 | GH_ALG_ES512)
#define PSS_ALGS (GH_ALG_PS256 | GH_ALG_PS384 | GH_ALG_PS512)

unsigned gh_jws_key_algs(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "RSA"))
        return GH_ALG_RS256 | GH_ALG_RS384 | GH_ALG_RS512 | PSS_ALGS;
    if (EVP_PKEY_is_a(k, "ED25519"))
        return GH_ALG_EDDSA;
    char group[32] = "";
    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return GH_ALG_ES256;
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return GH_ALG_ES384;
    if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
        return GH_ALG_ES512;
    return 0;
}

EVP_PKEY *gh_jws_keygen(unsigned alg)
{
    if (alg == GH_ALG_ES256)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (alg == GH_ALG_ES384)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (alg == GH_ALG_ES512)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    if (alg == GH_ALG_EDDSA)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (alg & (GH_ALG_RS256 | GH_ALG_RS384 | GH_ALG_RS512 | PSS_ALGS))
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return NULL;
}

/* An ECDSA signature from DER to the r||s of JWS (RFC 7518 3.4). */
static int ecdsa_fixed(unsigned alg, const unsigned char *der, size_t der_len, unsigned char *sig,
                       size_t *len)
{
    size_t half = alg == GH_ALG_ES256 ? 32 : alg == GH_ALG_ES384 ? 48 : 66;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)der_len);
    if (!es)
        return -1;
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half);
    ECDSA_SIG_free(es);
    *len = 2 * half;
    return 0;
}

int gh_jws_sign_input(EVP_PKEY *k, const unsigned char *secret, size_t secret_len, unsigned alg,
                      const char *input, unsigned char *sig, size_t *sig_len)
{
    if (!k) {
        unsigned int n = 0;
        if (!(alg & GH_ALG_HMAC) || !HMAC(gh_jws_alg_md(alg), secret, (int)secret_len,
                                          (const unsigned char *)input, strlen(input), sig, &n))
            return -1;
        *sig_len = n;
        return 0;
    }
    if (!(alg & gh_jws_key_algs(k)))
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[1024];
    size_t der_len = sizeof(der);
    int ok = ctx && EVP_DigestSignInit(ctx, &pctx, gh_jws_alg_md(alg), NULL, k) == 1;
    if (ok && (alg & PSS_ALGS))
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    if (alg & ECDSA_ALGS)
        return ecdsa_fixed(alg, der, der_len, sig, sig_len);
    memcpy(sig, der, der_len);
    *sig_len = der_len;
    return 0;
}

char *gh_jws_compact(const char *header, size_t header_len, const char *payload,
                     size_t payload_len, const unsigned char *sig, size_t sig_len)
{
    size_t cap = (header_len + payload_len + sig_len) * 4 / 3 + 16;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = gh_b64url_encode((const unsigned char *)header, header_len, out);
    out[n++] = '.';
    n += gh_b64url_encode((const unsigned char *)payload, payload_len, out + n);
    out[n++] = '.';
    n += gh_b64url_encode(sig, sig_len, out + n);
    out[n] = '\0';
    return out;
}

char *gh_jws_sign(EVP_PKEY *k, const unsigned char *secret, size_t secret_len, unsigned alg,
                  const char *header, const char *payload)
{
    char *input = gh_jws_compact(header, strlen(header), payload, strlen(payload), NULL, 0);
    if (!input)
        return NULL;
    input[strlen(input) - 1] = '\0'; /* "h.p." without its empty signature */
    unsigned char sig[1024];
    size_t sig_len = 0;
    char *out = NULL;
    if (gh_jws_sign_input(k, secret, secret_len, alg, input, sig, &sig_len) == 0)
        out = gh_jws_compact(header, strlen(header), payload, strlen(payload), sig, sig_len);
    free(input);
    return out;
}

static json_t *param_b64(EVP_PKEY *k, const char *name, size_t pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    char out[1400];
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
        return NULL;
    int n = BN_num_bytes(bn) <= (int)sizeof(buf) ? (pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf)) : -1;
    BN_free(bn);
    if (n < 0)
        return NULL;
    gh_b64url_encode(buf, (size_t)n, out);
    return json_string(out);
}

json_t *gh_jwk_public(EVP_PKEY *k, const char *kid, unsigned alg)
{
    unsigned algs = gh_jws_key_algs(k);
    if (!algs)
        return NULL;
    json_t *jwk = json_object();
    json_object_set_new(jwk, "use", json_string("sig"));
    if (kid)
        json_object_set_new(jwk, "kid", json_string(kid));
    if (alg)
        json_object_set_new(jwk, "alg", json_string(gh_alg_name(alg)));
    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(jwk, "kty", json_string("RSA"));
        json_object_set_new(jwk, "n", param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(jwk, "e", param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (algs == GH_ALG_EDDSA) {
        unsigned char raw[32];
        size_t rl = sizeof(raw);
        char x[64];
        EVP_PKEY_get_raw_public_key(k, raw, &rl);
        gh_b64url_encode(raw, rl, x);
        json_object_set_new(jwk, "kty", json_string("OKP"));
        json_object_set_new(jwk, "crv", json_string("Ed25519"));
        json_object_set_new(jwk, "x", json_string(x));
    } else {
        size_t size = algs == GH_ALG_ES256 ? 32 : algs == GH_ALG_ES384 ? 48 : 66;
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(algs == GH_ALG_ES256   ? "P-256"
                                                    : algs == GH_ALG_ES384 ? "P-384"
                                                                           : "P-521"));
        json_object_set_new(jwk, "x", param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, size));
        json_object_set_new(jwk, "y", param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, size));
    }
    return jwk;
}
