/* identity: section. identity.jwt.<name> providers with their key sets: keys in the
 * configuration are loaded and checked at load time; keys at a URL get a source that the
 * control thread fetches (identity/jwks_fetch.c) and vets the same way. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "identity/remote_url.h"
#include "identity/token_cache.h"

#define GH_JWKS_MAX_BYTES (1u << 20)

/* A list of strings into a NULL-free array in the arena. */
const char **gh__cfg_string_list(gh_walk *w, yaml_node_t *n, size_t *count)
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
    const char **names = gh__cfg_string_list(w, n, &count);
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

/* Remote keys: jwks_uri, or discovery: true ({issuer}/.well-known/openid-configuration), with
 * how they are fetched and kept. */
static bool is_remote(gh_walk *w, yaml_node_t *map)
{
    static const char *const choices[] = {"false", "true", NULL};
    yaml_node_t *d = gh__walk_get(w, map, "discovery");
    size_t saved = gh__walk_push_key(w, "discovery");
    bool discovery = d && gh__walk_enum(w, d, choices) == 1;
    gh__walk_pop(w, saved);
    return discovery || gh__walk_get(w, map, "jwks_uri");
}

static void load_remote_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p, gh_key_registry *reg)
{
    yaml_node_t *uri = gh__walk_get(w, map, "jwks_uri"), *v;
    size_t saved;
    if (uri && gh__walk_get(w, map, "discovery")) {
        gh__walk_error(w, map, "jwks_uri and discovery both given: choose one");
        return;
    }
    if (uri) {
        saved = gh__walk_push_key(w, "jwks_uri");
        if (gh__walk_str(w, uri, &p->jwks_uri) && !gh_remote_url_allowed(p->jwks_uri))
            gh__walk_error(w, uri, "keys are fetched over https (plain http only from a loopback "
                                   "address)");
        gh__walk_pop(w, saved);
    } else if (p->issuer) {
        if (!gh_remote_url_allowed(p->issuer))
            gh__walk_error(w, map, "discovery needs an https issuer (plain http only on a "
                                   "loopback address)");
        size_t il = strlen(p->issuer);
        while (il && p->issuer[il - 1] == '/')
            il--;
        char *url = gh_arena_alloc(w->arena, il + 40);
        if (url) {
            memcpy(url, p->issuer, il);
            strcpy(url + il, "/.well-known/openid-configuration");
        }
        p->discovery_url = url;
    }
    if ((v = gh__walk_get(w, map, "ca_file"))) {
        saved = gh__walk_push_key(w, "ca_file");
        p->ca_file = gh__walk_readable_path(w, v, 4u << 20);
        gh__walk_pop(w, saved);
    }
    uint64_t x;
#define GH_DURATION(key, lo, hi, field)                                                            \
    if ((v = gh__walk_get(w, map, key))) {                                                         \
        saved = gh__walk_push_key(w, key);                                                         \
        if (gh__walk_duration_ms(w, v, lo, hi, &x))                                                \
            p->field = x;                                                                          \
        gh__walk_pop(w, saved);                                                                    \
    }
    GH_DURATION("refresh_interval", 1000, 86400000ull, refresh_ms)
    GH_DURATION("min_refresh_interval", 1000, 3600000ull, min_refresh_ms)
    GH_DURATION("max_stale", 1000, 30 * 86400000ull, max_stale_ms)
    GH_DURATION("fetch_timeout", 100, 60000, fetch_timeout_ms)
#undef GH_DURATION
    if (p->min_refresh_ms > p->refresh_ms)
        gh__walk_error(w, map, "min_refresh_interval is longer than refresh_interval");
    if (p->algorithms & GH_ALG_HMAC)
        gh__walk_error(w, map, "HS256/384/512 need secret:, never keys fetched from a URL");
    if (!reg || w->diag->errors)
        return;
    gh_key_source_def def = {p->name,           p->issuer,        p->jwks_uri,
                             p->discovery_url,  p->ca_file,       p->refresh_ms,
                             p->min_refresh_ms, p->max_stale_ms,  p->fetch_timeout_ms};
    if (!(p->source = gh_key_registry_get(reg, &def)))
        gh__walk_error(w, map, "out of memory for the key source");
}

