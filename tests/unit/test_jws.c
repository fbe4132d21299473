/* Wycheproof vectors through the gateway's own verification entry points: JWK sets with compact
 * JWS (gh_jwks_parse + gh_jws_verify), and ECDSA P-256/384/521 (P1363), RSA PKCS#1 2048,
 * RSA-PSS, Ed25519 and HMAC-SHA256 (gh_jwks_parse of the group's key + gh_jws_check_signature).
 * valid must import and be accepted, invalid refused (at import or at verification, counted),
 * acceptable may go either way; each suite prints "GH-CASES wycheproof-<file> passed= failed=
 * skipped=", and a missing suite fails under CI=true. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "core/b64url.h"
#include "fake_gate.h"
#include "identity/hmac.h"
#include "identity/jws.h"
#include "identity/token_cache.h"

#define DIR "../shared/testdata/wycheproof/testvectors_v1/"

typedef struct {
    size_t valid_ok, invalid_refused, acceptable, wrong;
    size_t import_refused; /* of invalid_refused: refused when the key was imported */
    size_t skipped;        /* vectors outside what JWS allows (reported, not run) */
} tally;

/* A suite file; when absent, a skip with the reason, or under CI (CI=true) a failure, so that
 * a run that measured nothing cannot pass. */
static json_t *load(const char *file)
{
    json_error_t err;
    json_t *root = json_load_file(file, 0, &err);
    if (root)
        return root;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0)
        fail_msg("%s is absent (CI=true: the external suite must be there)", file);
    printf("SKIP %s is absent\n", file);
    skip();
    return NULL;
}

static size_t unhex(const char *s, unsigned char *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(s + 2 * i, "%2hhx", &out[i]);
    return n;
}

static void judge(tally *t, const char *file, json_t *test, bool accepted)
{
    const char *result = json_string_value(json_object_get(test, "result"));
    if (strcmp(result, "acceptable") == 0)
        t->acceptable++;
    else if (strcmp(result, "valid") == 0 && accepted)
        t->valid_ok++;
    else if (strcmp(result, "invalid") == 0 && !accepted)
        t->invalid_refused++;
    else {
        t->wrong++;
        print_error("%s tcId %lld (%s): expected %s\n", file,
                    (long long)json_integer_value(json_object_get(test, "tcId")),
                    json_string_value(json_object_get(test, "comment")), result);
    }
}

/* A vector whose key did not import: refused, which is right only for an invalid one. */
static void judge_unimported(tally *t, const char *file, json_t *test)
{
    judge(t, file, test, false);
    t->import_refused += strcmp(json_string_value(json_object_get(test, "result")), "invalid") == 0;
}

static void report(const char *name, const tally *t)
{
    printf("wycheproof %-40s valid accepted %4zu, invalid refused %4zu (%zu at import), "
           "acceptable %3zu, wrong %zu\n",
           name, t->valid_ok, t->invalid_refused, t->import_refused, t->acceptable, t->wrong);
    printf("GH-CASES wycheproof-%s passed=%zu failed=%zu skipped=%zu\n", name,
           t->valid_ok + t->invalid_refused + t->acceptable, t->wrong, t->skipped);
    assert_int_equal(t->wrong, 0);
    assert_true(t->valid_ok > 0 && t->invalid_refused > 0);
}

static void jwk_sets(void **state)
{
    (void)state;
    json_t *root = load(DIR "json_web_key_test.json");
    tally t = {0};
    gh_jws_verifier verifier; /* the gateway's entry point: gh_jws_verify_with a verifier */
    assert_int_equal(gh_jws_verifier_init(&verifier), 0);
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        char *text = json_dumps(json_object_get(g, "private"), 0);
        gh_jwks set;
        const char *err;
        int rc = gh_jwks_parse(text, strlen(text), &set, &err);
        free(text);
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(g, "tests"), ti, test)
        {
            if (rc != 0) {
                judge_unimported(&t, "json_web_key_test", test);
                continue;
            }
            const char *jws = json_string_value(json_object_get(test, "jws"));
            unsigned char scratch[8192];
            gh_jws out;
            gh_jws_status st = gh_jws_verify_with(&verifier, jws, strlen(jws), sizeof(scratch),
                                                  &set, 0xffff, scratch, &out);
            judge(&t, "json_web_key_test", test, st == GH_JWS_OK);
        }
        gh_jws_verifier_clear(&verifier);
        if (rc == 0)
            gh_jwks_free(&set);
    }
    json_decref(root);
    gh_jws_verifier_free(&verifier);
    report("json_web_key_test", &t);
}


