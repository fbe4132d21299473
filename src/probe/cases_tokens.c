/* Tokens: forged, edited, stale, misplaced and oversized bearer tokens against a route that
 * takes JWTs. Every case first shows a valid token gets through (gh_probe_baseline), then that
 * the attempt is answered 401 with nothing forwarded. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/probe_internal.h"

#define OWASP_AUTHN "API2:2023"

static bool takes_jwt(gh_probe *p, const gh_probe_route *r)
{
    const gh_jwt_provider *prov = r->conf ? r->conf->auth_token : NULL;
    bool token = gh_probe_key_of(p, prov) || (!p->selftest && p->token);
    return prov && !prov->introspect && token && (p->selftest || r->safe);
}

static bool takes_jwt_proxied(gh_probe *p, const gh_probe_route *r)
{
    return takes_jwt(p, r) && r->proxied;
}

/* The route a token case aims at (a proxied one first: its upstream can be watched), its valid
 * request shown to pass; NULL with r skipped. */
static const gh_probe_route *aim(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, takes_jwt_proxied);
    if (!route)
        route = gh_probe_find_route(p, takes_jwt);
    if (!route) {
        gh_probe_skip(r, "no route takes JWTs from a provider the probe holds a key or a token for");
        return NULL;
    }
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* The request of route with token where the provider takes it (and extra lines). */
static const char *with_token(gh_probe *p, const gh_probe_route *route, const char *token,
                              const char *extra, size_t *len)
{
    const gh_jwt_provider *prov = route->conf->auth_token;
    const char *carrier;
    if (prov->token_cookie)
        carrier = gh_arena_printf(&p->arena, "Cookie: %s=%s\r\n", prov->token_cookie, token);
    else if (prov->token_header && strcasecmp(prov->token_header, "Authorization") != 0)
        carrier = gh_arena_printf(&p->arena, "%s: %s\r\n", prov->token_header, token);
    else
        carrier = gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", token);
    const char *body = route->safe ? NULL : "{}";
    const char *lines = gh_arena_printf(&p->arena, "%s%s%s", carrier,
                                        body ? "Content-Type: application/json\r\n" : "",
                                        extra ? extra : "");
    return gh_probe_request(p, route->method, route->path, route->host, lines, body, len);
}

static void expect_401(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                       const char *token, const char *what)
{
    size_t len;
    const char *bytes = with_token(p, route, token, NULL, &len);
    /* 401 is the answer (RFC 6750 3.1); 400 and 403 refuse too: nothing was let through. */
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403, what, NULL);
}

static const char *dump(gh_probe *p, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    const char *out = gh_arena_strdup(&p->arena, s ? s : "{}");
    free(s);
    return out;
}

/* header and payload texts with the signature given (may be empty), in the arena. */
static const char *compact(gh_probe *p, const char *header, const char *payload,
                           const unsigned char *sig, size_t sig_len)
{
    char *t = gh_jws_compact(header, strlen(header), payload, strlen(payload), sig, sig_len);
    const char *out = gh_arena_strdup(&p->arena, t ? t : "");
    free(t);
    return out;
}

static const char *valid_payload(gh_probe *p, const gh_probe_route *route)
{
    json_t *c = gh_probe_claims(p, route);
    const char *s = dump(p, c);
    json_decref(c);
    return s;
}

/* The valid claims with one changed (value taken), signed with the probe's key. */
static const char *signed_with(gh_probe *p, const gh_probe_route *route, const char *claim,
                               json_t *value)
{
    json_t *c = gh_probe_claims(p, route);
    if (value)
        json_object_set_new(c, claim, value);
    else
        json_object_del(c, claim);
    const char *tok = gh_probe_sign_claims(p, route->conf->auth_token, c);
    json_decref(c);
    return tok;
}

static long long now_s(void)
{
    return (long long)time(NULL);
}

static void alg_none(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (route)
        expect_401(p, r, route, compact(p, "{\"alg\":\"none\",\"typ\":\"JWT\"}", valid_payload(p, route), NULL, 0),
                   "a token with alg none and no signature");
}

