#include <string.h>
#include <strings.h>

#include "gate/cors.h"
#include "wire/header_ops.h"
#include "gate/respond.h"

static bool is_head(const gh_request *req)
{
    return req->h1.method_len == 4 && memcmp(req->h1.method, "HEAD", 4) == 0;
}

bool gh_respond_closing(const gh_request *req)
{
    return req->close_after || !req->h1.keep_alive || !req->body_done || req->svc->draining;
}

static gh_h1_header request_id_field(const gh_request *req)
{
    return (gh_h1_header){.name = "X-Request-Id", .name_len = 12, .value = req->id,
                          .value_len = req->id_len};
}

bool gh_respond_sends_hsts(const gh_request *req)
{
    return req->config->hsts && req->peer.tls;
}

static bool has_date(const gh_h1_header *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (GH_H1_NAME_IS(&f[i], "date"))
            return true;
    return false;
}

size_t gh_respond_added_fields(const gh_request *req, gh_h1_header *out, size_t n, size_t max)
{
    /* Every response carries a Date (RFC 9110 §6.6.1): an upstream's passes as it came; one
     * without, or one the gateway makes, gets the gateway's clock. */
    if (!has_date(out, n) && n < max)
        out[n++] = (gh_h1_header){.name = "Date", .name_len = 4,
                                  .value = gh_http_date_now(&req->svc->date), .value_len = 29};
    const gh_config *c = req->config;
    const gh_route_conf *route = req->match.route;
    if (!gh_header_ops_put(&c->headers.response, route ? &route->headers.response : NULL, out, &n,
                           max) ||
        !gh_cors_fields(req, out, &n, max))
        return SIZE_MAX;
    if (gh_respond_sends_hsts(req) && n < max)
        out[n++] = (gh_h1_header){.name = "Strict-Transport-Security", .name_len = 25,
                                  .value = c->hsts, .value_len = (uint32_t)strlen(c->hsts)};
    size_t extra = gh_h1_split_fields(req->extra_headers, out + n, max - n);
    if (extra == SIZE_MAX || n + extra == max)
        return SIZE_MAX;
    n += extra;
    out[n++] = request_id_field(req);
    return n;
}

void gh_respond_format_fields(gh_sbuf *b, const gh_h1_header *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gh_sbuf_add(b, f[i].name, f[i].name_len);
        GH_SBUF_LIT(b, ": ");
        gh_sbuf_add(b, f[i].value, f[i].value_len);
        GH_SBUF_LIT(b, "\r\n");
    }
}

void gh_respond_connection(const gh_request *req, gh_sbuf *b)
{
    if (gh_respond_closing(req))
        GH_SBUF_LIT(b, "Connection: close\r\n");
    else if (req->h1.minor == 0)
        GH_SBUF_LIT(b, "Connection: keep-alive\r\n");
}

/* The fields every gateway response carries and its Connection header. Were the operator's
 * fields not to fit (the request's memory ran out), the response still goes out, with its
 * request id. */
static void common_headers(const gh_request *req, gh_sbuf *b)
{
    gh_h1_header f[GH_ADDED_FIELDS_MAX];
    size_t n = gh_respond_added_fields(req, f, 0, GH_ADDED_FIELDS_MAX), bytes = 64;
    for (size_t i = 0; n != SIZE_MAX && i < n; i++)
        bytes += f[i].name_len + f[i].value_len + 4;
    if (n == SIZE_MAX || b->len + bytes > b->cap) {
        f[0] = request_id_field(req);
        n = 1;
    }
    gh_respond_format_fields(b, f, n);
    gh_respond_connection(req, b);
}

/* Room the common headers may take. */
static size_t common_bytes(const gh_request *req)
{
    const gh_config *c = req->config;
    size_t n = 200 + (req->extra_headers ? strlen(req->extra_headers) : 0) +
               (c->hsts ? strlen(c->hsts) + 32 : 0) +
               (req->cors_origin ? req->cors_origin->value_len + 200 : 0);
    const gh_header_ops *ops[2] = {&c->headers.response,
                                   req->match.route ? &req->match.route->headers.response : NULL};
    for (size_t k = 0; k < 2 && ops[k]; k++)
        for (size_t i = 0; i < ops[k]->nput; i++)
            n += ops[k]->put[i].name_len + ops[k]->put[i].value_len + 4;
    return n;
}

