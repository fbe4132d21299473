/* Compact JWS verification. What the token says is never trusted to choose how it is verified:
 * the algorithm must be allowed by configuration and fit the key, keys named by the token (jku,
 * x5u, jwk, x5c) are refused outright, and unknown critical extensions fail the token. */
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <string.h>

#include "core/b64url.h"
#include "identity/jws.h"

const char *gh_jws_status_slug(gh_jws_status s)
{
    static const char *const slugs[] = {
#define GH_JWS_SLUG(name, slug) slug,
        GH_JWS_STATUSES(GH_JWS_SLUG)
#undef GH_JWS_SLUG
    };
    return (unsigned)s < sizeof(slugs) / sizeof(slugs[0]) ? slugs[s] : "unknown";
}

const EVP_MD *gh_jws_alg_md(unsigned alg)
{
    if (alg & (GH_ALG_RS256 | GH_ALG_PS256 | GH_ALG_ES256 | GH_ALG_HS256))
        return EVP_sha256();
    if (alg & (GH_ALG_RS384 | GH_ALG_PS384 | GH_ALG_ES384 | GH_ALG_HS384))
        return EVP_sha384();
    if (alg & (GH_ALG_RS512 | GH_ALG_PS512 | GH_ALG_ES512 | GH_ALG_HS512))
        return EVP_sha512();
    return NULL; /* EdDSA hashes internally */
}

/* JWS carries ECDSA signatures as r||s of fixed size (RFC 7518 3.4); OpenSSL verifies DER. */
static unsigned char *p1363_to_der(const unsigned char *sig, size_t len, size_t half, int *der_len)
{
    if (len != 2 * half)
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        *der_len = i2d_ECDSA_SIG(es, &der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return *der_len > 0 ? der : NULL;
}

/* The group orders of P-256, P-384 and P-521, big-endian, as long as a P1363 half. */
static const unsigned char order_p256[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const unsigned char order_p384[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};
static const unsigned char order_p521[66] = {
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09,
    0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c, 0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38,
    0x64, 0x09};

bool gh_jws_ecdsa_low_s(unsigned char *sig, size_t len)
{
    const unsigned char *n = len == 64 ? order_p256 : len == 96 ? order_p384 : len == 132 ? order_p521 : NULL;
    if (!n)
        return false;
    size_t half = len / 2;
    unsigned char *s = sig + half, other[66];
    if (memcmp(s, n, half) >= 0)
        return true; /* s >= n: no valid signature, left as it is (it fails to verify) */
    int borrow = 0;
    for (size_t i = half; i-- > 0;) { /* other = n - s */
        int d = n[i] - s[i] - borrow;
        borrow = d < 0;
        other[i] = (unsigned char)(d + (borrow ? 256 : 0));
    }
    if (memcmp(other, s, half) < 0)
        memcpy(s, other, half);
    return true;
}

static gh_jws_status check_hmac(const gh_jwk *key, unsigned alg, const unsigned char *input,
                                size_t input_len, const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(gh_jws_alg_md(alg), key->secret, (int)key->secret_len, input, input_len, mac, &mac_len))
        return GH_JWS_SIGNATURE;
    return mac_len == sig_len && CRYPTO_memcmp(mac, sig, sig_len) == 0 ? GH_JWS_OK : GH_JWS_SIGNATURE;
}

gh_jws_status gh_jws_check_signature(const gh_jwk *key, unsigned alg, const unsigned char *input,
                                     size_t input_len, const unsigned char *sig, size_t sig_len)
{
    if (!(key->algs & alg))
        return GH_JWS_KEY_MISMATCH;
    if (alg & GH_ALG_HMAC)
        return check_hmac(key, alg, input, input_len, sig, sig_len);
    unsigned char *der = NULL;
    int der_len = 0;
    if (alg & (GH_ALG_ES256 | GH_ALG_ES384 | GH_ALG_ES512)) {
        size_t half = alg == GH_ALG_ES256 ? 32 : alg == GH_ALG_ES384 ? 48 : 66;
        if (!(der = p1363_to_der(sig, sig_len, half, &der_len)))
            return GH_JWS_SIGNATURE;
        sig = der;
        sig_len = (size_t)der_len;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, gh_jws_alg_md(alg), NULL, key->pkey) == 1;
    if (ok && (alg & (GH_ALG_PS256 | GH_ALG_PS384 | GH_ALG_PS512)))
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, gh_jws_alg_md(alg)) == 1;
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok ? GH_JWS_OK : GH_JWS_SIGNATURE;
}

int gh_jws_verifier_init(gh_jws_verifier *v)
{
    memset(v, 0, sizeof(*v));
    v->md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
    v->md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
    v->md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
    v->mdctx = EVP_MD_CTX_new();
    return v->md[0] && v->md[1] && v->md[2] && v->mdctx ? 0 : -1;
}

