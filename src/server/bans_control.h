/* The bans' side on the control thread: a timer that ends the bans whose time is up, writes
 * every change (imposed, lifted, expired) to the security event stream and, with a Redis store
 * (stores.redis), shares the bans with the other gateways that use it.
 *
 * Sharing: every ban imposed here is written to the hash `gatehouse:bans` (field: the key;
 * value: "until|since|strikes|detector|reason"), every lift made here deletes its field, and
 * every bans.sync_interval the hash is read back: bans imposed elsewhere are enforced here
 * until their end, bans lifted elsewhere end here, fields whose end passed are deleted. So a
 * ban reaches every gateway within about one sync_interval. While Redis cannot be reached the
 * local table goes on deciding alone (failures counted, the transition logged once); bans
 * lifted meanwhile are lifted here only. */
#ifndef GH_SERVER_BANS_CONTROL_H
#define GH_SERVER_BANS_CONTROL_H

#include <stdatomic.h>
#include <uv.h>

#include "server/runtime.h"

typedef struct gh_bans_control gh_bans_control;

/* Starts the timer on loop; NULL when out of memory. */
gh_bans_control *gh_bans_control_start(uv_loop_t *loop, gh_runtime *rt);
/* Stops it; its memory goes once its handles closed (the loop runs on). */
void gh_bans_control_stop(gh_bans_control *bc);

#endif
