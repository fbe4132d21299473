/* The audit's view of a route's controls: the facts its stages give (gate/stage_facts-t.h),
 * gathered once when the audit begins, and the questions every check asks of them. Nothing
 * here knows which stages exist, so a new control is described and judged by what it says it
 * does. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "gate/stage_facts.h"

void gh__audit_gather_facts(gh_audit *a)
{
    a->facts = a->c->nroutes ? calloc(a->c->nroutes, sizeof(*a->facts)) : NULL;
    if (a->c->nroutes && !a->facts) { /* a report that silently lacks controls would lie */
        fprintf(stderr, "gatehouse audit: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < a->c->nroutes; i++)
        gh_stage_facts_of(&a->c->routes[i], &a->arena, &a->facts[i]);
}

const gh_stage_facts *gh__route_facts(const gh_audit *a, const gh_route_conf *r)
{
    return &a->facts[r - a->c->routes];
}

const gh_stage_fact *gh__route_next(const gh_audit *a, const gh_route_conf *r,
                                    const gh_stage_fact *prev, gh_fact_kind kind)
{
    const gh_stage_facts *f = gh__route_facts(a, r);
    for (size_t i = prev ? (size_t)(prev - f->fact) + 1 : 0; i < f->n; i++)
        if (f->fact[i].kind == kind)
            return &f->fact[i];
    return NULL;
}

size_t gh__route_count(const gh_audit *a, const gh_route_conf *r, gh_fact_kind kind)
{
    size_t n = 0;
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, kind));)
        n++;
    return n;
}

const gh_stage_fact *gh__route_proof(const gh_audit *a, const gh_route_conf *r, gh_fact_proof proof)
{
    const gh_stage_fact *f = NULL;
    while ((f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE)) && f->proof != proof)
        ;
    return f;
}

bool gh__route_uses(const gh_audit *a, const gh_route_conf *r, gh_fact_kind kind, const char *name)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, kind));)
        if (f->name && strcmp(f->name, name) == 0)
            return true;
    return false;
}

bool gh__route_authenticates(const gh_audit *a, const gh_route_conf *r)
{
    return gh__route_next(a, r, NULL, GH_FACT_AUTHENTICATE) != NULL;
}

/* Scopes and claims, and the policy, share the route's mode. */
bool gh__route_authz_shadow(const gh_audit *a, const gh_route_conf *r)
{
    static const gh_fact_kind kinds[] = {GH_FACT_AUTHORIZE, GH_FACT_POLICY};
    for (size_t k = 0; k < 2; k++)
        for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, kinds[k]));)
            if (f->shadow)
                return true;
    return false;
}

bool gh__route_authorizes(const gh_audit *a, const gh_route_conf *r)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_AUTHENTICATE));)
        if (f->narrows)
            return true; /* named callers: checked before anything else, never shadowed */
    if (gh__route_authz_shadow(a, r))
        return false; /* shadow mode refuses nothing: scopes, claims and policy alike */
    return gh__route_count(a, r, GH_FACT_AUTHORIZE) || gh__route_count(a, r, GH_FACT_POLICY);
}

bool gh__route_bounds_body(const gh_audit *a, const gh_route_conf *r)
{
    for (const gh_stage_fact *f = NULL; (f = gh__route_next(a, r, f, GH_FACT_BODY));)
        if (f->max_bytes || f->validates)
            return true;
    return false;
}

const char *gh__fact_label(gh_audit *a, const gh_stage_fact *f)
{
    return f->name ? gh__audit_fmt(a, "%s %s", f->what, f->name) : f->what;
}

const char *gh__proof_plural(gh_fact_proof p)
{
    static const char *const plural[GH_NPROOFS] = {"callers", "certificates", "tokens", "keys",
                                                    "signers"};
    return plural[p < GH_NPROOFS ? p : GH_PROOF_NONE];
}

const char *gh__proof_lost(gh_fact_proof p)
{
    static const char *const lost[GH_NPROOFS] = {"its authentication", "its client certificate",
                                                  "its token", "its API key",
                                                  "its webhook signature"};
    return lost[p < GH_NPROOFS ? p : GH_PROOF_NONE];
}
