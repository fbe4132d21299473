/* Framing over HTTP/2: requests RFC 9113 calls malformed, which a gateway that downgrades to
 * HTTP/1.1 without judging them turns into smuggled headers or requests upstream (CR LF in a
 * value, connection-specific fields, a content-length the DATA does not match, a :path with
 * spaces). A holding gateway resets the stream or refuses it; nothing reaches the upstream.
 * The target must speak HTTP/2 (ALPN h2 on TLS, or prior knowledge on a listener with
 * h2c: true); a valid HTTP/2 request is shown to get through first. */
#include <nghttp2/nghttp2.h>
#include <string.h>
#include <strings.h>

#include "probe/framing.h"

#define MAX_FIELDS 24

typedef struct h2_req {
    gh_probe_h2_field f[MAX_FIELDS];
    size_t n;
} h2_req;

static void add(h2_req *q, const char *name, const char *value)
{
    if (q->n < MAX_FIELDS)
        q->f[q->n++] = (gh_probe_h2_field){name, value, strlen(name), strlen(value)};
}

/* The route's valid request as HTTP/2 fields: pseudo-fields, user-agent, and the credentials
 * of its HTTP/1.1 form (names lowercased). */
static void valid_fields(gh_probe *p, const gh_probe_route *route, h2_req *q)
{
    q->n = 0;
    add(q, ":method", "GET");
    add(q, ":scheme", route->target->tls ? "https" : "http");
    add(q, ":authority", route->host);
    add(q, ":path", route->path);
    add(q, "user-agent", GH_PROBE_UA);
    const char *s = gh_frm_fields(p, route);
    while (*s) {
        const char *e = strstr(s, "\r\n"), *colon = strchr(s, ':');
        if (!e)
            break;
        if (colon && colon < e && strncasecmp(s, "Host:", 5) != 0 && strncasecmp(s, "User-Agent:", 11) != 0) {
            char *name = gh_arena_strndup(&p->arena, s, (size_t)(colon - s));
            for (char *c = name; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            add(q, name, gh_arena_strndup(&p->arena, v, (size_t)(e - v)));
        }
        s = e + 2;
    }
}

static int send_h2(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const h2_req *q,
                   const char *data, size_t dlen, gh_probe_exchange *x, gh_probe_h2_answer *a)
{
    gh_probe_h2_request req = {.fields = q->f, .nfields = q->n, .data = data, .data_len = dlen};
    return gh_probe_h2_send(p, r, route->target, &req, x, a);
}

static void note(gh_probe *p, gh_probe_result *r, const gh_probe_exchange *x, const gh_probe_h2_answer *a)
{
    r->sent = x->sent;
    if (x->connect_failed || x->tls_error)
        r->observed = x->tls_error ? x->tls_error : "(the connection was refused)";
    else
        r->observed = gh_arena_printf(&p->arena, "%s%s%s%s", a->head && *a->head ? a->head : "(no response fields)\n",
                                      a->reset ? gh_arena_printf(&p->arena, "(RST_STREAM %s)\n",
                                                                 nghttp2_http2_strerror(a->reset_code)) : "",
                                      a->goaway ? "(GOAWAY)\n" : "", x->closed ? "(then the connection closed)" : "");
}

/* The route, shown to answer a valid HTTP/2 request; NULL with r skipped. */
static const gh_probe_route *aim_h2(gh_probe *p, gh_probe_result *r, h2_req *valid)
{
    const gh_probe_route *route = gh_frm_aim(p, r);
    if (!route)
        return NULL;
    valid_fields(p, route, valid);
    gh_probe_exchange x;
    gh_probe_h2_answer a;
    if (send_h2(p, r, route, valid, NULL, 0, &x, &a) != 0)
        return NULL;
    if (p->server)
        gh_probe_upstream_note(p, r, NULL); /* the valid request's, not the attack's */
    if (!a.spoke_h2) {
        gh_probe_skip(r, "%s:%d does not speak HTTP/2 (%s)", route->target->host, route->target->port,
                      route->target->tls ? "TLS did not choose h2" : "no h2c prior knowledge on this listener");
        return NULL;
    }
    if (a.status == 0 || a.status >= 400) {
        note(p, r, &x, &a);
        gh_probe_skip(r, "a valid HTTP/2 request to %s is refused too (%d): the attempt would prove nothing",
                      route->path, a.status);
        return NULL;
    }
    return route;
}

/* Sends q (and data) and judges: reset, GOAWAY or a refusal, and nothing forwarded. A head
 * that is whole may go upstream before the DATA show that its content-length lies (a gateway
 * that streams bodies does so; the upstream then gets the head without those bytes): with
 * head_may_go only what is forwarded is judged, never that something was. */
static void expect_h2_refusal_as(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                                 const h2_req *q, const char *data, size_t dlen, bool head_may_go,
                                 const char *what)
{
    gh_probe_exchange x;
    gh_probe_h2_answer a;
    if (send_h2(p, r, route, q, data, dlen, &x, &a) != 0)
        return;
    note(p, r, &x, &a);
    int forwarded;
    const char *bad = gh_frm_upstream_fault(p, r, &forwarded);
    if (x.connect_failed || x.tls_error)
        gh_probe_error(r, "cannot reach %s:%d", route->target->host, route->target->port);
    else if (bad)
        gh_probe_fail(r, "after %s the upstream received %s", what, bad);
    else if (forwarded > 0 && !head_may_go)
        gh_probe_fail(r, "%s reached the upstream (%d request%s)", what, forwarded, forwarded == 1 ? "" : "s");
    else if (a.status && a.status < 400 && head_may_go && a.reset)
        gh_probe_pass(r, "%s: its head went ahead and was answered %d, then the stream was reset when the "
                         "DATA did not match; nothing smuggled", what, a.status);
    else if (a.status && a.status < 400)
        gh_probe_fail(r, "%s was accepted (%d): downgraded to HTTP/1.1 it is not the request the client sent",
                      what, a.status);
    else if (a.status == 502 || a.status == 504)
        gh_probe_fail(r, "%s was answered %d: it reached the upstream, which could not read it", what, a.status);
    else if (a.status)
        gh_probe_pass(r, "%s was refused with %d", what, a.status);
    else if (a.reset || a.goaway)
        gh_probe_pass(r, "%s was %s", what, a.reset ? "reset (RST_STREAM)" : "ended with GOAWAY");
    else if (x.closed)
        gh_probe_pass(r, "%s was not answered: the connection closed", what);
    else
        gh_probe_fail(r, "%s was neither answered nor reset within %llu ms", what,
                      (unsigned long long)p->caps.exchange_ms);
}

static void expect_h2_refusal(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const h2_req *q,
                              const char *data, size_t dlen, const char *what)
{
    expect_h2_refusal_as(p, r, route, q, data, dlen, false, what);
}

/* Each extra field (name, value) added to the valid request, in turn. */
static void extra_fields(gh_probe *p, gh_probe_result *r, const char *const (*nv)[2], size_t n,
                         const char *data)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    for (size_t i = 0; route && i < n && gh_frm_more(r); i++) {
        h2_req q = valid;
        add(&q, nv[i][0], nv[i][1]);
        const char *what = gh_arena_printf(&p->arena, "an HTTP/2 request with \"%s: %s\"",
                                           gh_frm_show(p, nv[i][0], strlen(nv[i][0])),
                                           gh_frm_show(p, nv[i][1], strlen(nv[i][1])));
        expect_h2_refusal(p, r, route, &q, data, data ? strlen(data) : 0, what);
    }
}

