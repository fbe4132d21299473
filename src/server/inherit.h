/* The new process's side of a graceful binary upgrade: the listening sockets the old process
 * handed over (named in GATEHOUSE_INHERITED_FDS), given to whoever listens on their address,
 * and the pipe through which the new process tells the old one it is ready or why it failed.
 * See upgrade.h for the old process's side. */
#ifndef GH_SERVER_INHERIT_H
#define GH_SERVER_INHERIT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config-t.h"

/* The sockets, "ADDRESS=FD" joined by ',' ("127.0.0.1:8080=3,[::1]:9901=4"), and the pipe. */
#define GH_INHERITED_FDS_ENV "GATEHOUSE_INHERITED_FDS"
#define GH_UPGRADE_READY_FD_ENV "GATEHOUSE_UPGRADE_READY_FD"
/* At most this many sockets change hands: 64 workers for each of 16 listeners, and the admin. */
#define GH_INHERIT_MAX 1040
/* An address text as the hand-over names it: "127.0.0.1:8080", "[::1]:8080". */
#define GH_ADDRESS_TEXT_MAX 64

typedef struct gh_inherited gh_inherited;

/* The sockets and pipe the environment names, which it then no longer names (a later upgrade of
 * this process names its own). Each is checked with the kernel: a listening TCP socket bound
 * where its name says. A descriptor that is none is left alone and one whose name is wrong is
 * closed, each with a warn event. NULL when the process was not started by an upgrade. */
gh_inherited *gh_inherited_from_env(void);
/* Whether a socket bound to addr was handed over (the trial bind lets such an address through:
 * it is this process's to share). */
bool gh_inherited_has(const gh_inherited *in, const gh_sockaddr *addr);
/* The handed-over sockets of addr that are worker `worker`'s of nworkers (shared: SO_REUSEPORT
 * ones, for workers; not shared: the admin's), at most cap, in fds: each is the caller's from
 * now on. Worker i takes the sockets i, i + nworkers, ..., so that every socket of the address
 * is kept whatever the two processes' numbers of workers (closing one would reset the
 * connections waiting in its queue). The number taken; 0 when in is NULL. */
size_t gh_inherited_take(gh_inherited *in, const gh_sockaddr *addr, bool shared, int worker,
                         int nworkers, int *fds, size_t cap);
/* Closes this process's copy of every socket nobody took (addresses the configuration no longer
 * has): the old process still holds them until it stops, then they close. */
void gh_inherited_close_unused(gh_inherited *in);
/* Tells the old process: ready (why NULL), or failed and why. Once; closes the pipe. */
void gh_inherited_report(gh_inherited *in, const char *why);
/* Closes what is left and frees. */
void gh_inherited_free(gh_inherited *in);

/* The address fd is bound to, as text (GH_ADDRESS_TEXT_MAX) and into *sa. 0 or a negative errno. */
int gh_socket_address(int fd, char *text, gh_sockaddr *sa);
/* Whether fd is a TCP socket that listens. */
bool gh_socket_listens(int fd);
/* Whether two addresses are the same family, address and port. */
bool gh_same_address(const gh_sockaddr *a, const gh_sockaddr *b);

/* The environment of a process started on handed-over sockets: this process's, without
 * either hand-over variable of its own, then fds_var ("GATEHOUSE_INHERITED_FDS=...") and the
 * ready pipe's variable for ready_fd, written into ready_var (cap bytes). calloc'd (free the
 * array only), or NULL. */
char **gh_inherit_environ(char *fds_var, int ready_fd, char *ready_var, size_t cap);

#endif
