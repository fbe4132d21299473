/* The admin listener: /healthz, /readyz, /metrics, POST /reload. One request per connection,
 * served on the control loop. */
#ifndef GH_SERVER_ADMIN_H
#define GH_SERVER_ADMIN_H

#include <uv.h>

#include "core/clock.h"
#include "server/runtime.h"

typedef struct gh_admin {
    uv_tcp_t tcp;
    gh_runtime *rt;
    int (*reload)(void *ctx, char **report); /* returns 0 on success; report is malloc'd */
    void *reload_ctx;
    gh_http_date date; /* of the answers */
    int open;
} gh_admin;

int gh_admin_start(gh_admin *a, uv_loop_t *loop, const gh_sockaddr *addr);
void gh_admin_stop(gh_admin *a);

#endif
