/* GET /status on the admin listener: what `gatehouse status` shows, as one JSON document. */
#ifndef GH_SERVER_ADMIN_STATUS_H
#define GH_SERVER_ADMIN_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "server/runtime.h"

typedef struct gh_status_facts {
    uint64_t uptime_s;
    bool ready, draining;
} gh_status_facts;

/* The version, the configuration's hash, uptime, pid, workers, listeners, each upstream's
 * endpoints with their active health, ready and draining. malloc'd (caller frees), its length
 * in *len; NULL when out of memory. */
char *gh_admin_status_json(gh_runtime *rt, const gh_status_facts *f, size_t *len);

/* ,"upstreams":[...]: each upstream's requests in flight and its endpoints' active health,
 * passive ejection and requests in flight. GET /stats shows the same. */
void gh_admin_status_upstreams(gh_sbuf *b, const gh_config *cfg);

#endif
