/* Spans in the OTLP/JSON encoding (OpenTelemetry protocol, ExportTraceServiceRequest): ids as
 * lowercase hex, times as strings of nanoseconds since the epoch, enums as numbers, 64-bit
 * integers as strings. A span is one line of JSON with no newline in it; a batch is the request
 * head, the spans joined with ',', and the tail. Pure functions over plain data. */
#ifndef GH_OBSERVE_OTLP_JSON_H
#define GH_OBSERVE_OTLP_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/json.h"

enum { GH_OTLP_KIND_INTERNAL = 1, GH_OTLP_KIND_SERVER = 2, GH_OTLP_KIND_CLIENT = 3 };
enum { GH_OTLP_STATUS_UNSET = 0, GH_OTLP_STATUS_OK = 1, GH_OTLP_STATUS_ERROR = 2 };

typedef struct gh_otlp_attr {
    const char *key;
    const char *str; /* a string value, str_len bytes; NULL: the integer */
    size_t str_len;
    int64_t num;
} gh_otlp_attr;

typedef struct gh_otlp_event {
    const char *name;
    uint64_t time_ns;
    const gh_otlp_attr *attrs;
    size_t nattrs;
} gh_otlp_event;

typedef struct gh_otlp_span {
    const char *trace_id;  /* 32 hex digits */
    const char *span_id;   /* 16 hex digits */
    const char *parent_id; /* 16 hex digits, or NULL or "" for a root */
    const char *trace_state;
    size_t trace_state_len;
    const char *name;
    size_t name_len;
    int kind; /* GH_OTLP_KIND_* */
    uint64_t start_ns, end_ns;
    uint32_t flags; /* W3C trace flags (bit 0: sampled) */
    const gh_otlp_attr *attrs;
    size_t nattrs;
    const gh_otlp_event *events;
    size_t nevents;
    int status; /* GH_OTLP_STATUS_* */
    const char *status_message;
} gh_otlp_span;

/* The span as one JSON object. */
void gh_otlp_span_json(gh_sbuf *b, const gh_otlp_span *s);
/* What comes before the first span of a batch: the resource (service.name, service.version,
 * telemetry.sdk.*) and the instrumentation scope. */
void gh_otlp_batch_head(gh_sbuf *b, const char *service_name, const char *version);
/* What comes after the last. */
#define GH_OTLP_BATCH_TAIL "]}]}]}"

#endif