/* Groups without a JWK give the point as hex: build the JWK a provider would publish. */
static char *ec_jwk_from_point(json_t *g)
{
    json_t *pk = json_object_get(g, "publicKey");
    const char *curve = json_string_value(json_object_get(pk, "curve"));
    const char *wx = json_string_value(json_object_get(pk, "wx")), *wy = json_string_value(json_object_get(pk, "wy"));
    if (!curve || !wx || !wy)
        return NULL;
    const char *crv = strcmp(curve, "secp256r1") == 0 ? "P-256" : strcmp(curve, "secp384r1") == 0 ? "P-384" : "P-521";
    size_t size = crv[2] == '2' ? 32 : crv[2] == '3' ? 48 : 66;
    unsigned char raw[2][80];
    const char *hex[2] = {wx, wy};
    char b64[2][120];
    for (int i = 0; i < 2; i++) {
        /* wx and wy are big-endian integers, possibly with a leading 00 byte or shorter. */
        unsigned char tmp[80] = {0};
        if (strlen(hex[i]) > 2 * sizeof(tmp))
            return NULL;
        size_t n = unhex(hex[i], tmp);
        for (size_t j = 0; j < size; j++) { /* right-aligned: drop a leading 00, pad a short one */
            size_t from_end = size - 1 - j;
            raw[i][j] = from_end < n ? tmp[n - 1 - from_end] : 0;
        }
        gh_b64url_encode(raw[i], size, b64[i]);
    }
    char *out = NULL;
    if (asprintf(&out, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv, b64[0], b64[1]) < 0)
        return NULL;
    return out;
}

/* Signature files: the group's JWK is imported as the gateway imports keys, then every vector
 * goes through gh_jws_check_signature. */
static void signatures(const char *file, const char *jwk_member, unsigned alg)
{
    char path[256];
    snprintf(path, sizeof(path), DIR "%s.json", file);
    json_t *root = load(path);
    tally t = {0};
    gh_jws_verifier verifier;
    assert_int_equal(gh_jws_verifier_init(&verifier), 0);
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        json_t *jwk = json_object_get(g, jwk_member);
        char *text = jwk ? json_dumps(jwk, 0) : ec_jwk_from_point(g);
        gh_jwks set;
        const char *err;
        int rc = text ? gh_jwks_parse(text, strlen(text), &set, &err) : -1;
        free(text);
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(g, "tests"), ti, test)
        {
            if (rc != 0 || set.n != 1) { /* a valid vector's key must import */
                judge_unimported(&t, file, test);
                continue;
            }
            const char *msg = json_string_value(json_object_get(test, "msg"));
            const char *sig = json_string_value(json_object_get(test, "sig"));
            unsigned char *m = malloc(strlen(msg) / 2 + 1), *s = malloc(strlen(sig) / 2 + 1);
            size_t ml = unhex(msg, m), sl = unhex(sig, s);
            bool ok = gh_jws_check_signature(&set.keys[0], alg, m, ml, s, sl) == GH_JWS_OK;
            /* The gateway's path, with kept contexts, must agree on every vector. */
            bool kept = gh_jws_check_signature_with(&verifier, &set.keys[0], alg, m, ml, s, sl) == GH_JWS_OK;
            if (kept != ok)
                fail_msg("%s tcId %lld: the verifier path disagrees", file,
                         (long long)json_integer_value(json_object_get(test, "tcId")));
            judge(&t, file, test, ok);
            free(m);
            free(s);
        }
        gh_jws_verifier_clear(&verifier); /* the group's key is freed next */
        if (rc == 0)
            gh_jwks_free(&set);
    }
    json_decref(root);
    gh_jws_verifier_free(&verifier);
    report(file, &t);
}

static void ecdsa_p256(void **s) { (void)s; signatures("ecdsa_secp256r1_sha256_p1363_test", "publicKeyJwk", GH_ALG_ES256); }
static void ecdsa_p384(void **s) { (void)s; signatures("ecdsa_secp384r1_sha384_p1363_test", "publicKeyJwk", GH_ALG_ES384); }
static void ecdsa_p521(void **s) { (void)s; signatures("ecdsa_secp521r1_sha512_p1363_test", "publicKeyJwk", GH_ALG_ES512); }
static void rsa_pkcs1(void **s) { (void)s; signatures("rsa_signature_2048_sha256_test", "keyJwk", GH_ALG_RS256); }
static void rsa_pss(void **s) { (void)s; signatures("rsa_pss_2048_sha256_mgf1_32_test", "publicKeyJwk", GH_ALG_PS256); }
static void ed25519(void **s) { (void)s; signatures("ed25519_test", "publicKeyJwk", GH_ALG_EDDSA); }

