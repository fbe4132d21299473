/* One try of a request at one endpoint: which endpoint it goes to (round robin over those in
 * rotation, another one for each retry, every endpoint in panic), what its outcome tells
 * outlier detection, and whether a failed try may be made again. */
#include <stdio.h>

#include "core/clock.h"
#include "observe/events.h"
#include "route/route.h"
#include "store/upstream_state.h"
#include "upstream/upconn.h"

static uint64_t all_of(size_t n)
{
    return n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

/* The endpoints that may take a try now, as bits. */
static uint64_t in_rotation(const gh_upstream_conf *u, uint64_t now_us)
{
    uint64_t ok = 0;
    size_t count = 0;
    for (size_t i = 0; i < u->nendpoints; i++)
        if (!u->states || gh_endpoint_available(u->states[i], now_us)) {
            ok |= UINT64_C(1) << i;
            count++;
        }
    /* Too few left to carry the load: spreading it over every endpoint, some of them failing,
     * beats overloading the few (Envoy's panic threshold). */
    if (count * 100 < (uint64_t)u->panic_percent * u->nendpoints)
        ok = all_of(u->nendpoints);
    return ok;
}

const gh_endpoint_conf *gh__pick_endpoint(gh_request *req)
{
    const gh_upstream_conf *u = req->upstream;
    uint64_t ok = in_rotation(u, gh_now_us());
    if (!ok)
        return NULL;
    uint64_t fresh = ok & ~req->tried;
    uint64_t pick = fresh ? fresh : ok; /* one endpoint left: the retry goes there again */
    size_t n = u->nendpoints;
    size_t start = atomic_fetch_add_explicit(&u->state->cursor, 1, memory_order_relaxed) % n;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (pick >> i & 1) {
            req->tried |= UINT64_C(1) << i;
            return &u->endpoints[i];
        }
    }
    return NULL;
}

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
             u->name, req->endpoint->authority, (unsigned long long)ms,
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

/* Whether the request can be sent again as it was: nothing of a body is lost (bodies stream
 * and are never kept to replay), and sending it twice changes nothing (RFC 9110 §9.2.2) or the
 * route allows it. */
static bool replayable(const gh_request *req)
{
    if (req->h1.body != GH_BODY_NONE)
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