/* Keys in the configuration: jwks_file or inline jwks (public keys), or secret for HMAC. */
static void load_local_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p)
{
    static const char *const remote_only[] = {"ca_file", "refresh_interval", "min_refresh_interval",
                                              "max_stale", "fetch_timeout", NULL};
    for (size_t i = 0; remote_only[i]; i++)
        if (gh__walk_get(w, map, remote_only[i]))
            gh__walk_error(w, map, "%s applies to keys fetched with jwks_uri or discovery",
                           remote_only[i]);
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
        gh__walk_error(w, map, "keys required: jwks_uri, discovery: true, jwks_file, jwks or secret");
    if ((p->algorithms & GH_ALG_HMAC) && !secret)
        gh__walk_error(w, map, "HS256/384/512 need secret: ${env:NAME} or ${file:/path}");
    if ((p->algorithms & GH_ALG_ASYMMETRIC) && secret)
        gh__walk_error(w, map, "one provider holds either an HMAC secret or public keys, not both");
}

static void load_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p, gh_key_registry *reg)
{
    p->refresh_ms = 600000;
    p->min_refresh_ms = 30000;
    p->max_stale_ms = 86400000;
    p->fetch_timeout_ms = 5000;
    if (!is_remote(w, map)) {
        load_local_keys(w, map, p);
        return;
    }
    static const char *const local[] = {"jwks_file", "jwks", "secret", NULL};
    for (size_t i = 0; local[i]; i++)
        if (gh__walk_get(w, map, local[i]))
            gh__walk_error(w, map, "%s and remote keys (jwks_uri or discovery) both given: choose one",
                           local[i]);
    load_remote_keys(w, map, p, reg);
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

/* What JWT and introspection providers share: who issued the token and for whom, how its
 * times are judged, where it is read and how verified tokens are cached. kind_keys: the keys
 * only this kind of provider has. Returns false when the mapping holds an unknown key. */
bool gh__cfg_load_token_rules(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p,
                              const char *const *kind_keys, bool issuer_required)
{
    static const char *const common[] = {"issuer",          "audiences", "clock_skew",
                                         "required_claims", "token",     "max_token_bytes",
                                         "realm",           "cache_entries",
                                         "scope_claim"};
    const char *keys[64];
    size_t nk = 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        keys[nk++] = common[i];
    for (size_t i = 0; kind_keys[i] && nk < 63; i++)
        keys[nk++] = kind_keys[i];
    keys[nk] = NULL;
    p->clock_skew_s = 30;
    p->max_token_bytes = 8192;
    p->cache_entries = 100000;
    p->token_header = "Authorization";
    p->realm = p->name;
    p->scope_claim = "scope";
    if (!gh__walk_keys(w, n, keys))
        return false;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
#define GH_OPTIONAL(key, call)                                                                     \
    if ((v = gh__walk_get(w, n, key))) {                                                           \
        saved = gh__walk_push_key(w, key);                                                         \
        call;                                                                                      \
        gh__walk_pop(w, saved);                                                                    \
    }
    GH_OPTIONAL("issuer", gh__walk_str(w, v, &p->issuer))
    GH_OPTIONAL("audiences", p->audiences = gh__cfg_string_list(w, v, &p->naudiences))
    static const char *const required[] = {"issuer", "audiences"};
    for (size_t i = issuer_required ? 0 : 1; i < 2; i++) {
        if (gh__walk_get(w, n, required[i]))
            continue;
        saved = gh__walk_push_key(w, required[i]);
        gh__walk_error(w, n, "required");
        gh__walk_pop(w, saved);
    }
    GH_OPTIONAL("clock_skew",
                if (gh__walk_duration_ms(w, v, 0, 600000, &x)) p->clock_skew_s = x / 1000)
    GH_OPTIONAL("required_claims", p->required_claims = gh__cfg_string_list(w, v, &p->nrequired_claims))
    GH_OPTIONAL("token", load_token_source(w, v, p))
    GH_OPTIONAL("max_token_bytes",
                if (gh__walk_size(w, v, 256, 65536, &x)) p->max_token_bytes = (size_t)x)
    GH_OPTIONAL("realm", gh__walk_str(w, v, &p->realm))
    GH_OPTIONAL("scope_claim", gh__walk_str(w, v, &p->scope_claim))
    GH_OPTIONAL("cache_entries",
                if (gh__walk_uint(w, v, 0, 10000000, &x)) p->cache_entries = (size_t)x)
#undef GH_OPTIONAL
    if (p->audiences && p->naudiences == 0)
        gh__walk_error(w, n, "audiences: at least one: a token minted for another API must not pass");
    for (const char *c = p->realm; c && *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
            gh__walk_error(w, n, "realm: no quotes, backslashes or control characters");
            break;
        }
    if (!(p->cache = gh_token_cache_new(p->cache_entries)))
        gh__walk_error(w, n, "out of memory for the token cache");
    return true;
}

static void load_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    static const char *const keys[] = {"algorithms", "max_lifetime", "jwks_file", "jwks",
                                       "secret", "jwks_uri", "discovery", "ca_file",
                                       "refresh_interval", "min_refresh_interval", "max_stale",
                                       "fetch_timeout", NULL};
    gh_jwt_provider *p = prov;
    if (!gh__cfg_load_token_rules(w, n, p, keys, true))
        return;
    yaml_node_t *v;
    size_t saved = gh__walk_push_key(w, "algorithms");
    if ((v = gh__walk_get(w, n, "algorithms")))
        load_algorithms(w, v, p);
    else
        gh__walk_error(w, n, "required");
    gh__walk_pop(w, saved);
    uint64_t x;
    if ((v = gh__walk_get(w, n, "max_lifetime"))) {
        saved = gh__walk_push_key(w, "max_lifetime");
        if (gh__walk_duration_ms(w, v, 1000, 31 * 86400000ull, &x))
            p->max_lifetime_s = x / 1000;
        gh__walk_pop(w, saved);
    }
    load_keys(w, n, p, ctx);
}

