/* One try of a request at one endpoint (balance.c picks which): what its outcome tells outlier
 * detection, and whether a failed try may be made again. */
#include <stdio.h>

#include "core/clock.h"
#include "observe/events.h"
#include "route/route.h"
#include "store/upstream_state.h"
#include "upstream/upconn.h"

void gh__endpoint_outcome(gh_request *req, bool failed)
{
    const gh_upstream_conf *u = req->upstream;
    gh_endpoint_state *e = req->endpoint ? req->endpoint->state : NULL;
    if (!e)
        return;
    if (!failed) {
        gh_endpoint_succeeded(e);
        return;
    }
    uint64_t ms = gh_endpoint_failed(e, u->states, u->nendpoints, &u->state->eject_mu,
                                     &u->outlier, gh_now_us());
    if (ms == 0)
        return;
    gh_metrics_upstream(&req->svc->metrics, u->name, GH_UP_EJECTED);
    char fields[256];
    snprintf(fields, sizeof(fields),
             ",\"upstream\":\"%s\",\"endpoint\":\"%s\",\"ejection_ms\":%llu,\"ejections\":%u",
             u->name, req->endpoint->label, (unsigned long long)ms,
             atomic_load(&e->ejections));
    gh_event("warn", "endpoint_ejected",
             "consecutive failures took the endpoint out of rotation", fields);
}

bool gh__status_is_failure(const gh_upstream_conf *u, int status)
{
    if (status == 502 || status == 503 || status == 504)
        return true;
    return u->outlier.application_errors && status >= 500;
}

/* Whether the request can be sent again as it was: nothing of a body is lost (it had none, or
 * the route says replay_body and the body was read whole before the upstream, where each try
 * takes it from: gh_body_replay), and sending it twice changes nothing (RFC 9110 §9.2.2) or
 * the route allows it. */
static bool replayable(const gh_request *req)
{
    bool held_whole = req->body_done && req->body.p && !req->collect_body;
    if (req->h1.body != GH_BODY_NONE && !(req->match.route->retry.replay_body && held_whole))
        return false;
    unsigned m = gh_route_method_bit(req->h1.method, req->h1.method_len);
    const unsigned idempotent = GH_M_GET | GH_M_HEAD | GH_M_OPTIONS | GH_M_PUT | GH_M_DELETE;
    return (m & idempotent) || req->match.route->retry.non_idempotent;
}

bool gh__replayable(const gh_request *req)
{
    return replayable(req);
}

bool gh__may_retry(gh_request *req, unsigned cause)
{
    const gh_upstream_conf *u = req->upstream;
    unsigned on = req->match.route->retry.on != UINT_MAX ? req->match.route->retry.on
                                                         : u->retry.on;
    if (req->resp_started || req->attempts >= u->retry.attempts || !(on & cause))
        return false;
    if (cause != GH_RETRY_CONNECT && !replayable(req))
        return false; /* it was sent: only what may be sent twice goes again */
    if (!gh_upstream_retry_take(u->state, u->retry.budget_percent, u->retry.budget_min,
                                gh_now_us())) {
        gh_metrics_upstream(&req->svc->metrics, u->name, GH_UP_RETRY_DENIED);
        return false;
    }
    gh_metrics_upstream(&req->svc->metrics, u->name, GH_UP_RETRY);
    return true;
}
