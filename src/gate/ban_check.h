/* Bans at the door: a request from a banned client (store/bans.h) is refused before anything
 * else is done for it: 403 client-banned, or 429 with Retry-After when bans.status says so,
 * with a problem document naming the detector. Nothing is forwarded, and the connection closes
 * after the answer, so a banned client pays a new connection for each try.
 *
 * Two points: the client's address once the route is found (before every stage), and its
 * verified identity (subject or API-key client) once the authentication stages have passed,
 * before authorization, policies, limits and the body. While no ban is active each is one
 * atomic load. */
#ifndef GH_GATE_BAN_CHECK_H
#define GH_GATE_BAN_CHECK_H

#include <stdbool.h>

#include "gate/exchange.h"

/* True when req was refused for a ban on its address. */
bool gh_ban_refuses_address(gh_request *req);
/* True when req was refused for a ban on its subject or API-key client. */
bool gh_ban_refuses_identity(gh_request *req);

#endif
