/* gatehouse probe: attacks a gateway to show, case by case, that its controls hold on the wire.
 *
 * A run has a target (a Gatehouse the probe started itself on loopback, or a live URL), the
 * configuration when one was given (routes, providers, limits: what the cases aim at), and the
 * catalogue of cases (cases.c). Each case sends its bytes through client.c, reads what came
 * back, in self-test also what the recording upstream received (server.c), and gives one
 * verdict with its evidence. report_*.c write the results. Everything a run sends is counted
 * against its caps (budget in gh_probe). */
#ifndef GH_PROBE_PROBE_H
#define GH_PROBE_PROBE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config-t.h"
#include "core/arena.h"

#define GH_PROBE_UA "gatehouse-probe/" GH_VERSION

/* ---- the catalogue ---- */

typedef enum { GH_PSEV_LOW = 1, GH_PSEV_MEDIUM, GH_PSEV_HIGH } gh_probe_severity;
typedef enum { GH_PV_PASS, GH_PV_FAIL, GH_PV_SKIP, GH_PV_ERROR } gh_probe_verdict;

/* What a case needs; a run that cannot give it skips the case and says which. */
enum {
    GH_PN_UPSTREAM = 1 << 0, /* the upstream's view: self-test only */
    GH_PN_SIGN = 1 << 1,     /* tokens signed with the provider's key: self-test, or --signing-key */
    GH_PN_WRITE = 1 << 2,    /* methods other than GET, HEAD, OPTIONS: self-test or --profile full */
    GH_PN_LOAD = 1 << 3,     /* floods, slow clients, many connections: self-test or --profile full */
    GH_PN_CONFIG = 1 << 4,   /* the configuration (-c): the routes and controls it aims at */
    GH_PN_TLS = 1 << 5,      /* a TLS listener */
    GH_PN_KEYS = 1 << 6,     /* secrets the probe holds (HMAC, API keys, client certificates): self-test */
    GH_PN_TOKEN = 1 << 7,    /* a valid token: self-test, --signing-key or --token */
};

typedef struct gh_probe gh_probe;
typedef struct gh_probe_result gh_probe_result;

typedef struct gh_probe_case {
    const char *id;    /* "TOK-001": the group's prefix and a number, never reused */
    const char *group; /* "tokens", "authorization", "limits", "framing", "paths", "headers",
                        * "bodies", "cors", "tls", "information", "webhooks" */
    const char *title; /* one line: what is attempted */
    const char *owasp; /* "API2:2023" */
    int cwe;           /* 347 */
    gh_probe_severity severity;
    unsigned needs;     /* GH_PN_* */
    const char *expect; /* what a gateway that holds does ("401, nothing forwarded") */
    const char *fix;    /* what to change when it fails */
    /* Runs the case: sets r's verdict with gh_probe_pass/fail/skip/error and its evidence.
     * Called only when the run meets `needs`. */
    void (*run)(gh_probe *p, gh_probe_result *r);
} gh_probe_case;

/* Each group's cases (cases_<group>.c), ending with an entry whose id is NULL; cases.c lists
 * the groups' tables in report order. */
size_t gh_probe_ncases(void);
const gh_probe_case *gh_probe_case_at(size_t i); /* i < gh_probe_ncases() */
const gh_probe_case *gh_probe_case_find(const char *id);
const char *gh_probe_group_title(const char *group); /* "Tokens" */
/* The groups in report order, NULL-terminated. */
extern const char *const gh_probe_groups[];

/* ---- results ---- */

#define GH_PROBE_EVIDENCE_MAX 4096 /* bytes kept of what was sent, answered, forwarded */

struct gh_probe_result {
    const gh_probe_case *c;
    gh_arena *arena; /* where its texts live: the run's */
    gh_probe_verdict verdict;
    const char *why;      /* skip or error: why; fail: the one-line finding; pass: what held */
    const char *sent;     /* the decisive exchange: bytes sent, escaped (gh_probe_escape) */
    const char *observed; /* its answer: status line and head, escaped, cut at the max */
    const char *upstream; /* self-test: what the upstream received in the case, or "nothing" */
    const char *route;    /* the route aimed at (its name), or NULL */
    int line, col;        /* where that route is in the configuration, 0 when none */
    double seconds;
};

