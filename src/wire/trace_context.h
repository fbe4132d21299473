/* Trace context on the wire: the W3C Trace Context fields (traceparent, tracestate;
 * https://www.w3.org/TR/trace-context/) and Zipkin's b3 single header, judged strictly. Pure
 * functions: no allocation, no I/O. A value that does not pass is no context at all: the
 * caller starts a new trace rather than refuse the request. */
#ifndef GH_WIRE_TRACE_CONTEXT_H
#define GH_WIRE_TRACE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GH_TRACE_ID_HEX 32    /* 16 bytes */
#define GH_SPAN_ID_HEX 16     /* 8 bytes */
#define GH_TRACEPARENT_LEN 55 /* "00-" trace "-" span "-" flags */
#define GH_TRACESTATE_MAX_BYTES 512
#define GH_TRACESTATE_MAX_MEMBERS 32
#define GH_TRACE_SAMPLED 0x01

/* A caller's context: the trace it belongs to, the span that called, its flags. */
typedef struct gh_trace_parent {
    char trace_id[GH_TRACE_ID_HEX + 1]; /* lowercase hex, NUL-ended, never all zeros */
    char parent_id[GH_SPAN_ID_HEX + 1]; /* lowercase hex, NUL-ended, never all zeros */
    uint8_t flags;                      /* W3C trace-flags; bit 0: sampled */
} gh_trace_parent;

/* One traceparent value. Version 00: exactly 55 characters. A higher version (not ff): at least
 * 55, its first four fields read as version 00's, the flags followed by the end or '-' (the
 * specification's forward compatibility); only the sampled flag is taken from it. */
bool gh_traceparent_parse(const char *v, size_t len, gh_trace_parent *out);
/* One b3 single header value: {trace}-{span}[-{sampled}[-{parent span}]], the trace id of 16
 * (left-padded with zeros) or 32 lowercase hex digits, sampled one of 0, 1, d. A value of only
 * the sampling state carries no context: false. */
bool gh_b3_parse(const char *v, size_t len, gh_trace_parent *out);
/* Whether a tracestate list (its field lines joined with ',') may go on: at most 512 bytes and
 * 32 members, each key=value well formed, no key twice. */
bool gh_tracestate_ok(const char *v, size_t len);

#endif
