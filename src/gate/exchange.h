/* The exchange: one request from its head to its log line, and everything the gateway learns
 * and decides about it on the way (the principal, the decisions, the stages' state, the
 * action's). Created by the downstream it arrived on, run by the pipeline (gate/pipeline.c).
 * See docs/architecture.md, "The life of a request". */
#ifndef GH_GATE_EXCHANGE_H
#define GH_GATE_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config-t.h"
#include "core/arena.h"
#include "core/bytes.h"
#include "core/reason.h"
#include "gate/action.h"
#include "gate/downstream.h"
#include "gate/services.h"
#include "gate/snapshot.h"
#include "route/route.h"
#include "wire/h1.h"
#include "wire/trace_context.h"

typedef struct gh_upconn gh_upconn;

/* What the connection a request arrived on says about it, set when the request starts. */
typedef struct gh_peer {
    uint64_t listener;       /* its listener's id: which routes it serves */
    unsigned methods;        /* its listener's GH_M_* methods */
    uint8_t underscores;     /* its listener's headers_with_underscores (gh_underscores) */
    bool h2;                 /* an HTTP/2 stream */
    struct gh_tls_pipe *tls; /* the TLS session carrying it, or NULL */
    uint8_t family;          /* the TCP peer: 4 (IPv4) or 6 (IPv6), 0: unknown */
    uint16_t port;
    unsigned char addr[16];
} gh_peer;

/* The request's place in a trace (gate/trace.c): made when the request starts, continued from
 * the caller's context when tracing.extract allows, sent upstream, logged. A span is built
 * from it and the request's own fields. */
typedef struct gh_trace {
    char trace_id[GH_TRACE_ID_HEX + 1]; /* lowercase hex: the caller's, or new */
    char span_id[GH_SPAN_ID_HEX + 1];   /* the request's own span: always new */
    char parent_id[GH_SPAN_ID_HEX + 1]; /* the caller's span; "" when the trace starts here */
    uint8_t flags;                      /* W3C trace-flags (bit 0 sampled): the caller's, or 01 */
    const char *tracestate; /* the caller's, its lines joined, when it passed; else NULL */
    size_t tracestate_len;
} gh_trace;

/* A child span of the request's server span (gate/span.h): an upstream try, or a wait for
 * keys, an introspection, a policy or the rate-limit store. A few numbers in the arena. */
typedef struct gh_child_span {
    uint8_t kind;            /* gh_span_kind */
    bool open;               /* begun, not yet ended */
    int16_t code;            /* the upstream's status; 0: none */
    uint64_t id;             /* the span id */
    uint64_t start_us, end_us;
    const char *detail;      /* what it waited on or tried (an endpoint, a provider) */
    const char *error;       /* why it failed; NULL: it did not */
} gh_child_span;

/* The request's child spans; made only when tracing.exporter is configured. */
typedef struct gh_spans {
    bool on;                 /* spans are made for this request */
    uint8_t n, cap;
    int8_t attempt;          /* the upstream try in progress (an index), -1: none */
    gh_child_span *list;     /* in the arena */
} gh_spans;