void gh_frm_h2_crlf_value(gh_probe *p, gh_probe_result *r)
{
    static const char *const nv[][2] = {
        {"x-probe", "a\r\nTransfer-Encoding: chunked"},
        {"x-probe", "a\r\n\r\nGET " GH_FRM_SMUGGLED_PATH " HTTP/1.1\r\nX-Probe: b"},
        {"x-probe", "a\nX-Probe-Injected: 1"}};
    extra_fields(p, r, nv, 3, NULL);
}

/* Uppercase names slip past checks that look for the lowercase ones (RFC 9113 8.2.2 makes them
 * malformed); downgraded, HTTP/1.1 reads them case-insensitively and frames by them. */
void gh_frm_h2_uppercase_name(gh_probe *p, gh_probe_result *r)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    if (!route)
        return;
    const char *smuggled = gh_frm_smuggled(p, route, NULL);
    const struct { const char *name, *value, *data; } v[] = {
        {"Transfer-Encoding", "chunked", gh_arena_printf(&p->arena, "0\r\n\r\n%s", smuggled)},
        {"Content-Length", "0", smuggled},
        {"X-Probe", "a", NULL}};
    for (size_t i = 0; i < 3 && gh_frm_more(r); i++) {
        h2_req q = valid;
        add(&q, v[i].name, v[i].value);
        expect_h2_refusal(p, r, route, &q, v[i].data, v[i].data ? strlen(v[i].data) : 0,
                          gh_arena_printf(&p->arena, "an HTTP/2 request with the field name \"%s\"%s", v[i].name,
                                          v[i].data ? " and a body hiding a request" : ""));
    }
}

