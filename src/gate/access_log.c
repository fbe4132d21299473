#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/tls.h"
#include "tls/client_cert.h"
#include "gate/access_log.h"

static const gh_h1_header *find_header(const gh_request *req, const char *lower, size_t len)
{
    return gh_h1_find(req->h1.headers, req->h1.nheaders, lower, len);
}

static void add_field(gh_sbuf *b, const char *name, const char *v, size_t len)
{
    gh_sbuf_adds(b, ",\"");
    gh_sbuf_adds(b, name);
    gh_sbuf_adds(b, "\":");
    if (v)
        gh_sbuf_json_str(b, v, len);
    else
        gh_sbuf_adds(b, "null");
}

static void log_str_b(gh_sbuf *b, const char *name, const char *v)
{
    add_field(b, name, v, v ? strlen(v) : 0);
}

void gh_log_field(gh_log_line *l, const char *name, const char *v, size_t len)
{
    add_field(l->b, name, v, len);
}

static void log_str(gh_log_line *l, const char *name, const char *v)
{
    add_field(l->b, name, v, v ? strlen(v) : 0);
}

void gh_log_principal(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx)
{
    (void)conf, (void)ctx;
    if (l->principal)
        return;
    l->principal = true;
    log_str(l, "auth", req->auth_failed ? "failed" : req->auth_ok ? "ok" : NULL);
    log_str(l, "auth_reason", req->auth_reason);
    log_str(l, "sub", req->auth_sub);
    log_str(l, "client_id", req->auth_client_id);
    log_str(l, "iss", req->auth_iss);
    log_str(l, "kid", req->auth_kid);
}

void gh_log_decision(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx)
{
    (void)conf, (void)ctx;
    if (l->decision)
        return;
    l->decision = true;
    log_str(l, "authz", gh_authz_result_name((gh_authz_result)req->authz));
    log_str(l, "authz_reason", req->authz_reason);
}

/* The name of the listener the request came on (its address unless named), or NULL when the
 * request's snapshot no longer has it. */
static const char *listener_name(const gh_request *req)
{
    for (size_t i = 0; i < req->config->nlisteners; i++)
        if (req->config->listeners[i].id == req->peer.listener)
            return req->config->listeners[i].name;
    return NULL;
}

/* The request's place in its trace: the ids are hex the gateway made or checked, never free
 * text; the caller's span only when the trace came from the caller. */
static void trace_fields(gh_sbuf *b, const gh_request *req)
{
    const gh_trace *t = &req->trace;
    gh_sbuf_addf(b, ",\"trace_id\":\"%s\",\"span_id\":\"%s\"", t->trace_id, t->span_id);
    if (t->parent_id[0])
        gh_sbuf_addf(b, ",\"parent_span_id\":\"%s\"", t->parent_id);
}

/* full: include the client-controlled free text (path, user agent); a line that would not fit
 * is written again without them rather than cut in the middle of a JSON string. */
