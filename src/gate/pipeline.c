/* The pipeline: what happens to a request between its head and its action. The path is
 * normalized, the listener's method and header rules applied, a CORS preflight answered, the
 * route found, the route's stages run in phase order (a stage that waits resumes here), then
 * the route's action starts. Every refusal is answered here, after the stage that made it has
 * returned. See docs/architecture.md, "The life of a request". */
#include <string.h>

#include "core/tls.h"
#include "gate/access_log.h"
#include "gate/anomaly.h"
#include "gate/security_event.h"
#include "gate/span.h"
#include "gate/action.h"
#include "gate/ban_check.h"
#include "gate/cors.h"
#include "gate/pipeline.h"
#include "gate/request.h"
#include "gate/respond.h"
#include "gate/stage.h"
#include "route/rewrite.h"
#include "gate/websocket.h"
#include "wire/normalize.h"

static void route_action(gh_request *req);

gh_verdict gh_stage_refuse(gh_request *req, gh_reason reason, const char *detail)
{
    req->reason = reason;
    req->detail = detail;
    return GH_DONE;
}

/* Runs one stage (or a waiting stage's next step) with the request marked as in a stage, so
 * that a refusal made inside is only recorded; it is answered here, after the stage has
 * returned, and nothing reads the request after that. True when the request goes on. */
static bool stage_passes(gh_request *req, gh_stage_step step, const void *arg, size_t at)
{
    req->in_stage = true;
    gh_verdict v = step(req, arg);
    req->in_stage = false;
    if (req->reason == GH_R_OK && v == GH_NEXT)
        return true;
    if (v == GH_WAIT) {
        /* Marked even when it refused as well: the request's end then lets go of the wait,
         * which would otherwise wake a request that is gone. */
        req->stage_at = (uint8_t)at;
        req->stage_waits = true;
        if (req->reason == GH_R_OK)
            return false;
    }
    if (req->reason == GH_R_OK) /* GH_DONE with no reason recorded: a stage's fault */
        gh_stage_refuse(req, GH_R_INTERNAL, "a stage refused without saying why");
    req->refused_by = (uint8_t)(at + 1);
    gh_request_refuse(req, req->reason, req->detail);
    return false;
}

/* The route's stages from the first'th on; a stage that waits resumes through
 * gh_request_resume. */
/* Whether stage i is where the authentication stages end (or i == nstages, after the last):
 * a banned identity is refused there, before anything else is done for it. */
static bool authenticated_by(const gh_route_conf *route, size_t i)
{
    bool after_auth = i == route->nstages || route->stages[i].stage->phase >= GH_PHASE_AUTHORIZE;
    return after_auth && (i == 0 || route->stages[i - 1].stage->phase < GH_PHASE_AUTHORIZE);
}

static void run_stages(gh_request *req, size_t first)
{
    const gh_route_conf *route = req->match.route;
    for (size_t i = first; i <= route->nstages; i++) {
        if (authenticated_by(route, i) && gh_ban_refuses_identity(req))
            return;
        if (i < route->nstages &&
            !stage_passes(req, route->stages[i].stage->run, route->stages[i].conf, i))
            return;
    }
    route_action(req);
}

void gh_request_resume(gh_request *req, gh_stage_step step, const void *arg)
{
    /* Taken first: once the step or the stages after it answer, req is freed. The downstream
     * itself outlives this call (its memory goes in a later loop callback). */
    const gh_downstream_ops *ds = req->ds;
    void *downstream = req->downstream;
    size_t at = req->stage_at;
    req->stage_waits = false;
    if (stage_passes(req, step, arg, at))
        run_stages(req, at + 1);
    ds->resume_input(downstream); /* body bytes that arrived meanwhile, or the next pipelined request */
}

void gh_pipeline_start(gh_request *req)
{
    const gh_config *cfg = req->config;
    const char *t = req->h1.target;
    size_t tlen = req->h1.target_len;
    const char *q = memchr(t, '?', tlen);
    size_t plen = q ? (size_t)(q - t) : tlen;
    if (q) {
        req->query = q;
        req->query_len = tlen - plen;
    }
    const char *detail = NULL;
    req->path = gh_arena_alloc(&req->arena, GH_NORMALIZED_MAX(plen));
    if (!req->path) {
        gh_request_refuse(req, GH_R_INTERNAL, "out of request memory");
        return;
    }
    gh_reason r = gh_normalize_path(t, plen, &cfg->paths, req->path, &req->path_len, &detail);
    if (r == GH_R_OK && q)
        r = gh_check_query(q + 1, tlen - plen - 1, &detail);
    if (r != GH_R_OK) {
        req->path_len = 0;
        gh_request_refuse(req, r, detail);
        return;
    }
    if (gh_ban_refuses_address(req))
        return;
    if (req->peer.underscores == GH_US_REFUSE) {
        for (size_t i = 0; i < req->h1.nheaders; i++)
            if (memchr(req->h1.headers[i].name, '_', req->h1.headers[i].name_len)) {
                gh_request_refuse(req, GH_R_UNDERSCORE_HEADER,
                               "a header name contains '_' (headers_with_underscores: refuse)");
                return;
            }
    }
    if (req->peer.tls && req->h1.host &&
        !gh_tls_pipe_serves(req->peer.tls, req->h1.host, req->h1.host_parts.name_len)) {
        gh_request_refuse(req, GH_R_MISDIRECTED,
                          "the Host is neither the name the TLS client asked for nor one its "
                          "certificate covers");
        return;
    }
    unsigned m = gh_route_method_bit(req->h1.method, req->h1.method_len);
    if (!(m & req->peer.methods)) {
        req->match.allow = req->peer.methods;
        gh_request_refuse(req, GH_R_METHOD_NOT_ALLOWED, "the listener does not accept this method");
        return;
    }
    /* A CORS preflight is answered for the route of the method it asks about, before any
     * authentication: browsers send it without credentials. */
    unsigned asked;
    if (gh_cors_is_preflight(req, &asked) && (asked & req->peer.methods) &&
        gh_route_find(cfg, req->peer.listener, req->h1.host, req->h1.host_parts.name_len,
                      req->path, req->path_len, asked, &req->match) == GH_R_OK &&
        req->match.route->cors) {
        gh_cors_answer_preflight(req);
        return;
    }
    r = gh_route_find(cfg, req->peer.listener, req->h1.host, req->h1.host_parts.name_len,
                      req->path, req->path_len, m, &req->match);
    if (r != GH_R_OK) {
        gh_request_refuse(req, r,
                       r == GH_R_NOT_FOUND ? "no route matches this host and path"
                                           : "the route does not allow this method");
        return;
    }
    gh_cors_note_origin(req);
    run_stages(req, 0);
}

