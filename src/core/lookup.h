/* A name lookup (getaddrinfo) on a thread of its own, which the one who asked may stop waiting
 * for: a name server that never answers then holds no caller for the resolver's whole timeout,
 * and no exit (the thread is detached; libuv's pool would be joined at exit). The asker and the
 * thread each hold the lookup; the last to let go frees it. */
#ifndef GH_CORE_LOOKUP_H
#define GH_CORE_LOOKUP_H

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct gh_lookup gh_lookup;

/* Starts looking host:port up (stream sockets). wake(wake_ctx), when given, runs on the
 * lookup's thread as the answer comes, unless the asker let go first. NULL when no thread or
 * memory could be had (*error then says why, as errno). */
gh_lookup *gh_lookup_start(const char *host, const char *port, void (*wake)(void *),
                           void *wake_ctx, int *error);
/* Waits up to wait_ms (0: not at all) for the answer. True when it is in: *status is
 * getaddrinfo's, and *res (freeaddrinfo) the caller's. */
bool gh_lookup_take(gh_lookup *l, uint64_t wait_ms, int *status, struct addrinfo **res);
/* The asker lets go, answered or not: wake never runs after this returns. */
void gh_lookup_release(gh_lookup *l);

#endif