static void alg_none_variants(gh_probe *p, gh_probe_result *r)
{
    static const char *const algs[] = {"None", "NONE", "nOnE", "none "};
    const gh_probe_route *route = aim(p, r);
    for (size_t i = 0; route && i < sizeof(algs) / sizeof(algs[0]) && r->verdict != GH_PV_FAIL; i++) {
        const char *h = gh_arena_printf(&p->arena, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
        expect_401(p, r, route, compact(p, h, valid_payload(p, route), NULL, 0),
                   gh_arena_printf(&p->arena, "a token with alg \"%s\"", algs[i]));
    }
}

static void stripped_signature(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const char *tok = gh_probe_token(p, route);
    const char *dot = strrchr(tok, '.');
    expect_401(p, r, route, gh_arena_strndup(&p->arena, tok, (size_t)(dot - tok) + 1),
               "a valid token with its signature cut off");
}

static void edited_payload(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const char *tok = gh_probe_token(p, route);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    json_t *c = gh_probe_claims(p, route);
    json_object_set_new(c, "sub", json_string("probe-admin"));
    char *payload = json_dumps(c, JSON_COMPACT);
    char *edited = gh_jws_compact("", 0, payload, strlen(payload), NULL, 0); /* ".p." */
    const char *forged = gh_arena_printf(&p->arena, "%.*s%.*s%s", (int)(d1 - tok), tok,
                                         (int)(strlen(edited) - 1), edited, d2);
    free(payload);
    free(edited);
    json_decref(c);
    expect_401(p, r, route, forged, "a signed token whose payload was edited afterwards (sub)");
}

/* The provider key's public half as PEM text (what HS256 confusion keys with). */
static const char *public_pem(gh_probe *p, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    const char *out = NULL;
    if (b && PEM_write_bio_PUBKEY(b, k) == 1) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        out = gh_arena_strndup(&p->arena, data, (size_t)n);
    }
    BIO_free(b);
    return out;
}

static void hs256_public_key(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const gh_probe_key *k = gh_probe_key_of(p, route->conf->auth_token);
    if (!k->key) {
        gh_probe_skip(r, "the provider signs with a shared secret: there is no public key to confuse");
        return;
    }
    const char *pem = public_pem(p, k->key);
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->kid);
    char *tok = pem ? gh_jws_sign(NULL, (const unsigned char *)pem, strlen(pem), GH_ALG_HS256, hdr,
                                  valid_payload(p, route))
                    : NULL;
    if (!tok) {
        gh_probe_error(r, "cannot make the token");
        return;
    }
    expect_401(p, r, route, gh_arena_strdup(&p->arena, tok),
               "an HS256 token keyed with the provider's public key");
    free(tok);
}

/* A token signed by a key the probe made up, whose header names that key (embedded or by URL). */
static const char *self_keyed(gh_probe *p, const gh_probe_route *route, const char *extra_header)
{
    EVP_PKEY *mine = gh_jws_keygen(GH_ALG_ES256);
    if (!mine)
        return NULL;
    const gh_probe_key *k = gh_probe_key_of(p, route->conf->auth_token);
    json_t *jwk = gh_jwk_public(mine, k->kid, GH_ALG_ES256);
    const char *jwk_text = dump(p, jwk);
    json_decref(jwk);
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\",%s}",
                                      k->kid, extra_header ? extra_header
                                                           : gh_arena_printf(&p->arena, "\"jwk\":%s", jwk_text));
    char *tok = gh_jws_sign(mine, NULL, 0, GH_ALG_ES256, hdr, valid_payload(p, route));
    EVP_PKEY_free(mine);
    const char *out = tok ? gh_arena_strdup(&p->arena, tok) : NULL;
    free(tok);
    return out;
}

static void embedded_jwk(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    const char *tok = route ? self_keyed(p, route, NULL) : NULL;
    if (tok)
        expect_401(p, r, route, tok, "a token signed by its own embedded jwk");
}

