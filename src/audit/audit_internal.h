/* Internal to src/audit: the model one audit builds from a loaded configuration (findings,
 * entry points, the trust-boundary graph) and the pieces that fill and render it. */
#ifndef GH_AUDIT_INTERNAL_H
#define GH_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/locate.h"
#include "config/config.h"
#include "core/arena.h"
#include "gate/stage_facts-t.h"

typedef enum { GH_SEV_NONE = 0, GH_SEV_LOW, GH_SEV_MEDIUM, GH_SEV_HIGH } gh_severity;

const char *gh__sev_name(gh_severity s); /* "high", "medium", "low" */

/* One check of the catalog (checks.c): what it looks for, why it matters, how to fix it. Ids
 * are stable: a check keeps its id for good, and a retired id is never reused. */
typedef struct gh_audit_check {
    const char *id;   /* "GH-AUTH-001" */
    const char *name; /* "UnauthenticatedRoute": SARIF's rule name */
    gh_severity severity; /* as usually found; some findings on critical routes rank higher */
    const char *title;
    const char *why;
    const char *fix;
    bool at_load; /* the loader refuses it: such a configuration fails with exit 2 */
    const char *owasp; /* the OWASP API Security Top 10 2023 entry it guards: "API2:2023" */
    const char *cwe;   /* the weakness it finds, by its CWE id: "CWE-306" */
} gh_audit_check;

const gh_audit_check *gh__audit_checks(size_t *count);
const gh_audit_check *gh__audit_check(const char *id);

typedef struct gh_finding {
    const gh_audit_check *check;
    gh_severity severity;
    const char *key;     /* where in the file: "routes[2].auth" */
    const char *subject; /* what it is about: "route create-payment" */
    const char *message; /* this instance, in a sentence */
    int line, col;       /* of key, or of its nearest ancestor written in the file */
    const char *accepted; /* the operator's reason, when audit.accept names the check */
} gh_finding;

/* How far a listener (or a route, through the widest listener) can be reached from. */
typedef enum { GH_EXPOSE_LOOPBACK, GH_EXPOSE_PRIVATE, GH_EXPOSE_PUBLIC } gh_exposure;

typedef struct gh_audit {
    const gh_config *c;
    const char *file;  /* as given on the command line */
    const char *dir;   /* the configuration's folder: where relative paths start */
    gh_locator loc;
    gh_arena arena;    /* every string of the report */
    gh_finding *findings;
    size_t nfindings, cap;
    gh_exposure widest; /* of all the listeners */
    gh_stage_facts *facts; /* each route's, as its stages tell them (gh__route_facts) */
} gh_audit;

/* An audit of c, loaded from file (named so in the report); the caller opens a->loc. */
void gh__audit_init(gh_audit *a, const gh_config *c, const char *file);
/* Gathers each route's facts from its stages (facts.c); gh__audit_init calls it. */
void gh__audit_gather_facts(gh_audit *a);
/* Runs every check, ranks the findings, warns about audit.accept ids that name no check. */
void gh__audit_run(gh_audit *a);
void gh__audit_free(gh_audit *a);

