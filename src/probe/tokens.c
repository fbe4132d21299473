/* Tokens the probe makes: claims a route accepts, signed with the key the probe holds for the
 * route's provider (the one it gave the gateway in self-test, --signing-key live), and opaque
 * tokens its introspection endpoint answers for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/b64url.h"
#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/probe_internal.h"

#define PARAM_VALUE "probe-a" /* routes.c fills {name}s with it */

static json_t *scopes_value(const gh_jwt_provider *prov, const gh_authz_conf *az)
{
    bool array = prov->scope_claim && strcmp(prov->scope_claim, "scp") == 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < az->nscopes; i++)
        json_array_append_new(arr, json_string(az->scopes[i]));
    if (az->nscopes_any)
        json_array_append_new(arr, json_string(az->scopes_any[0]));
    if (array)
        return arr;
    char buf[2048] = "";
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, "%s%s", i ? " " : "",
                              json_string_value(json_array_get(arr, i)));
    json_decref(arr);
    return json_string(n < sizeof(buf) ? buf : "");
}

/* A claim rule's first value as the token must carry it. */
static json_t *claim_value(const gh_claim_rule *rule)
{
    const gh_claim_value *v = &rule->values[0];
    if (v->source != GH_CLAIM_LITERAL)
        return json_string(PARAM_VALUE); /* the path's parameter, or the header the case sends */
    json_error_t err;
    json_t *j = json_loads(v->text, JSON_DECODE_ANY, &err); /* numbers and booleans as JSON */
    return j && !json_is_string(j) ? j : (json_decref(j), json_string(v->text));
}

/* Live with only --token: its payload is what the cases edit. */
static json_t *claims_of_token(const char *token)
{
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || d2 - d1 - 1 > 16384)
        return json_object();
    unsigned char buf[12288];
    long n = gh_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf);
    if (n < 0)
        return json_object();
    json_error_t err;
    json_t *j = json_loadb((const char *)buf, (size_t)n, 0, &err);
    return json_is_object(j) ? j : (json_decref(j), json_object());
}

json_t *gh_probe_claims(gh_probe *p, const gh_probe_route *route)
{
    if (!p->selftest && !p->nkeys && p->token)
        return claims_of_token(p->token);
    const gh_route_conf *r = route ? route->conf : NULL;
    const gh_jwt_provider *prov = r ? r->auth_token : NULL;
    if (!prov)
        return NULL;
    long long now = (long long)time(NULL);
    json_t *c = json_object();
    if (prov->issuer)
        json_object_set_new(c, "iss", json_string(prov->issuer));
    if (prov->naudiences)
        json_object_set_new(c, "aud", json_string(prov->audiences[0]));
    json_object_set_new(c, "sub", json_string(PARAM_VALUE));
    json_object_set_new(c, "iat", json_integer(now));
    json_object_set_new(c, "nbf", json_integer(now));
    json_object_set_new(c, "exp", json_integer(now + 300));
    json_object_set_new(c, "jti", json_sprintf("probe-%lld-%d", now, rand()));
    if (r->has_authz && (r->authz.nscopes || r->authz.nscopes_any))
        json_object_set_new(c, prov->scope_claim ? prov->scope_claim : "scope",
                            scopes_value(prov, &r->authz));
    for (size_t i = 0; r->has_authz && i < r->authz.nclaims; i++)
        if (r->authz.claims[i].nvalues)
            json_object_set_new(c, r->authz.claims[i].claim, claim_value(&r->authz.claims[i]));
    for (size_t i = 0; i < prov->nrequired_claims; i++)
        if (!json_object_get(c, prov->required_claims[i]))
            json_object_set_new(c, prov->required_claims[i], json_string("probe"));
    return c;
}

static const gh_probe_key *key_for(const gh_probe *p, const gh_jwt_provider *prov)
{
    for (size_t i = 0; i < p->nkeys; i++)
        if (!p->keys[i].provider || p->keys[i].provider == prov ||
            (prov && strcmp(p->keys[i].provider->name, prov->name) == 0))
            return &p->keys[i];
    return NULL;
}

const gh_probe_key *gh_probe_key_of(const gh_probe *p, const gh_jwt_provider *provider)
{
    return key_for(p, provider);
}

const char *gh_probe_sign(gh_probe *p, const gh_jwt_provider *provider, unsigned alg,
                          const char *header, const char *payload)
{
    const gh_probe_key *k = key_for(p, provider);
    if (!k)
        return NULL;
    char *tok = gh_jws_sign(k->key, k->secret, k->secret_len, alg ? alg : k->alg, header, payload);
    const char *out = tok ? gh_arena_strdup(&p->arena, tok) : NULL;
    free(tok);
    return out;
}

const char *gh_probe_header(gh_probe *p, const gh_jwt_provider *provider, unsigned alg)
{
    const gh_probe_key *k = key_for(p, provider);
    unsigned a = alg ? alg : k ? k->alg : GH_ALG_ES256;
    if (k && k->kid[0])
        return gh_arena_printf(&p->arena, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                               gh_alg_name(a), k->kid);
    return gh_arena_printf(&p->arena, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", gh_alg_name(a));
}

const char *gh_probe_sign_claims(gh_probe *p, const gh_jwt_provider *provider, json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    const char *tok = payload ? gh_probe_sign(p, provider, 0, gh_probe_header(p, provider, 0), payload) : NULL;
    free(payload);
    return tok;
}

const char *gh_probe_token(gh_probe *p, const gh_probe_route *route)
{
    if (!p->selftest && !p->nkeys)
        return p->token;
    const gh_jwt_provider *prov = route && route->conf ? route->conf->auth_token : NULL;
    if (!prov)
        return NULL;
    json_t *claims = gh_probe_claims(p, route);
    const char *tok = NULL;
    if (prov->introspect && p->server) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        char opaque[40] = "probe-opaque-";
        for (size_t i = 13; i < sizeof(opaque) - 1; i++)
            opaque[i] = alphabet[(unsigned)rand() % (sizeof(alphabet) - 1)];
        opaque[sizeof(opaque) - 1] = '\0';
        gh_probe_opaque_add(p->server, opaque, json_incref(claims), true);
        tok = gh_arena_strdup(&p->arena, opaque);
    } else if (!prov->introspect) {
        tok = gh_probe_sign_claims(p, prov, claims);
    }
    json_decref(claims);
    return tok;
}