/* The path the upstream is sent, when the route rewrites it: made once every stage has judged
 * the client's path, before anything is read toward the upstream. False after refusing. */
static bool rewrite_path(gh_request *req)
{
    const gh_route_conf *route = req->match.route;
    if (!route->rewrite.kind || req->upstream_path)
        return true;
    const char *detail = NULL;
    req->upstream_path = gh_arena_alloc(&req->arena, gh_route_rewrite_max(route, req->path_len));
    gh_reason r = req->upstream_path
                      ? gh_route_rewrite(&req->match, req->path, req->path_len, req->upstream_path,
                                         &req->upstream_path_len, &detail)
                      : GH_R_INTERNAL;
    if (r == GH_R_OK)
        return true;
    req->upstream_path = NULL;
    gh_request_refuse(req, r, detail ? detail : "out of request memory");
    return false;
}

/* The route's action, once every stage has let the request through. */
static void route_action(gh_request *req)
{
    const gh_route_conf *route = req->match.route;
    if (route->upstream && !rewrite_path(req))
        return;
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > gh_request_max_body(req)) {
        gh_request_refuse(req, GH_R_BODY_TOO_LARGE,
                       route->body && route->body->max_bytes
                           ? "Content-Length exceeds the route's body.max_bytes"
                           : "Content-Length exceeds limits.max_body_bytes");
        return;
    }
    if (gh_ws_requested(req) && !req->ws.upgrade && !gh_ws_handshake(req))
        return;
    if (!route->upstream) {
        req->action = &gh_direct_action;
        req->action->start(req);
        return;
    }
    /* The body (up to body.buffer_before_upstream of it) is read before an upstream slot is
     * taken: a client that sends it slowly holds a connection of its own, not the upstream's. */
    uint64_t buffer = gh_request_body_limits(req).buffer_bytes;
    if (!req->body_done && buffer && !req->body_buffered) {
        req->body_buffered = true;
        req->ds->collect_body(req, buffer, route_action);
        return;
    }
    req->action = req->svc->proxy;
    if (!req->body_done)
        req->ds->read_body(req);
    req->action->start(req);
}


void gh_request_refuse(gh_request *req, gh_reason reason, const char *detail)
{
    req->reason = reason;
    req->detail = detail;
    if (req->in_stage)
        return; /* answered once the stage has returned (stage_passes): it still reads req */
    gh_metrics_refusal(&req->svc->metrics, reason);
    if (!req->body_done)
        req->close_after = true;
    gh_respond_problem(req, reason, detail);
    req->ds->finish(req);
}

void gh_request_fail(gh_request *req, gh_reason reason, const char *detail)
{
    if (!req->resp_started) {
        gh_request_refuse(req, reason, detail);
        return;
    }
    /* Part of the response is out: the only honest signal left is cutting the connection. */
    req->reason = reason;
    req->detail = detail;
    gh_metrics_refusal(&req->svc->metrics, reason);
    req->ds->cut(req);
}

void *gh_stage_context(gh_request *req, const gh_stage *self)
{
    const gh_route_conf *r = req->match.route;
    for (size_t i = 0; r && i < r->nstages; i++) {
        if (r->stages[i].stage != self)
            continue;
        if (!req->stage_ctx[i])
            req->stage_ctx[i] = gh_arena_zalloc(&req->arena, self->ctx_size ? self->ctx_size : 1);
        return req->stage_ctx[i];
    }
    return NULL;
}

void gh_request_end(gh_request *req)
{
    if (req->stage_waits) {
        const gh_stage_ref *s = &req->match.route->stages[req->stage_at];
        req->stage_waits = false;
        if (s->stage->abort)
            s->stage->abort(req, s->conf, req->stage_ctx[req->stage_at]);
    }
    if (req->action)
        req->action->abort(req);
    gh_ws_release(req);
    if (!req->resp_done && req->reason == GH_R_OK)
        req->reason = GH_R_CLIENT_CLOSED;
    if (!req->status)
        req->status = gh_reason_status(req->reason);
    gh_services *svc = req->svc;
    gh_span_attempt_end(req, req->resp_done ? NULL : "cancelled");
    gh_access_log_request(svc, req);
    gh_security_event_request(svc, req);
    gh_span_request_end(req);
    gh_anomaly_request(svc, req);
    gh_bytes_free(&req->body);
    if (gh_snapshots_put(&svc->snapshots, req->snap))
        gh_jws_verifier_clear(&svc->stage_tools.verifier); /* its keys may be freed with it */
    gh_arena arena = req->arena;
    gh_arena_free(&arena);
}
