/* The admin API's bans: GET /bans lists the active bans, DELETE /bans/{key} lifts one (the key
 * percent-encoded as GET /bans lists it), POST /bans imposes one by hand. Each builds its answer
 * (malloc'd JSON or problem+json) and says its status; admin.c sends it. */
#ifndef GH_SERVER_ADMIN_BANS_H
#define GH_SERVER_ADMIN_BANS_H

#include <stddef.h>

#include "store/bans.h"

/* At most this many bans are listed (the soonest to end last); "truncated" says when more. */
#define GH_ADMIN_BANS_LISTED 10000

typedef struct gh_admin_answer {
    int status;
    const char *type; /* its Content-Type */
    char *body;       /* malloc'd; NULL when memory ran out */
    size_t len;
} gh_admin_answer;

gh_admin_answer gh_admin_bans_list(gh_ban_table *t);
/* The address bits that name a client (bans.ipv4_prefix, bans.ipv6_prefix): an "ip:" key an
 * operator writes is read as the key a request from that address gets (gate/client_key.h). */
typedef struct gh_admin_ban_prefixes {
    int ipv4, ipv6;
} gh_admin_ban_prefixes;

/* key: the path after "/bans/", percent-encoded; as listed, or an address as for POST. */
gh_admin_answer gh_admin_bans_lift(gh_ban_table *t, gh_admin_ban_prefixes p, const char *key,
                                   size_t len);
/* body: {"key": "ip:203.0.113.7", "reason": "...", "duration": 600, "detector": "admin"}
 * (duration in seconds, optional: the table's doubling; detector optional: "admin"). */
gh_admin_answer gh_admin_bans_impose(gh_ban_table *t, gh_admin_ban_prefixes p, const char *body,
                                     size_t len);

#endif
