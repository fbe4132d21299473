#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "wire/h1.h"
#include "server/metrics_collect.h"
#include "server/admin.h"
#include "server/worker.h"

#define GH_ADMIN_MAX_REQUEST 8192

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    gh_admin *admin;
    char *out;
    size_t len;
    int closed;
    char buf[GH_ADMIN_MAX_REQUEST];
} admin_conn;

static void free_conn(uv_handle_t *h)
{
    admin_conn *c = h->data;
    if (++c->closed == 2) {
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

/* extra: header lines of the answer's own ("Name: value\r\n"...), at most 128 bytes. */
static void reply_with(admin_conn *c, int code, const char *type, const char *body, size_t blen,
                       const char *extra)
{
    uv_read_stop((uv_stream_t *)&c->tcp);
    char *out = malloc(384 + blen);
    if (!out) {
        close_conn(c);
        return;
    }
    int n = snprintf(out, 384,
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%sCache-Control: no-store\r\nConnection: close\r\n\r\n",
                     code, gh_h1_status_text(code), gh_http_date_now(&c->admin->date), type, blen,
                     extra ? extra : "");
    memcpy(out + n, body, blen);
    c->out = out;
    uv_buf_t b = uv_buf_init(out, (unsigned)(n + (int)blen));
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        close_conn(c);
}

/* allow: the method of the path, for a 405 (RFC 9110 15.5.6); NULL otherwise. */
static void reply_allow(admin_conn *c, int code, const char *type, const char *body, size_t blen,
                        const char *allow)
{
    char extra[64];
    if (allow)
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
    reply_with(c, code, type, body, blen, allow ? extra : NULL);
}

static void reply(admin_conn *c, int code, const char *type, const char *body, size_t blen)
{
    reply_with(c, code, type, body, blen, NULL);
}

/* The running snapshot's effective configuration, as `gatehouse check --print` shows it. */
static void effective_config(admin_conn *c, gh_runtime *rt)
{
    gh_config *cfg = gh_runtime_config(rt);
    char extra[128];
    snprintf(extra, sizeof(extra), "Gatehouse-Config-Hash: %s\r\n", cfg->hash);
    reply_with(c, 200, "application/yaml", cfg->effective, cfg->effective_len, extra);
    gh_config_release(cfg);
}

static void reply_text(admin_conn *c, int code, const char *text)
{
    reply(c, code, "text/plain; charset=utf-8", text, strlen(text));
}

static bool is(const gh_h1_request *r, const char *method, const char *path)
{
    size_t ml = strlen(method), pl = strlen(path);
    return r->method_len == ml && memcmp(r->method, method, ml) == 0 && r->target_len == pl &&
           memcmp(r->target, path, pl) == 0;
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
 * into every route's (and its clients' precise 503s into refused connections). */
static void readiness(admin_conn *c, gh_runtime *rt, bool draining)
{
    if (draining) {
        reply_text(c, 503, "draining\n");
        return;
    }
    char text[2048];
    gh_sbuf b = gh_sbuf_make(text, sizeof(text) - 1);
    gh_config *cfg = gh_runtime_config(rt);
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        gh_key_source *s = cfg->jwt_providers[i].source;
        if (!s || gh_key_source_key_count(s) > 0)
            continue;
        char err[GH_KEY_ERROR_MAX];
        gh_key_source_last_error(s, err, sizeof(err));
        gh_sbuf_addf(&b, "identity provider %s has no keys: %s\n", s->def.provider,
                     err[0] ? err : "first fetch not finished");
    }
    bool unready = b.len > 0;
    if (!unready)
        GH_SBUF_LIT(&b, "ready\n");
    for (size_t i = 0; i < cfg->nupstreams; i++)
        if (all_down(&cfg->upstreams[i]))
            gh_sbuf_addf(&b, "upstream %s has no healthy endpoint\n", cfg->upstreams[i].name);
    gh_config_release(cfg);
    text[b.len] = '\0';
    reply_text(c, unready ? 503 : 200, text);
}

/* Whether the target is one of the admin paths (asked with another method): *allow its own. */
static bool known_path(const gh_h1_request *r, const char **allow)
{
    static const char *const paths[][2] = {
        {"/healthz", "GET"}, {"/readyz", "GET"}, {"/metrics", "GET"}, {"/reload", "POST"},
        {"/config", "GET"}};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        size_t pl = strlen(paths[i][0]);
        if (r->target_len == pl && memcmp(r->target, paths[i][0], pl) == 0) {
            *allow = paths[i][1];
            return true;
        }
    }
    return false;
}

static void serve(admin_conn *c, const gh_h1_request *r)
{
    const char *allow;
    gh_runtime *rt = c->admin->rt;
    bool draining = atomic_load(&rt->draining);
    if (is(r, "GET", "/healthz")) {
        reply_text(c, 200, "ok\n");
    } else if (is(r, "GET", "/readyz")) {
        readiness(c, rt, draining);
    } else if (is(r, "GET", "/metrics")) {
        size_t len;
        char *text = gh_collect_metrics(rt, &len);
        if (!text) {
            reply_text(c, 500, "out of memory\n");
            return;
        }
        reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
        free(text);
    } else if (is(r, "POST", "/reload")) {
        char *report = NULL;
        int rc = c->admin->reload(c->admin->reload_ctx, &report);
        reply_text(c, rc == 0 ? 200 : 422, report ? report : (rc == 0 ? "reloaded\n" : "failed\n"));
        free(report);
    } else if (is(r, "GET", "/config")) {
        effective_config(c, rt);
    } else if (known_path(r, &allow)) {
        static const char text[] = "method not allowed\n";
        reply_allow(c, 405, "text/plain; charset=utf-8", text, sizeof(text) - 1, allow);
    } else {
        reply_text(c, 404, "admin paths: GET /healthz, GET /readyz, GET /metrics, GET /config, "
                           "POST /reload\n");
    }
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
    uv_timer_stop(&c->timer);
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
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, 10000, 0);
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
    return r;
}

void gh_admin_stop(gh_admin *a)
{
    if (a->open)
        uv_close((uv_handle_t *)&a->tcp, NULL);
    a->open = 0;
}
