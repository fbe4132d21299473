/* The keys and secrets the self-test gives the gateway (probe/selftest_parts.h): a signing key
 * per JWT provider (its public half served by the probe's identity provider, or for HS* the
 * secret itself, by reference), two API keys per API-key provider (the gateway gets their
 * SHA-256 only), an HMAC secret per webhook provider, the introspection client's secret and the
 * admin token. Each secret the configuration reads goes in a file of the temporary directory,
 * named by a ${file:} reference. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/selftest_parts.h"

#define SECRET_BYTES 32

const char *gh_probe_write_file(gh_probe *p, const char *dir, const char *name, const void *data,
                                size_t len)
{
    const char *path = gh_arena_printf(&p->arena, "%s/%s", dir, name);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        return NULL;
    const char *at = data;
    while (len > 0) {
        ssize_t w = write(fd, at, len);
        if (w <= 0) {
            close(fd);
            return NULL;
        }
        at += w;
        len -= (size_t)w;
    }
    return close(fd) == 0 ? path : NULL;
}

/* A random secret as text: 2 * SECRET_BYTES hex digits (a ${file:} reference strips line ends,
 * so raw bytes ending in one would lose it). In the arena. */
static char *random_text(gh_probe *p)
{
    unsigned char raw[SECRET_BYTES];
    char *out = gh_arena_alloc(&p->arena, 2 * SECRET_BYTES + 1);
    if (!out || RAND_bytes(raw, sizeof(raw)) != 1)
        return NULL;
    gh_hex_encode(raw, sizeof(raw), out);
    out[2 * SECRET_BYTES] = '\0';
    return out;
}

static unsigned first_alg(unsigned algs)
{
    for (unsigned bit = 1; bit && bit <= GH_ALG_HS512; bit <<= 1)
        if (algs & bit)
            return bit;
    return 0;
}

static int jwt_keys(gh_probe *p, gh_probe_stage *st, char *err, size_t cap)
{
    const gh_config *c = p->conf;
    p->keys = gh_arena_zalloc(&p->arena, (c->njwt_providers + 1) * sizeof(*p->keys));
    st->jwt_secret_files = gh_arena_zalloc(&p->arena, (c->njwt_providers + 1) * sizeof(char *));
    if (!p->keys || !st->jwt_secret_files)
        return snprintf(err, cap, "out of memory"), -1;
    for (size_t i = 0; i < c->njwt_providers; i++) {
        const gh_jwt_provider *prov = &c->jwt_providers[i];
        gh_probe_key *k = &p->keys[p->nkeys];
        k->provider = prov;
        k->alg = first_alg(prov->algorithms);
        if (k->alg & GH_ALG_HMAC) {
            /* No kid: the gateway's key from secret: has none, and a token naming one it does
             * not hold is refused (unknown kid) before its signature is looked at. */
            /* The secret's bytes are its text: what the gateway reads from the file. */
            char *text = random_text(p);
            k->secret_len = text ? strlen(text) : 0;
            memcpy(k->secret, text ? text : "", k->secret_len);
            char name[300];
            snprintf(name, sizeof(name), "jwt-%zu.secret", i);
            if (!text || !(st->jwt_secret_files[i] =
                               gh_probe_write_file(p, st->dir, name, text, k->secret_len)))
                return snprintf(err, cap, "cannot write the secret of JWT provider %s", prov->name), -1;
        } else {
            snprintf(k->kid, sizeof(k->kid), "probe-%s", prov->name);
            if (!(k->key = gh_jws_keygen(k->alg)))
                return snprintf(err, cap, "cannot make a %s key for JWT provider %s",
                                gh_alg_name(k->alg), prov->name), -1;
        }
        p->nkeys++;
    }
    return 0;
}

static int api_keys(gh_probe *p, gh_probe_stage *st, char *err, size_t cap)
{
    const gh_config *c = p->conf;
    static const char *const clients[2] = {"probe-a", "probe-b"};
    size_t n = c->napi_key_providers;
    p->api_keys = gh_arena_zalloc(&p->arena, (n + 1) * sizeof(*p->api_keys));
    st->api_keys_files = gh_arena_zalloc(&p->arena, (n + 1) * sizeof(char *));
    if (!p->api_keys || !st->api_keys_files)
        return snprintf(err, cap, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        char lines[2 * (7 + 64 + 1 + 16)] = "";
        for (int k = 0; k < 2; k++) {
            char *key = random_text(p);
            unsigned char md[SHA256_DIGEST_LENGTH];
            char hex[2 * SHA256_DIGEST_LENGTH + 1];
            if (!key)
                return snprintf(err, cap, "out of memory"), -1;
            SHA256((const unsigned char *)key, strlen(key), md);
            gh_hex_encode(md, sizeof(md), hex);
            hex[sizeof(hex) - 1] = '\0';
            size_t at = strlen(lines);
            snprintf(lines + at, sizeof(lines) - at, "sha256:%s %s\n", hex, clients[k]);
            p->api_keys[i].key[k] = key;
        }
        char name[64];
        snprintf(name, sizeof(name), "api-keys-%zu", i);
        if (!(st->api_keys_files[i] = gh_probe_write_file(p, st->dir, name, lines, strlen(lines))))
            return snprintf(err, cap, "cannot write the keys of API-key provider %s",
                            c->api_key_providers[i].name), -1;
    }
    return 0;
}

/* A new secret written to dir/name: the secret in the arena, its file into *file. */
static const char *secret_file(gh_probe *p, gh_probe_stage *st, const char *name, const char **file)
{
    char *text = random_text(p);
    *file = text ? gh_probe_write_file(p, st->dir, name, text, strlen(text)) : NULL;
    return *file ? text : NULL;
}

int gh_probe_keys_make(gh_probe *p, gh_probe_stage *st, char *err, size_t cap)
{
    if (jwt_keys(p, st, err, cap) != 0 || api_keys(p, st, err, cap) != 0)
        return -1;
    size_t n = p->conf->nhmac_providers;
    p->hmac_secrets = gh_arena_zalloc(&p->arena, (n + 1) * sizeof(char *));
    st->hmac_secret_files = gh_arena_zalloc(&p->arena, (n + 1) * sizeof(char *));
    if (!p->hmac_secrets || !st->hmac_secret_files)
        return snprintf(err, cap, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "hmac-%zu.secret", i);
        if (!(p->hmac_secrets[i] = secret_file(p, st, name, &st->hmac_secret_files[i])))
            return snprintf(err, cap, "cannot write an HMAC secret"), -1;
    }
    if (!secret_file(p, st, "introspection.secret", &st->introspection_secret_file) ||
        !(p->admin_token = secret_file(p, st, "admin.token", &st->admin_token_file)))
        return snprintf(err, cap, "cannot write the probe's secrets in %s", st->dir), -1;
    return 0;
}

void gh_probe_keys_free(gh_probe *p)
{
    for (size_t i = 0; p->keys && i < p->nkeys; i++) {
        EVP_PKEY_free(p->keys[i].key);
        p->keys[i].key = NULL;
        OPENSSL_cleanse(p->keys[i].secret, sizeof(p->keys[i].secret));
    }
    p->nkeys = 0;
}