void gh_jws_verifier_clear(gh_jws_verifier *v)
{
    for (size_t i = 0; i < GH_JWS_VERIFIER_SLOTS; i++) {
        EVP_PKEY_CTX_free(v->slots[i].ctx);
        v->slots[i].ctx = NULL;
        v->slots[i].pkey = NULL;
    }
}

void gh_jws_verifier_free(gh_jws_verifier *v)
{
    gh_jws_verifier_clear(v);
    for (int i = 0; i < 3; i++)
        EVP_MD_free(v->md[i]);
    EVP_MD_CTX_free(v->mdctx);
    memset(v, 0, sizeof(*v));
}

static const EVP_MD *fetched_md(gh_jws_verifier *v, unsigned alg)
{
    const EVP_MD *md = gh_jws_alg_md(alg);
    return md == EVP_sha256() ? v->md[0] : md == EVP_sha384() ? v->md[1] : v->md[2];
}

/* A verify context for (key, alg), initialized once and kept. */
static EVP_PKEY_CTX *kept_ctx(gh_jws_verifier *v, const gh_jwk *key, unsigned alg)
{
    for (size_t i = 0; i < GH_JWS_VERIFIER_SLOTS; i++)
        if (v->slots[i].pkey == key->pkey && v->slots[i].alg == alg)
            return v->slots[i].ctx;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1;
    if (ok && !(alg & (GH_ALG_ES256 | GH_ALG_ES384 | GH_ALG_ES512)))
        ok = EVP_PKEY_CTX_set_signature_md(ctx, fetched_md(v, alg)) == 1;
    if (ok && (alg & (GH_ALG_PS256 | GH_ALG_PS384 | GH_ALG_PS512)))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, fetched_md(v, alg)) == 1;
    else if (ok && (alg & (GH_ALG_RS256 | GH_ALG_RS384 | GH_ALG_RS512)))
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    size_t at = v->next++ % GH_JWS_VERIFIER_SLOTS;
    EVP_PKEY_CTX_free(v->slots[at].ctx);
    v->slots[at].pkey = key->pkey;
    v->slots[at].alg = alg;
    v->slots[at].ctx = ctx;
    return ctx;
}

/* DER INTEGER of an unsigned big-endian number: minimal, with a 00 before a high bit. */
static size_t der_integer(const unsigned char *n, size_t len, unsigned char *out)
{
    while (len > 1 && n[0] == 0) {
        n++;
        len--;
    }
    size_t pad = n[0] & 0x80 ? 1 : 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(len + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, n, len);
    return 2 + pad + len;
}

/* r||s as DER SEQUENCE { r, s } without allocating (at most 2 * 69 + 3 bytes for P-521). */
static size_t p1363_der_fixed(const unsigned char *sig, size_t half, unsigned char *out)
{
    unsigned char body[2 * 70];
    size_t n = der_integer(sig, half, body);
    n += der_integer(sig + half, half, body + n);
    size_t hdr = 0;
    out[hdr++] = 0x30;
    if (n >= 0x80)
        out[hdr++] = 0x81;
    out[hdr++] = (unsigned char)n;
    memcpy(out + hdr, body, n);
    return hdr + n;
}

gh_jws_status gh_jws_check_signature_with(gh_jws_verifier *v, const gh_jwk *key, unsigned alg,
                                          const unsigned char *input, size_t input_len,
                                          const unsigned char *sig, size_t sig_len)
{
    if (!v || (alg & (GH_ALG_HMAC | GH_ALG_EDDSA)) || !(key->algs & alg))
        return gh_jws_check_signature(key, alg, input, input_len, sig, sig_len);
    unsigned char der[160], digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const unsigned char *vsig = sig;
    size_t vlen = sig_len;
    if (alg & (GH_ALG_ES256 | GH_ALG_ES384 | GH_ALG_ES512)) {
        size_t half = alg == GH_ALG_ES256 ? 32 : alg == GH_ALG_ES384 ? 48 : 66;
        if (sig_len != 2 * half)
            return GH_JWS_SIGNATURE;
        vlen = p1363_der_fixed(sig, half, der);
        vsig = der;
    }
    EVP_PKEY_CTX *ctx = kept_ctx(v, key, alg);
    if (!ctx || EVP_DigestInit_ex2(v->mdctx, fetched_md(v, alg), NULL) != 1 ||
        EVP_DigestUpdate(v->mdctx, input, input_len) != 1 ||
        EVP_DigestFinal_ex(v->mdctx, digest, &dlen) != 1)
        return gh_jws_check_signature(key, alg, input, input_len, sig, sig_len);
    return EVP_PKEY_verify(ctx, vsig, vlen, digest, dlen) == 1 ? GH_JWS_OK : GH_JWS_SIGNATURE;
}

