/* identity.introspection.<name>: opaque access tokens checked with the identity provider's
 * introspection endpoint (RFC 7662), with the same token rules as a JWT provider. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "identity/remote_url.h"

/* "id:secret", each form-encoded as RFC 6749 2.3.1 asks for HTTP Basic client credentials. */
static char *credentials(const char *id, const char *secret, size_t secret_len)
{
    char *eid = curl_easy_escape(NULL, id, 0), *esecret = curl_easy_escape(NULL, secret, (int)secret_len);
    char *out = NULL;
    if (eid && esecret) {
        size_t n = strlen(eid) + strlen(esecret) + 2;
        if ((out = malloc(n)))
            snprintf(out, n, "%s:%s", eid, esecret);
    }
    if (esecret)
        OPENSSL_cleanse(esecret, strlen(esecret));
    curl_free(eid);
    curl_free(esecret);
    return out;
}

static bool url_ok(const char *url)
{
    return gh_remote_url_allowed(url);
}

/* client_secret, with the client_id read before it: the credentials sent. */
static void load_secret(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_introspection_conf *ic = call->target;
    size_t len = 0;
    char *secret = gh__walk_secret(w, v, &len);
    if (secret && ic->client_id && !(ic->credentials = credentials(ic->client_id, secret, len)))
        gh__walk_error(w, v, "out of memory");
    else if (ic->credentials && !gh__cfg_keep_string(w, ic->credentials))
        ic->credentials = NULL;
    if (secret)
        OPENSSL_cleanse(secret, len);
    free(secret);
}

static const gh_keyword introspection_keys[] = {
    {"url", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_introspection_conf, url), .valid = url_ok,
     .invalid = "tokens are sent over https (plain http only to a loopback address)"},
    {"client_id", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_introspection_conf, client_id)},
    {"client_secret", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_secret},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_introspection_conf, timeout_ms), .min = 100,
     .max = 60000, .def = "2s"},
    {"cache_ttl", GH_KW_DURATION, GH_KW_AT(gh_introspection_conf, cache_ttl_s),
     .max = 86400000ull, .unit = 1000, .def = "5m"},
    {"negative_ttl", GH_KW_DURATION, GH_KW_AT(gh_introspection_conf, negative_ttl_s),
     .max = 3600000ull, .unit = 1000, .def = "10s"},
    {"max_in_flight", GH_KW_UINT, GH_KW_AT(gh_introspection_conf, max_in_flight), .min = 1,
     .max = 100000, .def = "128"},
    {"ca_file", GH_KW_PATH, GH_KW_AT(gh_introspection_conf, ca_file), .max = 4u << 20},
    GH_KW_END,
};

void gh__cfg_load_introspection(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    (void)ctx;
    gh_jwt_provider *p = prov;
    gh_introspection_conf *ic = gh_arena_zalloc(w->arena, sizeof(*ic));
    if (!ic) {
        gh__walk_error(w, n, "out of memory");
        return;
    }
    p->introspect = ic;
    gh__cfg_defaults(w, introspection_keys, ic);
    if (!gh__cfg_load_token_rules(w, n, p, false,
                                  (const gh_keyword *const[]){introspection_keys, NULL}))
        return;
    gh__cfg_fill(w, n, introspection_keys, ic, NULL);
}