/* jku, x5u: the header points at a URL of the probe's; nothing may fetch it. */
static void key_url(gh_probe *p, gh_probe_result *r, const char *member)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    int port = p->server ? gh_probe_server_port(p->server, GH_PROBE_IDP) : 9;
    size_t before = p->server ? gh_probe_bait_fetches(p->server) : 0;
    const char *url = gh_arena_printf(&p->arena, "http://127.0.0.1:%d/bait/%s.json", port, member);
    const char *tok = self_keyed(p, route, gh_arena_printf(&p->arena, "\"%s\":\"%s\"", member, url));
    if (!tok)
        return;
    expect_401(p, r, route, tok, gh_arena_printf(&p->arena, "a token whose %s names the attacker's keys", member));
    if (p->server && gh_probe_bait_fetches(p->server) > before && r->verdict == GH_PV_PASS)
        gh_probe_fail(r, "the gateway fetched the URL the token's %s named (%s)", member, url);
}

static void jku(gh_probe *p, gh_probe_result *r)
{
    key_url(p, r, "jku");
}

static void x5u(gh_probe *p, gh_probe_result *r)
{
    key_url(p, r, "x5u");
}

/* A kid the gateway must not use as a path, a header or a reason to fetch keys. */
static void odd_kid(gh_probe *p, gh_probe_result *r, const char *kid_json, const char *what)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":%s}", kid_json);
    char *tok = gh_jws_sign(NULL, (const unsigned char *)"", 0, GH_ALG_HS256, hdr, valid_payload(p, route));
    if (tok)
        expect_401(p, r, route, gh_arena_strdup(&p->arena, tok), what);
    free(tok);
}

static void kid_traversal(gh_probe *p, gh_probe_result *r)
{
    odd_kid(p, r, "\"../../../../../../../dev/null\"",
            "an HS256 token keyed with the empty file its kid walks to (/dev/null)");
}

static void kid_crlf(gh_probe *p, gh_probe_result *r)
{
    odd_kid(p, r, "\"probe\\r\\nX-Probe-Injected: 1\"", "a token whose kid carries CR LF and a header");
}

static void kid_oversize(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    char *big = malloc(6002);
    memset(big + 1, 'k', 6000);
    big[0] = big[6001] = '"';
    const char *kid = gh_arena_strndup(&p->arena, big, 6002);
    free(big);
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":%s}", kid);
    char *tok = gh_jws_sign(NULL, (const unsigned char *)"x", 1, GH_ALG_HS256, hdr, valid_payload(p, route));
    size_t len;
    const char *bytes = tok ? with_token(p, route, tok, NULL, &len) : NULL;
    free(tok);
    if (bytes) /* 401, or 431 when the head is over the limit: both refuse */
        gh_probe_expect_refusal(p, r, route, bytes, len, 400, 431, "a token with a 6000-byte kid", NULL);
}

/* A token whose time claim is an hour (beyond the provider's clock skew) off: ahead when
 * ahead, else behind. */
static void time_shifted(gh_probe *p, gh_probe_result *r, const char *claim, bool ahead, const char *what)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    long long off = 3600 + (long long)route->conf->auth_token->clock_skew_s;
    expect_401(p, r, route, signed_with(p, route, claim, json_integer(now_s() + (ahead ? off : -off))), what);
}

static void expired(gh_probe *p, gh_probe_result *r)
{
    time_shifted(p, r, "exp", false, "a token that expired an hour ago");
}

static void not_yet_valid(gh_probe *p, gh_probe_result *r)
{
    time_shifted(p, r, "nbf", true, "a token whose nbf is an hour ahead");
}

static void issued_in_future(gh_probe *p, gh_probe_result *r)
{
    time_shifted(p, r, "iat", true, "a token issued an hour in the future");
}

static void wrong_issuer(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (route)
        expect_401(p, r, route, signed_with(p, route, "iss", json_string("https://issuer.probe.invalid")),
                   "a token of another issuer, signed with the provider's key");
}

