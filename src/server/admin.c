#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/json.h"
#include "observe/events.h"
#include "server/admin_auth.h"
#include "server/admin_bans.h"
#include "server/admin_status.h"
#include "server/dashboard_assets.h"
#include "wire/h1.h"
#include "server/metrics_collect.h"
#include "server/admin.h"
#include "server/worker.h"

#define GH_ADMIN_MAX_REQUEST 8192
/* Admin connections open at once: beyond, a new one is closed, as the listeners do at
 * limits.max_connections, so that a flood of idle ones cannot take the descriptors every
 * worker's accept needs (or the memory of their buffers). Probes and operators need few. */
#define GH_ADMIN_MAX_CONNS 64
/* An admin connection's whole life, request and answer: each one is bounded, so a drain ends. */
#define GH_ADMIN_DEADLINE_MS 10000

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    gh_admin *admin;
    char *out;
    size_t len;
    int closed;
    const gh_h1_request *req; /* while it is served */
    char buf[GH_ADMIN_MAX_REQUEST];
} admin_conn;

static void free_conn(uv_handle_t *h)
{
    admin_conn *c = h->data;
    if (++c->closed == 2) {
        c->admin->nconns--;
        free(c->out);
        free(c);
    }
}

static void close_conn(admin_conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_close((uv_handle_t *)&c->timer, free_conn);
    uv_close((uv_handle_t *)&c->tcp, free_conn);
}

static void on_written(uv_write_t *wr, int status)
{
    (void)status;
    close_conn(wr->data);
}

/* extra: more header lines (each ending in CRLF), or "". A browser holding the token as Basic
 * credentials sends it with any request another site's page makes, a <script> or <img> among
 * them: every answer is for this origin only (CORP), and none is read as a type it is not. */
static void reply_with(admin_conn *c, int code, const char *type, const char *body, size_t blen,
                       const char *extra)
{
    uv_read_stop((uv_stream_t *)&c->tcp);
    size_t head_cap = 384 + strlen(extra);
    char *out = malloc(head_cap + blen);
    if (!out) {
        close_conn(c);
        return;
    }
    int n = snprintf(out, head_cap,
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%sCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Cross-Origin-Resource-Policy: same-origin\r\nConnection: close\r\n\r\n",
                     code, gh_h1_status_text(code), gh_http_date_now(&c->admin->date), type, blen,
                     extra);
    if (n < 0 || (size_t)n >= head_cap) { /* a head cut short would frame the body wrongly */
        free(out);
        close_conn(c);
        return;
    }
    memcpy(out + n, body, blen);
    c->out = out;
    uv_buf_t b = uv_buf_init(out, (unsigned)(n + (int)blen));
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        close_conn(c);
}

static void reply(admin_conn *c, int code, const char *type, const char *body, size_t blen)
{
    reply_with(c, code, type, body, blen, "");
}

/* The running snapshot's effective configuration, as `gatehouse check --print` shows it. */
static void serve_config(admin_conn *c)
{
    gh_config *cfg = gh_runtime_config(c->admin->rt);
    char extra[128];
    snprintf(extra, sizeof(extra), "Gatehouse-Config-Hash: %s\r\n", cfg->hash);
    reply_with(c, 200, "application/yaml", cfg->effective, cfg->effective_len, extra);
    gh_config_release(cfg);
}

static void reply_text(admin_conn *c, int code, const char *text)
{
    reply(c, code, "text/plain; charset=utf-8", text, strlen(text));
}

static void reply_json(admin_conn *c, int code, const char *json)
{
    reply(c, code, "application/json", json, strlen(json));
}

static bool target_is(const gh_h1_request *r, const char *path)
{
    size_t pl = strlen(path);
    return r->target_len == pl && memcmp(r->target, path, pl) == 0;
}

/* A prefix route matches a longer target with no further '/' or '?'; others match exactly. */
static bool target_matches(const gh_h1_request *r, const char *path, bool prefix)
{
    size_t pl = strlen(path);
    if (!prefix)
        return target_is(r, path);
    return r->target_len > pl && memcmp(r->target, path, pl) == 0 &&
           !memchr(r->target + pl, '/', r->target_len - pl) &&
           !memchr(r->target + pl, '?', r->target_len - pl);
}