/* Verdicts, each with a printf reason (kept in the run's arena). */
void gh_probe_pass(gh_probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gh_probe_fail(gh_probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gh_probe_skip(gh_probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gh_probe_error(gh_probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The route a case aimed at: name and configuration position in the result. */
void gh_probe_aim(gh_probe *p, gh_probe_result *r, const gh_route_conf *route);

/* ---- the targets: where requests go ---- */

typedef struct gh_probe_target {
    char host[256];      /* connect to: an address literal or a name */
    int port;
    bool tls;
    const char *sni;     /* TLS server name (NULL: none sent) */
    const char *authority; /* the Host header the target expects by default */
    const gh_listener_conf *listener; /* with a configuration: the listener it is; else NULL */
    const char *cert_file, *key_file; /* the client certificate it asks for (self-test), or NULL */
} gh_probe_target;

/* What a case knows about one route: a concrete request that matches it. */
typedef struct gh_probe_route {
    const gh_route_conf *conf;
    const gh_probe_target *target; /* a listener that serves it */
    const gh_probe_target *tls_target; /* a TLS listener that serves it, or NULL */
    const char *path;              /* a path the route matches ({name}s filled: "probe-a") */
    const char *host;              /* the Host to send (the route's, or the target's) */
    const char *method;            /* one it allows, GET first */
    bool proxied;                  /* goes to an upstream (not respond:) */
    bool safe;                     /* method is GET, HEAD or OPTIONS */
    int baseline;                  /* the status a valid request got (gh_probe_baseline), 0: not tried */
    const char *body_method;       /* the first of POST, PUT, PATCH it allows, or NULL */
} gh_probe_route;

/* ---- one exchange on the wire (client.c) ---- */

#define GH_PROBE_MAX_RESPONSES 4

typedef struct gh_probe_response {
    int status;         /* 0: no complete response */
    const char *head;   /* the status line and fields, as received (NUL-terminated) */
    size_t head_len;
    const char *body;   /* de-chunked */
    size_t body_len;
} gh_probe_response;

typedef struct gh_probe_exchange {
    gh_probe_response r[GH_PROBE_MAX_RESPONSES]; /* in the order they came */
    int nresponses;
    int before_last;  /* answers complete before the last part was sent (several parts) */
    bool closed;      /* the gateway closed the connection (EOF or reset) */
    bool timed_out;   /* the wait ended before the connection closed or went quiet */
    bool connect_failed;
    const char *tls_error; /* the handshake failed: why (OpenSSL's words) */
    const char *alpn;      /* negotiated protocol, or NULL */
    const char *tls_version; /* negotiated ("TLSv1.3"), or NULL */
    bool cert_seen;        /* the server's certificate, once the handshake passed: */
    bool cert_covers;      /* ...it covers the name asked for (SNI, else the target's host) */
    int cert_days_left;    /* ...days until it expires (negative: expired) */
    const char *sent;      /* what was sent, escaped, for evidence */
    bool cut;              /* more came back than the probe keeps */
} gh_probe_exchange;

/* How one exchange goes. Zero is: TLS as the target says, wait for the answer to the whole of
 * `bytes` and for a following close or a quiet connection, within the run's per-exchange time. */
typedef struct gh_probe_opts {
    const char *const *parts; /* sent one after another, pausing `pause_ms` between (NULL: just bytes) */
    const size_t *part_lens;
    size_t nparts;
    unsigned pause_ms;
    bool is_head;          /* the first request is HEAD: its response has no body */
    const char *alpn;      /* TLS: the protocols offered ("http/1.1" by default) */
    const char *sni;       /* TLS: overrides the target's */
    int tls_min, tls_max;  /* TLS: protocol versions offered (TLS1_x_VERSION), 0: library default */
    const char *ciphers;   /* TLS 1.2 cipher list offered */
    const char *cert_file, *key_file; /* TLS: a client certificate (NULL: the target's) */
    bool no_cert;          /* TLS: no client certificate, whatever the target's */
    unsigned wait_ms;      /* how long a quiet connection is waited on after an answer (0: 100 ms) */
    int responses;         /* return as soon as this many answers came (0: wait for quiet or close) */
} gh_probe_opts;

/* Sends bytes (or opts->parts) on a new connection to t and reads what comes back. 0, or -1
 * when the run's caps stop it (r->why says so; the case should return). Counts the
 * connection, the request and the bytes against the caps. */
int gh_probe_send(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *bytes,
                  size_t len, const gh_probe_opts *opts, gh_probe_exchange *x);
/* A request's bytes: "METHOD target HTTP/1.1", Host, the probe's User-Agent, extra (each line
 * ending in CRLF, may be NULL), Content-Length when body is not NULL, the blank line, the body.
 * In the run's arena. */
const char *gh_probe_request(gh_probe *p, const char *method, const char *target,
                             const char *host, const char *extra, const char *body, size_t *len);
/* A field's value in a response head (first occurrence, case-insensitive), NUL-terminated in
 * the arena, or NULL. */
const char *gh_probe_field(gh_probe *p, const gh_probe_response *res, const char *name);
/* The exchange's first answer as evidence: sent and observed into r. */
void gh_probe_note(gh_probe *p, gh_probe_result *r, const gh_probe_exchange *x);
/* Bytes as printable text: CR, LF, tab as \r \n \t, other control or non-ASCII bytes as \xHH,
 * cut at GH_PROBE_EVIDENCE_MAX with "...(N more bytes)". In the arena. */
const char *gh_probe_escape(gh_probe *p, const char *bytes, size_t len);

/* ---- what most cases judge (judge.c) ---- */

/* The header lines (each ending in CRLF, "" when none) that authenticate a request to route:
 * its token where the provider takes it, its API key. In the arena. */
const char *gh_probe_auth_lines(gh_probe *p, const gh_probe_route *route);
/* A valid request for route (with its token when it takes one, extra header lines added): its
 * bytes in the arena. */
const char *gh_probe_valid_request(gh_probe *p, const gh_probe_route *route, const char *extra,
                                   size_t *len);
/* Whether a valid request for route gets through (a status below 400; once per route, then
 * remembered). When it does not, r is skipped with why: a refusal proves nothing when the
 * valid request is refused too. */
bool gh_probe_baseline(gh_probe *p, gh_probe_result *r, const gh_probe_route *route);
/* Sends bytes to route's target and judges: pass when the answer's status is within [lo, hi]
 * and (self-test) the upstream received nothing; fail otherwise, saying which. The exchange is
 * noted as evidence and returned in x (may be NULL). what: the attempt, for the verdict's
 * words ("a token signed with alg none"). */
void gh_probe_expect_refusal(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                             const char *bytes, size_t len, int lo, int hi, const char *what,
                             gh_probe_exchange *x);

/* ---- tokens (tokens.c) ---- */

/* A payload a route's checks accept: iss, aud, sub "probe-a", iat, nbf, exp (now + 5 min),
 * the scopes the route requires and claims its rules want (a {path.x} rule: the value the
 * route's probe path uses). A new reference; NULL when the route takes no token. */
json_t *gh_probe_claims(gh_probe *p, const gh_probe_route *route);
/* header and payload (JSON text, as given) signed with the probe's key for provider (in
 * self-test, the key the gateway was given; live, --signing-key), with alg (0: the key's). The
 * compact token in the arena, or NULL when the probe holds no key for it. */
const char *gh_probe_sign(gh_probe *p, const gh_jwt_provider *provider, unsigned alg,
                          const char *header, const char *payload);
/* A token the route accepts: gh_probe_claims signed with the provider's key and kid (an opaque
 * token the probe's introspection answers for, for an introspection provider); in live mode
 * without --signing-key, --token. NULL when there is none. */
const char *gh_probe_token(gh_probe *p, const gh_probe_route *route);
/* The JOSE header the probe's key for provider signs with: alg (0: the key's), typ, its kid. */
const char *gh_probe_header(gh_probe *p, const gh_jwt_provider *provider, unsigned alg);
/* claims (not taken) signed under gh_probe_header(p, provider, 0). */
const char *gh_probe_sign_claims(gh_probe *p, const gh_jwt_provider *provider, json_t *claims);
typedef struct gh_probe_key gh_probe_key;
/* The key the probe holds for provider, or NULL. */
const gh_probe_key *gh_probe_key_of(const gh_probe *p, const gh_jwt_provider *provider);

/* ---- what the probe holds in self-test (selftest.c, keys.c, server.c) ---- */

struct gh_probe_key {
    const gh_jwt_provider *provider; /* of the configuration the probe loaded (NULL: any, live) */
    unsigned alg;                    /* what it signs with */
    EVP_PKEY *key;                   /* NULL for HMAC */
    unsigned char secret[64];        /* HMAC */
    size_t secret_len;
    char kid[64];
};

/* One request the recording upstream received, as received. */
typedef struct gh_probe_upreq {
    char *head; /* request line and fields, raw, the blank line included; NUL-terminated */
    size_t head_len;
    char *body; /* de-chunked, the first 1 MiB; NUL-terminated, never NULL */
    size_t body_len;
    int port;   /* which of the probe's upstream ports it came to */
    uint64_t body_total; /* body bytes received; more than body_len when the body was cut */
    bool body_cut;       /* the body was longer than what is kept */
    bool complete;       /* its end arrived; false: the connection ended within the body, or
                          * its framing (Content-Length, chunks) was invalid */
} gh_probe_upreq;

/* The probe's servers on loopback: the recording upstream every endpoint becomes, and the
 * identity provider's side (key sets, introspection, policy answers, bait URLs that record
 * who fetches them). One thread; what it records is read under its mutex. */
typedef struct gh_probe_server gh_probe_server;
typedef enum {
    GH_PROBE_UPSTREAM, /* any request: recorded, answered 200 with a small JSON body */
    GH_PROBE_IDP,      /* GET /jwks/<provider>: the key set of p->keys for that provider;
                        * POST /introspect/<provider>: RFC 7662 answers for gh_probe_opaque_add;
                        * POST /policy/<name>: {"result": true};
                        * anything else (/bait/...): counted as a bait fetch, answered 404 */
} gh_probe_role;
/* Listens on 127.0.0.1, one port per role, and serves on its own thread. NULL on failure. */
gh_probe_server *gh_probe_server_start(gh_probe *p);
void gh_probe_server_stop(gh_probe_server *s);
int gh_probe_server_port(const gh_probe_server *s, gh_probe_role role);
/* The requests the upstream received since the last take, moved to the caller (free with
 * gh_probe_upreqs_free). */
size_t gh_probe_upstream_take(gh_probe_server *s, gh_probe_upreq **out);
void gh_probe_upreqs_free(gh_probe_upreq *v, size_t n);
/* Fetches of the bait URLs (jku, x5u, and the like) and of each provider's key set so far. */
size_t gh_probe_bait_fetches(gh_probe_server *s);
size_t gh_probe_jwks_fetches(gh_probe_server *s, const char *provider);
/* Introspection: tokens the server answers active (with these claims) or not. claims is taken
 * (a reference the caller hands over; NULL: none). */
void gh_probe_opaque_add(gh_probe_server *s, const char *token, json_t *claims, bool active);

/* What the upstream received in this case, as evidence (r->upstream) and as a count. In
 * self-test only; -1 live. */
int gh_probe_upstream_note(gh_probe *p, gh_probe_result *r, gh_probe_upreq **out);

/* ---- the run ---- */

typedef enum { GH_PROFILE_SAFE, GH_PROFILE_FULL } gh_probe_profile;

typedef struct gh_probe_caps {
    uint64_t requests, connections, bytes; /* at most, in total */
    uint64_t seconds;                      /* the whole run */
    uint64_t exchange_ms;                  /* one exchange's wait */
} gh_probe_caps;

struct gh_probe {
    gh_arena arena;
    const char *config_file; /* -c, or NULL */
    gh_config *conf;         /* loaded from it (NULL without -c) */
    struct gh_locator *loc;  /* where its keys are written (results name the route's line) */
    bool selftest;           /* the probe started the gateway itself */
    gh_probe_profile profile;
    gh_probe_caps caps;
    struct { uint64_t requests, connections, bytes; double started; } used;
    /* Exchanges made, and those the target met with silence (no answer, no close, no reset
     * before the wait ended): a case whose every exchange went silent observed nothing. */
    struct { uint64_t made, silent; } exchanges;
    /* Self-test: SIGINT, SIGTERM and SIGHUP are blocked and read from this signalfd (valid when
     * stop_armed), so that a stopped probe still stops its gateway and removes its temp dir;
     * stopped once one came. */
    int stop_fd;
    bool stop_armed, stopped;
    /* Targets: the configuration's listeners (self-test: where the probe bound them), or the
     * live URL's one. */
    gh_probe_target *targets;
    size_t ntargets;
    gh_probe_target *admin; /* the admin listener, when the probe knows it */
    gh_probe_route *routes;
    size_t nroutes;
    /* Self-test: the keys the gateway was given, the servers, the gateway's access log. */
    gh_probe_key *keys;
    size_t nkeys;
    gh_probe_server *server;
    const char *access_log;  /* the file the gateway logs to, or NULL */
    const char *ca_file;     /* the CA of the listeners' certificates the probe made */
    const char *client_cert, *client_key;          /* a client certificate the listeners trust */
    const char *client_wrong_cert, *client_wrong_key; /* one from another CA */
    const char *client_expired_cert, *client_expired_key;
    const char *client_revoked_cert, *client_revoked_key;
    /* Per provider of the configuration (same index): two API keys the gateway knows, for the
     * clients "probe-a" and "probe-b"; the HMAC secret the gateway was given. */
    struct gh_probe_api_keys { const char *key[2]; } *api_keys;
    const char **hmac_secrets;
    const char *admin_token; /* the admin listener's token, when there is one */
    const char *gateway_exe; /* the binary self-test starts ("run -c FILE"); NULL: this one */
    struct gh_probe_selftest *selftest_run; /* what gh_probe_selftest_stop undoes (selftest.c) */
    /* Live mode: what the operator gave. */
    const char *token, *token_other; /* --token, --token-other-tenant */
    const char *const *paths;        /* --path, when no configuration names any */
    size_t npaths;
    /* Output. */
    bool quiet, progress;
};

/* The route of p->routes for conf, or NULL. The first route (in configuration order) that
 * satisfies want, or NULL: the case then skips and says what it looked for. */
const gh_probe_route *gh_probe_route_of(gh_probe *p, const gh_route_conf *conf);
/* route sent with its body method (route->body_method, not NULL): the run's copy, in the arena. */
const gh_probe_route *gh_probe_route_writing(gh_probe *p, const gh_probe_route *route);
const gh_probe_route *gh_probe_find_route(gh_probe *p,
                                          bool (*want)(gh_probe *p, const gh_probe_route *r));

/* Self-test: a configuration rewritten so that the probe stands in for everything outside
 * (selftest.c): listeners on sockets the probe bound on loopback, upstreams its recording
 * server, identity providers its keys, secrets its own; then the gateway started on it and
 * awaited. 0, or -1 after saying why on stderr. */
int gh_probe_selftest_start(gh_probe *p);
void gh_probe_selftest_stop(gh_probe *p);

/* ---- reports (report_*.c) ---- */

typedef struct gh_probe_summary {
    size_t pass, fail, skip, error;
    size_t fail_high, fail_medium, fail_low; /* failures by their case's severity */
    double seconds; /* the run's duration: gh_probe_summarize puts the cases' sum, the runner
                     * the wall time from p->used.started to the end */
} gh_probe_summary;

/* The counts of results[0..n) (report_common.c). */
void gh_probe_summarize(const gh_probe_result *results, size_t n, gh_probe_summary *sum);

typedef void (*gh_probe_render_fn)(FILE *out, const gh_probe *p, const gh_probe_result *results,
                                   size_t n, const gh_probe_summary *sum);
void gh_probe_render_text(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                          const gh_probe_summary *sum);
void gh_probe_render_json(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                          const gh_probe_summary *sum);
void gh_probe_render_sarif(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                           const gh_probe_summary *sum);
void gh_probe_render_junit(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                           const gh_probe_summary *sum);
void gh_probe_render_markdown(FILE *out, const gh_probe *p, const gh_probe_result *results,
                              size_t n, const gh_probe_summary *sum);
const char *gh_probe_verdict_name(gh_probe_verdict v);   /* "pass" */
const char *gh_probe_severity_name(gh_probe_severity s); /* "high" */

/* argv[0] is "probe". The exit status: 0 nothing at or above --fail-on failed, 1 something
 * did, 2 the probe could not run (configuration, target, gateway start). */
int gh_probe_main(int argc, char **argv);

#endif
