/* Fuzzes the token path: key set import (the input as a JWK set) and compact JWS verification
 * (the input as a token) against fixed keys of every kind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/claims.h"
#include "identity/jws.h"

static const char keys[] =
    "{\"keys\":["
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\",\"x\":\"04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY\","
    "\"y\":\"UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
static const char secret[] = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"-ebuDNsVZ2iJtoZ-akfXTSCt4UO2cruLCsbWlBinggE\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gh_jwks pub, hs;
    static int ready;
    const char *err;
    if (!ready) {
        if (gh_jwks_parse(keys, sizeof(keys) - 1, &pub, &err) != 0 || pub.n != 2 ||
            gh_jwks_parse(secret, sizeof(secret) - 1, &hs, &err) != 0 || hs.n != 1)
            abort();
        ready = 1;
    }
    gh_jwks set;
    if (gh_jwks_parse((const char *)data, size, &set, &err) == 0)
        gh_jwks_free(&set);
    unsigned char *scratch = malloc(size + 1);
    gh_jws out;
    if (gh_jws_verify((const char *)data, size, 8192, &pub, 0xffff, scratch, &out) == GH_JWS_OK ||
        gh_jws_verify((const char *)data, size, 8192, &hs, GH_ALG_HMAC, scratch, &out) == GH_JWS_OK)
        abort(); /* nobody forges a signature by fuzzing */
    free(scratch);
    /* The low-s rewrite is idempotent and never leaves a high s behind. */
    if (size == 64 || size == 96 || size == 132) {
        unsigned char once[132], twice[132];
        memcpy(once, data, size);
        gh_jws_ecdsa_low_s(once, size);
        memcpy(twice, once, size);
        gh_jws_ecdsa_low_s(twice, size);
        if (memcmp(once, twice, size) != 0)
            abort();
    }
    /* The input as a token's payload: claim checks on arbitrary JSON. */
    static const char *aud[] = {"api"}, *req[] = {"sub"};
    gh_jwt_provider p = {.name = "f", .issuer = "https://idp", .audiences = aud, .naudiences = 1,
                         .clock_skew_s = 30, .max_lifetime_s = 3600, .required_claims = req,
                         .nrequired_claims = 1};
    json_t *claims = NULL;
    if (gh_claims_check(&p, data, size, 1700000000, &claims) == GH_JWS_OK && !claims)
        abort();
    json_decref(claims);
    return 0;
}