/* Each whole-tag vector of the HMAC-SHA256 file judged by one (truncated tags are outside JWS
 * and webhooks alike: skipped), reported under name. */
static void hmac_vectors(const char *name, void (*one)(tally *t, json_t *g, json_t *test))
{
    json_t *root = load(DIR "hmac_sha256_test.json");
    tally t = {0};
    size_t gi, ti;
    json_t *g, *test;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        bool whole_tag = json_integer_value(json_object_get(g, "tagSize")) == 256;
        json_array_foreach(json_object_get(g, "tests"), ti, test)
        {
            if (whole_tag)
                one(&t, g, test);
            else
                t.skipped++;
        }
    }
    json_decref(root);
    report(name, &t);
}

/* Through HS256 key import (an oct JWK) and signature checking. JWS takes only keys at least as
 * long as the hash (RFC 7518 3.2): 128-bit keys must be refused at import (counted skipped when
 * the vector is valid, refused when it is invalid). */
static void one_hs256(tally *t, json_t *g, json_t *test)
{
    const char *msg = json_string_value(json_object_get(test, "msg"));
    bool valid = strcmp(json_string_value(json_object_get(test, "result")), "valid") == 0;
    unsigned char key[128], *m = malloc(strlen(msg) / 2 + 1), mac[64];
    size_t kl = unhex(json_string_value(json_object_get(test, "key")), key), ml = unhex(msg, m);
    size_t tl = unhex(json_string_value(json_object_get(test, "tag")), mac);
    char k64[200], jwk[300];
    k64[gh_b64url_encode(key, kl, k64)] = '\0';
    snprintf(jwk, sizeof(jwk), "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"}]}", k64);
    gh_jwks set;
    const char *err;
    int rc = gh_jwks_parse(jwk, strlen(jwk), &set, &err);
    bool usable = rc == 0 && set.n == 1 && (set.keys[0].algs & GH_ALG_HS256);
    if (json_integer_value(json_object_get(g, "keySize")) < 256) {
        assert_false(usable); /* a short key never becomes an HS256 key */
        if (valid)
            t->skipped++;
        else
            judge_unimported(t, "hmac_sha256_test", test);
    } else if (!usable) {
        judge_unimported(t, "hmac_sha256_test", test);
    } else {
        judge(t, "hmac_sha256_test", test,
              gh_jws_check_signature(&set.keys[0], GH_ALG_HS256, m, ml, mac, tl) == GH_JWS_OK);
    }
    if (rc == 0)
        gh_jwks_free(&set);
    free(m);
}

/* Through the webhook signature code (gh_hmac_sha256 over a signed prefix and a body: the
 * message is split in two to use both). Webhook secrets are at least 16 bytes: every key runs. */
static void one_webhook(tally *t, json_t *g, json_t *test)
{
    (void)g;
    const char *msg = json_string_value(json_object_get(test, "msg"));
    unsigned char key[128], tag[32], out[32], *m = malloc(strlen(msg) / 2 + 1);
    size_t kl = unhex(json_string_value(json_object_get(test, "key")), key), ml = unhex(msg, m);
    assert_int_equal(unhex(json_string_value(json_object_get(test, "tag")), tag), 32);
    assert_true(gh_hmac_sha256(key, kl, m, ml / 2, m + ml / 2, ml - ml / 2, out));
    judge(t, "hmac_sha256_test", test, CRYPTO_memcmp(out, tag, 32) == 0);
    free(m);
}

static void hmac_sha256(void **s) { (void)s; hmac_vectors("hmac_sha256_test", one_hs256); }
static void hmac_sha256_webhooks(void **s) { (void)s; hmac_vectors("hmac_sha256_test-webhooks", one_webhook); }

/* Own cases: a real ES256 key, tokens minted here, and what an attacker would try. */
typedef struct {
    EVP_PKEY *pkey;
    gh_jwks set;
} es_key;

static void es_key_make(es_key *k, const char *kid)
{
    char jwk[512];
    k->pkey = fg_es256_key(kid, jwk);
    const char *err;
    assert_int_equal(gh_jwks_parse(jwk, strlen(jwk), &k->set, &err), 0);
    assert_int_equal(k->set.n, 1);
}