/* The key for (alg, kid): with a kid, the one key of that kid; without, the only key that can
 * do alg. HMAC is never chosen from a set that also holds public keys (a public key misread as
 * an HMAC secret is the classic algorithm confusion). */
static gh_jws_status select_key(const gh_jwks *set, unsigned alg, const char *kid, const gh_jwk **out)
{
    if ((alg & GH_ALG_HMAC) && set->has_public)
        return GH_JWS_KEY_MISMATCH;
    const gh_jwk *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < set->n; i++) {
        const gh_jwk *k = &set->keys[i];
        if (kid ? !(k->kid && strcmp(k->kid, kid) == 0) : !(k->algs & alg))
            continue;
        matches++;
        found = k;
    }
    if (matches == 0)
        return kid ? GH_JWS_UNKNOWN_KID : GH_JWS_KEY_MISMATCH;
    if (matches > 1)
        return GH_JWS_AMBIGUOUS_KEY;
    if (!(found->algs & alg))
        return GH_JWS_KEY_MISMATCH;
    *out = found;
    return GH_JWS_OK;
}

static gh_jws_status read_header(const unsigned char *h, size_t len, unsigned allowed,
                                 unsigned *alg, char *kid, size_t kid_cap, bool *has_kid)
{
    json_error_t jerr;
    json_t *hdr = json_loadb((const char *)h, len, JSON_REJECT_DUPLICATES, &jerr);
    gh_jws_status st = GH_JWS_OK;
    const char *a = hdr ? json_string_value(json_object_get(hdr, "alg")) : NULL;
    json_t *k = hdr ? json_object_get(hdr, "kid") : NULL;
    if (!hdr || !json_is_object(hdr) || !a)
        st = GH_JWS_MALFORMED;
    else if (!(*alg = gh_alg_from_name(a, strlen(a))) || !(*alg & allowed))
        st = GH_JWS_ALG_NOT_ALLOWED;
    else if (json_object_get(hdr, "jku") || json_object_get(hdr, "x5u") ||
             json_object_get(hdr, "jwk") || json_object_get(hdr, "x5c") ||
             json_object_get(hdr, "crit") || json_object_get(hdr, "enc") ||
             json_object_get(hdr, "zip"))
        st = GH_JWS_FORBIDDEN_HEADER;
    else if (k && (!json_is_string(k) || strlen(json_string_value(k)) >= kid_cap))
        st = GH_JWS_MALFORMED;
    if (st == GH_JWS_OK && k) {
        strcpy(kid, json_string_value(k));
        *has_kid = true;
    }
    json_decref(hdr);
    return st;
}

gh_jws_status gh_jws_verify(const char *token, size_t len, size_t max_len, const gh_jwks *set,
                            unsigned allowed, unsigned char *scratch, gh_jws *out)
{
    return gh_jws_verify_with(NULL, token, len, max_len, set, allowed, scratch, out);
}

gh_jws_status gh_jws_verify_with(gh_jws_verifier *v, const char *token, size_t len, size_t max_len,
                                 const gh_jwks *set, unsigned allowed, unsigned char *scratch,
                                 gh_jws *out)
{
    if (len > max_len)
        return GH_JWS_TOO_LARGE;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2)
        return GH_JWS_MALFORMED;
    if (memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return GH_JWS_NOT_COMPACT_JWS; /* five segments: JWE */
    size_t hl = (size_t)(d1 - token), pl = (size_t)(d2 - d1 - 1), sl = len - (size_t)(d2 + 1 - token);
    /* The header first: an attempt with alg "none" or a key named by the token is reported as
     * what it is, whatever the other segments hold. */
    unsigned char *h = scratch;
    long hn = hl ? gh_b64url_decode(token, hl, h) : -1;
    if (hn <= 0)
        return GH_JWS_MALFORMED;
    unsigned alg = 0;
    char kid[256];
    bool has_kid = false;
    gh_jws_status st = read_header(h, (size_t)hn, allowed, &alg, kid, sizeof(kid), &has_kid);
    if (st != GH_JWS_OK)
        return st;
    unsigned char *p = h + hn, *s;
    long pn = pl ? gh_b64url_decode(d1 + 1, pl, p) : -1;
    s = p + (pn > 0 ? pn : 0);
    long sn = pn > 0 && sl ? gh_b64url_decode(d2 + 1, sl, s) : -1;
    if (pn <= 0 || sn <= 0)
        return GH_JWS_MALFORMED;
    const gh_jwk *key = NULL;
    if ((st = select_key(set, alg, has_kid ? kid : NULL, &key)) != GH_JWS_OK)
        return st;
    st = gh_jws_check_signature_with(v, key, alg, (const unsigned char *)token, (size_t)(d2 - token), s,
                              (size_t)sn);
    if (st != GH_JWS_OK)
        return st;
    out->alg = alg;
    out->key = key;
    out->payload = p;
    out->payload_len = (size_t)pn;
    return GH_JWS_OK;
}
