#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hex.h"
#include "gate/request.h"
#include "gate/span.h"
#include "observe/otlp_json.h"

#define SPAN_LINE_MAX 8192 /* one span's JSON; free text is cut to fit */
#define FREE_TEXT_MAX 1024 /* a path or user agent in an attribute, at most */
#define CUT_TEXT_MAX 256   /* a client's text in the span written again, cut (6 bytes a byte) */
#define ATTRS_MAX 16

/* OTLP span flags: bit 8 says whether bit 9 (the parent is remote) is known. */
#define FLAGS_HAS_IS_REMOTE 0x100u
#define FLAGS_IS_REMOTE 0x200u

void gh_span_request_begin(gh_request *req)
{
    req->spans.attempt = -1;
    req->spans.on = req->config->tracing.exporter.endpoint && req->svc->spans;
}

int gh_span_begin(gh_request *req, gh_span_kind kind, const char *detail)
{
    gh_spans *s = &req->spans;
    if (!s->on || s->n >= GH_SPAN_CHILDREN_MAX)
        return -1;
    if (s->n == s->cap) {
        uint8_t cap = s->cap ? (uint8_t)(s->cap * 2) : 4;
        gh_child_span *list = gh_arena_alloc(&req->arena, cap * sizeof(*list));
        if (!list)
            return -1;
        if (s->n)
            memcpy(list, s->list, s->n * sizeof(*list));
        s->list = list, s->cap = cap;
    }
    gh_child_span *c = &s->list[s->n];
    *c = (gh_child_span){.kind = (uint8_t)kind, .open = true, .detail = detail,
                         .id = gh_id_gen_u64(&req->svc->ids), .start_us = gh_now_us()};
    if (c->id == 0)
        c->id = 1; /* all zeros is no id */
    return s->n++;
}

void gh_span_end(gh_request *req, int index, int code, const char *error)
{
    if (index < 0 || index >= req->spans.n || !req->spans.list[index].open)
        return;
    gh_child_span *c = &req->spans.list[index];
    c->open = false;
    c->end_us = gh_now_us();
    if (code)
        c->code = (int16_t)code;
    c->error = error;
}

void gh_span_attempt_begin(gh_request *req)
{
    gh_span_attempt_end(req, "abandoned"); /* a try still open was given up for this one */
    const char *where = req->endpoint ? req->endpoint->authority : NULL;
    req->spans.attempt = (int8_t)gh_span_begin(req, GH_SPAN_UPSTREAM, where);
}

void gh_span_attempt_end(gh_request *req, const char *error)
{
    if (req->spans.attempt < 0)
        return;
    gh_span_end(req, req->spans.attempt, 0, error);
}

/* The try in progress, or NULL (a request made elsewhere than gh_request_new has none). */
static gh_child_span *current_try(const gh_request *req)
{
    int i = req->spans.attempt;
    return i >= 0 && i < req->spans.n ? &req->spans.list[i] : NULL;
}

void gh_span_attempt_status(gh_request *req, int status)
{
    gh_child_span *c = current_try(req);
    if (c && c->open)
        c->code = (int16_t)status;
}

static void id_hex(uint64_t v, char out[GH_SPAN_ID_HEX + 1])
{
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(v >> (56 - 8 * i));
    gh_hex_encode(bytes, 8, out);
    out[GH_SPAN_ID_HEX] = '\0';
}

const char *gh_span_upstream_parent(const gh_request *req, char out[GH_SPAN_ID_HEX + 1])
{
    const gh_child_span *c = current_try(req);
    if (!c)
        return req->trace.span_id;
    id_hex(c->id, out);
    return out;
}

/* The clock of spans: monotonic readings turned into wall-clock nanoseconds. */
typedef struct span_clock {
    uint64_t now_us, wall_ns;
} span_clock;

static uint64_t wall_ns(const span_clock *k, uint64_t mono_us)
{
    uint64_t ago = k->now_us > mono_us ? (k->now_us - mono_us) * 1000u : 0;
    return k->wall_ns > ago ? k->wall_ns - ago : 0;
}

static gh_otlp_attr cut_attr(const char *key, const char *v, size_t len, size_t max)
{
    return (gh_otlp_attr){key, v ? v : "", v ? (len > max ? max : len) : 0, 0};
}

static gh_otlp_attr str_attr(const char *key, const char *v, size_t len)
{
    return cut_attr(key, v, len, FREE_TEXT_MAX);
}

