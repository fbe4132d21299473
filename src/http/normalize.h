/* The canonical path (DESIGN stage 3): computed once per request and used by routing, logs and
 * the upstream request, so that no two components read the same target two ways. */
#ifndef GH_HTTP_NORMALIZE_H
#define GH_HTTP_NORMALIZE_H

#include <stddef.h>

#include "core/reason.h"

/* Normalizes the path part of an origin-form target [path, path+len) into out (at least len + 1
 * bytes): percent-encoded unreserved characters decoded, other escapes upper-cased, dot
 * segments removed, repeated slashes merged. Refuses (GH_R_BAD_PATH, *detail set) encoded
 * '/', '\' or control characters, raw '\', malformed escapes and '..' above the root.
 * Returns GH_R_OK with *out_len set. */
gh_reason gh_normalize_path(const char *path, size_t len, char *out, size_t *out_len,
                            const char **detail);

#endif
