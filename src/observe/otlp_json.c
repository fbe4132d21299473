#include <string.h>

#include "observe/otlp_json.h"

static void attr_json(gh_sbuf *b, const gh_otlp_attr *a)
{
    GH_SBUF_LIT(b, "{\"key\":");
    gh_sbuf_json_str(b, a->key, strlen(a->key));
    if (a->str) {
        GH_SBUF_LIT(b, ",\"value\":{\"stringValue\":");
        gh_sbuf_json_str(b, a->str, a->str_len);
    } else {
        /* int64 is a string in the protobuf JSON mapping */
        GH_SBUF_LIT(b, ",\"value\":{\"intValue\":\"");
        if (a->num < 0) {
            GH_SBUF_LIT(b, "-");
            gh_sbuf_add_u64(b, (unsigned long long)(-(a->num + 1)) + 1); /* INT64_MIN too */
        } else {
            gh_sbuf_add_u64(b, (unsigned long long)a->num);
        }
        GH_SBUF_LIT(b, "\"");
    }
    GH_SBUF_LIT(b, "}}");
}

static void attrs_json(gh_sbuf *b, const gh_otlp_attr *attrs, size_t n)
{
    GH_SBUF_LIT(b, "\"attributes\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            GH_SBUF_LIT(b, ",");
        attr_json(b, &attrs[i]);
    }
    GH_SBUF_LIT(b, "]");
}

/* Numbers without printf: a span is encoded on the worker for every sampled request. */
static void time_json(gh_sbuf *b, const char *name, uint64_t ns)
{
    GH_SBUF_LIT(b, ",\"");
    gh_sbuf_adds(b, name);
    GH_SBUF_LIT(b, "\":\"");
    gh_sbuf_add_u64(b, (unsigned long long)ns);
    GH_SBUF_LIT(b, "\"");
}

static void events_json(gh_sbuf *b, const gh_otlp_span *s)
{
    if (!s->nevents)
        return;
    GH_SBUF_LIT(b, ",\"events\":[");
    for (size_t i = 0; i < s->nevents; i++) {
        const gh_otlp_event *e = &s->events[i];
        gh_sbuf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        gh_sbuf_json_str(b, e->name, strlen(e->name));
        time_json(b, "timeUnixNano", e->time_ns);
        GH_SBUF_LIT(b, ",");
        attrs_json(b, e->attrs, e->nattrs);
        GH_SBUF_LIT(b, "}");
    }
    GH_SBUF_LIT(b, "]");
}

void gh_otlp_span_json(gh_sbuf *b, const gh_otlp_span *s)
{
    GH_SBUF_LIT(b, "{\"traceId\":\"");
    gh_sbuf_add(b, s->trace_id, 32);
    GH_SBUF_LIT(b, "\",\"spanId\":\"");
    gh_sbuf_add(b, s->span_id, 16);
    GH_SBUF_LIT(b, "\"");
    if (s->parent_id && s->parent_id[0]) {
        GH_SBUF_LIT(b, ",\"parentSpanId\":\"");
        gh_sbuf_add(b, s->parent_id, 16);
        GH_SBUF_LIT(b, "\"");
    }
    if (s->trace_state_len) {
        GH_SBUF_LIT(b, ",\"traceState\":");
        gh_sbuf_json_str(b, s->trace_state, s->trace_state_len);
    }
    GH_SBUF_LIT(b, ",\"flags\":");
    gh_sbuf_add_u64(b, (unsigned)s->flags);
    GH_SBUF_LIT(b, ",\"name\":");
    gh_sbuf_json_str(b, s->name, s->name_len);
    GH_SBUF_LIT(b, ",\"kind\":");
    gh_sbuf_add_u64(b, (unsigned)s->kind);
    time_json(b, "startTimeUnixNano", s->start_ns);
    time_json(b, "endTimeUnixNano", s->end_ns < s->start_ns ? s->start_ns : s->end_ns);
    GH_SBUF_LIT(b, ",");
    attrs_json(b, s->attrs, s->nattrs);
    events_json(b, s);
    GH_SBUF_LIT(b, ",\"status\":{\"code\":");
    gh_sbuf_add_u64(b, (unsigned)s->status);
    if (s->status_message && s->status_message[0]) {
        GH_SBUF_LIT(b, ",\"message\":");
        gh_sbuf_json_str(b, s->status_message, strlen(s->status_message));
    }
    GH_SBUF_LIT(b, "}}");
}

void gh_otlp_batch_head(gh_sbuf *b, const char *service_name, const char *version)
{
    const gh_otlp_attr resource[] = {
        {"service.name", service_name, strlen(service_name), 0},
        {"service.version", version, strlen(version), 0},
        {"telemetry.sdk.name", "gatehouse", 9, 0},
        {"telemetry.sdk.language", "c", 1, 0},
    };
    GH_SBUF_LIT(b, "{\"resourceSpans\":[{\"resource\":{");
    attrs_json(b, resource, sizeof(resource) / sizeof(resource[0]));
    GH_SBUF_LIT(b, "},\"scopeSpans\":[{\"scope\":{\"name\":\"gatehouse\",\"version\":");
    gh_sbuf_json_str(b, version, strlen(version));
    GH_SBUF_LIT(b, "},\"spans\":[");
}
