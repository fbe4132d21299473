/* Facts for the audit (gate/stage_facts-t.h): what a stage's facts hook uses to add its facts,
 * and how a route's are gathered from its stages. */
#ifndef GH_GATE_STAGE_FACTS_H
#define GH_GATE_STAGE_FACTS_H

#include "gate/stage-t.h"
#include "gate/stage_facts-t.h"

struct gh_route_conf;

/* A new fact of kind in f: the control as a report names it (what), and the route's key that
 * configures it (at); the rest zeroed. Never NULL: past GH_MAX_FACTS the fact is written where
 * nobody reads it, so a hook need not check. */
gh_stage_fact *gh_stage_fact_add(gh_stage_facts *f, gh_fact_kind kind, const char *what,
                                 const char *at);

/* A new authentication fact: the caller proves who it is by proof, checked by what (with name,
 * when it uses one the configuration defines), configured under the route's key at. */
gh_stage_fact *gh_stage_fact_proof(gh_stage_facts *f, gh_fact_proof proof, const char *what,
                                   const char *name, const char *at);

/* The facts of every stage route has, in the order they run, into out (reset first); the
 * strings and lists they make go into arena. */
void gh_stage_facts_of(const struct gh_route_conf *route, gh_arena *arena, gh_stage_facts *out);

#endif
