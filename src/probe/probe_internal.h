/* What the probe's own files share beyond probe.h: the clock, the caps, the parsing of answers. */
#ifndef GH_PROBE_INTERNAL_H
#define GH_PROBE_INTERNAL_H

#include <sys/types.h>

#include "probe/probe.h"

/* What a path's {name} becomes (routes.c) and the tenant the probe's tokens are for
 * (tokens.c): "probe-a". The other tenant, in the cases that cross tenants: "probe-b". */
#define GH_PROBE_PARAM_VALUE "probe-a"
#define GH_PROBE_OTHER_VALUE "probe-b"

typedef struct gh_probe_buf {
    char *data;
    size_t len, cap;
} gh_probe_buf;

/* Counts x in p->exchanges once it is over (client.c). */
void gh_probe_count_exchange(gh_probe *p, const gh_probe_exchange *x);
/* CLOCK_MONOTONIC in seconds. */
double gh_probe_now(void);
/* When an exchange that starts now must end: its own wait (caps.exchange_ms), but never past
 * the run's time cap, so that --max-seconds bounds the run whatever the target does. */
double gh_probe_exchange_deadline(const gh_probe *p);
/* NULL when the run may send `bytes` more on a new connection, else which cap stops it. */
const char *gh_probe_over_caps(gh_probe *p, size_t bytes);
/* The parts as one escaped evidence text. */
const char *gh_probe_escape_parts(gh_probe *p, const char *const *parts, const size_t *lens,
                                  size_t n);
/* Parses the HTTP/1.x answers in data[0..len) into x: their count always; their heads and
 * bodies (copied to the arena) when final. at_eof: the connection closed after them (a body
 * without a length ends there). is_head: the first answer is to a HEAD. */
void gh_probe_parse_answers(gh_probe *p, gh_probe_exchange *x, const char *data, size_t len,
                            bool at_eof, bool is_head, bool final);

/* One connection of an exchange (client.c), for the probe's own protocols (h2_burst.c,
 * h2_client.c). */
typedef struct gh_probe_conn {
    int fd;
    int stop_fd;  /* the run's stop signalfd, or -1 */
    bool stopped; /* a stop signal came while waiting on this connection */
    struct ssl_ctx_st *ctx;
    struct ssl_st *ssl;
} gh_probe_conn;
/* Connects to t (TLS as t says, with o's ALPN, SNI and versions) before the deadline. 0, or -1
 * with x->connect_failed or x->tls_error set; x->alpn is what TLS negotiated. */
int gh_probe_conn_open(gh_probe *p, const gh_probe_target *t, const gh_probe_opts *o,
                       double deadline, gh_probe_conn *c, gh_probe_exchange *x);
/* Writes all of buf before the deadline: 0, or -1 when the peer went away or time ran out. */
int gh_probe_conn_write(gh_probe_conn *c, const char *buf, size_t len, double deadline);
/* Reads what is there within ms: the bytes read, 0 at the peer's close, -1 on nothing yet (or
 * an error, *gone set). */
ssize_t gh_probe_conn_read(gh_probe_conn *c, char *buf, size_t cap, int ms, bool *gone);
void gh_probe_conn_close(gh_probe_conn *c);

/* p->routes from the configuration's routes (or the --path list) and p->targets. */
void gh_probe_routes_build(gh_probe *p);

/* The upstream's view of one exchange (view.c): self-test, the heads the recording upstream
 * received in it (also noted as r's evidence); live, the answer's body when the upstream echoed
 * the request it got, which the probe knows by the marker header it sent
 * (gh_probe_echo_line). forwarded: the requests the upstream received (-1 unknown). */
typedef struct gh_probe_view {
    const char *text;
    size_t len;
    int forwarded;
    bool echoed; /* live: read from the upstream's echo */
} gh_probe_view;
/* A fresh marker, and the header line that carries it. In the arena. */
const char *gh_probe_echo_marker(gh_probe *p);
const char *gh_probe_echo_line(gh_probe *p, const char *marker);
/* False when the upstream's view cannot be had (live, and the answer does not echo marker). */
bool gh_probe_view_of(gh_probe *p, gh_probe_result *r, const gh_probe_exchange *x,
                      const char *marker, gh_probe_view *v);
/* Whether the view holds needle, ASCII case folded. */
bool gh_probe_view_has(const gh_probe_view *v, const char *needle);

/* body_sample.c: the schema document a route's body.schema names (a new reference, or NULL);
 * a body that route's schema accepts (a new reference; the schema document in *schema, NULL
 * when the route has none) or NULL when none could be made; whether text passes the route's
 * JSON limits and schema; a property of the sample of kind ("string", "integer"). */
json_t *gh_probe_schema_doc(gh_probe *p, const gh_route_conf *route);
json_t *gh_probe_body_sample(gh_probe *p, const gh_route_conf *route, json_t **schema);
bool gh_probe_schema_accepts(const gh_body_conf *b, const char *text, size_t len);
const char *gh_probe_schema_property(gh_probe *p, const json_t *doc, const json_t *body,
                                     const char *kind);

/* Sends bytes[i] on connection i of n, all opened first and the requests written one right
 * after another (a race), then reads each one's first answer into xs[i]. 0, or -1 when the
 * run's caps stop it (r says so). n at most GH_PROBE_MAX_PARALLEL. */
#define GH_PROBE_MAX_PARALLEL 256
int gh_probe_send_many(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                       const char *const *bytes, const size_t *lens, size_t n,
                       gh_probe_exchange *xs);

/* HTTP/2 (h2_burst.c): n requests of one head (method, path, authority and fields, name and
 * value by turns) as n streams of one connection, all opened before any answer is read.
 * statuses[i]: stream i's status, 0 when it got none (reset, refused, the connection closed).
 * 0, or -1 with r set (skip: the caps or no h2 on the listener; error). */
int gh_probe_h2_burst(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                      const char *method, const char *path, const char *authority,
                      const char *const *fields, size_t nfields, size_t n, int *statuses);

/* Each group's cases (cases_<group>.c), ending with an entry whose id is NULL. */
extern const gh_probe_case gh_probe_cases_tokens[];
extern const gh_probe_case gh_probe_cases_authz[];
extern const gh_probe_case gh_probe_cases_authz_exposed[];
extern const gh_probe_case gh_probe_cases_limits[];
extern const gh_probe_case gh_probe_cases_limits_request[];
extern const gh_probe_case gh_probe_cases_framing[];
extern const gh_probe_case gh_probe_cases_paths[];
extern const gh_probe_case gh_probe_cases_headers[];
extern const gh_probe_case gh_probe_cases_bodies[];
extern const gh_probe_case gh_probe_cases_cors[];
extern const gh_probe_case gh_probe_cases_tls[];
extern const gh_probe_case gh_probe_cases_information[];
extern const gh_probe_case gh_probe_cases_webhooks[];

#endif
