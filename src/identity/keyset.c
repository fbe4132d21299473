#include <openssl/sha.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity/keyset.h"

void gh_keyset_release(gh_keyset *ks)
{
    if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
        return;
    gh_jwks_free(&ks->jwks);
    free(ks);
}

static void source_free(void *e)
{
    gh_key_source *s = e;
    gh_keyset_release(s->current);
    free((char *)s->def.provider);
    free((char *)s->def.issuer);
    free((char *)s->def.jwks_uri);
    free((char *)s->def.discovery_url);
    free((char *)s->def.ca_file);
    free(s->resolved_uri);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_def(const void *e, const void *def)
{
    const gh_key_source_def *a = &((const gh_key_source *)e)->def, *b = def;
    return same_str(a->provider, b->provider) && same_str(a->issuer, b->issuer) &&
           same_str(a->jwks_uri, b->jwks_uri) && same_str(a->discovery_url, b->discovery_url) &&
           same_str(a->ca_file, b->ca_file) && a->refresh_ms == b->refresh_ms &&
           a->min_refresh_ms == b->min_refresh_ms && a->max_stale_ms == b->max_stale_ms &&
           a->timeout_ms == b->timeout_ms;
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    *ok = *ok && d;
    return d;
}

static void *source_new(const void *key, void *r)
{
    const gh_key_source_def *def = key;
    gh_key_source *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    bool ok = true;
    s->registry = r;
    s->def = *def;
    s->def.provider = dup_or_null(def->provider, &ok);
    s->def.issuer = dup_or_null(def->issuer, &ok);
    s->def.jwks_uri = dup_or_null(def->jwks_uri, &ok);
    s->def.discovery_url = dup_or_null(def->discovery_url, &ok);
    s->def.ca_file = dup_or_null(def->ca_file, &ok);
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->last_attempt_ms, -1);
    atomic_init(&s->last_success_ms, -1);
    if (!ok) {
        source_free(s);
        return NULL;
    }
    return s;
}

/* An attempt in flight holds its source until it ends. */
static bool source_busy(const void *e)
{
    return ((const gh_key_source *)e)->transfer != NULL;
}

static const gh_keep_kind source_kind = {
    .next_at = offsetof(gh_key_source, next),
    .users_at = offsetof(gh_key_source, users),
    .matches = same_def,
    .make = source_new,
    .drop = source_free,
    .busy = source_busy,
};

void gh_key_registry_init(gh_key_registry *r)
{
    memset(r, 0, sizeof(*r));
    gh_keep_init(&r->keep, &source_kind);
}

void gh_key_registry_free(gh_key_registry *r)
{
    gh_keep_free(&r->keep);
}

gh_key_source *gh_key_registry_get(gh_key_registry *r, const gh_key_source_def *def)
{
    return gh_keep_get(&r->keep, def, r);
}

void gh_key_source_put(gh_key_source *s)
{
    if (s)
        gh_keep_release(&s->registry->keep, s);
}

void gh_key_registry_prune(gh_key_registry *r)
{
    gh_keep_prune(&r->keep);
}

gh_keyset *gh_key_source_acquire(gh_key_source *s)
{
    pthread_mutex_lock(&s->mu);
    gh_keyset *ks = s->current;
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&s->mu);
    return ks;
}

bool gh_key_source_may_refetch(const gh_key_source *s, int64_t now_ms)
{
    int64_t last = atomic_load(&s->last_attempt_ms);
    return atomic_load(&s->fetching) || last < 0 ||
           now_ms - last >= (int64_t)s->def.min_refresh_ms;
}

void gh_key_source_want(gh_key_source *s)
{
    atomic_store(&s->refetch_wanted, true);
    if (s->registry->poke)
        s->registry->poke(s->registry->poke_ctx);
}

/* Swaps cur in (NULL: the source has no keys) and bumps the generation, so cached tokens
 * verified with keys that left are verified again. */
static void swap_current(gh_key_source *s, gh_keyset *cur)
{
    pthread_mutex_lock(&s->mu);
    gh_keyset *old = s->current;
    s->current = cur;
    pthread_mutex_unlock(&s->mu);
    gh_keyset_release(old);
}

int gh_key_source_publish(gh_key_source *s, const char *doc, size_t len, int64_t now_ms,
                          const char **err, bool *changed)
{
    *changed = false;
    unsigned char digest[32];
    SHA256((const unsigned char *)doc, len, digest);
    gh_keyset *cur = gh_key_source_acquire(s);
    bool same = cur && memcmp(cur->digest, digest, 32) == 0;
    gh_keyset_release(cur);
    if (!same) {
        gh_keyset *ks = calloc(1, sizeof(*ks));
        if (!ks) {
            *err = "out of memory";
            return -1;
        }
        const char *why = NULL;
        if (gh_jwks_parse(doc, len, &ks->jwks, &why) != 0 || ks->jwks.has_secret ||
            ks->jwks.n == 0) {
            *err = ks->jwks.has_secret ? "the key set publishes an HMAC secret"
                   : why               ? why
                                       : "the key set holds no usable signature key";
            gh_jwks_free(&ks->jwks);
            free(ks);
            return -1;
        }
        atomic_init(&ks->refs, 1);
        memcpy(ks->digest, digest, 32);
        ks->generation = atomic_load(&s->generation) + 1;
        atomic_store(&s->generation, ks->generation);
        swap_current(s, ks);
        *changed = true;
        *err = why; /* a key left out, when the rest is usable */
    }
    atomic_store(&s->last_success_ms, now_ms);
    atomic_fetch_add(&s->fetch_ok, 1);
    pthread_mutex_lock(&s->mu);
    s->last_error[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    return 0;
}

bool gh_key_source_failed(gh_key_source *s, const char *why, int64_t now_ms)
{
    atomic_fetch_add(&s->fetch_failed, 1);
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    bool had = s->current != NULL;
    pthread_mutex_unlock(&s->mu);
    int64_t ok_at = atomic_load(&s->last_success_ms);
    if (!had || ok_at < 0 || now_ms - ok_at < (int64_t)s->def.max_stale_ms)
        return false;
    atomic_fetch_add(&s->generation, 1);
    swap_current(s, NULL);
    return true;
}

void gh_key_source_attempt_done(gh_key_source *s)
{
    atomic_fetch_add(&s->attempts_done, 1);
    if (s->registry->notify)
        s->registry->notify(s->registry->notify_ctx);
}

void gh_key_source_last_error(gh_key_source *s, char *out, size_t len)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, len, "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
}

size_t gh_key_source_key_count(gh_key_source *s)
{
    gh_keyset *ks = gh_key_source_acquire(s);
    size_t n = ks ? ks->jwks.n : 0;
    gh_keyset_release(ks);
    return n;
}
