/* The stage interface: what a control (stages/<name>.c) gives the pipeline. Types only, so that
 * a route's configuration can hold its stages without depending on them. See
 * docs/architecture.md, "Stage ops". */
#ifndef GH_GATE_STAGE_T_H
#define GH_GATE_STAGE_T_H

#include <stdbool.h>
#include <stddef.h>

#include "core/reason.h"

typedef struct gh_request gh_request;
typedef struct gh_log_line gh_log_line;
typedef struct gh_sbuf gh_sbuf;
struct gh_route_conf;
struct gh_route_keys;
typedef struct gh_stage_facts gh_stage_facts;

/* A stage never answers the request it runs on: answering frees the request, and the stage (or
 * the wait that called it) would go on reading freed memory. It returns a verdict, and the
 * pipeline answers once it has returned. */
typedef enum {
    GH_NEXT, /* continue with the next stage */
    GH_DONE, /* refused: the stage recorded why (gh_stage_refuse); the pipeline answers */
    GH_WAIT, /* the stage waits for something (keys, a call, the body); it calls gh_request_resume */
} gh_verdict;

/* When a stage runs, relative to the others: a route's stages run in this order whatever the
 * order of its configuration keys. Cheap checks of who is asking come first, the body last. */
typedef enum {
    GH_PHASE_REQUEST,     /* what the request carries, before who sent it */
    GH_PHASE_CERTIFICATE, /* the connection's client certificate */
    GH_PHASE_TOKEN,       /* a bearer token */
    GH_PHASE_SIGNATURE,   /* a signature over the body */
    GH_PHASE_KEY,         /* an API key */
    GH_PHASE_AUTHORIZE,   /* scopes and claims */
    GH_PHASE_POLICY,      /* an external decision */
    GH_PHASE_LIMIT,       /* rate limits and quotas */
    GH_PHASE_BODY,        /* the body's size, type and schema */
    GH_PHASE_FAULT,       /* faults injected for testing, once every control has passed */
} gh_stage_phase;

typedef struct gh_stage {
    const char *name; /* the stage, named where one must be told from another (tests, diagnostics) */
    gh_stage_phase phase;
    /* The stage's own key in a route (config/keyword-t.h): its mapping is read with the stage's
     * keyword table into memory the route keeps (gh_route_ext). NULL for the stages whose
     * settings the configuration's own sections read (auth, rate_limit, body). */
    const struct gh_route_keys *keys;
    /* Whether a route uses the stage: what run gets as conf for that route (read from the
     * route's configuration), or NULL when the route does not use it. */
    const void *(*bind)(const struct gh_route_conf *route);
    /* The bytes of the stage's own state for one request (gh_stage_context): zeroed, given at
     * first use, freed with the request. 0: none. */
    size_t ctx_size;
    /* Decides on the request; conf is what the route's configuration gave the stage. */
    gh_verdict (*run)(gh_request *req, const void *conf);
    /* The request goes away while the stage waits (the client left, the server stops): undo
     * what the wait holds. ctx is the stage's state for the request (NULL if never used).
     * NULL when its waits hold nothing of their own. */
    void (*abort)(gh_request *req, const void *conf, void *ctx);
    /* Adds the stage's fields to the request's access-log line. NULL: none. */
    void (*log)(gh_log_line *line, const gh_request *req, const void *conf, const void *ctx);
    /* Adds the challenge (WWW-Authenticate, RFC 9110 11.6.1) to a refusal with reason, as
     * header lines; true when it did. own: this stage refused the request (asked first); the
     * route's other stages are asked next, in order, until one answers. NULL: none. */
    bool (*challenge)(gh_sbuf *head, const gh_request *req, gh_reason reason, const void *conf,
                      bool own);
    /* Facts for the audit (gate/stage_facts-t.h): what the stage does for a route, conf being
     * what bind gave for it, added with gh_stage_fact_add. The audit describes and judges the
     * route's controls from these alone, so a new stage shows in its report with no change
     * there. Every stage has one. */
    void (*facts)(gh_stage_facts *out, const void *conf);
} gh_stage;

typedef struct gh_stage_ref {
    const gh_stage *stage;
    const void *conf;
} gh_stage_ref;

#define GH_MAX_STAGES 16

#endif
