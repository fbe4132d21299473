/* What the framing cases share (cases_framing*.c, framing_judge.c): the route they aim at, the
 * smuggled request they hide in bodies, and the judgement of an attack followed by a harmless
 * request on the same connection. */
#ifndef GH_PROBE_FRAMING_H
#define GH_PROBE_FRAMING_H

#include "probe/probe_internal.h"

/* The request hidden in every attack's bytes: a gateway and upstream that agree on the framing
 * never answer it, and the upstream must never receive it. */
#define GH_FRM_SMUGGLED_PATH "/gatehouse-probe-smuggled"

/* The proxied route a framing case aims at (GET, so that live --profile safe may send it), its
 * valid request shown to get through; NULL with r skipped. */
const gh_probe_route *gh_frm_aim(gh_probe *p, gh_probe_result *r);
/* Whether route takes GET to an upstream (and may be sent in this run). */
bool gh_frm_route_fits(gh_probe *p, const gh_probe_route *route);
/* The method that carries an attack's body: GET when the gateway takes a GET with a valid body
 * (by Content-Length and chunked), else POST when the run may send it (self-test, --profile
 * full) and the route takes it with a valid body; NULL with r skipped. A gateway that refuses
 * every GET with a body would refuse the attack for that alone, which proves nothing. */
const char *gh_frm_body_method(gh_probe *p, gh_probe_result *r, const gh_probe_route *route);
/* The valid request's fields (Host, User-Agent, credentials), each line ending in CRLF, without
 * the request line and the blank line. */
const char *gh_frm_fields(gh_probe *p, const gh_probe_route *route);
/* The smuggled request (GH_FRM_SMUGGLED_PATH, Host, User-Agent, extra lines), whole. */
const char *gh_frm_smuggled(gh_probe *p, const gh_probe_route *route, const char *extra);

/* Sends attack, then (after a pause, on the same connection) follow (NULL: the route's valid
 * request), and judges: a refusal closes the connection and leaves the follow-up unanswered; an
 * acceptance answers the attack and the follow-up, one answer each, nothing more; the upstream
 * (self-test) receives nothing smuggled and no malformed head. Sets r's verdict; what names the
 * attempt in it. follow_refused: the follow-up lacks credentials the route requires, so an
 * answer below 400 to it means it went past the gateway's checks. */
void gh_frm_judge(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const char *attack,
                  size_t len, const char *follow, bool follow_refused, const char *what);
/* bytes escaped on one line (a verdict's words), without a final line end. */
const char *gh_frm_show(gh_probe *p, const char *bytes, size_t len);
/* As gh_frm_judge, for an attack whose framing makes the follow-up part of it (trailers that
 * never end): one answer at most, refused or not; two mean the gateway read the follow-up as a
 * request of its own where the framing said otherwise. */
void gh_frm_judge_swallowed(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                            const char *attack, size_t len, const char *what);
/* Self-test: the first bad head the upstream received in this case (the smuggled request, both
 * framings, an upgrade passed on, a malformed line), evidence noted, or NULL; *count the
 * requests it received (-1 live). */
const char *gh_frm_upstream_fault(gh_probe *p, gh_probe_result *r, int *count);
/* Whether a case that tries variants goes on to the next one. */
bool gh_frm_more(const gh_probe_result *r);

/* The HTTP/2 cases (cases_framing_h2.c). */
void gh_frm_h2_crlf_value(gh_probe *p, gh_probe_result *r);
void gh_frm_h2_uppercase_name(gh_probe *p, gh_probe_result *r);
void gh_frm_h2_te(gh_probe *p, gh_probe_result *r);
void gh_frm_h2_transfer_encoding(gh_probe *p, gh_probe_result *r);
void gh_frm_h2_content_length(gh_probe *p, gh_probe_result *r);
void gh_frm_h2_path_spaces(gh_probe *p, gh_probe_result *r);

/* ---- an HTTP/2 exchange (h2_client.c) ---- */

typedef struct gh_probe_h2_field {
    const char *name, *value; /* sent as they are: any case, any bytes */
    size_t name_len, value_len;
} gh_probe_h2_field;

typedef struct gh_probe_h2_request {
    const gh_probe_h2_field *fields; /* pseudo-fields first */
    size_t nfields;
    const char *data; /* DATA sent after HEADERS (NULL: none, END_STREAM on HEADERS) */
    size_t data_len;
} gh_probe_h2_request;

typedef struct gh_probe_h2_answer {
    bool spoke_h2;       /* the server's SETTINGS came: it speaks HTTP/2 on this target */
    int status;          /* the stream's :status, 0 when none came */
    bool reset;          /* the stream was reset (RST_STREAM) */
    uint32_t reset_code;
    bool goaway;         /* the connection was ended (GOAWAY) */
    uint32_t goaway_code;
    const char *head;    /* the response's fields as text, for evidence */
} gh_probe_h2_answer;

/* One request on a new HTTP/2 connection to t: TLS with ALPN h2 when t is TLS, else the
 * prior-knowledge preface (h2c). Waits for the stream's end, a reset or GOAWAY within the run's
 * exchange time. 0, or -1 when the caps stop it (r skipped). x gets what was sent (escaped) and
 * the connection's failures. */
int gh_probe_h2_send(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                     const gh_probe_h2_request *req, gh_probe_exchange *x, gh_probe_h2_answer *a);

#endif
