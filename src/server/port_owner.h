/* Who holds an address a bind could not take, for the "address in use" message. */
#ifndef GH_SERVER_PORT_OWNER_H
#define GH_SERVER_PORT_OWNER_H

#include <errno.h>
#include <stddef.h>

#include "config/config.h"

/* The pid of a process listening on an address that covers addr (the same one, or a wildcard
 * on its port), with its command name in comm; 0 when none can be seen (another user's
 * process, without the right to read its descriptors). */
long gh_port_owner(const gh_sockaddr *addr, char *comm, size_t cap);

/* The text of err from binding addr: for EADDRINUSE, with the holder when it can be known,
 * "Address already in use (held by pid 4242, gatehouse)". */
void gh_port_owner_describe(const gh_sockaddr *addr, int err, char *out, size_t cap);

#endif
