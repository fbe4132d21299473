#include <string.h>

#include "http/respond.h"

#define GH_PROBLEM_TYPE_PREFIX "urn:gatehouse:problem:"

static bool is_head(const gh_request *req)
{
    return req->h1.method_len == 4 && memcmp(req->h1.method, "HEAD", 4) == 0;
}

bool gh_respond_closing(const gh_request *req)
{
    return req->close_after || !req->h1.keep_alive || !req->body_done || req->conn->w->draining;
}

void gh_respond_common_headers(const gh_request *req, gh_sbuf *b)
{
    if (req->extra_headers)
        gh_sbuf_adds(b, req->extra_headers);
    GH_SBUF_LIT(b, "X-Request-Id: ");
    gh_sbuf_add(b, req->id, req->id_len);
    if (gh_respond_closing(req))
        GH_SBUF_LIT(b, "\r\nConnection: close\r\n");
    else if (req->h1.minor == 0)
        GH_SBUF_LIT(b, "\r\nConnection: keep-alive\r\n");
    else
        GH_SBUF_LIT(b, "\r\n");
}

static void send_or_close(gh_request *req, gh_sbuf *head, const char *body, size_t body_len)
{
    uv_buf_t bufs[2] = {uv_buf_init(head->p, (unsigned)head->len),
                        uv_buf_init((char *)body, (unsigned)body_len)};
    unsigned n = body_len && !is_head(req) ? 2 : 1;
    if (gh_conn_send(req, bufs, n) != 0)
        req->close_after = true;
}

void gh_respond_problem(gh_request *req, gh_reason reason, const char *detail)
{
    int status = gh_reason_status(reason);
    req->status = status;
    if (status == 408 || status == 413 || status == 431 || status == 414 || status == 400 ||
        status == 505)
        req->close_after = true;
    char bodybuf[1024], headbuf[2560]; /* room for the rate-limit headers */
    gh_sbuf body = gh_sbuf_make(bodybuf, sizeof(bodybuf));
    gh_sbuf_addf(&body,
                 "{\"type\":\"" GH_PROBLEM_TYPE_PREFIX "%s\",\"title\":", gh_reason_slug(reason));
    const char *title = gh_reason_title(reason);
    gh_sbuf_json_str(&body, title, strlen(title));
    gh_sbuf_addf(&body, ",\"status\":%d", status);
    if (detail) {
        gh_sbuf_adds(&body, ",\"detail\":");
        gh_sbuf_json_str(&body, detail, strlen(detail));
    }
    gh_sbuf_addf(&body, ",\"request_id\":\"%s\"}\n", req->id);

    gh_sbuf head = gh_sbuf_make(headbuf, sizeof(headbuf));
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
    if (reason == GH_R_INSUFFICIENT_SCOPE) {
        /* RFC 6750 3.1: insufficient_scope, naming the scopes the route asks for. */
        gh_sbuf_addf(&head,
                     "WWW-Authenticate: Bearer realm=\"%s\", error=\"insufficient_scope\", "
                     "error_description=\"The access token lacks a required scope\", scope=\"%s\"\r\n",
                     req->match.route->auth_token->realm, req->match.route->authz.scope_text);
    } else if (reason == GH_R_MISSING_API_KEY || reason == GH_R_INVALID_API_KEY) {
        /* A 401 carries a challenge (RFC 9110 11.6.1); API keys have no registered scheme. */
        gh_sbuf_addf(&head, "WWW-Authenticate: ApiKey realm=\"%s\", header=\"%s\"\r\n",
                     req->match.route->auth_api_key->realm, req->match.route->auth_api_key->header);
    } else if (status == 401 && req->match.route && req->match.route->auth_token) {
        /* RFC 6750 3: the challenge; error="invalid_token" only when a token was presented. */
        gh_sbuf_addf(&head, "WWW-Authenticate: Bearer realm=\"%s\"%s\r\n",
                     req->match.route->auth_token->realm,
                     reason == GH_R_INVALID_TOKEN
                         ? ", error=\"invalid_token\", error_description=\"The access token is invalid\""
                         : "");
    }
    gh_respond_common_headers(req, &head);
    gh_sbuf_adds(&head, "\r\n");
    send_or_close(req, &head, body.p, body.len);
}

void gh_respond_direct(gh_request *req)
{
    const gh_route_conf *r = req->match.route;
    req->status = r->respond_status;
    size_t cap = 512 + r->nrespond_headers * 8 + (req->extra_headers ? strlen(req->extra_headers) : 0);
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
    gh_respond_common_headers(req, &head);
    gh_sbuf_adds(&head, "\r\n");
    send_or_close(req, &head, r->respond_body, r->respond_body_len);
}