static void format_line(gh_sbuf *b, const gh_request *req, int worker, const char *route,
                        uint64_t dur, bool full)
{
    char ts[32];
    gh_format_rfc3339_ms(ts);
    /* The worker that served the request: which thread to look at when one misbehaves, and how
     * a test sees that state shared across workers (limits, caches) was really shared. */
    gh_sbuf_addf(b, "{\"ts\":\"%s\",\"request_id\":\"%s\",\"worker\":%d", ts, req->id, worker);
    trace_fields(b, req);
    add_field(b, "client_ip", req->client_ip[0] ? req->client_ip : NULL, strlen(req->client_ip));
    log_str_b(b, "listener", listener_name(req));
    if (req->peer.h2)
        gh_sbuf_adds(b, ",\"protocol\":\"h2\"");
    if (req->peer.tls) {
        gh_tls_info t;
        gh_tls_pipe_info(req->peer.tls, &t);
        add_field(b, "tls", t.version, strlen(t.version));
        add_field(b, "tls_cipher", t.cipher, strlen(t.cipher));
        add_field(b, "alpn", (const char *)t.alpn, t.alpn_len);
        const gh_client_cert *cert = req->ds->client_cert(req);
        if (cert) {
            add_field(b, "client_cert_subject", cert->subject, strlen(cert->subject));
            add_field(b, "client_cert_sha256", cert->sha256, strlen(cert->sha256));
        }
    }
    add_field(b, "method", req->h1.method, req->h1.method_len);
    add_field(b, "host", full && req->h1.host_len ? req->h1.host : NULL, req->h1.host_len);
    add_field(b, "path", full && req->path_len ? req->path : NULL, req->path_len);
    /* The query as sent, without its '?': the path alone does not say which resource. */
    if (full && req->query && req->query_len > 1)
        add_field(b, "query", req->query + 1, req->query_len - 1);
    if (full && !req->path_len && req->h1.target) /* refused before it had a canonical path */
        add_field(b, "target", req->h1.target, req->h1.target_len);
    /* The path the upstream was sent, when the route's rewrite made it another: "path" stays
     * the client's, which the route, the authorization and the limits judged. */
    if (req->upstream_path && (req->upstream_path_len != req->path_len ||
                               memcmp(req->upstream_path, req->path, req->path_len) != 0))
        add_field(b, "upstream_path", full ? req->upstream_path : NULL, req->upstream_path_len);
    add_field(b, "route", req->match.route ? route : NULL, strlen(route));
    gh_sbuf_addf(b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f",
                 req->status, (unsigned long long)req->bytes_in, (unsigned long long)req->bytes_out,
                 (double)dur / 1000.0);
    add_field(b, "upstream", req->endpoint ? req->endpoint->label : NULL,
              req->endpoint ? strlen(req->endpoint->label) : 0);
    if (req->up_status)
        gh_sbuf_addf(b, ",\"upstream_status\":%d,\"upstream_ms\":%.3f", req->up_status,
                     (double)req->up_us / 1000.0);
    else
        gh_sbuf_adds(b, ",\"upstream_status\":null,\"upstream_ms\":null");
    if (req->ws.open) {
        gh_sbuf_addf(b, ",\"ws_close_code\":%u,\"ws_frames_in\":%llu,\"ws_frames_out\":%llu,"
                        "\"ws_bytes_in\":%llu,\"ws_bytes_out\":%llu",
                     (unsigned)req->ws.close_code, (unsigned long long)req->ws.frames_in,
                     (unsigned long long)req->ws.frames_out, (unsigned long long)req->ws.bytes_in,
                     (unsigned long long)req->ws.bytes_out);
        log_str_b(b, "ws_closed_by", req->ws.closed_by);
        log_str_b(b, "ws_error", req->ws.error);
    }
    if (req->attempts)
        gh_sbuf_addf(b, ",\"attempts\":%u", (unsigned)req->attempts);
    if (req->match.route) {
        gh_log_line line = {b, false, false};
        const gh_route_conf *r = req->match.route;
        for (size_t i = 0; i < r->nstages; i++)
            if (r->stages[i].stage->log)
                r->stages[i].stage->log(&line, req, r->stages[i].conf, req->stage_ctx[i]);
    }
    const gh_h1_header *ua = full ? find_header(req, "user-agent", 10) : NULL;
    add_field(b, "user_agent", ua ? ua->value : NULL, ua ? ua->value_len : 0);
    if (req->reason != GH_R_OK) {
        const char *slug = gh_reason_slug(req->reason);
        add_field(b, "reason", slug, strlen(slug));
        if (req->detail)
            add_field(b, "detail", req->detail, strlen(req->detail));
    }
    gh_sbuf_adds(b, "}\n");
}

/* The line when even the one without free text would not fit (a method or a token's claims the
 * size of the head): what the request was and how it ended, the method cut, and fields_cut, so
 * that no request, least of all a refused one, goes unlogged. */
static void minimal_line(gh_sbuf *b, const gh_request *req, int worker, const char *route,
                         uint64_t dur)
{
    char ts[32];
    gh_format_rfc3339_ms(ts);
    gh_sbuf_addf(b, "{\"ts\":\"%s\",\"request_id\":\"%s\",\"worker\":%d", ts, req->id, worker);
    trace_fields(b, req);
    add_field(b, "client_ip", req->client_ip[0] ? req->client_ip : NULL, strlen(req->client_ip));
    log_str_b(b, "listener", listener_name(req));
    add_field(b, "method", req->h1.method, req->h1.method_len < 32 ? req->h1.method_len : 32);
    add_field(b, "route", req->match.route ? route : NULL, strlen(route));
    gh_sbuf_addf(b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f",
                 req->status, (unsigned long long)req->bytes_in, (unsigned long long)req->bytes_out,
                 (double)dur / 1000.0);
    if (req->reason != GH_R_OK)
        log_str_b(b, "reason", gh_reason_slug(req->reason));
    gh_sbuf_adds(b, ",\"fields_cut\":true}\n");
}

void gh_access_log_request(gh_services *svc, const gh_request *req)
{
    uint64_t now = gh_now_us(), dur = now - req->start_us;
    const char *route = req->match.route ? req->match.route->name : "(none)";
    gh_metrics_request(&svc->metrics, route, req->status, dur);
    gh_top_clients_add(&svc->metrics.clients, req->client_ip, req->reason != GH_R_OK, now);
    if (!svc->log_enabled)
        return;
    char line[8192];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    format_line(&b, req, svc->worker_id, route, dur, true);
    if (b.overflow) {
        b = gh_sbuf_make(line, sizeof(line));
        format_line(&b, req, svc->worker_id, route, dur, false);
    }
    if (b.overflow) {
        b = gh_sbuf_make(line, sizeof(line));
        minimal_line(&b, req, svc->worker_id, route, dur);
    }
    if (!b.overflow)
        gh_log_ring_put(svc->log, line, b.len);
    else /* a route name longer than the line: counted as dropped, never silently lost */
        atomic_fetch_add_explicit(&svc->log->dropped, 1, memory_order_relaxed);
}