static void es_key_free(es_key *k)
{
    EVP_PKEY_free(k->pkey);
    gh_jwks_free(&k->set);
}

static gh_jws_status verify(const char *token, const gh_jwks *set, unsigned allowed)
{
    unsigned char scratch[8192];
    gh_jws out;
    return gh_jws_verify(token, strlen(token), sizeof(scratch), set, allowed, scratch, &out);
}

static void abuse(void **state)
{
    (void)state;
    es_key k, other;
    es_key_make(&k, "k1");
    es_key_make(&other, "k1");
    const char *payload = "{\"sub\":\"alice\"}";
    char *t = fg_mint(k.pkey, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload);
    char good[4096];
    strcpy(good, t);
    unsigned char scratch[8192];
    gh_jws out;
    assert_int_equal(gh_jws_verify(good, strlen(good), 8192, &k.set, GH_ALG_ES256, scratch, &out), GH_JWS_OK);
    assert_int_equal(out.payload_len, strlen(payload));
    assert_memory_equal(out.payload, payload, out.payload_len);
    /* Without kid, the only key that can do ES256. */
    assert_int_equal(verify(fg_mint(k.pkey, "{\"alg\":\"ES256\"}", payload), &k.set, GH_ALG_ES256), GH_JWS_OK);
    /* The same token against another provider's key with the same kid. */
    assert_int_equal(verify(good, &other.set, GH_ALG_ES256), GH_JWS_SIGNATURE);
    /* Not allowed by configuration. */
    assert_int_equal(verify(good, &k.set, GH_ALG_RS256), GH_JWS_ALG_NOT_ALLOWED);
    static const char *const headers[][2] = {
        {"{\"alg\":\"none\"}", "alg_not_allowed"},
        {"{\"alg\":\"None\"}", "alg_not_allowed"},
        {"{\"alg\":\"NONE\"}", "alg_not_allowed"},
        {"{\"alg\":\"ES256\",\"kid\":\"k1\",\"jku\":\"https://evil/jwks\"}", "forbidden_header"},
        {"{\"alg\":\"ES256\",\"kid\":\"k1\",\"x5u\":\"https://evil/x\"}", "forbidden_header"},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}", "forbidden_header"},
        {"{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", "forbidden_header"},
        {"{\"alg\":\"ES256\",\"kid\":\"nope\"}", "unknown_kid"},
        {"{\"alg\":\"ES256\",\"alg\":\"none\"}", "malformed"},
        {"{\"alg\":\"HS256\",\"kid\":\"k1\"}", "alg_not_allowed"},
        {"[\"ES256\"]", "malformed"},
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        gh_jws_status st = verify(fg_mint(k.pkey, headers[i][0], payload), &k.set, GH_ALG_ES256 | GH_ALG_RS256);
        if (strcmp(gh_jws_status_slug(st), headers[i][1]) != 0)
            fail_msg("%s: want %s got %s", headers[i][0], headers[i][1], gh_jws_status_slug(st));
    }
    /* HS256 "signed" with the public key's JWK text: refused, public keys never act as secrets. */
    assert_int_equal(verify(fg_mint(k.pkey, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload), &k.set, 0xffff),
                     GH_JWS_KEY_MISMATCH);
    /* Tampering with any segment. */
    char bad[8192];
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    strcpy(bad, good);
    bad[1] ^= 1;
    assert_int_not_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_OK);
    strcpy(bad, good);
    bad[dot1 - good + 2] ^= 1;
    assert_int_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_SIGNATURE);
    strcpy(bad, good);
    bad[dot2 - good + 5] = bad[dot2 - good + 5] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_SIGNATURE);
    /* Zero signature (r = s = 0), shapes and encodings. */
    snprintf(bad, sizeof(bad), "%.*s.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", (int)(dot2 - good), good);
    assert_int_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_SIGNATURE);
    assert_int_equal(verify("a.b.c.d.e", &k.set, GH_ALG_ES256), GH_JWS_NOT_COMPACT_JWS);
    assert_int_equal(verify("..", &k.set, GH_ALG_ES256), GH_JWS_MALFORMED);
    assert_int_equal(verify("abc", &k.set, GH_ALG_ES256), GH_JWS_MALFORMED);
    snprintf(bad, sizeof(bad), "%s=", good);
    assert_int_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_MALFORMED);
    strcpy(bad, good);
    bad[3] = '+';
    assert_int_equal(verify(bad, &k.set, GH_ALG_ES256), GH_JWS_MALFORMED);
    assert_int_equal(gh_jws_verify(good, strlen(good), 100, &k.set, GH_ALG_ES256, scratch, &out), GH_JWS_TOO_LARGE);
    es_key_free(&k);
    es_key_free(&other);
}