/* The most fields a response the gateway makes may carry as fields (an HTTP/2 stream's): its
 * own, the stages' (GH_EXTRA_FIELDS_MAX), CORS and every configured response header. */
#define GH_RESPOND_FIELDS_MAX 256

/* The response head (a status line, then field lines) and its body: as HTTP/1.1 bytes, or as
 * the status and fields where the downstream takes fields. A failed write closes after. */
static void send_or_close(gh_request *req, int status, gh_sbuf *head, const char *body,
                          size_t body_len)
{
    bool with_body = body_len && !is_head(req);
    uv_buf_t bufs[2] = {uv_buf_init(head->p, (unsigned)head->len),
                        uv_buf_init((char *)body, (unsigned)body_len)};
    int r;
    if (req->ds->takes_fields(req)) {
        gh_h1_header f[GH_RESPOND_FIELDS_MAX];
        size_t n = SIZE_MAX;
        if (!head->overflow && head->len >= 4 && memcmp(head->p + head->len - 4, "\r\n\r\n", 4) == 0) {
            head->p[head->len - 2] = '\0'; /* the field lines end at the last one's CRLF */
            n = gh_h1_split_fields(memchr(head->p, '\n', head->len) + 1, f, GH_RESPOND_FIELDS_MAX);
        }
        r = n == SIZE_MAX ? -1
                          : req->ds->send_fields(req, status, f, n,
                                                 with_body ? GH_BODY_LENGTH : GH_BODY_NONE, body_len);
        if (r == 0 && with_body)
            r = req->ds->send(req, &bufs[1], 1);
    } else {
        r = req->ds->send(req, bufs, with_body ? 2 : 1);
    }
    if (r != 0)
        req->close_after = true;
}

/* The challenge of a refusal comes from the route's stages: the one that refused is asked
 * first, then the others in order (a 401 from any stage on a route that takes tokens says how
 * to present one). */
static void challenge(const gh_request *req, gh_reason reason, gh_sbuf *head)
{
    const gh_route_conf *r = req->match.route;
    if (!r)
        return;
    const gh_stage_ref *own = req->refused_by ? &r->stages[req->refused_by - 1] : NULL;
    if (own && own->stage->challenge && own->stage->challenge(head, req, reason, own->conf, true))
        return;
    for (size_t i = 0; i < r->nstages; i++) {
        const gh_stage_ref *s = &r->stages[i];
        if (s != own && s->stage->challenge && s->stage->challenge(head, req, reason, s->conf, false))
            return;
    }
}

void gh_respond_problem(gh_request *req, gh_reason reason, const char *detail)
{
    int status = req->refusal_status ? req->refusal_status : gh_reason_status(reason);
    req->status = status;
    if (status == 408 || status == 413 || status == 431 || status == 414 || status == 400 ||
        status == 505)
        req->close_after = true;
    char bodybuf[1024], small[2560];
    const char *extra = req->problem_extra; /* more members: the schema errors of a body */
    size_t bcap = sizeof(bodybuf) + (extra ? strlen(extra) + 2 : 0);
    char *bodymem = bcap <= sizeof(bodybuf) ? bodybuf : gh_arena_alloc(&req->arena, bcap);
    if (!bodymem) {
        bodymem = bodybuf, bcap = sizeof(bodybuf);
        extra = NULL;
    }
    gh_sbuf body = gh_sbuf_make(bodymem, bcap);
    gh_sbuf_addf(&body,
                 "{\"type\":\"" GH_PROBLEM_TYPE_PREFIX "%s\",\"title\":", gh_reason_slug(reason));
    const char *title = gh_reason_title(reason);
    gh_sbuf_json_str(&body, title, strlen(title));
    gh_sbuf_addf(&body, ",\"status\":%d", status);
    if (detail) {
        gh_sbuf_adds(&body, ",\"detail\":");
        gh_sbuf_json_str(&body, detail, strlen(detail));
    }
    gh_sbuf_addf(&body, ",\"request_id\":\"%s\",\"trace_id\":\"%s\"", req->id,
                 req->trace.trace_id);
    if (extra) {
        gh_sbuf_adds(&body, ",");
        gh_sbuf_adds(&body, extra);
    }
    gh_sbuf_adds(&body, "}\n");

    size_t cap = 1024 + common_bytes(req);
    char *headbuf = cap <= sizeof(small) ? small : gh_arena_alloc(&req->arena, cap);
    gh_sbuf head = headbuf ? gh_sbuf_make(headbuf, cap) : gh_sbuf_make(small, sizeof(small));
    gh_sbuf_addf(&head,
                 "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
                 "Content-Length: %zu\r\nCache-Control: no-store\r\n",
                 status, gh_h1_status_text(status), body.len);
    if (reason == GH_R_METHOD_NOT_ALLOWED) {
        char allow[128];
        gh_route_allow_list(req->match.allow, allow, sizeof(allow));
        gh_sbuf_addf(&head, "Allow: %s\r\n", allow);
    }
    if (status == 503)
        gh_sbuf_adds(&head, "Retry-After: 1\r\n");
    challenge(req, reason, &head);
    common_headers(req, &head);
    gh_sbuf_adds(&head, "\r\n");
    send_or_close(req, status, &head, body.p, body.len);
}