/* A string formatted into the audit's arena. */
const char *gh__audit_fmt(gh_audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a finding of check id (its usual severity, or sev when not NONE) at key. route is the
 * route's index for its audit.accept, or -1. */
void gh__audit_find(gh_audit *a, const char *id, gh_severity sev, int route, const char *key,
                    const char *subject, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* The checks, by area. Each adds what it finds. */
void gh__audit_check_routes(gh_audit *a);    /* AUTH, AUTHZ, LIMIT, BODY, ROUTE, CORS, FAULT */
void gh__audit_check_identity(gh_audit *a);  /* IDP, HOOK */
void gh__audit_check_transport(gh_audit *a); /* TLS, UP, NET, SECRET, PATH, HDR, stores, policies */
void gh__audit_check_process(gh_audit *a);   /* PROC: user:, seccomp */
/* ROUTE-001: an earlier route takes requests of a later one with less protection. */
void gh__audit_check_shadowing(gh_audit *a);

gh_exposure gh__audit_exposure(const gh_sockaddr *addr);
const char *gh__exposure_name(gh_exposure e);
bool gh__route_proxies(const gh_route_conf *r);
/* The widest exposure of the listeners that serve r. */
gh_exposure gh__route_exposure(const gh_audit *a, const gh_route_conf *r);

/* What r's controls do, from the facts its stages give (facts.c): the audit reads a control's
 * settings only through these, never its configuration. */
/* The facts of r's stages, in the order they run (gathered by gh__audit_init). */
const gh_stage_facts *gh__route_facts(const gh_audit *a, const gh_route_conf *r);
/* r's next fact of kind after prev (NULL: the first), or NULL. */
const gh_stage_fact *gh__route_next(const gh_audit *a, const gh_route_conf *r,
                                    const gh_stage_fact *prev, gh_fact_kind kind);
size_t gh__route_count(const gh_audit *a, const gh_route_conf *r, gh_fact_kind kind);
/* r's first authentication by proof, or NULL. */
const gh_stage_fact *gh__route_proof(const gh_audit *a, const gh_route_conf *r, gh_fact_proof proof);
/* Whether a fact of kind on r names name (a limit, a policy): which routes use a definition. */
bool gh__route_uses(const gh_audit *a, const gh_route_conf *r, gh_fact_kind kind, const char *name);
bool gh__route_authenticates(const gh_audit *a, const gh_route_conf *r);
/* Scopes, claims, a policy, or named callers (certificate identities, a webhook's one sender):
 * who may call is narrowed. */
bool gh__route_authorizes(const gh_audit *a, const gh_route_conf *r);
/* r's scopes, claims and policy log what they would refuse, and refuse nothing. */
bool gh__route_authz_shadow(const gh_audit *a, const gh_route_conf *r);
/* r's body rules bound the body: a size of its own, or a schema. */
bool gh__route_bounds_body(const gh_audit *a, const gh_route_conf *r);
/* A fact as a report names it: "jwt corp", "client certificate". */
const char *gh__fact_label(gh_audit *a, const gh_stage_fact *f);
/* The callers of a proof, counted where a route names them: "certificates". */
const char *gh__proof_plural(gh_fact_proof p);
/* What a request that skips a proof goes without: "its client certificate". */
const char *gh__proof_lost(gh_fact_proof p);
/* An upstream endpoint off loopback. */
bool gh__endpoint_remote(const gh_endpoint_conf *e);

/* One row of the entry-point table: a route and one of its methods, every cell as text. */
typedef struct gh_entry_point {
    const gh_route_conf *route;
    const char *method;
    const char *listeners, *exposure, *host, *path, *auth, *authz, *policy, *limits, *body,
        *upstream, *tags;
    bool critical;
} gh_entry_point;

gh_entry_point *gh__audit_entry_points(gh_audit *a, size_t *count);
/* The table's columns: their headings, and one row's cells in the same order. */
#define GH_ENTRY_COLUMNS 14
const char *const *gh__entry_headings(void);
void gh__entry_cells(const gh_entry_point *e, const char *cells[GH_ENTRY_COLUMNS]);
/* Text for the cells, shared by the table and the diagram's labels. */
const char *gh__describe_auth(gh_audit *a, const gh_route_conf *r);
const char *gh__describe_limits(gh_audit *a, const gh_route_conf *r);
const char *gh__describe_listener(gh_audit *a, const gh_listener_conf *l);
const char *gh__describe_upstream(gh_audit *a, const gh_upstream_conf *u);
const char *gh__describe_size(gh_audit *a, uint64_t n); /* "64 KiB" */

/* The trust-boundary graph: zones of clients, the listeners, the gateway's routes, and what the
 * gateway talks to; edges labelled with the controls they pass. */
typedef enum { GH_ZONE_INTERNET, GH_ZONE_PARTNER, GH_ZONE_INTERNAL, GH_ZONE_GATEWAY,
               GH_ZONE_BACKENDS, GH_ZONE_SERVICES, GH_NZONES } gh_zone;

typedef struct gh_graph_node {
    const char *id, *label;
    gh_zone zone;
    bool critical;
} gh_graph_node;

typedef struct gh_graph_edge {
    const char *from, *to, *label;
    bool critical, dashed;
} gh_graph_edge;

typedef struct gh_graph {
    gh_graph_node *nodes;
    size_t nnodes;
    gh_graph_edge *edges;
    size_t nedges;
} gh_graph;

void gh__audit_graph(gh_audit *a, gh_graph *g);
const char *gh__zone_label(gh_zone z);

typedef struct gh_audit_counts {
    size_t high, medium, low, accepted;
} gh_audit_counts;
gh_audit_counts gh__audit_counts(const gh_audit *a);

/* The formats. Each writes the whole report to out; -1 on a write error. */
int gh__render_text(gh_audit *a, FILE *out);
int gh__render_markdown(gh_audit *a, FILE *out);
int gh__render_json(gh_audit *a, FILE *out);
int gh__render_sarif(gh_audit *a, FILE *out);
int gh__render_dot(gh_audit *a, FILE *out);
int gh__render_mermaid(gh_audit *a, FILE *out);

#endif