typedef struct gh_request {
    gh_arena arena;
    gh_services *svc;              /* the worker's, which it runs on */
    const gh_downstream_ops *ds;   /* the connection or stream it arrived on */
    void *downstream;              /* ...the connection or stream itself, for its ops' use */
    gh_peer peer;
    gh_config *config; /* the snapshot this request runs on (= snap->config) */
    gh_worker_snapshot *snap;
    gh_h1_request h1;
    gh_route_match match;
    char *path; /* canonical */
    size_t path_len;
    char *upstream_path; /* the route's rewrite of path (route/rewrite.h); NULL: path itself */
    size_t upstream_path_len;
    const char *query; /* "?..." as sent, or NULL */
    size_t query_len;
    char id[65]; /* generated (32 hex digits) or kept from a trusted proxy (up to 64) */
    uint8_t id_len;
    char client_ip[48];
    bool trusted_peer;
    gh_trace trace;
    gh_spans spans;
    uint64_t start_us;
    uint8_t stage_at;                    /* the stage that returned GH_WAIT */
    uint8_t refused_by;                  /* 1 + the stage that refused it; 0: no stage did */
    bool in_stage; /* a stage runs on it: a refusal is recorded, answered once the stage returns */
    bool stage_waits;                    /* the stage at stage_at returned GH_WAIT */
    void *stage_ctx[GH_MAX_STAGES];      /* each stage's own state (gh_stage_context) */
    /* identity (stages auth_jwt, auth_introspect, auth_api_key) */
    bool auth_ok, auth_failed;
    const char *auth_reason; /* precise, for the log: "expired", "signature", ... */
    const char *auth_sub, *auth_iss, *auth_client_id, *auth_kid;
    char **claim_values; /* per route forward.claims entry; NULL when the claim is absent */
    const char *claims;  /* the verified claims, flattened (identity/claims.h), in the arena */
    size_t claims_len;
    uint8_t authz;              /* GH_AUTHZ_*: what the route's authorization rules decided */
    const char *authz_reason;   /* why they refused (or would have, in shadow mode) */
    const char *extra_headers;  /* complete header lines every response to it carries (at most
                                 * GH_EXTRA_FIELDS_MAX) */
    const char *api_client; /* client_id of the API key presented (stage auth_api_key) */
    const gh_h1_header *cors_origin; /* its Origin, when the route's cors allows it */
    /* request body */
    uint64_t body_left;
    gh_chunked chunked;
    bool body_done;
    bool collect_body; /* read the body whole before the stage that asked goes on */
    bool body_buffered; /* read before the upstream (body.buffer_before_upstream) once */
    uint64_t collect_max; /* collected this far, the rest streams (on_body runs then too) */
    void (*on_body)(gh_request *req); /* that stage's continuation, once the body is in */
    /* pace (loop time, ms): when the body began and last moved, the current rate window */
    uint64_t body_start_ms, body_last_ms, window_start_ms, window_bytes;
    bool window_blocked; /* the gateway, not the client, held the body up in this window */
    gh_bytes body;     /* the body read whole, forwarded from here */
    const char *problem_extra; /* more members for the refusal's problem document */
    uint64_t bytes_in;
    /* the route's action: the proxy, or a direct response */
    const gh_action_ops *action;
    gh_upconn *up;
    const gh_upstream_conf *upstream;
    const gh_endpoint_conf *endpoint;
    uint64_t tried;     /* the endpoints (bit i: endpoints[i]) this request was sent to */
    uint8_t attempts;   /* tries so far, this one included */
    bool slot_held;
    gh_endpoint_state *endpoint_held; /* the endpoint whose in-flight count the try holds */
    bool up_ready; /* connected and head sent: body bytes may flow */
    int up_status;
    uint64_t up_start_us, up_us;
    /* a WebSocket session (gate/websocket.c judges the handshake, the proxy's tunnel runs it) */
    struct {
        bool upgrade;   /* the handshake passed and holds one of the route's sessions */
        bool open;      /* the upstream accepted: frames flow */
        char accept[29]; /* the Sec-WebSocket-Accept the upstream must answer */
        uint16_t close_code; /* the first close frame's, or the gateway's own; 0: none */
        const char *closed_by; /* "client", "upstream" or "gateway" */
        const char *error;     /* the rule a frame broke, when the gateway closed for it */
        uint64_t frames_in, frames_out; /* from the client, from the upstream */
        uint64_t bytes_in, bytes_out;   /* frame bytes, heads included */
    } ws;
    /* response */
    int status;
    bool resp_started, resp_done, close_after;
    uint64_t bytes_out;
    gh_reason reason;
    const char *detail;
    int refusal_status; /* the refusal's status when not its reason's (an injected fault names
                         * its own); 0: the reason's */
} gh_request;

/* Header lines a stage may add to every response (rate-limit fields). */
#define GH_EXTRA_FIELDS_MAX 8

#endif
