/* identity: section. identity.jwt.<name> providers with their key sets, loaded and checked at
 * load time so that a running gateway never meets a key it has not vetted. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "identity/token_cache.h"

#define GH_JWKS_MAX_BYTES (1u << 20)

/* A list of strings into a NULL-free array in the arena. */
static const char **string_list(gh_walk *w, yaml_node_t *n, size_t *count)
{
    size_t c;
    yaml_node_item_t *items = gh__walk_items(w, n, &c);
    const char **out = gh_arena_zalloc(w->arena, (c ? c : 1) * sizeof(char *));
    *count = 0;
    for (size_t i = 0; items && out && i < c; i++) {
        size_t saved = gh__walk_push_index(w, i);
        if (gh__walk_str(w, gh__walk_node(w, items[i]), &out[*count]))
            (*count)++;
        gh__walk_pop(w, saved);
    }
    return out;
}

static void load_algorithms(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p)
{
    size_t count;
    const char **names = string_list(w, n, &count);
    p->algorithms = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned alg = gh_alg_from_name(names[i], strlen(names[i]));
        if (!alg)
            gh__walk_error(w, n, "'%s' is not an algorithm: use RS256/384/512, PS256/384/512, "
                                 "ES256/384/512, EdDSA or HS256/384/512 ('none' never)", names[i]);
        p->algorithms |= alg;
    }
    if (count == 0)
        gh__walk_error(w, n, "at least one algorithm");
}

/* Keys: jwks_file or inline jwks (public keys), and/or secret for HMAC. */
static void load_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p)
{
    yaml_node_t *file = gh__walk_get(w, map, "jwks_file"), *inline_set = gh__walk_get(w, map, "jwks");
    yaml_node_t *secret = gh__walk_get(w, map, "secret");
    const char *err = NULL;
    if (file && inline_set)
        gh__walk_error(w, map, "jwks_file and jwks both given: choose one");
    if (file || inline_set) {
        size_t saved = gh__walk_push_key(w, file ? "jwks_file" : "jwks");
        char *text = NULL;
        size_t len = 0;
        const char *path;
        if (file && gh__walk_str(w, file, &path))
            text = gh__walk_file(w, file, path, GH_JWKS_MAX_BYTES, &len);
        else if (inline_set && gh__walk_str(w, inline_set, &path))
            len = strlen(text = strdup(path));
        if (text && gh_jwks_parse(text, len, &p->keys, &err) != 0)
            gh__walk_error(w, file ? file : inline_set, "not a JWK set: %s", err);
        else if (text && err)
            gh__walk_warn(w, file ? file : inline_set, "a key was left out: %s", err);
        else if (text && p->keys.has_secret)
            gh__walk_error(w, file ? file : inline_set,
                           "HMAC keys belong in secret:, a reference, not in a key set");
        free(text);
        gh__walk_pop(w, saved);
    }
    if (secret) {
        size_t saved = gh__walk_push_key(w, "secret"), len = 0;
        char *value = gh__walk_secret(w, secret, &len);
        if (value && gh_jwks_add_secret(&p->keys, (unsigned char *)value, len) != 0)
            gh__walk_error(w, secret, "an HMAC secret must be at least 32 bytes");
        if (value)
            OPENSSL_cleanse(value, len);
        free(value);
        gh__walk_pop(w, saved);
    }
    if (!file && !inline_set && !secret)
        gh__walk_error(w, map, "keys required: jwks_file, jwks or secret");
    if ((p->algorithms & GH_ALG_HMAC) && !secret)
        gh__walk_error(w, map, "HS256/384/512 need secret: ${env:NAME} or ${file:/path}");
    if ((p->algorithms & GH_ALG_ASYMMETRIC) && secret)
        gh__walk_error(w, map, "one provider holds either an HMAC secret or public keys, not both");
}

