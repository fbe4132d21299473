/* The process's privileges: no_new_privs from the start, and the switch to `user:` and `group:`
 * once every socket is bound and every key read. */
#ifndef GH_SERVER_PRIVILEGES_H
#define GH_SERVER_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* PR_SET_NO_NEW_PRIVS on the calling thread, inherited by every thread and program it starts:
 * nothing executed later (a setuid binary, a file with capabilities) gains privileges. Call
 * before any thread exists. 0, or -1 with why in err. */
int gh_no_new_privs(char *err, size_t cap);

/* Whether gh_privileges_drop can do what p asks: a process not started as root cannot become
 * another user or group. Checked before anything is bound. 0, or -1 with why in err. */
int gh_privileges_check(const gh_process_conf *p, char *err, size_t cap);

/* Switches the whole process (every thread) to p's user and group: supplementary groups, group,
 * then user, and checks that root cannot be taken back. Nothing to do without user: or group:,
 * or when the process already runs as them. A process not started as root that is asked to
 * become someone else fails with why. 0, or -1 with why in err. */
int gh_privileges_drop(const gh_process_conf *p, char *err, size_t cap);

/* Whether a reload's p asks for other ids than the running rp (they apply at the next start). */
bool gh_privileges_changed(const gh_process_conf *rp, const gh_process_conf *p);

/* After a failed bind of addr (err a negative errno): why, when it is a port below 1024 that a
 * process no longer root cannot take. NULL otherwise. */
const char *gh_privileged_port_why(const gh_sockaddr *addr, int err);

#endif
