#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#include "tls/ticket_keys.h"

void gh_ticket_ring_init(gh_ticket_ring *r, int64_t period_s)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->period_s = period_s;
}

void gh_ticket_ring_free(gh_ticket_ring *r)
{
    OPENSSL_cleanse(r->keys, sizeof(r->keys));
    pthread_mutex_destroy(&r->mu);
}

static int fresh_key(gh_ticket_key *k, int64_t now)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
        return -1;
    k->born = now;
    return 0;
}

int gh_ticket_ring_current(gh_ticket_ring *r, int64_t now, gh_ticket_key *out)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (r->count == 0 || now - r->keys[0].born >= r->period_s) {
        gh_ticket_key next;
        if (fresh_key(&next, now) == 0) {
            if (r->count)
                r->keys[1] = r->keys[0];
            r->keys[0] = next;
            r->count = r->count ? 2 : 1;
        }
        OPENSSL_cleanse(&next, sizeof(next));
    }
    if (r->count)
        *out = r->keys[0];
    else
        rc = -1;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int gh_ticket_ring_find(gh_ticket_ring *r, int64_t now, const unsigned char name[16], gh_ticket_key *out)
{
    int found = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->count && !found; i++) {
        /* A key opens tickets while it seals and for one period after: two periods from birth. */
        if (memcmp(r->keys[i].name, name, 16) != 0 || now - r->keys[i].born >= 2 * r->period_s)
            continue;
        *out = r->keys[i];
        found = i == 0 && now - r->keys[0].born < r->period_s ? 1 : 2;
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* OpenSSL's ticket callback: seal with the current key (enc 1), or open with the key the
 * ticket names (enc 0). AES-256-CBC with HMAC-SHA256, the layout OpenSSL expects. */
static int on_ticket(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    gh_ticket_ring *r = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    int64_t now = (int64_t)time(NULL);
    gh_ticket_key k;
    int rc = 1;
    if (enc) {
        if (gh_ticket_ring_current(r, now, &k) != 0 || RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, k.name, 16);
    } else if (!(rc = gh_ticket_ring_find(r, now, key_name, &k))) {
        return 0; /* unknown or expired: a full handshake */
    } else if (SSL_version(ssl) == TLS1_3_VERSION) {
        rc = 2; /* TLS 1.3 clients use a ticket once (RFC 8446 C.4): each resumption earns a new
                 * one, or the next connection is a full handshake */
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    int ok = (enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv)
                  : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv)) == 1 &&
             EVP_MAC_CTX_set_params(hctx, params) == 1;
    OPENSSL_cleanse(&k, sizeof(k));
    return ok ? rc : -1;
}

void gh_ticket_ring_attach(gh_ticket_ring *r, SSL_CTX *ctx)
{
    SSL_CTX_set_app_data(ctx, r);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
    SSL_CTX_set_timeout(ctx, (long)(2 * r->period_s)); /* no ticket outlives its key */
}