static bool method_is(const gh_h1_request *r, const char *method)
{
    size_t ml = strlen(method);
    return r->method_len == ml && memcmp(r->method, method, ml) == 0;
}

/* Whether active health checks found every endpoint of u down. */
static bool all_down(const gh_upstream_conf *u)
{
    for (size_t j = 0; j < u->nendpoints; j++)
        if (!u->states || atomic_load(&u->states[j]->health) != GH_HEALTH_DOWN)
            return false;
    return u->nendpoints > 0;
}

/* Readiness: not while draining, nor while an identity provider the routes use has no keys
 * (it never had any, or they aged past max_stale): its routes answer 503 meanwhile. An
 * upstream whose endpoints active health checks all found down is named, but the gateway stays
 * ready: every gateway in front of that upstream sees the same outage, and a readiness that
 * failed with it would take them all out of their load balancer, turning one backend's outage
 * into every route's (and its clients' precise 503s into refused connections). Says why in b
 * when b is not NULL. */
static bool is_ready(gh_runtime *rt, gh_sbuf *b)
{
    if (atomic_load(&rt->draining)) {
        if (b)
            GH_SBUF_LIT(b, "draining\n");
        return false;
    }
    bool ready = true;
    gh_config *cfg = gh_runtime_config(rt);
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        gh_key_source *s = cfg->jwt_providers[i].source;
        if (!s || gh_key_source_key_count(s) > 0)
            continue;
        ready = false;
        char err[GH_KEY_ERROR_MAX];
        gh_key_source_last_error(s, err, sizeof(err));
        if (b)
            gh_sbuf_addf(b, "identity provider %s has no keys: %s\n", s->def.provider,
                         err[0] ? err : "first fetch not finished");
    }
    if (ready && b)
        GH_SBUF_LIT(b, "ready\n");
    for (size_t i = 0; b && i < cfg->nupstreams; i++)
        if (all_down(&cfg->upstreams[i]))
            gh_sbuf_addf(b, "upstream %s has no healthy endpoint\n", cfg->upstreams[i].name);
    gh_config_release(cfg);
    return ready;
}

static void serve_healthz(admin_conn *c)
{
    reply_text(c, 200, "ok\n");
}

static void serve_readyz(admin_conn *c)
{
    char text[2048];
    gh_sbuf b = gh_sbuf_make(text, sizeof(text) - 1);
    bool ready = is_ready(c->admin->rt, &b);
    text[b.len] = '\0';
    reply_text(c, ready ? 200 : 503, text);
}

/* A document built for this answer (malloc'd, NULL when memory ran out): sent, then freed. */
static void reply_built(admin_conn *c, const char *type, char *doc, size_t len)
{
    if (!doc) {
        reply_text(c, 500, "out of memory\n");
        return;
    }
    reply(c, 200, type, doc, len);
    free(doc);
}

