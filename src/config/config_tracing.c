/* tracing: whose trace context a request continues (extract), the formats read and written
 * (propagation), which traces are sampled (sampling) and where their spans go (exporter).
 * Every request has a context whatever is written here (gate/trace.c). */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const extract_choices[] = {"always", "trusted", "never", NULL};

/* One format's bit, or 0 when the name is none. */
static uint8_t format_bit(const char *name)
{
    if (strcmp(name, "w3c") == 0)
        return GH_TRACE_W3C;
    if (strcmp(name, "b3") == 0)
        return GH_TRACE_B3;
    return 0;
}

/* Adds the format n names; false when it reported why it cannot. */
static bool add_format(gh_walk *w, yaml_node_t *n, gh_tracing_conf *t)
{
    const char *name;
    if (!gh__walk_str(w, n, &name))
        return false;
    uint8_t bit = format_bit(name);
    if (!bit)
        gh__walk_error(w, n, "unknown format \"%s\": expected w3c or b3", name);
    else if (t->propagation & bit)
        gh__walk_error(w, n, "%s is listed twice", name);
    t->propagation |= bit;
    return bit != 0;
}

/* A list of formats ([w3c] or [w3c, b3]); one name alone stands for a list of it (the default,
 * w3c, is written so). W3C Trace Context is always read and written: b3 only adds to it. */
static void load_propagation(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_tracing_conf *t = call->target;
    t->propagation = 0;
    bool named = true;
    if (v->type == YAML_SCALAR_NODE) {
        named = add_format(w, v, t);
    } else {
        size_t count = 0;
        yaml_node_item_t *items = gh__walk_items(w, v, &count);
        if (!items)
            return; /* reported */
        for (size_t i = 0; i < count; i++) {
            size_t saved = gh__walk_push_index(w, i);
            named = add_format(w, gh__walk_node(w, items[i]), t) && named;
            gh__walk_pop(w, saved);
        }
    }
    if (named && !(t->propagation & GH_TRACE_W3C))
        gh__walk_error(w, v, "w3c is always propagated: list it (b3 only adds to it)");
}


/* tracing.sampling.ratio: a number in [0, 1]. */
static void load_ratio(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_trace_sampling_conf *s = call->target;
    const char *text;
    if (!gh__walk_str(w, v, &text))
        return;
    char *end = NULL;
    double r = strtod(text, &end);
    if (end == text || *end != '\0' || !(r >= 0.0 && r <= 1.0)) {
        gh__walk_error(w, v, "expected a number from 0 to 1, got \"%s\"", text);
        return;
    }
    s->ratio = r;
}

static bool otlp_url_ok(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 && s[8]) || (strncmp(s, "http://", 7) == 0 && s[7]);
}

static const gh_keyword otlp_header_keys[] = {
    {"name", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_otlp_header_conf, name),
     .valid = gh__cfg_header_name_ok, .invalid = "expected a header name, got \"%s\""},
    {"value", GH_KW_STRING, GH_KW_AT(gh_otlp_header_conf, value)},
    {"secret", GH_KW_SECRET, GH_KW_AT(gh_otlp_header_conf, secret)},
    GH_KW_END,
};

static bool field_value_ok(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 32 && *s != '\t') || *s == 127)
            return false;
    return true;
}

/* tracing.exporter.headers: a list of {name, value} or {name, secret}. */
static void load_headers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_otlp_exporter_conf *e = call->target;
    size_t n = 0;
    yaml_node_item_t *items = gh__walk_items_within(w, v, 32, "headers", &n);
    if (!items)
        return; /* reported */
    e->headers = gh_arena_zalloc(w->arena, (n ? n : 1) * sizeof(*e->headers));
    if (!e->headers)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        gh_otlp_header_conf *h = &e->headers[e->nheaders];
        size_t errors_before = w->diag->errors;
        if (gh__cfg_apply(w, item, otlp_header_keys, h, call->ctx) &&
            w->diag->errors == errors_before) { /* a secret that did not resolve is reported */
            if (!h->value == !h->secret)
                gh__walk_error(w, item, "give the header one of value or secret");
            else if (h->value && !field_value_ok(h->value))
                gh__walk_error(w, item, "a header value without control characters");
            else if (h->name)
                e->nheaders++;
        }
        gh__walk_pop(w, saved);
    }
}

static const gh_keyword sampling_keys[] = {
    {"ratio", GH_KW_CUSTOM, .def = "1", .load = load_ratio},
    {"always_sample_errors", GH_KW_BOOL, GH_KW_AT(gh_trace_sampling_conf, always_sample_errors),
     .def = "true"},
    GH_KW_END,
};

static const gh_keyword exporter_keys[] = {
    {"endpoint", GH_KW_STRING, GH_KW_REQUIRED, GH_KW_AT(gh_otlp_exporter_conf, endpoint),
     .valid = otlp_url_ok, .invalid = "expected an http:// or https:// URL"},
    {"headers", GH_KW_CUSTOM, .load = load_headers},
    {"timeout", GH_KW_DURATION, GH_KW_AT(gh_otlp_exporter_conf, timeout_ms), .min = 100,
     .max = 60000, .def = "5s"},
    {"batch_size", GH_KW_UINT, GH_KW_AT(gh_otlp_exporter_conf, batch_size), .min = 1,
     .max = 10000, .def = "512"},
    {"interval", GH_KW_DURATION, GH_KW_AT(gh_otlp_exporter_conf, interval_ms), .min = 10,
     .max = 60000, .def = "1s"},
    {"queue_size", GH_KW_UINT, GH_KW_AT(gh_otlp_exporter_conf, queue_size), .min = 1,
     .max = 100000, .def = "2048"},
    {"gzip", GH_KW_BOOL, GH_KW_AT(gh_otlp_exporter_conf, gzip), .def = "false"},
    {"ca_file", GH_KW_PATH, GH_KW_AT(gh_otlp_exporter_conf, ca_file), .max = 4u << 20},
    GH_KW_END,
};

static bool service_name_ok(const char *s)
{
    return *s && strlen(s) <= 128 && field_value_ok(s);
}

const gh_keyword gh__cfg_tracing_keys[] = {
    {"extract", GH_KW_ENUM, GH_KW_AT(gh_tracing_conf, extract), .choices = extract_choices,
     .def = "trusted"},
    {"propagation", GH_KW_CUSTOM, .def = "w3c", .load = load_propagation},
    {"service_name", GH_KW_STRING, GH_KW_AT(gh_tracing_conf, service_name), .def = "gatehouse",
     .valid = service_name_ok, .invalid = "expected a name of 1 to 128 printable characters"},
    {"enduser_id", GH_KW_BOOL, GH_KW_AT(gh_tracing_conf, enduser_id), .def = "false"},
    {"sampling", GH_KW_MAP, GH_KW_AT(gh_tracing_conf, sampling), .table = sampling_keys},
    {"exporter", GH_KW_MAP, GH_KW_AT(gh_tracing_conf, exporter), .table = exporter_keys},
    GH_KW_END,
};
