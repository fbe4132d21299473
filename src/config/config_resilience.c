/* upstreams.<name>.outlier, .retry and .panic_threshold, and routes[].retry: how the gateway
 * takes failing endpoints out of rotation and tries a request again elsewhere. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const retry_conditions[] = {"connect-failure", "reset", "timeout", "502",
                                               "503", "504", NULL};

/* A list of retry conditions into GH_RETRY_* bits. */
static void load_retry_on(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    unsigned *on = (unsigned *)((char *)call->target + call->k->offset);
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items_within(w, v, 8, "retry conditions", &count);
    if (!items)
        return;
    *on = 0;
    for (size_t i = 0; i < count; i++) {
        size_t inner = gh__walk_push_index(w, i);
        int c = gh__walk_enum(w, gh__walk_node(w, items[i]), retry_conditions);
        if (c >= 0)
            *on |= 1u << c;
        gh__walk_pop(w, inner);
    }
}

static const gh_keyword budget_keys[] = {
    {"percent", GH_KW_UINT, GH_KW_AT(gh_retry_conf, budget_percent), .max = 100, .def = "20"},
    {"min", GH_KW_UINT, GH_KW_AT(gh_retry_conf, budget_min), .max = 100000, .def = "3"},
    GH_KW_END,
};

const gh_keyword gh__cfg_retry_keys[] = {
    {"attempts", GH_KW_UINT, GH_KW_AT(gh_retry_conf, attempts), .min = 1, .max = 5, .def = "2"},
    {"per_try_timeout", GH_KW_DURATION, GH_KW_UNSET,
     GH_KW_AT(gh_retry_conf, per_try_timeout_ms), .min = 1, .max = 86400000},
    {"on", GH_KW_CUSTOM, GH_KW_UNSET, GH_KW_AT(gh_retry_conf, on), .load = load_retry_on},
    {"budget", GH_KW_MAP, .table = budget_keys},
    GH_KW_END,
};

const gh_keyword gh__cfg_outlier_keys[] = {
    {"consecutive_failures", GH_KW_UINT, GH_KW_AT(gh_outlier_conf, consecutive_failures),
     .max = 1000, .def = "3"},
    {"base_ejection_time", GH_KW_DURATION, GH_KW_AT(gh_outlier_conf, base_ejection_ms),
     .min = 100, .max = 3600000, .def = "10s"},
    {"max_ejection_time", GH_KW_DURATION, GH_KW_AT(gh_outlier_conf, max_ejection_ms),
     .min = 100, .max = 86400000, .def = "300s"},
    {"max_ejection_percent", GH_KW_UINT, GH_KW_AT(gh_outlier_conf, max_ejection_percent),
     .max = 100, .def = "50"},
    {"application_errors", GH_KW_BOOL, GH_KW_AT(gh_outlier_conf, application_errors),
     .def = "false"},
    GH_KW_END,
};

static const gh_keyword route_retry_keys[] = {
    {"on", GH_KW_CUSTOM, GH_KW_UNSET, GH_KW_AT(gh_route_retry, on), .load = load_retry_on},
    {"non_idempotent", GH_KW_BOOL, GH_KW_AT(gh_route_retry, non_idempotent), .def = "false"},
    {"replay_body", GH_KW_BOOL, GH_KW_AT(gh_route_retry, replay_body), .def = "false"},
    GH_KW_END,
};

void gh__cfg_load_route_retry(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    const gh_config *c = call->ctx;
    r->retry.on = UINT_MAX;
    if (!v || !gh__cfg_apply(w, v, route_retry_keys, &r->retry, call->ctx))
        return;
    if (!r->upstream) {
        gh__walk_error(w, v, "retry applies to routes with an upstream");
        return;
    }
    /* Only a body the gateway holds whole can go again: one that streamed is gone. */
    uint64_t buffer = r->body && r->body->buffer_bytes != GH_BODY_UNSET ? r->body->buffer_bytes
                                                                        : c->limits.body_buffer_bytes;
    if (r->retry.replay_body && buffer == 0)
        gh__walk_error(w, v,
                       "replay_body sends again a body read before the upstream: set "
                       "body.buffer_before_upstream (or limits.body_buffer_before_upstream) to "
                       "the largest body to replay");
}

/* After the upstream's keys: what depends on more than one of them. */
void gh__cfg_finish_upstream_resilience(gh_walk *w, yaml_node_t *n, gh_upstream_conf *u)
{
    if (u->retry.on == UINT_MAX) /* nothing sent, or nothing received: safe for GET */
        u->retry.on = GH_RETRY_CONNECT | GH_RETRY_RESET;
    if (u->retry.per_try_timeout_ms == UINT64_MAX)
        u->retry.per_try_timeout_ms = u->timeout_ms;
    if (u->outlier.max_ejection_ms < u->outlier.base_ejection_ms)
        gh__walk_error(w, n, "outlier.max_ejection_time is shorter than base_ejection_time");
}