static gh_otlp_attr int_attr(const char *key, int64_t v)
{
    return (gh_otlp_attr){key, NULL, 0, v};
}

/* server.address: the Host without its port. */
static size_t host_name_len(const char *host, size_t len)
{
    if (len && host[0] == '[') {
        const char *end = memchr(host, ']', len);
        return end ? (size_t)(end - host) + 1 : len;
    }
    const char *colon = memchr(host, ':', len);
    return colon ? (size_t)(colon - host) : len;
}

static bool refused(const gh_request *req)
{
    return req->reason > GH_R_AGAIN && req->reason != GH_R_CLIENT_CLOSED;
}

/* The span as one line on the worker's ring: the buffer kept a byte for the '\n'. */
static void queue_line(gh_request *req, gh_sbuf *b)
{
    if (b->overflow)
        return;
    b->p[b->len] = '\n';
    gh_http_sink_put(req->svc->spans, (size_t)req->svc->worker_id, b->p, b->len + 1);
}

/* The server span's attributes (semantic conventions, and the gateway's own); full: with the
 * free text a client wrote (its path, user agent, Host); else without it, and the texts a
 * client chose that stay (its method, an address a trusted proxy passed on, its subject, its
 * request id) cut to CUT_TEXT_MAX, so that the span fits SPAN_LINE_MAX whatever they hold. */
static size_t server_attrs(const gh_request *req, gh_otlp_attr *a, bool full)
{
    size_t n = 0, max = full ? FREE_TEXT_MAX : CUT_TEXT_MAX;
    const gh_route_conf *route = req->match.route;
    a[n++] = cut_attr("http.request.method", req->h1.method, req->h1.method_len, max);
    if (full && req->path_len)
        a[n++] = str_attr("url.path", req->path, req->path_len);
    if (route && route->path)
        a[n++] = str_attr("http.route", route->path, route->path_len);
    a[n++] = int_attr("http.response.status_code", req->status);
    if (full && req->h1.host_len)
        a[n++] = str_attr("server.address", req->h1.host,
                          host_name_len(req->h1.host, req->h1.host_len));
    size_t client_len = 0;
    const char *client = gh_request_client_address(req, &client_len);
    if (client && client_len)
        a[n++] = cut_attr("client.address", client, client_len, max);
    const gh_h1_header *ua = gh_h1_find(req->h1.headers, req->h1.nheaders, "user-agent", 10);
    if (full && ua)
        a[n++] = str_attr("user_agent.original", ua->value, ua->value_len);
    a[n++] = str_attr("network.protocol.version", req->peer.h2 ? "2" : "1.1",
                      req->peer.h2 ? 1 : 3);
    if (route)
        a[n++] = str_attr("gatehouse.route", route->name, strlen(route->name));
    a[n++] = cut_attr("gatehouse.request_id", req->id, req->id_len, max);
    const char *who = req->auth_sub ? req->auth_sub : req->api_client;
    if (req->config->tracing.enduser_id && req->auth_ok && who)
        a[n++] = cut_attr("enduser.id", who, strlen(who), max);
    if (req->reason != GH_R_OK) {
        const char *slug = gh_reason_slug(req->reason);
        a[n++] = str_attr("error.type", slug, strlen(slug));
    }
    return n;
}

