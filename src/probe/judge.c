/* The judgement most cases share: a valid request gets through (else a refusal proves nothing),
 * the attempt is refused with the status a holding gateway gives, and nothing of it reached the
 * upstream. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

const char *gh_probe_auth_lines(gh_probe *p, const gh_probe_route *route)
{
    const char *token = gh_probe_token(p, route);
    const gh_jwt_provider *prov = route->conf ? route->conf->auth_token : NULL;
    const char *auth = "";
    if (token && prov && prov->token_cookie)
        auth = gh_arena_printf(&p->arena, "Cookie: %s=%s\r\n", prov->token_cookie, token);
    else if (token && prov && prov->token_header && strcasecmp(prov->token_header, "Authorization") != 0)
        auth = gh_arena_printf(&p->arena, "%s: %s\r\n", prov->token_header, token);
    else if (token)
        auth = gh_arena_printf(&p->arena, "Authorization: Bearer %s\r\n", token);
    const gh_api_key_provider *ak = route->conf ? route->conf->auth_api_key : NULL;
    if (ak && p->api_keys) {
        size_t i = (size_t)(ak - p->conf->api_key_providers);
        auth = gh_arena_printf(&p->arena, "%s%s: %s\r\n", auth, ak->header ? ak->header : "X-API-Key",
                               p->api_keys[i].key[0]);
    }
    /* A claim rule that reads a header ({header.Name}) holds when the header carries the
     * value gh_probe_claims put in the token. */
    const gh_authz_conf *az = route->conf && route->conf->has_authz ? &route->conf->authz : NULL;
    for (size_t i = 0; token && az && i < az->nclaims; i++) {
        const gh_claim_rule *rule = &az->claims[i];
        if (rule->nvalues && rule->values[0].source == GH_CLAIM_HEADER)
            auth = gh_arena_printf(&p->arena, "%s%s: " GH_PROBE_PARAM_VALUE "\r\n", auth,
                                   rule->values[0].text);
    }
    return auth;
}

const char *gh_probe_valid_request(gh_probe *p, const gh_probe_route *route, const char *extra,
                                   size_t *len)
{
    const char *body = route->safe ? NULL : "{}";
    const char *lines = gh_arena_printf(&p->arena, "%s%s%s", gh_probe_auth_lines(p, route),
                                        body ? "Content-Type: application/json\r\n" : "",
                                        extra ? extra : "");
    return gh_probe_request(p, route->method, route->path, route->host, lines, body, len);
}

bool gh_probe_baseline(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    gh_probe_route *mine = (gh_probe_route *)route; /* the run's own table */
    if (!mine->baseline) {
        size_t len;
        const char *bytes = gh_probe_valid_request(p, route, NULL, &len);
        gh_probe_exchange x;
        if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, &x) != 0)
            return false;
        mine->baseline = x.nresponses ? x.r[0].status : -1;
        if (p->server) {
            gh_probe_upreq *v = NULL;
            gh_probe_upreqs_free(v, gh_probe_upstream_take(p->server, &v));
        }
    }
    if (mine->baseline > 0 && mine->baseline < 400)
        return true;
    if (route->conf)
        gh_probe_aim(p, r, route->conf);
    /* Without a configuration the probe aims where it was told: say how to aim elsewhere. */
    const char *aim = p->conf ? "" : " (aim at a path that answers with --path, or give -c FILE)";
    if (mine->baseline < 0)
        gh_probe_skip(r,
                      "a valid request to %s %s got no answer: the attempt would prove "
                      "nothing%s",
                      route->method, route->path, aim);
    else
        gh_probe_skip(r,
                      "a valid request to %s %s is refused too (%d): the attempt would prove "
                      "nothing%s",
                      route->method, route->path, mine->baseline, aim);
    return false;
}

void gh_probe_expect_refusal(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                             const char *bytes, size_t len, int lo, int hi, const char *what,
                             gh_probe_exchange *out)
{
    gh_probe_exchange local, *x = out ? out : &local;
    if (route->conf)
        gh_probe_aim(p, r, route->conf);
    if (gh_probe_send(p, r, route->target, bytes, len, &(gh_probe_opts){.responses = 1}, x) != 0)
        return;
    gh_probe_note(p, r, x);
    int forwarded = gh_probe_upstream_note(p, r, NULL);
    int status = x->nresponses ? x->r[0].status : 0;
    if (forwarded > 0)
        gh_probe_fail(r, "%s reached the upstream (answered %d)", what, status);
    else if (x->connect_failed)
        gh_probe_error(r, "cannot connect to %s:%d", route->target->host, route->target->port);
    else if (status == 0 && lo >= 400)
        gh_probe_pass(r, "%s was not answered: the connection %s", what,
                      x->closed ? "closed" : "went quiet");
    else if (status < lo || status > hi) {
        char range[24];
        if (lo == hi)
            snprintf(range, sizeof(range), "%d", lo);
        else
            snprintf(range, sizeof(range), "%d-%d", lo, hi);
        gh_probe_fail(r, "%s was answered %d, not %s", what, status, range);
    }
    else
        gh_probe_pass(r, "%s was refused with %d%s", what, status,
                      forwarded == 0 ? ", nothing forwarded" : "");
}
