/* Facts for the audit: what a stage does for a route, said in general terms (what kind of control
 * it is, what it uses by name, what it requires, whether it refuses anything), so that the audit
 * can describe and judge every control without knowing any stage's configuration. A stage fills
 * them in its facts hook (gate/stage-t.h); gh_stage_facts_of (gate/stage_facts.h) gathers a
 * route's. Types only. See docs/architecture.md, "Stage ops". */
#ifndef GH_GATE_STAGE_FACTS_T_H
#define GH_GATE_STAGE_FACTS_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config-t.h"
#include "gate/stage-t.h"

typedef struct gh_arena gh_arena;

/* What a control is for. */
typedef enum {
    GH_FACT_REQUEST,      /* a check of what the request carries, before who sent it */
    GH_FACT_AUTHENTICATE, /* who the caller is */
    GH_FACT_AUTHORIZE,    /* what an authenticated caller may do: scopes, claims */
    GH_FACT_POLICY,       /* an external decision */
    GH_FACT_LIMIT,        /* how often, how much */
    GH_FACT_BODY,         /* what the body may be */
    GH_FACT_FAULT,        /* failures or delays injected on purpose (game days) */
} gh_fact_kind;

/* How an authentication knows the caller, in the order the audit names them (the cheapest proof
 * first, as the stages run). */
typedef enum {
    GH_PROOF_NONE,        /* not an authentication */
    GH_PROOF_CERTIFICATE, /* a client certificate the listener verified */
    GH_PROOF_TOKEN,       /* a bearer token */
    GH_PROOF_KEY,         /* a static key the caller presents */
    GH_PROOF_SIGNATURE,   /* a signature over the request, with a secret one sender holds */
    GH_NPROOFS,
} gh_fact_proof;

/* A list of names. */
typedef struct gh_fact_names {
    const char *const *at;
    size_t n;
} gh_fact_names;

typedef struct gh_stage_fact {
    gh_fact_kind kind;
    gh_fact_proof proof; /* GH_FACT_AUTHENTICATE */
    const char *what;    /* the control, as a report names it: "jwt", "client certificate" */
    const char *name;    /* what it uses, by its configuration name (a provider, a key set, a
                          * limit, a policy); NULL when it names none */
    const char *at;      /* the route's key that configures it: "auth.api_key" */
    const char *detail;  /* what it does, as a phrase after the name ("10/s per client_ip");
                          * NULL: nothing more to say */
    gh_fact_names all;    /* names every one of which is required: scopes, headers */
    gh_fact_names any;    /* names one of which is required: scopes, content types */
    gh_fact_names claims; /* claims of the token that must hold a value */
    gh_fact_names bound;  /* path parameters a claim must equal ({path.NAME}): whose objects the
                           * caller may name is tied to the token */
    size_t named;        /* callers it names one by one (certificate identities); 0: any that
                          * the issuer vouches for */
    uint64_t max_bytes;  /* GH_FACT_BODY: the largest body; 0: the global limit */
    bool narrows;        /* only callers it names get in: it authorizes as it authenticates */
    bool validates;      /* GH_FACT_BODY: the content is checked against a schema */
    bool open_object;    /* GH_FACT_BODY: the schema lets a top-level object carry properties it
                          * does not name (no additionalProperties: false) */
    bool shadow;         /* logs and counts what it would refuse, and refuses nothing */
    bool fails_open;     /* lets requests through when what it asks cannot answer */
} gh_stage_fact;

/* A route has room for every stage's facts: one each, and one per rate limit. */
#define GH_MAX_FACTS (GH_MAX_STAGES + GH_MAX_ROUTE_LIMITS)

/* A route's facts, as its stages give them. Strings and lists the hooks make live in arena. */
typedef struct gh_stage_facts {
    gh_arena *arena;
    gh_stage_fact fact[GH_MAX_FACTS];
    size_t n;
    gh_stage_fact spare; /* where a fact past GH_MAX_FACTS goes, unread */
} gh_stage_facts;

#endif