void gh_respond_empty(gh_request *req, int status, const gh_h1_header *f, size_t n)
{
    req->status = status;
    size_t cap = 128 + common_bytes(req);
    for (size_t i = 0; i < n; i++)
        cap += f[i].name_len + f[i].value_len + 4;
    char *buf = gh_arena_alloc(&req->arena, cap);
    if (!buf) {
        gh_respond_problem(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_sbuf head = gh_sbuf_make(buf, cap);
    gh_sbuf_addf(&head, "HTTP/1.1 %d %s\r\n", status, gh_h1_status_text(status));
    if (status != 204)
        gh_sbuf_adds(&head, "Content-Length: 0\r\n");
    gh_respond_format_fields(&head, f, n);
    common_headers(req, &head);
    gh_sbuf_adds(&head, "\r\n");
    send_or_close(req, status, &head, NULL, 0);
}

void gh_respond_direct(gh_request *req)
{
    const gh_route_conf *r = req->match.route;
    req->status = r->respond_status;
    size_t cap = 512 + r->nrespond_headers * 8 + common_bytes(req);
    for (size_t i = 0; i < r->nrespond_headers; i++)
        cap += strlen(r->respond_headers[i].name) + strlen(r->respond_headers[i].value);
    char *buf = gh_arena_alloc(&req->arena, cap);
    if (!buf) {
        gh_respond_problem(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_sbuf head = gh_sbuf_make(buf, cap);
    gh_sbuf_addf(&head, "HTTP/1.1 %d %s\r\n", r->respond_status, gh_h1_status_text(r->respond_status));
    if (r->respond_status != 204) /* RFC 9110 8.6: never on a 204 */
        gh_sbuf_addf(&head, "Content-Length: %zu\r\n", r->respond_body_len);
    bool has_type = false;
    for (size_t i = 0; i < r->nrespond_headers; i++) {
        has_type |= strcasecmp(r->respond_headers[i].name, "content-type") == 0;
        gh_sbuf_addf(&head, "%s: %s\r\n", r->respond_headers[i].name, r->respond_headers[i].value);
    }
    if (!has_type && r->respond_body_len)
        gh_sbuf_adds(&head, "Content-Type: text/plain; charset=utf-8\r\n");
    common_headers(req, &head);
    gh_sbuf_adds(&head, "\r\n");
    send_or_close(req, r->respond_status, &head, r->respond_body, r->respond_body_len);
}

/* The direct response as an action: the body is read and dropped first, so the connection stays
 * usable; a client waiting for 100 Continue gets the answer without sending it. */
static void direct_answer(gh_request *req)
{
    gh_respond_direct(req);
    req->ds->finish(req);
}

static void direct_start(gh_request *req)
{
    if (!req->body_done && !req->h1.expect_continue) {
        req->ds->read_body(req);
        return;
    }
    direct_answer(req);
}

static int direct_body(gh_request *req, const char *data, size_t len)
{
    (void)req, (void)data, (void)len;
    return 0; /* read, not kept */
}

static int direct_body_end(gh_request *req)
{
    direct_answer(req);
    return 0;
}

static bool direct_body_full(const gh_request *req)
{
    (void)req;
    return false;
}

static void direct_nothing(gh_request *req)
{
    (void)req;
}

const gh_action_ops gh_direct_action = {
    .start = direct_start,
    .body = direct_body,
    .body_end = direct_body_end,
    .body_full = direct_body_full,
    .client_drained = direct_nothing,
    .abort = direct_nothing,
};
