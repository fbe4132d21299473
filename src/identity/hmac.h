/* HMAC-SHA256 over two pieces (a signed prefix and a body), as webhook signatures are made. */
#ifndef GH_IDENTITY_HMAC_H
#define GH_IDENTITY_HMAC_H

#include <stdbool.h>
#include <stddef.h>

/* out = HMAC-SHA256(key, a || b). False when OpenSSL could not compute it. */
bool gh_hmac_sha256(const void *key, size_t klen, const void *a, size_t alen, const void *b,
                    size_t blen, unsigned char out[32]);

#endif