/* The token with its ECDSA s replaced by n - s: the other spelling of the same signature. */
static char *twin(const char *token)
{
    static char out[4096];
    const char *dot = strrchr(token, '.');
    unsigned char raw[64];
    assert_int_equal(gh_b64url_decode(dot + 1, strlen(dot + 1), raw), 64);
    BIGNUM *n = BN_new(), *sv = BN_bin2bn(raw + 32, 32, NULL);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_sub(n, EC_GROUP_get0_order(g), sv);
    BN_bn2binpad(n, raw + 32, 32);
    BN_free(n);
    BN_free(sv);
    EC_GROUP_free(g);
    size_t head = (size_t)(dot - token) + 1;
    memcpy(out, token, head);
    out[head + gh_b64url_encode(raw, 64, out + head)] = '\0';
    return out;
}

/* Both spellings of an ECDSA token verify (issuers sign without normalising s), and both are
 * one entry for the verified-token cache: one digest, whichever s was sent. The low-s rewrite
 * agrees with OpenSSL's group orders on all three curves. */
static void ecdsa_spellings_share_a_digest(void **state)
{
    (void)state;
    es_key k;
    es_key_make(&k, "k1");
    char *a = strdup(fg_mint(k.pkey, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", "{\"sub\":\"u\"}"));
    char *b = strdup(twin(a));
    assert_string_not_equal(a, b);
    assert_int_equal(verify(a, &k.set, GH_ALG_ES256), GH_JWS_OK);
    assert_int_equal(verify(b, &k.set, GH_ALG_ES256), GH_JWS_OK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char da[32], db[32], dc[32];
    gh_token_digest(ctx, EVP_sha256(), a, strlen(a), da);
    gh_token_digest(ctx, EVP_sha256(), b, strlen(b), db);
    assert_memory_equal(da, db, 32);
    char *c = fg_mint(k.pkey, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", "{\"sub\":\"v\"}");
    gh_token_digest(ctx, EVP_sha256(), c, strlen(c), dc);
    assert_memory_not_equal(da, dc, 32);
    const char *hs = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlLW9mLTMyLWJ5dGVzLWV4YWN0bHkhIQ";
    gh_token_digest(ctx, EVP_sha256(), hs, strlen(hs), da); /* not an ECDSA length: as written */
    gh_token_hash(ctx, EVP_sha256(), hs, strlen(hs), db);
    assert_memory_equal(da, db, 32);
    static const int nids[] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};
    for (int i = 0; i < 3; i++) {
        EC_GROUP *g = EC_GROUP_new_by_curve_name(nids[i]);
        int half = (EC_GROUP_order_bits(g) + 7) / 8;
        for (int round = 0; round < 200; round++) {
            BIGNUM *sv = BN_new(), *other = BN_new();
            BN_rand_range(sv, EC_GROUP_get0_order(g));
            BN_sub(other, EC_GROUP_get0_order(g), sv);
            const BIGNUM *low = BN_cmp(sv, other) <= 0 ? sv : other;
            unsigned char sig[132] = {0}, want[66];
            BN_bn2binpad(sv, sig + half, half);
            BN_bn2binpad(low, want, half);
            assert_true(gh_jws_ecdsa_low_s(sig, (size_t)(2 * half)));
            assert_memory_equal(sig + half, want, (size_t)half);
            BN_free(sv);
            BN_free(other);
        }
        EC_GROUP_free(g);
    }
    EVP_MD_CTX_free(ctx);
    free(a);
    free(b);
    es_key_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jwk_sets),  cmocka_unit_test(ecdsa_p256), cmocka_unit_test(ecdsa_p384),
        cmocka_unit_test(ecdsa_p521), cmocka_unit_test(rsa_pkcs1), cmocka_unit_test(rsa_pss),
        cmocka_unit_test(ed25519),   cmocka_unit_test(abuse),
        cmocka_unit_test(ecdsa_spellings_share_a_digest), cmocka_unit_test(hmac_sha256),
        cmocka_unit_test(hmac_sha256_webhooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