static void wrong_audience(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (route)
        expect_401(p, r, route, signed_with(p, route, "aud", json_string("probe-other-api")),
                   "a token for another audience");
}

static void no_expiry(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (route)
        expect_401(p, r, route, signed_with(p, route, "exp", NULL), "a token without exp (valid forever)");
}

static void ecdsa_zero(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const gh_probe_key *k = gh_probe_key_of(p, route->conf->auth_token);
    unsigned alg = k->alg & (GH_ALG_ES384 | GH_ALG_ES512) ? k->alg : GH_ALG_ES256;
    size_t half = alg == GH_ALG_ES256 ? 32 : alg == GH_ALG_ES384 ? 48 : 66;
    unsigned char zeros[132] = {0};
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                                      gh_alg_name(alg), k->kid);
    expect_401(p, r, route, compact(p, hdr, valid_payload(p, route), zeros, 2 * half),
               "an ECDSA token whose signature is r = s = 0");
}

static void duplicate_claims(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    json_t *c = gh_probe_claims(p, route);
    json_object_set_new(c, "exp", json_integer(now_s() - 3600 - (long long)route->conf->auth_token->clock_skew_s));
    char *text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    /* An expired exp first, a fresh one last: a parser that keeps the last key accepts it. */
    const char *payload = gh_arena_printf(&p->arena, "%.*s,\"exp\":%lld}", (int)(strlen(text) - 1), text,
                                          now_s() + 300);
    free(text);
    const char *tok = gh_probe_sign(p, route->conf->auth_token, 0,
                                    gh_probe_header(p, route->conf->auth_token, 0), payload);
    if (tok)
        expect_401(p, r, route, tok, "a signed token with exp twice (expired, then fresh)");
}

static void huge_token(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    char *pad = malloc(60001);
    memset(pad, 'A', 60000);
    pad[60000] = '\0';
    const char *tok = signed_with(p, route, "pad", json_string(pad));
    free(pad);
    size_t len;
    const char *bytes = tok ? with_token(p, route, tok, NULL, &len) : NULL;
    if (bytes)
        gh_probe_expect_refusal(p, r, route, bytes, len, 400, 431, "a validly signed 80 KB token", NULL);
}

static void token_in_query(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const gh_jwt_provider *prov = route->conf->auth_token;
    if (prov->token_cookie || (prov->token_header && strcasecmp(prov->token_header, "Authorization") != 0)) {
        gh_probe_skip(r, "the provider does not take the Authorization header");
        return;
    }
    const char *tok = gh_probe_token(p, route);
    const char *target = gh_arena_printf(&p->arena, "%s?access_token=%s", route->path, tok);
    size_t len;
    const char *bytes = gh_probe_request(p, route->method, target, route->host,
                                         route->safe ? NULL : "Content-Type: application/json\r\n",
                                         route->safe ? NULL : "{}", &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403,
                            "a valid token in the query string (access_token), none in the header", NULL);
}

static void token_in_cookie(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    if (route->conf->auth_token->token_cookie) {
        gh_probe_skip(r, "the provider takes its token from a cookie");
        return;
    }
    const char *tok = gh_probe_token(p, route);
    size_t len;
    const char *bytes = gh_probe_request(
        p, route->method, route->path, route->host,
        gh_arena_printf(&p->arena, "Cookie: access_token=%s; token=%s; jwt=%s\r\n%s", tok, tok, tok,
                        route->safe ? "" : "Content-Type: application/json\r\n"),
        route->safe ? NULL : "{}", &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403,
                            "a valid token in cookies only, none where the provider takes it", NULL);
}

