#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "identity/hmac.h"

bool gh_hmac_sha256(const void *key, size_t klen, const void *a, size_t alen, const void *b,
                    size_t blen, unsigned char out[32])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t outlen = 0;
    bool ok = ctx && EVP_MAC_init(ctx, key, klen, params) == 1 && EVP_MAC_update(ctx, a, alen) == 1 &&
              EVP_MAC_update(ctx, b, blen) == 1 && EVP_MAC_final(ctx, out, &outlen, 32) == 1 &&
              outlen == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok;
}
