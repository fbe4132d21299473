/* Internal to src/schema: URI references ($id, $ref) and their fragments. */
#ifndef GH_SCHEMA_URI_H
#define GH_SCHEMA_URI_H

#include <stdbool.h>
#include <stddef.h>

/* ref resolved against base (RFC 3986 5.2) into out; an empty fragment dropped. False when the
 * result does not fit or base cannot take a relative reference. */
bool gh__uri_resolve(const char *base, const char *ref, char *out, size_t cap);
/* Percent-decodes s[0..len) into out (NUL-terminated). False on a malformed escape or no room. */
bool gh__uri_unescape(const char *s, size_t len, char *out, size_t cap, size_t *outlen);

#endif
