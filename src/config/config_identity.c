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

static void load_algorithms(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_jwt_provider *p = call->target;
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

/* How remote keys are fetched and kept. */
static const gh_keyword remote_keys[] = {
    {"ca_file", GH_KW_PATH, GH_KW_AT(gh_jwt_provider, ca_file), .max = 4u << 20},
    {"refresh_interval", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, refresh_ms), .min = 1000,
     .max = 86400000ull, .def = "10m"},
    {"min_refresh_interval", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, min_refresh_ms),
     .min = 1000, .max = 3600000ull, .def = "30s"},
    {"max_stale", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, max_stale_ms), .min = 1000,
     .max = 30 * 86400000ull, .def = "24h"},
    {"fetch_timeout", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, fetch_timeout_ms), .min = 100,
     .max = 60000, .def = "5s"},
    GH_KW_END,
};

static void load_remote_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p, gh_key_registry *reg)
{
    yaml_node_t *uri = gh__walk_get(w, map, "jwks_uri");
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
    gh__cfg_fill(w, map, remote_keys, p, NULL);
    if (p->min_refresh_ms > p->refresh_ms)
        gh__walk_error(w, map, "min_refresh_interval is longer than refresh_interval");
    if (p->algorithms & GH_ALG_HMAC)
        gh__walk_error(w, map, "HS256/384/512 need secret:, never keys fetched from a URL");
    if (!reg || w->diag->errors)
        return;
    gh_key_source_def def = {p->name,           p->issuer,        p->jwks_uri,
                             p->discovery_url,  p->ca_file,       p->refresh_ms,
                             p->min_refresh_ms, p->max_stale_ms,  p->fetch_timeout_ms};
    if (!(p->source = gh_key_registry_get(reg, &def)) || !gh__cfg_keep_key_source(w, p->source)) {
        p->source = NULL;
        gh__walk_error(w, map, "out of memory for the key source");
    }
}

/* Keys in the configuration: jwks_file or inline jwks (public keys), or secret for HMAC. */
static void load_local_keys(gh_walk *w, yaml_node_t *map, gh_jwt_provider *p)
{
    for (const gh_keyword *k = remote_keys; k->name; k++)
        if (gh__walk_get(w, map, k->name))
            gh__walk_error(w, map, "%s applies to keys fetched with jwks_uri or discovery",
                           k->name);
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

static const gh_keyword token_keys[] = {
    {"header", GH_KW_STRING, GH_KW_ALONE, GH_KW_AT(gh_jwt_provider, token_header),
     .def = "Authorization"},
    {"cookie", GH_KW_STRING, GH_KW_AT(gh_jwt_provider, token_cookie)},
    GH_KW_END,
};

/* token: where the token is read, exactly one of a header and a cookie. */
static void load_token_source(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_jwt_provider *p = call->target;
    if (!gh__cfg_known(w, n, (const gh_keyword *const[]){token_keys, NULL}))
        return;
    yaml_node_t *h = gh__walk_get(w, n, "header"), *c = gh__walk_get(w, n, "cookie");
    if (!!h == !!c) {
        gh__walk_error(w, n, "exactly one of header and cookie (tokens never come from the query)");
        return;
    }
    gh__cfg_fill(w, n, token_keys, p, NULL);
    if (c && p->token_cookie)
        p->token_header = NULL;
}

/* What JWT and introspection providers share: for whom the token is, how its times are
 * judged, where it is read and how verified tokens are cached. */
static const gh_keyword audience_keys[] = {
    {"issuer", GH_KW_STRING, GH_KW_AT(gh_jwt_provider, issuer)},
    {"audiences", GH_KW_LIST, GH_KW_LIST_AT(gh_jwt_provider, audiences, naudiences)},
    GH_KW_END,
};

static const gh_keyword token_rule_keys[] = {
    {"clock_skew", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, clock_skew_s), .max = 600000,
     .unit = 1000, .def = "30s"},
    {"required_claims", GH_KW_LIST,
     GH_KW_LIST_AT(gh_jwt_provider, required_claims, nrequired_claims)},
    {"token", GH_KW_CUSTOM, .table = token_keys, .load = load_token_source},
    {"max_token_bytes", GH_KW_SIZE, GH_KW_AT(gh_jwt_provider, max_token_bytes), .min = 256,
     .max = 65536, .def = "8k"},
    {"realm", GH_KW_STRING, GH_KW_AT(gh_jwt_provider, realm)}, /* by default the name */
    {"scope_claim", GH_KW_STRING, GH_KW_AT(gh_jwt_provider, scope_claim), .def = "scope"},
    {"cache_entries", GH_KW_UINT, GH_KW_AT(gh_jwt_provider, cache_entries), .max = 10000000,
     .def = "100000"},
    GH_KW_END,
};