static void server_span(gh_request *req, const span_clock *k, gh_sbuf *b, bool full)
{
    const gh_trace *t = &req->trace;
    gh_otlp_attr attrs[ATTRS_MAX], event_attrs[3];
    const gh_route_conf *route = req->match.route;
    /* "GET /users/{id}": the method and the route's template, never the path itself */
    char name[256];
    int method_len = (int)(req->h1.method_len > 32 ? 32 : req->h1.method_len);
    int template_len = route ? (int)(route->path_len > 200 ? 200 : route->path_len) : 0;
    size_t name_len = (size_t)method_len;
    memcpy(name, req->h1.method, name_len);
    if (route) {
        name[name_len++] = ' ';
        memcpy(name + name_len, route->path, (size_t)template_len);
        name_len += (size_t)template_len;
    }
    gh_otlp_span s = {
        .trace_id = t->trace_id, .span_id = t->span_id, .parent_id = t->parent_id,
        .trace_state = t->tracestate, .trace_state_len = t->tracestate_len,
        .name = name, .name_len = name_len, .kind = GH_OTLP_KIND_SERVER,
        .start_ns = wall_ns(k, req->start_us), .end_ns = k->wall_ns,
        .flags = t->flags | FLAGS_HAS_IS_REMOTE | (t->parent_id[0] ? FLAGS_IS_REMOTE : 0),
        .attrs = attrs, .nattrs = server_attrs(req, attrs, full),
    };
    gh_otlp_event refusal = {"gatehouse.refusal", k->wall_ns, event_attrs, 0};
    if (refused(req) || req->status >= 500) {
        const char *slug = gh_reason_slug(req->reason);
        s.status = GH_OTLP_STATUS_ERROR;
        s.status_message = req->reason != GH_R_OK ? slug : "upstream error";
        event_attrs[refusal.nattrs++] = str_attr("gatehouse.refusal.reason", slug, strlen(slug));
        event_attrs[refusal.nattrs++] = int_attr("http.response.status_code", req->status);
        if (full && req->detail)
            event_attrs[refusal.nattrs++] = str_attr("gatehouse.refusal.detail", req->detail,
                                                     strlen(req->detail));
        if (refused(req))
            s.events = &refusal, s.nevents = 1;
    }
    gh_otlp_span_json(b, &s);
}

static const char *const child_names[] = {
    [GH_SPAN_UPSTREAM] = "upstream",
    [GH_SPAN_KEYS] = "jwks wait",
    [GH_SPAN_INTROSPECTION] = "introspection",
    [GH_SPAN_POLICY] = "policy",
    [GH_SPAN_STORE] = "rate-limit store",
};

static void child_span(gh_request *req, const span_clock *k, const gh_child_span *c, gh_sbuf *b)
{
    char id[GH_SPAN_ID_HEX + 1];
    id_hex(c->id, id);
    gh_otlp_attr attrs[ATTRS_MAX];
    size_t n = 0;
    const char *name = child_names[c->kind];
    bool upstream = c->kind == GH_SPAN_UPSTREAM;
    if (upstream) {
        attrs[n++] = str_attr("http.request.method", req->h1.method, req->h1.method_len);
        if (req->upstream)
            attrs[n++] = str_attr("gatehouse.upstream", req->upstream->name,
                                  strlen(req->upstream->name));
    }
    if (c->detail)
        attrs[n++] = str_attr(upstream ? "server.address" : "gatehouse.wait.on", c->detail,
                              strlen(c->detail));
    if (c->code)
        attrs[n++] = int_attr("http.response.status_code", c->code);
    if (c->error)
        attrs[n++] = str_attr("error.type", c->error, strlen(c->error));
    gh_otlp_span s = {
        .trace_id = req->trace.trace_id, .span_id = id, .parent_id = req->trace.span_id,
        .name = name, .name_len = strlen(name),
        .kind = c->kind == GH_SPAN_KEYS ? GH_OTLP_KIND_INTERNAL : GH_OTLP_KIND_CLIENT,
        .start_ns = wall_ns(k, c->start_us), .end_ns = wall_ns(k, c->open ? k->now_us : c->end_us),
        .flags = req->trace.flags | FLAGS_HAS_IS_REMOTE, .attrs = attrs, .nattrs = n,
        .status = c->error || (upstream && c->code >= 500) ? GH_OTLP_STATUS_ERROR
                                                          : GH_OTLP_STATUS_UNSET,
        .status_message = c->error,
    };
    gh_otlp_span_json(b, &s);
    queue_line(req, b);
}

void gh_span_request_end(gh_request *req)
{
    if (!req->spans.on)
        return;
    const gh_trace_sampling_conf *sampling = &req->config->tracing.sampling;
    bool sampled = req->trace.flags & GH_TRACE_SAMPLED;
    if (!sampled && !(sampling->always_sample_errors && (refused(req) || req->status >= 500)))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    span_clock k = {gh_now_us(), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec};
    char line[SPAN_LINE_MAX];
    for (uint8_t i = 0; i < req->spans.n; i++) {
        gh_sbuf b = gh_sbuf_make(line, sizeof(line) - 1);
        child_span(req, &k, &req->spans.list[i], &b);
    }
    gh_sbuf b = gh_sbuf_make(line, sizeof(line) - 1);
    server_span(req, &k, &b, true);
    if (b.overflow) { /* written again without the client's free text rather than lost */
        b = gh_sbuf_make(line, sizeof(line) - 1);
        server_span(req, &k, &b, false);
    }
    queue_line(req, &b);
}
