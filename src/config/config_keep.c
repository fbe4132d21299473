/* The releases the arena runs for what a snapshot holds (config/keep.h). */
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-t.h"
#include "config/keep.h"
#include "identity/keyset.h"
#include "identity/token_cache.h"
#include "schema/schema.h"
#include "tls/tls_server.h"

typedef struct kept_secret {
    char *value;
    size_t len;
} kept_secret;

static void wipe_secret(void *arg)
{
    kept_secret *s = arg;
    OPENSSL_cleanse(s->value, s->len);
    free(s->value);
}

bool gh__cfg_keep_secret(gh_walk *w, char *secret, size_t len)
{
    kept_secret *s = gh_arena_alloc(w->arena, sizeof(*s));
    if (!s) {
        OPENSSL_cleanse(secret, len);
        free(secret);
        return false;
    }
    *s = (kept_secret){secret, len};
    return gh_arena_defer(w->arena, wipe_secret, s) == 0;
}

static void wipe_string(void *s)
{
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

bool gh__cfg_keep_string(gh_walk *w, char *secret)
{
    return gh_arena_defer(w->arena, wipe_string, secret) == 0;
}

static void free_ssl_ctx(void *ctx)
{
    SSL_CTX_free(ctx);
}

bool gh__cfg_keep_ssl_ctx(gh_walk *w, SSL_CTX *ctx)
{
    return gh_arena_defer(w->arena, free_ssl_ctx, ctx) == 0;
}

static void delete_cache(void *cache)
{
    gh_token_cache_delete(cache);
}

bool gh__cfg_keep_cache(gh_walk *w, struct gh_token_cache *cache)
{
    return gh_arena_defer(w->arena, delete_cache, cache) == 0;
}

static void free_schema(void *schema)
{
    gh_schema_free(schema);
}

bool gh__cfg_keep_schema(gh_walk *w, struct gh_schema *schema)
{
    return gh_arena_defer(w->arena, free_schema, schema) == 0;
}

static void unref_tls_server(void *tls)
{
    gh_tls_server_unref(tls);
}

bool gh__cfg_keep_tls_server(gh_walk *w, struct gh_tls_server *tls)
{
    return gh_arena_defer(w->arena, unref_tls_server, tls) == 0;
}

static void put_key_source(void *source)
{
    gh_key_source_put(source);
}

bool gh__cfg_keep_key_source(gh_walk *w, struct gh_key_source *source)
{
    return gh_arena_defer(w->arena, put_key_source, source) == 0;
}

static void put_limit_table(void *arg)
{
    gh_rate_limit_conf *l = arg;
    gh_limit_table_put(l->registry, l->table);
}

bool gh__cfg_keep_limit_table(gh_walk *w, struct gh_rate_limit_conf *limit)
{
    return gh_arena_defer(w->arena, put_limit_table, limit) == 0;
}

static void free_jwks(void *keys)
{
    gh_jwks_free(keys);
}

bool gh__cfg_keep_jwks(gh_walk *w, struct gh_jwks *keys)
{
    return gh_arena_defer(w->arena, free_jwks, keys) == 0;
}