void gh_frm_h2_te(gh_probe *p, gh_probe_result *r)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    if (!route)
        return;
    h2_req q = valid;
    add(&q, "te", "trailers");
    gh_probe_exchange x;
    gh_probe_h2_answer a;
    if (send_h2(p, r, route, &q, NULL, 0, &x, &a) != 0)
        return;
    gh_probe_upstream_note(p, r, NULL);
    if (a.status == 0 || a.status >= 400) {
        note(p, r, &x, &a);
        gh_probe_skip(r, "te: trailers, which RFC 9113 8.2.2 allows, is refused too (%d): refusing other "
                         "values would prove nothing", a.status);
        return;
    }
    static const char *const nv[][2] = {{"te", "gzip"}, {"te", "chunked"}, {"te", "trailers, deflate"}};
    extra_fields(p, r, nv, 3, NULL);
}

void gh_frm_h2_transfer_encoding(gh_probe *p, gh_probe_result *r)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    if (!route)
        return;
    const char *body = gh_arena_printf(&p->arena, "0\r\n\r\n%s", gh_frm_smuggled(p, route, NULL));
    static const char *const nv[][2] = {{"transfer-encoding", "chunked"}, {"connection", "keep-alive"}};
    for (size_t i = 0; i < 2 && gh_frm_more(r); i++) {
        h2_req q = valid;
        add(&q, nv[i][0], nv[i][1]);
        expect_h2_refusal(p, r, route, &q, body, strlen(body),
                          gh_arena_printf(&p->arena, "an HTTP/2 request with \"%s: %s\" and a chunked body "
                                                     "hiding a request", nv[i][0], nv[i][1]));
    }
}

void gh_frm_h2_content_length(gh_probe *p, gh_probe_result *r)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    if (!route)
        return;
    const char *smuggled = gh_frm_smuggled(p, route, NULL);
    const struct { const char *cl, *data, *what; } v[] = {
        {"0", smuggled, "content-length: 0 and a request as DATA"},
        {"1", smuggled, "content-length: 1 and more DATA (a request)"},
        {"100", "abc", "content-length: 100 and 3 bytes of DATA"}};
    for (size_t i = 0; i < 3 && gh_frm_more(r); i++) {
        h2_req q = valid;
        add(&q, "content-length", v[i].cl);
        expect_h2_refusal_as(p, r, route, &q, v[i].data, strlen(v[i].data), true,
                             gh_arena_printf(&p->arena, "an HTTP/2 request with %s", v[i].what));
    }
}

void gh_frm_h2_path_spaces(gh_probe *p, gh_probe_result *r)
{
    h2_req valid;
    const gh_probe_route *route = aim_h2(p, r, &valid);
    if (!route)
        return;
    const char *paths[] = {gh_arena_printf(&p->arena, "%s HTTP/1.1", route->path),
                           gh_arena_printf(&p->arena, "%s x", route->path),
                           gh_arena_printf(&p->arena, "%s?a=b c", route->path)};
    for (size_t i = 0; i < 3 && gh_frm_more(r); i++) {
        h2_req q = valid;
        q.f[3].value = paths[i];
        q.f[3].value_len = strlen(paths[i]);
        expect_h2_refusal(p, r, route, &q, NULL, 0,
                          gh_arena_printf(&p->arena, "an HTTP/2 request with :path \"%s\"", gh_frm_show(p, paths[i], strlen(paths[i]))));
    }
}