static void two_authorizations(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const char *good = gh_probe_token(p, route);
    const char *bad = compact(p, "{\"alg\":\"none\",\"typ\":\"JWT\"}", valid_payload(p, route), NULL, 0);
    const char *orders[2][2] = {{good, bad}, {bad, good}};
    for (int i = 0; i < 2 && r->verdict != GH_PV_FAIL; i++) {
        size_t len;
        const char *extra = gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", orders[i][1]);
        const char *bytes = with_token(p, route, orders[i][0], extra, &len);
        gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403,
                                i == 0 ? "two Authorization headers (valid, then alg none)"
                                       : "two Authorization headers (alg none, then valid)", NULL);
    }
}

static void other_provider(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const gh_jwt_provider *mine = route->conf->auth_token, *other = NULL;
    for (size_t i = 0; p->conf && i < p->conf->njwt_providers && !other; i++)
        if (&p->conf->jwt_providers[i] != mine && gh_probe_key_of(p, &p->conf->jwt_providers[i]) != gh_probe_key_of(p, mine))
            other = &p->conf->jwt_providers[i];
    if (!other) {
        gh_probe_skip(r, "the configuration has one JWT provider the probe holds a key for");
        return;
    }
    json_t *c = gh_probe_claims(p, route);
    if (other->issuer)
        json_object_set_new(c, "iss", json_string(other->issuer));
    if (other->naudiences)
        json_object_set_new(c, "aud", json_string(other->audiences[0]));
    const char *tok = gh_probe_sign_claims(p, other, c);
    json_decref(c);
    if (tok)
        expect_401(p, r, route, tok,
                   gh_arena_printf(&p->arena, "a valid token of provider %s on a route of %s", other->name, mine->name));
}

static void unknown_kid_flood(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    const gh_jwt_provider *prov = route->conf->auth_token;
    /* Self-test serves every asymmetric provider's keys from the probe's key set URL. */
    bool remote = p->selftest ? gh_probe_key_of(p, prov)->key != NULL : prov->jwks_uri || prov->discovery_url;
    if (!remote) {
        gh_probe_skip(r, "the provider's keys are local: nothing to refetch");
        return;
    }
    size_t before = gh_probe_jwks_fetches(p->server, prov->name);
    for (int i = 0; i < 20 && r->verdict != GH_PV_FAIL; i++) {
        const gh_probe_key *k = gh_probe_key_of(p, prov);
        const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"probe-unknown-%d\"}",
                                          gh_alg_name(k->alg), i);
        const char *tok = gh_probe_sign(p, prov, 0, hdr, valid_payload(p, route));
        expect_401(p, r, route, tok, "20 tokens, each with a kid the key set does not have");
    }
    size_t fetched = gh_probe_jwks_fetches(p->server, prov->name) - before;
    if (r->verdict == GH_PV_PASS && fetched > 1)
        gh_probe_fail(r, "20 unknown kids made the gateway fetch the key set %zu times (at most once per "
                         "cooldown expected)", fetched);
    else if (r->verdict == GH_PV_PASS)
        gh_probe_pass(r, "20 unknown kids were refused with 401 and the key set was fetched %zu time%s",
                      fetched, fetched == 1 ? "" : "s");
}

static void lifetime_too_long(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    uint64_t max = route->conf->auth_token->max_lifetime_s;
    if (!max) {
        gh_probe_skip(r, "the provider sets no max_lifetime");
        return;
    }
    expect_401(p, r, route, signed_with(p, route, "exp", json_integer(now_s() + (long long)max + 3600)),
               "a token living an hour longer than the provider's max_lifetime");
}

/* A self-signed certificate of k, base64 (not base64url) DER: what x5c carries. */
static const char *self_signed_b64(gh_probe *p, EVP_PKEY *k)
{
    X509 *x = X509_new();
    const char *out = NULL;
    if (x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -60) && X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
        X509_set_pubkey(x, k)) {
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"probe", -1, -1, 0);
        X509_set_issuer_name(x, n);
        unsigned char *der = NULL;
        int len = X509_sign(x, k, EVP_sha256()) ? i2d_X509(x, &der) : -1;
        if (len > 0) {
            char *b = gh_arena_alloc(&p->arena, (size_t)len * 4 / 3 + 8);
            EVP_EncodeBlock((unsigned char *)b, der, len);
            out = b;
        }
        OPENSSL_free(der);
    }
    X509_free(x);
    return out;
}