static void load_token_source(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p)
{
    static const char *const keys[] = {"header", "cookie", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *h = gh__walk_get(w, n, "header"), *c = gh__walk_get(w, n, "cookie");
    if (!!h == !!c) {
        gh__walk_error(w, n, "exactly one of header and cookie (tokens never come from the query)");
        return;
    }
    size_t saved = gh__walk_push_key(w, h ? "header" : "cookie");
    if (h && gh__walk_str(w, h, &p->token_header))
        p->token_cookie = NULL;
    else if (c && gh__walk_str(w, c, &p->token_cookie))
        p->token_header = NULL;
    gh__walk_pop(w, saved);
}

static void load_provider(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p)
{
    static const char *const keys[] = {"issuer",     "audiences",       "algorithms",
                                       "jwks_file",  "jwks",            "secret",
                                       "clock_skew", "max_lifetime",    "required_claims",
                                       "token",      "max_token_bytes", "realm",
                                       "cache_entries", NULL};
    p->clock_skew_s = 30;
    p->max_token_bytes = 8192;
    p->cache_entries = 100000;
    p->token_header = "Authorization";
    p->realm = p->name;
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
#define GH_REQUIRED(key, call)                                                                     \
    saved = gh__walk_push_key(w, key);                                                             \
    if ((v = gh__walk_get(w, n, key)))                                                             \
        call;                                                                                      \
    else                                                                                           \
        gh__walk_error(w, n, "required");                                                          \
    gh__walk_pop(w, saved);
#define GH_OPTIONAL(key, call)                                                                     \
    if ((v = gh__walk_get(w, n, key))) {                                                           \
        saved = gh__walk_push_key(w, key);                                                         \
        call;                                                                                      \
        gh__walk_pop(w, saved);                                                                    \
    }
    GH_REQUIRED("issuer", gh__walk_str(w, v, &p->issuer))
    GH_REQUIRED("audiences", p->audiences = string_list(w, v, &p->naudiences))
    GH_REQUIRED("algorithms", load_algorithms(w, v, p))
    GH_OPTIONAL("clock_skew",
                if (gh__walk_duration_ms(w, v, 0, 600000, &x)) p->clock_skew_s = x / 1000)
    GH_OPTIONAL("max_lifetime",
                if (gh__walk_duration_ms(w, v, 1000, 31 * 86400000ull, &x)) p->max_lifetime_s = x / 1000)
    GH_OPTIONAL("required_claims", p->required_claims = string_list(w, v, &p->nrequired_claims))
    GH_OPTIONAL("token", load_token_source(w, v, p))
    GH_OPTIONAL("max_token_bytes",
                if (gh__walk_size(w, v, 256, 65536, &x)) p->max_token_bytes = (size_t)x)
    GH_OPTIONAL("realm", gh__walk_str(w, v, &p->realm))
    GH_OPTIONAL("cache_entries",
                if (gh__walk_uint(w, v, 0, 10000000, &x)) p->cache_entries = (size_t)x)
#undef GH_REQUIRED
#undef GH_OPTIONAL
    if (p->audiences && p->naudiences == 0)
        gh__walk_error(w, n, "audiences: at least one: a token minted for another API must not pass");
    for (const char *c = p->realm; c && *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
            gh__walk_error(w, n, "realm: no quotes, backslashes or control characters");
            break;
        }
    load_keys(w, n, p);
    p->cache = calloc(1, sizeof(*p->cache));
    if (!p->cache || gh_token_cache_init(p->cache, p->cache_entries) != 0)
        gh__walk_error(w, n, "out of memory for the token cache");
}

void gh__cfg_load_identity(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    static const char *const keys[] = {"jwt", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *jwt = gh__walk_get(w, n, "jwt");
    if (!jwt)
        return;
    size_t saved = gh__walk_push_key(w, "jwt");
    if (jwt->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, jwt, "expected a mapping of provider names");
    } else {
        size_t count = (size_t)(jwt->data.mapping.pairs.top - jwt->data.mapping.pairs.start);
        c->jwt_providers = gh_arena_zalloc(&c->arena, (count ? count : 1) * sizeof(gh_jwt_provider));
        for (yaml_node_pair_t *p = jwt->data.mapping.pairs.start; p < jwt->data.mapping.pairs.top; p++) {
            gh_jwt_provider *prov = &c->jwt_providers[c->njwt_providers];
            yaml_node_t *kn = gh__walk_node(w, p->key);
            if (!gh__walk_str(w, kn, &prov->name))
                continue;
            if (!gh__cfg_name_ok(prov->name))
                gh__walk_error(w, kn, "provider names use letters, digits, '-', '_' and '.'");
            c->njwt_providers++; /* counted before loading: its keys are freed with the snapshot */
            size_t inner = gh__walk_push_key(w, prov->name);
            load_provider(w, gh__walk_node(w, p->value), prov);
            gh__walk_pop(w, inner);
        }
    }
    gh__walk_pop(w, saved);
}
