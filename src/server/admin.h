/* The admin listener: /healthz, /readyz, /metrics, /status, /stats, /config, POST /reload,
 * POST /stop, the bans and the dashboard, behind admin.token when one is set (the probes
 * excepted; server/admin_auth.h). One request per connection, served on the control loop. */
#ifndef GH_SERVER_ADMIN_H
#define GH_SERVER_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/clock.h"
#include "server/admin_stats.h"
#include "server/runtime.h"

typedef struct gh_admin {
    uv_tcp_t tcp;
    gh_runtime *rt;
    /* What the control thread does for it, each given ctx. */
    int (*reload)(void *ctx, char **report); /* returns 0 on success; report is malloc'd */
    void (*stop)(void *ctx);                 /* starts the drain, as SIGTERM does */
    bool (*stopping)(void *ctx);             /* the drain has started */
    void *ctx;
    uint64_t started_us; /* gh_now_us() at start: /status's uptime */
    gh_http_date date;   /* of the answers */
    unsigned nconns;     /* connections open, at most GH_ADMIN_MAX_CONNS serving */
    uint64_t busy_logged_us; /* the last admin_busy event, so a flood logs one line a second */
    gh_admin_stats stats;    /* GET /stats's rates: totals sampled each second */
    int open;
} gh_admin;

int gh_admin_start(gh_admin *a, uv_loop_t *loop, const gh_sockaddr *addr);
void gh_admin_stop(gh_admin *a);

#endif