static void serve_metrics(admin_conn *c)
{
    size_t len = 0;
    char *text = gh_collect_metrics(c->admin->rt, &len);
    reply_built(c, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* What /status and /stats both say of the process. */
static gh_status_facts status_facts(admin_conn *c)
{
    gh_runtime *rt = c->admin->rt;
    return (gh_status_facts){(gh_now_us() - c->admin->started_us) / 1000000, is_ready(rt, NULL),
                             atomic_load(&rt->draining) || c->admin->stopping(c->admin->ctx)};
}

static void serve_status(admin_conn *c)
{
    gh_status_facts f = status_facts(c);
    size_t len = 0;
    char *json = gh_admin_status_json(c->admin->rt, &f, &len);
    reply_built(c, "application/json", json, len);
}

/* The dashboard's figures. */
static void serve_stats(admin_conn *c)
{
    gh_status_facts f = status_facts(c);
    size_t len = 0;
    char *json = gh_admin_stats_json(&c->admin->stats, &f, &len);
    if (!json) {
        reply_text(c, 500, "out of memory\n");
        return;
    }
    reply(c, 200, "application/json", json, len);
    free(json);
}

/* The dashboard's page, style and script, built into the binary, behind the token as the rest
 * (a browser sends it as Basic credentials). The policy lets the page load only these files
 * and fetch only from this listener: no inline script or style, no frame around it. */
#define GH_DASHBOARD_HEADERS                                                                      \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "        \
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "                   \
    "frame-ancestors 'none'\r\nReferrer-Policy: no-referrer\r\n"

static void serve_asset(admin_conn *c, gh_dashboard_asset which)
{
    gh_dashboard_file f = gh_dashboard_file_of(which);
    reply_with(c, 200, f.type, f.data, f.len, GH_DASHBOARD_HEADERS);
}

static void serve_dashboard(admin_conn *c)
{
    serve_asset(c, GH_DASHBOARD_PAGE);
}

static void serve_dashboard_js(admin_conn *c)
{
    serve_asset(c, GH_DASHBOARD_SCRIPT);
}

static void serve_dashboard_css(admin_conn *c)
{
    serve_asset(c, GH_DASHBOARD_STYLE);
}

static void serve_reload(admin_conn *c)
{
    char *report = NULL;
    int rc = c->admin->reload(c->admin->ctx, &report);
    reply_text(c, rc == 0 ? 200 : 422, report ? report : (rc == 0 ? "reloaded\n" : "failed\n"));
    free(report);
}

/* Answered before the drain starts, so the caller hears that it was accepted. */
static void serve_stop(admin_conn *c)
{
    gh_config *cfg = gh_runtime_config(c->admin->rt);
    unsigned long long drain_ms = (unsigned long long)cfg->drain_timeout_ms;
    gh_config_release(cfg);
    char body[128];
    snprintf(body, sizeof(body), "{\"status\":\"draining\",\"pid\":%ld,\"drain_timeout_ms\":%llu}\n",
             (long)getpid(), drain_ms);
    reply_json(c, 202, body);
    gh_event("info", "admin_stop", "POST /stop: draining", NULL);
    c->admin->stop(c->admin->ctx);
}

/* The bans (server/admin_bans.c): the answer built, sent, freed. */
static void reply_answer(admin_conn *c, gh_admin_answer a)
{
    if (!a.body) {
        reply_text(c, 500, "out of memory\n");
        return;
    }
    reply(c, a.status, a.type, a.body, a.len);
    free(a.body);
}

static void serve_bans(admin_conn *c)
{
    reply_answer(c, gh_admin_bans_list(&c->admin->rt->shared.bans));
}

/* The address bits that name a client in the configuration in force. */
static gh_admin_ban_prefixes ban_prefixes(admin_conn *c)
{
    gh_config *cfg = gh_runtime_config(c->admin->rt);
    gh_admin_ban_prefixes p = {(int)cfg->bans.ipv4_prefix, (int)cfg->bans.ipv6_prefix};
    gh_config_release(cfg);
    return p;
}

static void serve_ban_lift(admin_conn *c)
{
    const gh_h1_request *r = c->req;
    size_t skip = sizeof("/bans/") - 1;
    reply_answer(c, gh_admin_bans_lift(&c->admin->rt->shared.bans, ban_prefixes(c),
                                       r->target + skip, r->target_len - skip));
}

static void serve_ban_impose(admin_conn *c)
{
    const gh_h1_request *r = c->req;
    const char *body = c->buf + r->head_len;
    size_t len = r->body == GH_BODY_LENGTH ? (size_t)r->content_length : 0;
    gh_admin_answer a = gh_admin_bans_impose(&c->admin->rt->shared.bans, ban_prefixes(c), body,
                                             len);
    if (a.status == 201) /* the ban itself is a security event, with its key */
        gh_event("info", "admin_ban", "POST /bans: a ban imposed by hand", NULL);
    reply_answer(c, a);
}

static void peer_text(admin_conn *c, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(out, cap, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    const void *raw = ss.ss_family == AF_INET6
                          ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                          : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    inet_ntop(ss.ss_family, raw, out, (socklen_t)cap);
}

/* The challenges of a 401: Bearer for tools, Basic so that a browser asks for the token. */
#define GH_ADMIN_CHALLENGES(error)                                                                \
    "WWW-Authenticate: Bearer realm=\"gatehouse-admin\"" error "\r\n"                          \
    "WWW-Authenticate: Basic realm=\"gatehouse-admin\", charset=\"UTF-8\"\r\n"

/* The request shows admin.token when one is set (server/admin_auth.h), or is refused: 401
 * (RFC 6750 3), or 403 for a browser's change that did not come from the dashboard (token or
 * none), with a log line that says why, from where and for what. */
static bool authorized(admin_conn *c, const gh_h1_request *r)
{
    gh_config *cfg = gh_runtime_config(c->admin->rt);
    gh_admin_verdict v = gh_admin_authorize(r, cfg->admin_token);
    gh_config_release(cfg);
    if (v.reason == GH_R_OK)
        return true;
    /* The method and the path are the client's: each is cut, and the fields have room for
     * both escaped at their worst (6 bytes a byte), so the event line stays whole JSON. */
    enum { METHOD_SHOWN = 32, PATH_SHOWN = 256 };
    char peer[64], fields[160 + 6 * (METHOD_SHOWN + PATH_SHOWN)], body[512];
    peer_text(c, peer, sizeof(peer));
    gh_sbuf f = gh_sbuf_make(fields, sizeof(fields));
    gh_sbuf_addf(&f, ",\"reason\":\"%s\",\"peer\":\"%s\",\"method\":",
                 gh_reason_slug(v.reason), peer);
    gh_sbuf_json_str(&f, r->method, r->method_len < METHOD_SHOWN ? r->method_len : METHOD_SHOWN);
    GH_SBUF_LIT(&f, ",\"path\":");
    gh_sbuf_json_str(&f, r->target, r->target_len < PATH_SHOWN ? r->target_len : PATH_SHOWN);
    char message[128];
    snprintf(message, sizeof(message), "admin request refused: %s", v.why);
    gh_event_built("warn", "admin_refused", message, &f);
    int status = gh_reason_status(v.reason);
    snprintf(body, sizeof(body),
             "{\"type\":\"" GH_PROBLEM_TYPE_PREFIX "%s\",\"title\":\"%s\",\"status\":%d,"
             "\"detail\":\"%s: %s\"}\n",
             gh_reason_slug(v.reason), gh_reason_title(v.reason), status, v.why,
             status == 401 ? "the admin API needs Authorization: Bearer <admin.token> (a browser: "
                             "Basic, the token as the password)"
                           : "a browser uses the admin API only through the dashboard's own "
                             "page");
    reply_with(c, status, "application/problem+json", body, strlen(body),
               v.reason == GH_R_MISSING_TOKEN    ? GH_ADMIN_CHALLENGES("")
               : v.reason == GH_R_INVALID_TOKEN ? GH_ADMIN_CHALLENGES(", error=\"invalid_token\"")
                                                : "");
    return false;
}

/* Every admin path: routing, the 405's Allow and the 404's list all read this one table.
 * open: answered without the token, for probes that cannot carry one. */
static const struct admin_route {
    const char *method, *path;
    bool open;
    void (*serve)(admin_conn *c);
    bool prefix; /* path is a prefix: what follows names a resource ("/bans/{key}") */
} admin_routes[] = {
    {"GET", "/healthz", true, serve_healthz},   {"GET", "/readyz", true, serve_readyz},
    {"GET", "/metrics", false, serve_metrics},  {"GET", "/status", false, serve_status},
    {"GET", "/config", false, serve_config},    {"POST", "/reload", false, serve_reload},
    {"POST", "/stop", false, serve_stop},
    {"GET", "/bans", false, serve_bans},        {"POST", "/bans", false, serve_ban_impose},
    {"DELETE", "/bans/", false, serve_ban_lift, true},
    {"GET", "/stats", false, serve_stats},      {"GET", "/", false, serve_dashboard},
    {"GET", "/dashboard.js", false, serve_dashboard_js},
    {"GET", "/dashboard.css", false, serve_dashboard_css},
};
#define GH_ADMIN_NROUTES (sizeof(admin_routes) / sizeof(admin_routes[0]))

static void not_found(admin_conn *c)
{
    char text[512];
    gh_sbuf b = gh_sbuf_make(text, sizeof(text) - 1);
    GH_SBUF_LIT(&b, "admin paths:");
    for (size_t i = 0; i < GH_ADMIN_NROUTES; i++)
        gh_sbuf_addf(&b, "%s %s %s", i ? "," : "", admin_routes[i].method, admin_routes[i].path);
    GH_SBUF_LIT(&b, "\n");
    text[b.len] = '\0';
    reply_text(c, 404, text);
}

/* The target is an admin path asked with another method: 405 with its own (RFC 9110 15.5.6). */
static bool not_allowed(admin_conn *c, const gh_h1_request *r)
{
    char allow[64];
    gh_sbuf b = gh_sbuf_make(allow, sizeof(allow) - 1);
    for (size_t i = 0; i < GH_ADMIN_NROUTES; i++)
        if (target_matches(r, admin_routes[i].path, admin_routes[i].prefix))
            gh_sbuf_addf(&b, "%s%s", b.len ? ", " : "Allow: ", admin_routes[i].method);
    if (!b.len || b.overflow)
        return false;
    GH_SBUF_LIT(&b, "\r\n");
    allow[b.len] = '\0';
    static const char text[] = "method not allowed\n";
    reply_with(c, 405, "text/plain; charset=utf-8", text, sizeof(text) - 1, allow);
    return true;
}

static void serve(admin_conn *c, const gh_h1_request *r)
{
    const struct admin_route *route = NULL;
    for (size_t i = 0; i < GH_ADMIN_NROUTES && !route; i++)
        if (method_is(r, admin_routes[i].method) &&
            target_matches(r, admin_routes[i].path, admin_routes[i].prefix))
            route = &admin_routes[i];
    if (!(route && route->open) && !authorized(c, r))
        return; /* refused with 401 */
    c->req = r;
    if (route)
        route->serve(c);
    else if (!not_allowed(c, r))
        not_found(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    admin_conn *c = h->data;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    admin_conn *c = s->data;
    if (nread < 0) {
        close_conn(c);
        return;
    }
    c->len += (size_t)nread;
    gh_h1_header hdrs[64];
    gh_h1_request r;
    size_t scanned = 0;
    gh_h1_limits lim = {sizeof(c->buf), 64, 1024, false};
    gh_reason rc = gh_h1_parse_request(c->buf, c->len, &scanned, &lim, hdrs, &r);
    if (rc == GH_R_AGAIN)
        return;
    if (rc != GH_R_OK) {
        reply_text(c, gh_reason_status(rc), "malformed request\n");
        return;
    }
    /* A body (POST /bans) is read whole into the same buffer before the request is served. */
    if (r.body == GH_BODY_CHUNKED) {
        reply_text(c, 411, "a body needs Content-Length\n");
        return;
    }
    if (r.body == GH_BODY_LENGTH && r.content_length > sizeof(c->buf) - r.head_len) {
        reply_text(c, 413, "body too large\n");
        return;
    }
    if (r.body == GH_BODY_LENGTH && c->len < r.head_len + r.content_length)
        return;
    /* The timer keeps running through the answer: a client that never reads it would otherwise
     * hold the connection, and with it the control loop and the end of a drain, for ever. */
    serve(c, &r);
}

static void on_timeout(uv_timer_t *t)
{
    close_conn(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    gh_admin *a = server->data;
    if (status < 0)
        return;
    admin_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->admin = a;
    a->nconns++;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    if (a->nconns > GH_ADMIN_MAX_CONNS) {
        close_conn(c);
        uint64_t now = gh_now_us();
        if (now - a->busy_logged_us >= 1000000) {
            a->busy_logged_us = now;
            char message[96];
            snprintf(message, sizeof(message), "admin connection closed: %d already open",
                     GH_ADMIN_MAX_CONNS);
            gh_event("warn", "admin_busy", message, NULL);
        }
        return;
    }
    uv_timer_start(&c->timer, on_timeout, GH_ADMIN_DEADLINE_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int gh_admin_start(gh_admin *a, uv_loop_t *loop, const gh_sockaddr *addr)
{
    int fd; /* the socket a binary upgrade handed over, or a new one (no group to share) */
    if (gh_inherited_take(a->rt->inherited, addr, false, 0, 1, &fd, 1) == 0 &&
        (fd = gh_listen_socket(addr, 128, false)) < 0)
        return fd;
    uv_tcp_init(loop, &a->tcp);
    a->tcp.data = a;
    int r = uv_tcp_open(&a->tcp, fd);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&a->tcp, 128, on_connection);
    a->open = 1;
    if (r == 0)
        r = gh_admin_stats_start(&a->stats, loop, a->rt);
    return r;
}

void gh_admin_stop(gh_admin *a)
{
    if (a->open)
        uv_close((uv_handle_t *)&a->tcp, NULL);
    a->open = 0;
    gh_admin_stats_stop(&a->stats);
}
