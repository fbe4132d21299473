/* Facts for the audit: the few helpers a stage's facts hook needs, and a route's facts gathered
 * from its stages. The audit reads nothing else of a stage. */
#include "config/config.h"
#include "gate/stage_facts.h"

gh_stage_fact *gh_stage_fact_add(gh_stage_facts *f, gh_fact_kind kind, const char *what,
                                 const char *at)
{
    gh_stage_fact *slot = f->n < GH_MAX_FACTS ? &f->fact[f->n++] : &f->spare;
    *slot = (gh_stage_fact){.kind = kind, .what = what, .at = at};
    return slot;
}

gh_stage_fact *gh_stage_fact_proof(gh_stage_facts *f, gh_fact_proof proof, const char *what,
                                   const char *name, const char *at)
{
    gh_stage_fact *fact = gh_stage_fact_add(f, GH_FACT_AUTHENTICATE, what, at);
    fact->proof = proof;
    fact->name = name;
    return fact;
}

void gh_stage_facts_of(const gh_route_conf *route, gh_arena *arena, gh_stage_facts *out)
{
    out->arena = arena;
    out->n = 0;
    for (size_t i = 0; i < route->nstages; i++) {
        const gh_stage_ref *s = &route->stages[i];
        if (s->stage->facts)
            s->stage->facts(out, s->conf);
    }
}