static void embedded_x5c(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    EVP_PKEY *mine = gh_jws_keygen(GH_ALG_ES256);
    const char *cert = mine ? self_signed_b64(p, mine) : NULL;
    const gh_probe_key *k = gh_probe_key_of(p, route->conf->auth_token);
    char *tok = NULL;
    if (cert) {
        const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\",\"x5c\":[\"%s\"]}",
                                          k->kid, cert);
        tok = gh_jws_sign(mine, NULL, 0, GH_ALG_ES256, hdr, valid_payload(p, route));
    }
    EVP_PKEY_free(mine);
    if (!tok) {
        gh_probe_error(r, "cannot make the token");
        return;
    }
    expect_401(p, r, route, gh_arena_strdup(&p->arena, tok), "a token signed by the certificate in its own x5c");
    free(tok);
}

static void foreign_rsa(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = aim(p, r);
    if (!route)
        return;
    EVP_PKEY *mine = gh_jws_keygen(GH_ALG_RS256);
    const gh_probe_key *k = gh_probe_key_of(p, route->conf->auth_token);
    const char *hdr = gh_arena_printf(&p->arena, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->kid);
    char *tok = mine ? gh_jws_sign(mine, NULL, 0, GH_ALG_RS256, hdr, valid_payload(p, route)) : NULL;
    EVP_PKEY_free(mine);
    if (!tok) {
        gh_probe_error(r, "cannot make the token");
        return;
    }
    expect_401(p, r, route, gh_arena_strdup(&p->arena, tok),
               "an RS256 token under the provider's kid, signed with the attacker's key");
    free(tok);
}

static bool takes_introspected(gh_probe *p, const gh_probe_route *r)
{
    (void)p;
    return r->conf && r->conf->auth_token && r->conf->auth_token->introspect;
}

static void revoked_opaque(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, takes_introspected);
    if (!route) {
        gh_probe_skip(r, "no route takes tokens by introspection");
        return;
    }
    if (!gh_probe_baseline(p, r, route))
        return;
    json_t *claims = gh_probe_claims(p, route);
    const char *token = gh_arena_printf(&p->arena, "probe-revoked-%d%d", rand(), rand());
    gh_probe_opaque_add(p->server, token, claims, false);
    size_t len;
    const char *bytes = gh_probe_request(
        p, route->method, route->path, route->host,
        gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n%s", token,
                        route->safe ? "" : "Content-Type: application/json\r\n"),
        route->safe ? NULL : "{}", &len);
    gh_probe_expect_refusal(p, r, route, bytes, len, 400, 403,
                            "an opaque token its introspection endpoint calls inactive (revoked)", NULL);
}

