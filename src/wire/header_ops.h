/* The operator's header rules (headers.request, headers.response: remove, set, add), global and
 * per route, applied to what goes upstream and what goes back to the client. */
#ifndef GH_WIRE_HEADER_OPS_H
#define GH_WIRE_HEADER_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config-t.h"

/* Whether the rules take field h out (it is removed, or set replaces it). */
bool gh_header_ops_drops(const gh_header_ops *ops, const gh_h1_header *h);

/* Appends the fields the global rules and then the route's put in (a global field the route
 * replaces or removes is left out) to out[*n..max). False when they do not fit. */
bool gh_header_ops_put(const gh_header_ops *global, const gh_header_ops *route, gh_h1_header *out,
                       size_t *n, size_t max);

/* Whether a field of the message is kept: neither rule set takes it out. */
static inline bool gh_header_ops_keeps(const gh_header_ops *global, const gh_header_ops *route,
                                       const gh_h1_header *h)
{
    return !gh_header_ops_drops(global, h) && !(route && gh_header_ops_drops(route, h));
}

#endif
