/* The upstream's path: a route's rewrite applied to the canonical path it matched. What the
 * client sent is matched, authorized and logged; only the upstream request carries this. */
#ifndef GH_ROUTE_REWRITE_H
#define GH_ROUTE_REWRITE_H

#include <stddef.h>

#include "core/reason.h"
#include "route/route.h"

/* The most bytes gh_route_rewrite may write for a canonical path of len bytes, its NUL
 * included. */
size_t gh_route_rewrite_max(const gh_route_conf *r, size_t len);

/* Writes the path the upstream is sent for [path, path+len), the canonical path m matched, into
 * out (gh_route_rewrite_max bytes), NUL-terminated: rewrite.prefix in place of match.prefix, or
 * rewrite.path with each {name} filled from m's captures. What is copied from the client stays
 * inside one segment (a capture) or under the new prefix: an escaped '/' or '\' in it, which a
 * backend that decodes escapes before it resolves dot segments would read as a separator, is
 * refused whatever paths.encoded_slash and paths.backslash say. Returns GH_R_OK with *out_len
 * set, or GH_R_ENCODED_SLASH / GH_R_BACKSLASH with *detail saying where. */
gh_reason gh_route_rewrite(const gh_route_match *m, const char *path, size_t len, char *out,
                           size_t *out_len, const char **detail);

#endif