/* Reported once both were read, issuer first. */
static void require_audience(gh_walk *w, yaml_node_t *n, bool issuer_required)
{
    for (const gh_keyword *k = audience_keys + !issuer_required; k->name; k++) {
        if (gh__walk_get(w, n, k->name))
            continue;
        size_t saved = gh__walk_push_key(w, k->name);
        gh__walk_error(w, n, "required");
        gh__walk_pop(w, saved);
    }
}

bool gh__cfg_load_token_rules(gh_walk *w, yaml_node_t *n, gh_jwt_provider *p,
                              bool issuer_required, const gh_keyword *const *kind)
{
    const gh_keyword *tables[8] = {audience_keys, token_rule_keys};
    for (size_t i = 0; kind[i] && i < 5; i++)
        tables[2 + i] = kind[i];
    gh__cfg_defaults(w, token_rule_keys, p);
    p->realm = p->name;
    if (!gh__cfg_known(w, n, tables))
        return false;
    gh__cfg_fill(w, n, audience_keys, p, NULL);
    require_audience(w, n, issuer_required);
    gh__cfg_fill(w, n, token_rule_keys, p, NULL);
    if (p->audiences && p->naudiences == 0)
        gh__walk_error(w, n, "audiences: at least one: a token minted for another API must not pass");
    for (const char *c = p->realm; c && *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
            gh__walk_error(w, n, "realm: no quotes, backslashes or control characters");
            break;
        }
    if (!(p->cache = gh_token_cache_new(p->cache_entries)) || !gh__cfg_keep_cache(w, p->cache)) {
        p->cache = NULL;
        gh__walk_error(w, n, "out of memory for the token cache");
    }
    return true;
}

static const gh_keyword jwt_keys[] = {
    {"algorithms", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_algorithms},
    {"max_lifetime", GH_KW_DURATION, GH_KW_AT(gh_jwt_provider, max_lifetime_s), .min = 1000,
     .max = 31 * 86400000ull, .unit = 1000},
    /* The keys, read together: */
    {"jwks_file", GH_KW_CUSTOM},
    {"jwks", GH_KW_CUSTOM, GH_KW_KEY_MATERIAL}, /* inline: public keys, shown redacted all the same */
    {"secret", GH_KW_CUSTOM},
    {"jwks_uri", GH_KW_CUSTOM},
    {"discovery", GH_KW_CUSTOM},
    GH_KW_END,
};

static void load_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    gh_jwt_provider *p = prov;
    gh__cfg_keep_jwks(w, &p->keys);
    gh__cfg_defaults(w, jwt_keys, p);
    gh__cfg_defaults(w, remote_keys, p);
    if (!gh__cfg_load_token_rules(w, n, p, true,
                                  (const gh_keyword *const[]){jwt_keys, remote_keys, NULL}))
        return;
    gh__cfg_fill(w, n, jwt_keys, p, NULL);
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
        (*count)++;
        size_t inner = gh__walk_push_key(w, *name);
        load(w, gh__walk_node(w, p->value), prov, ctx);
        gh__walk_pop(w, inner);
    }
}

/* Where one kind of provider goes in the snapshot, and how one is read. */
typedef struct provider_kind {
    size_t list, count; /* in gh_config: the providers, and how many */
    size_t elem;        /* the size of one */
    void (*load)(gh_walk *, yaml_node_t *, void *, void *);
} provider_kind;

static void load_providers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const provider_kind *kind = call->k->arg;
    gh_config *c = call->target;
    gh_shared *shared = call->ctx;
    gh__cfg_each_provider(w, v, c, (void **)((char *)c + kind->list), kind->elem,
                          (size_t *)((char *)c + kind->count), kind->load,
                          shared ? &shared->keys : NULL);
}

#define GH_PROVIDERS(key, field, type, loader)                                                     \
    {key, GH_KW_CUSTOM, .load = load_providers,                                                    \
     .arg = &(const provider_kind){offsetof(gh_config, field), offsetof(gh_config, n##field),      \
                                   sizeof(type), loader}}

const gh_keyword gh__cfg_identity_keys[] = {
    GH_PROVIDERS("jwt", jwt_providers, gh_jwt_provider, load_provider),
    GH_PROVIDERS("introspection", introspection_providers, gh_jwt_provider,
                 gh__cfg_load_introspection),
    GH_PROVIDERS("api_keys", api_key_providers, gh_api_key_provider,
                 gh__cfg_load_api_key_provider),
    GH_PROVIDERS("hmac", hmac_providers, gh_hmac_provider, gh__cfg_load_hmac_provider),
    GH_KW_END,
};
