/* Stage: what an authenticated caller may do on this route. Scopes come from the provider's
 * scope claim (a space-separated string or an array); claim rules compare a claim of the
 * verified token with a value, a path parameter or a header, so a token for tenant A cannot
 * reach /tenants/B. Refusals are 403; in shadow mode they are logged and counted only. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "gate/exchange.h"
#include "identity/claims.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

/* Whether the token grants scope: any value of the scope claim, split on spaces, equals it. */
static bool has_scope(const gh_request *req, const char *scope)
{
    const char *claim = req->match.route->auth_token->scope_claim;
    size_t sl = strlen(scope);
    for (const char *v = gh_claims_next(req->claims, req->claims_len, claim, NULL); v;
         v = gh_claims_next(req->claims, req->claims_len, claim, v)) {
        for (const char *p = v; *p;) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " ");
            if (n == sl && memcmp(p, scope, sl) == 0)
                return true;
            p += n;
        }
    }
    return false;
}

/* What the request carries for a {path.NAME} or {header.NAME} value; NULL when it carries
 * nothing (or a header sent twice: ambiguous, so nothing). */
static const char *request_value(const gh_request *req, const gh_claim_value *v, size_t *len)
{
    if (v->source == GH_CLAIM_LITERAL) {
        *len = strlen(v->text);
        return v->text;
    }
    if (v->source == GH_CLAIM_PATH_PARAM) {
        size_t nl = strlen(v->text);
        for (size_t i = 0; i < req->match.nparams; i++) {
            const gh_route_param *p = &req->match.params[i];
            if (p->name_len == nl && memcmp(p->name, v->text, nl) == 0) {
                *len = p->value_len;
                return p->value;
            }
        }
        return NULL;
    }
    size_t count;
    const gh_h1_header *found =
        gh_h1_find_last(req->h1.headers, req->h1.nheaders, v->text, strlen(v->text), &count);
    if (count > 1)
        return NULL;
    if (found)
        *len = found->value_len;
    return found ? found->value : NULL;
}

/* Whether some value of the rule's claim equals one of the rule's values. */
static bool claim_ok(const gh_request *req, const gh_claim_rule *rule)
{
    for (size_t i = 0; i < rule->nvalues; i++) {
        size_t len = 0;
        const char *want = request_value(req, &rule->values[i], &len);
        if (!want || len == 0)
            continue;
        for (const char *v = gh_claims_next(req->claims, req->claims_len, rule->claim, NULL); v;
             v = gh_claims_next(req->claims, req->claims_len, rule->claim, v))
            if (strlen(v) == len && memcmp(v, want, len) == 0)
                return true;
    }
    return false;
}

/* The first rule the request breaks, as words for the log; NULL when it breaks none. */
static const char *broken_rule(gh_request *req, const gh_authz_conf *a, gh_reason *reason)
{
    char why[160];
    *reason = GH_R_INSUFFICIENT_SCOPE;
    for (size_t i = 0; i < a->nscopes; i++)
        if (!has_scope(req, a->scopes[i])) {
            snprintf(why, sizeof(why), "missing scope %s", a->scopes[i]);
            return gh_arena_strdup(&req->arena, why);
        }
    bool any = a->nscopes_any == 0;
    for (size_t i = 0; !any && i < a->nscopes_any; i++)
        any = has_scope(req, a->scopes_any[i]);
    if (!any)
        return "none of scopes_any";
    *reason = GH_R_CLAIM_MISMATCH;
    for (size_t i = 0; i < a->nclaims; i++)
        if (!claim_ok(req, &a->claims[i])) {
            snprintf(why, sizeof(why), "claim %s", a->claims[i].claim);
            return gh_arena_strdup(&req->arena, why);
        }
    return NULL;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_authz_conf *a = conf;
    gh_reason reason;
    const char *why = broken_rule(req, a, &reason);
    gh_metrics *m = &req->svc->metrics;
    const char *route = req->match.route->name;
    if (!why) {
        req->authz = GH_AUTHZ_ALLOW;
        gh_metrics_authz(m, route, GH_AUTHZ_ALLOW);
        return GH_NEXT;
    }
    req->authz_reason = why;
    if (a->shadow) {
        req->authz = GH_AUTHZ_SHADOW_DENY;
        gh_metrics_authz(m, route, GH_AUTHZ_SHADOW_DENY);
        return GH_NEXT;
    }
    req->authz = GH_AUTHZ_DENY;
    gh_metrics_authz(m, route, GH_AUTHZ_DENY);
    return gh_stage_refuse(req, reason,
                           reason == GH_R_INSUFFICIENT_SCOPE
                               ? "the access token does not carry the scopes this route requires"
                               : "the access token does not allow this request");
}

/* RFC 6750 3.1: insufficient_scope, naming the scopes the route asks for, in the realm of the
 * route's token provider (scopes come from a token: the configuration asks for one). */
static bool challenge(gh_sbuf *head, const gh_request *req, gh_reason reason, const void *conf,
                      bool own)
{
    (void)own;
    const gh_authz_conf *a = conf;
    if (reason != GH_R_INSUFFICIENT_SCOPE || !req->match.route->auth_token)
        return false;
    gh_sbuf_addf(head,
                 "WWW-Authenticate: Bearer realm=\"%s\", error=\"insufficient_scope\", "
                 "error_description=\"The access token lacks a required scope\", scope=\"%s\"\r\n",
                 req->match.route->auth_token->realm, a->scope_text);
    return true;
}

/* Scopes and claims; the configuration refuses them on a route without a token. */
static const void *conf_of(const gh_route_conf *r)
{
    const gh_authz_conf *a = &r->authz;
    return a->nscopes || a->nscopes_any || a->nclaims ? a : NULL;
}

/* The path parameters a claim must equal ({path.NAME}), each named once. */
static gh_fact_names bound_parameters(gh_stage_facts *out, const gh_authz_conf *a)
{
    size_t cap = 0;
    for (size_t i = 0; i < a->nclaims; i++)
        cap += a->claims[i].nvalues;
    const char **names = cap ? gh_arena_alloc(out->arena, cap * sizeof(*names)) : NULL;
    size_t n = 0;
    for (size_t i = 0; names && i < a->nclaims; i++)
        for (size_t v = 0; v < a->claims[i].nvalues; v++) {
            const gh_claim_value *cv = &a->claims[i].values[v];
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(names[k], cv->text) == 0;
            if (cv->source == GH_CLAIM_PATH_PARAM && !seen)
                names[n++] = cv->text;
        }
    return (gh_fact_names){names, n};
}

/* The scopes every caller needs, those of which one will do, the claims that must hold and the
 * path parameters they bind. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_authz_conf *a = conf;
    gh_stage_fact *f = gh_stage_fact_add(out, GH_FACT_AUTHORIZE, "scopes and claims", "auth");
    f->all = (gh_fact_names){a->scopes, a->nscopes};
    f->any = (gh_fact_names){a->scopes_any, a->nscopes_any};
    const char **claims = a->nclaims ? gh_arena_alloc(out->arena, a->nclaims * sizeof(*claims)) : NULL;
    for (size_t i = 0; claims && i < a->nclaims; i++)
        claims[i] = a->claims[i].claim;
    f->claims = (gh_fact_names){claims, claims ? a->nclaims : 0};
    f->bound = bound_parameters(out, a);
    f->shadow = a->shadow;
}

const gh_stage gh_stage_authorize = {
    .name = "authorize",
    .phase = GH_PHASE_AUTHORIZE,
    .bind = conf_of,
    .run = run,
    .abort = NULL,
    .log = gh_log_decision,
    .challenge = challenge,
    .facts = facts,
};