const gh_probe_case gh_probe_cases_tokens[] = {
    {"TOK-001", "tokens", "alg none, no signature", OWASP_AUTHN, 347, GH_PSEV_HIGH, GH_PN_TOKEN,
     "401 (400 or 403 also refuse), nothing forwarded", "Allow only the provider's signing algorithms (identity.jwt.*.algorithms); never none.",
     alg_none},
    {"TOK-002", "tokens", "alg none in other cases and spacing (None, NONE, nOnE)", OWASP_AUTHN, 347, GH_PSEV_HIGH,
     GH_PN_TOKEN, "401 for each, nothing forwarded", "Compare algorithm names exactly against an allow-list (identity.jwt.*.algorithms).",
     alg_none_variants},
    {"TOK-003", "tokens", "valid token with its signature cut off", OWASP_AUTHN, 347, GH_PSEV_HIGH, GH_PN_TOKEN,
     "401 (400 or 403 also refuse), nothing forwarded", "Verify every token's signature; an empty signature verifies nothing.",
     stripped_signature},
    {"TOK-004", "tokens", "signed token with an edited payload", OWASP_AUTHN, 345, GH_PSEV_HIGH, GH_PN_TOKEN,
     "401 (400 or 403 also refuse), nothing forwarded", "Verify the signature over the header and payload as received.", edited_payload},
    {"TOK-005", "tokens", "HS256 keyed with the provider's public key (algorithm confusion)", OWASP_AUTHN, 327,
     GH_PSEV_HIGH, GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded",
     "Bind each key to its algorithm; never let a token's alg choose how a key is used (RFC 8725 3.1).",
     hs256_public_key},
    {"TOK-006", "tokens", "token signed by a key embedded in its own header (jwk)", OWASP_AUTHN, 347, GH_PSEV_HIGH,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded", "Take keys only from the provider's configured key set, never from the token.",
     embedded_jwk},
    {"TOK-007", "tokens", "jku pointing at the attacker's key set", OWASP_AUTHN, 918, GH_PSEV_HIGH, GH_PN_SIGN,
     "401, nothing forwarded, the URL never fetched", "Ignore jku; fetch keys only from the configured jwks_uri.", jku},
    {"TOK-008", "tokens", "x5u pointing at the attacker's certificate", OWASP_AUTHN, 918, GH_PSEV_HIGH, GH_PN_SIGN,
     "401, nothing forwarded, the URL never fetched", "Ignore x5u and x5c; use only configured keys.", x5u},
    {"TOK-009", "tokens", "token signed by the certificate in its own x5c", OWASP_AUTHN, 295, GH_PSEV_HIGH,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded",
     "Ignore x5c; trust only the provider's configured keys.", embedded_x5c},
    {"TOK-010", "tokens", "kid walking to an empty file (../../dev/null) with HS256", OWASP_AUTHN, 22, GH_PSEV_HIGH,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded", "Look kid up in the key set only; never use it as a path or a query.",
     kid_traversal},
    {"TOK-011", "tokens", "kid carrying CR LF and a header", OWASP_AUTHN, 93, GH_PSEV_MEDIUM, GH_PN_SIGN,
     "401 (400 or 403 also refuse), nothing forwarded", "Treat kid as an opaque string compared against the key set.", kid_crlf},
    {"TOK-012", "tokens", "kid of 6000 bytes", OWASP_AUTHN, 770, GH_PSEV_LOW, GH_PN_SIGN,
     "401 or 431, nothing forwarded", "Bound the token and its header (identity.jwt.*.max_token_bytes).", kid_oversize},
    {"TOK-013", "tokens", "expired token", OWASP_AUTHN, 613, GH_PSEV_HIGH, GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded",
     "Check exp with a small clock skew (identity.jwt.*.clock_skew).", expired},
    {"TOK-014", "tokens", "token not valid yet (nbf ahead)", OWASP_AUTHN, 613, GH_PSEV_MEDIUM, GH_PN_SIGN,
     "401 (400 or 403 also refuse), nothing forwarded", "Check nbf with a small clock skew (identity.jwt.*.clock_skew).", not_yet_valid},
    {"TOK-015", "tokens", "token issued in the future (iat ahead)", OWASP_AUTHN, 613, GH_PSEV_LOW, GH_PN_SIGN,
     "401 (400 or 403 also refuse), nothing forwarded", "Refuse tokens whose iat is ahead of the clock beyond the skew (identity.jwt.*.clock_skew).", issued_in_future},
    {"TOK-016", "tokens", "token of another issuer, signed with the provider's key", OWASP_AUTHN, 287, GH_PSEV_HIGH,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded", "Set identity.jwt.*.issuer; the gateway compares iss exactly (RFC 8725 3.8).",
     wrong_issuer},
    {"TOK-017", "tokens", "token for another audience", OWASP_AUTHN, 287, GH_PSEV_HIGH, GH_PN_SIGN,
     "401 (400 or 403 also refuse), nothing forwarded", "Set identity.jwt.*.audiences to this API's own (RFC 8725 3.9).", wrong_audience},
    {"TOK-018", "tokens", "ECDSA signature r = s = 0 (psychic signature)", OWASP_AUTHN, 347, GH_PSEV_HIGH,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded", "Verify ECDSA with a library that range-checks r and s.", ecdsa_zero},
    {"TOK-019", "tokens", "exp twice in the payload (expired first, fresh last)", OWASP_AUTHN, 20, GH_PSEV_MEDIUM,
     GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded", "Refuse JSON with duplicate member names in tokens (RFC 7519 4).",
     duplicate_claims},
    {"TOK-020", "tokens", "validly signed token of 80 KB", OWASP_AUTHN, 770, GH_PSEV_LOW, GH_PN_SIGN,
     "401 or 431, nothing forwarded", "Bound tokens (identity.jwt.*.max_token_bytes) and request heads (limits.max_head_bytes).",
     huge_token},
    {"TOK-021", "tokens", "valid token in the query string only", OWASP_AUTHN, 598, GH_PSEV_MEDIUM, GH_PN_TOKEN,
     "401 (400 or 403 also refuse), nothing forwarded", "Take tokens only from the Authorization header (RFC 6750 2.3 leaks them into logs).",
     token_in_query},
    {"TOK-022", "tokens", "valid token in cookies only", OWASP_AUTHN, 352, GH_PSEV_MEDIUM, GH_PN_TOKEN,
     "401 (400 or 403 also refuse), nothing forwarded", "Take tokens only where the provider says (identity.jwt.*.token.header or token.cookie).",
     token_in_cookie},
    {"TOK-023", "tokens", "two Authorization headers, one forged", OWASP_AUTHN, 287, GH_PSEV_HIGH, GH_PN_TOKEN,
     "400 or 401 in both orders, nothing forwarded",
     "Refuse a request with more than one Authorization header.", two_authorizations},
    {"TOK-024", "tokens", "valid token of another provider", OWASP_AUTHN, 287, GH_PSEV_HIGH,
     GH_PN_SIGN | GH_PN_CONFIG, "401 (400 or 403 also refuse), nothing forwarded",
     "Give each route its own provider (auth: {jwt: NAME}); each provider its own issuer, audiences and keys.", other_provider},
    {"TOK-025", "tokens", "20 tokens with unknown kids (refetch flood)", "API4:2023", 400, GH_PSEV_MEDIUM,
     GH_PN_SIGN | GH_PN_UPSTREAM | GH_PN_LOAD, "401 each; the key set fetched at most once",
     "Refetch keys for an unknown kid at most once per identity.jwt.*.min_refresh_interval.", unknown_kid_flood},
    {"TOK-026", "tokens", "token without exp", OWASP_AUTHN, 613, GH_PSEV_MEDIUM, GH_PN_SIGN,
     "401 (400 or 403 also refuse), nothing forwarded", "Require exp (RFC 8725 3.10; identity.jwt.*.required_claims).", no_expiry},
    {"TOK-027", "tokens", "token living longer than max_lifetime", OWASP_AUTHN, 613, GH_PSEV_LOW,
     GH_PN_SIGN | GH_PN_CONFIG, "401 (400 or 403 also refuse), nothing forwarded", "Keep identity.jwt.*.max_lifetime as short as the IdP allows.",
     lifetime_too_long},
    {"TOK-028", "tokens", "RS256 token under the provider's kid, signed with the attacker's key", OWASP_AUTHN,
     347, GH_PSEV_HIGH, GH_PN_SIGN, "401 (400 or 403 also refuse), nothing forwarded",
     "Allow only the provider's algorithms (identity.jwt.*.algorithms), each bound to its own key.", foreign_rsa},
    {"TOK-029", "tokens", "revoked opaque token (introspection says inactive)", OWASP_AUTHN, 613, GH_PSEV_HIGH,
     GH_PN_UPSTREAM | GH_PN_CONFIG, "401 (400 or 403 also refuse), nothing forwarded",
     "Introspect opaque tokens and keep identity.introspection.*.negative_ttl and cache_ttl short.", revoked_opaque},
    {0},
};
