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

void gh__cfg_load_introspection(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    (void)ctx;
    static const char *const keys[] = {"url",       "client_id",    "client_secret", "timeout",
                                       "ca_file",   "cache_ttl",    "negative_ttl",  "max_in_flight",
                                       NULL};
    gh_jwt_provider *p = prov;
    gh_introspection_conf *ic = gh_arena_zalloc(w->arena, sizeof(*ic));
    if (!ic) {
        gh__walk_error(w, n, "out of memory");
        return;
    }
    p->introspect = ic;
    ic->timeout_ms = 2000;
    ic->cache_ttl_s = 300;
    ic->negative_ttl_s = 10;
    ic->max_in_flight = 128;
    if (!gh__cfg_load_token_rules(w, n, p, keys, false))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t x;
    const char *client_id = NULL;
    GH_CFG_FIELD(w, n, "url", true,
             if (gh__walk_str(w, v, &ic->url) && !gh_remote_url_allowed(ic->url))
                 gh__walk_error(w, v, "tokens are sent over https (plain http only to a loopback "
                                      "address)"))
    GH_CFG_FIELD(w, n, "client_id", true, gh__walk_str(w, v, &client_id))
    GH_CFG_FIELD(w, n, "client_secret", true, {
        size_t len = 0;
        char *secret = gh__walk_secret(w, v, &len);
        if (secret && client_id && !(ic->credentials = credentials(client_id, secret, len)))
            gh__walk_error(w, v, "out of memory");
        if (secret)
            OPENSSL_cleanse(secret, len);
        free(secret);
    })
    GH_CFG_FIELD(w, n, "timeout", false, if (gh__walk_duration_ms(w, v, 100, 60000, &x)) ic->timeout_ms = x)
    GH_CFG_FIELD(w, n, "cache_ttl", false,
             if (gh__walk_duration_ms(w, v, 0, 86400000ull, &x)) ic->cache_ttl_s = x / 1000)
    GH_CFG_FIELD(w, n, "negative_ttl", false,
             if (gh__walk_duration_ms(w, v, 0, 3600000ull, &x)) ic->negative_ttl_s = x / 1000)
    GH_CFG_FIELD(w, n, "max_in_flight", false,
             if (gh__walk_uint(w, v, 1, 100000, &x)) ic->max_in_flight = (uint32_t)x)
    GH_CFG_FIELD(w, n, "ca_file", false, ic->ca_file = gh__walk_readable_path(w, v, 4u << 20))
}