void gh__cfg_each_provider(gh_walk *w, yaml_node_t *n, gh_config *c, void **array, size_t elem,
                           size_t *count, void (*load)(gh_walk *, yaml_node_t *, void *, void *),
                           void *ctx)
{
    if (n->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, n, "expected a mapping of provider names");
        return;
    }
    size_t total = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    char *items = gh_arena_zalloc(&c->arena, (total ? total : 1) * elem);
    *array = items;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; items && p < n->data.mapping.pairs.top; p++) {
        void *prov = items + *count * elem;
        const char **name = prov; /* every provider struct starts with its name */
        yaml_node_t *kn = gh__walk_node(w, p->key);
        if (!gh__walk_str(w, kn, name))
            continue;
        if (!gh__cfg_name_ok(*name))
            gh__walk_error(w, kn, "provider names use letters, digits, '-', '_' and '.'");
        (*count)++; /* counted before loading: what it holds is freed with the snapshot */
        size_t inner = gh__walk_push_key(w, *name);
        load(w, gh__walk_node(w, p->value), prov, ctx);
        gh__walk_pop(w, inner);
    }
}

void gh__cfg_load_identity(gh_walk *w, yaml_node_t *n, gh_config *c, gh_key_registry *reg)
{
    static const char *const keys[] = {"jwt", "introspection", "api_keys", "hmac", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    if ((v = gh__walk_get(w, n, "jwt"))) {
        saved = gh__walk_push_key(w, "jwt");
        gh__cfg_each_provider(w, v, c, (void **)&c->jwt_providers, sizeof(gh_jwt_provider),
                              &c->njwt_providers, load_provider, reg);
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "introspection"))) {
        saved = gh__walk_push_key(w, "introspection");
        gh__cfg_each_provider(w, v, c, (void **)&c->introspection_providers,
                              sizeof(gh_jwt_provider), &c->nintrospection_providers,
                              gh__cfg_load_introspection, NULL);
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "api_keys"))) {
        saved = gh__walk_push_key(w, "api_keys");
        gh__cfg_each_provider(w, v, c, (void **)&c->api_key_providers, sizeof(gh_api_key_provider),
                              &c->napi_key_providers, gh__cfg_load_api_key_provider, NULL);
        gh__walk_pop(w, saved);
    }
    if ((v = gh__walk_get(w, n, "hmac"))) {
        saved = gh__walk_push_key(w, "hmac");
        gh__cfg_each_provider(w, v, c, (void **)&c->hmac_providers, sizeof(gh_hmac_provider),
                              &c->nhmac_providers, gh__cfg_load_hmac_provider, NULL);
        gh__walk_pop(w, saved);
    }
}
