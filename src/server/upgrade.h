/* The old process's side of a graceful binary upgrade (SIGUSR2): it starts its binary again, from
 * the path it was started from and with the same arguments, handing over its listening sockets
 * (every worker's socket of every listener, and the admin's) as inherited descriptors, and
 * waits for the new process to say it is ready. Ready: the owner is told (it stops accepting and
 * drains). Failed (an error it reports, an exit, no word within GH_UPGRADE_READY_MS): an error
 * event says why and nothing changes. The new process's side is inherit.h. */
#ifndef GH_SERVER_UPGRADE_H
#define GH_SERVER_UPGRADE_H

#include <stdbool.h>
#include <uv.h>

#include "config/config-t.h"

#define GH_UPGRADE_READY_MS 30000

typedef struct gh_upgrade gh_upgrade;

/* Remembers the binary's path (the target of /proc/self/exe now, so that a file installed at
 * that path later is the one that runs) and the arguments. on_ready runs on loop when a new
 * process took over. NULL when out of memory. */
gh_upgrade *gh_upgrade_init(uv_loop_t *loop, void (*on_ready)(void *ctx), void *ctx);
/* Starts an upgrade handing over the sockets bound to an address of cfg (listeners, admin);
 * refused with a warn event while one is under way. */
void gh_upgrade_begin(gh_upgrade *u, const gh_config *cfg);
/* Whether an upgrade is under way (a new process started, not yet ready or gone). */
bool gh_upgrade_busy(const gh_upgrade *u);
/* The process stops: its handles close. A new process still starting is left to finish; it no
 * longer reports to anyone. */
void gh_upgrade_stop(gh_upgrade *u);
/* After the loop ran the closes. */
void gh_upgrade_free(gh_upgrade *u);

#endif
