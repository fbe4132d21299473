/* Trace context for every request: W3C Trace Context, and b3 single header as an option. */
#include <string.h>

#include "core/clock.h"
#include "core/hex.h"
#include "gate/span.h"
#include "gate/trace.h"

static void new_span_id(gh_id_gen *ids, char out[GH_SPAN_ID_HEX + 1])
{
    uint64_t v = gh_id_gen_u64(ids);
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(v >> (56 - 8 * i));
    gh_hex_encode(bytes, 8, out);
    out[GH_SPAN_ID_HEX] = '\0';
    if (v == 0) /* all zeros is no id (W3C Trace Context 3.2.2) */
        out[GH_SPAN_ID_HEX - 1] = '1';
}

/* The head decision for a trace that starts here: the trace id's last 16 hex digits against the
 * ratio (as OpenTelemetry's TraceIdRatioBased sampler), so one id gets one answer anywhere. */
static bool sampled_root(const char trace_id[GH_TRACE_ID_HEX + 1], double ratio)
{
    if (ratio >= 1.0)
        return true;
    uint64_t low = 0;
    for (int i = GH_TRACE_ID_HEX - 16; i < GH_TRACE_ID_HEX; i++) {
        char c = trace_id[i];
        low = low << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return (double)(low >> 11) < ratio * (double)(1ull << 53);
}

void gh_trace_begin(gh_request *req)
{
    gh_trace *t = &req->trace;
    gh_id_gen_next(&req->svc->ids, t->trace_id);
    if (strspn(t->trace_id, "0") == GH_TRACE_ID_HEX)
        t->trace_id[GH_TRACE_ID_HEX - 1] = '1';
    new_span_id(&req->svc->ids, t->span_id);
    t->parent_id[0] = '\0';
    t->flags = sampled_root(t->trace_id, req->config->tracing.sampling.ratio) ? GH_TRACE_SAMPLED
                                                                               : 0;
    t->tracestate = NULL;
    t->tracestate_len = 0;
}

/* The request's one field of that name; NULL when it has none or more than one (two
 * traceparents say two different things: neither is believed). */
static const gh_h1_header *only_field(const gh_request *req, const char *name, size_t len)
{
    const gh_h1_header *h = req->h1.headers, *end = h + req->h1.nheaders;
    const gh_h1_header *first = gh_h1_find(h, req->h1.nheaders, name, len);
    if (first && gh_h1_find(first + 1, (size_t)(end - first - 1), name, len))
        return NULL;
    return first;
}

/* The caller's tracestate lines joined with ',' (RFC 9110 5.3), kept when they pass. Joining
 * more than one line takes room in the request's arena. */
static void keep_tracestate(gh_request *req)
{
    const gh_h1_header *h = req->h1.headers, *end = h + req->h1.nheaders, *one = NULL;
    size_t total = 0, lines = 0;
    for (const gh_h1_header *p = h; (p = gh_h1_find(p, (size_t)(end - p), "tracestate", 10)); p++) {
        total += p->value_len + (lines ? 1 : 0);
        lines++;
        one = p;
        if (total > GH_TRACESTATE_MAX_BYTES)
            return;
    }
    if (total == 0)
        return;
    const char *value = one->value;
    if (lines > 1) {
        char *joined = gh_arena_alloc(&req->arena, total);
        if (!joined)
            return;
        size_t at = 0;
        for (const gh_h1_header *p = h; (p = gh_h1_find(p, (size_t)(end - p), "tracestate", 10));
             p++) {
            if (at)
                joined[at++] = ',';
            memcpy(joined + at, p->value, p->value_len);
            at += p->value_len;
        }
        value = joined;
    }
    /* A list of empty members says nothing: it is not sent on. */
    if (memchr(value, '=', total) && gh_tracestate_ok(value, total)) {
        req->trace.tracestate = value;
        req->trace.tracestate_len = total;
    }
}

static void continue_trace(gh_request *req, const gh_trace_parent *p)
{
    memcpy(req->trace.trace_id, p->trace_id, sizeof(p->trace_id));
    memcpy(req->trace.parent_id, p->parent_id, sizeof(p->parent_id));
    req->trace.flags = p->flags;
}

void gh_trace_extract(gh_request *req)
{
    const gh_tracing_conf *conf = &req->config->tracing;
    if (conf->extract == GH_TRACE_EXTRACT_NEVER ||
        (conf->extract == GH_TRACE_EXTRACT_TRUSTED && !req->trusted_peer))
        return;
    gh_trace_parent p;
    const gh_h1_header *tp = only_field(req, "traceparent", 11);
    if (tp && gh_traceparent_parse(tp->value, tp->value_len, &p)) {
        continue_trace(req, &p);
        keep_tracestate(req); /* only beside the traceparent it belongs to */
        return;
    }
    const gh_h1_header *b3 = conf->propagation & GH_TRACE_B3 ? only_field(req, "b3", 2) : NULL;
    if (b3 && gh_b3_parse(b3->value, b3->value_len, &p))
        continue_trace(req, &p);
}

bool gh_trace_field(const gh_h1_header *h)
{
    return gh_h1_name_folds_to(h, "traceparent", 11) || gh_h1_name_folds_to(h, "tracestate", 10) ||
           gh_h1_name_folds_to(h, "b3", 2);
}

size_t gh_trace_fields_bytes(const gh_request *req)
{
    /* "traceparent: " 55 CRLF; "b3: " trace-span-s-parent CRLF; "tracestate: " value CRLF */
    return 13 + GH_TRACEPARENT_LEN + 2 + 4 + 68 + 2 + 12 + req->trace.tracestate_len + 2;
}

void gh_trace_fields(const gh_request *req, gh_sbuf *b)
{
    const gh_trace *t = &req->trace;
    /* The upstream's parent: the try's client span when spans are exported, else the
     * request's own span (the one logged). */
    char attempt_id[GH_SPAN_ID_HEX + 1];
    const char *parent = gh_span_upstream_parent(req, attempt_id);
    char flags[2];
    gh_hex_encode(&t->flags, 1, flags);
    GH_SBUF_LIT(b, "traceparent: 00-");
    gh_sbuf_add(b, t->trace_id, GH_TRACE_ID_HEX);
    GH_SBUF_LIT(b, "-");
    gh_sbuf_add(b, parent, GH_SPAN_ID_HEX);
    GH_SBUF_LIT(b, "-");
    gh_sbuf_add(b, flags, 2);
    GH_SBUF_LIT(b, "\r\n");
    if (t->tracestate) {
        GH_SBUF_LIT(b, "tracestate: ");
        gh_sbuf_add(b, t->tracestate, t->tracestate_len);
        GH_SBUF_LIT(b, "\r\n");
    }
    if (!(req->config->tracing.propagation & GH_TRACE_B3))
        return;
    /* b3: the upstream's parent, and that span's own parent (the request's span for a try,
     * else the caller's). */
    GH_SBUF_LIT(b, "b3: ");
    gh_sbuf_add(b, t->trace_id, GH_TRACE_ID_HEX);
    GH_SBUF_LIT(b, "-");
    gh_sbuf_add(b, parent, GH_SPAN_ID_HEX);
    gh_sbuf_adds(b, t->flags & GH_TRACE_SAMPLED ? "-1" : "-0");
    const char *grandparent = parent == t->span_id ? t->parent_id : t->span_id;
    if (grandparent[0]) {
        GH_SBUF_LIT(b, "-");
        gh_sbuf_add(b, grandparent, GH_SPAN_ID_HEX);
    }
    GH_SBUF_LIT(b, "\r\n");
}
