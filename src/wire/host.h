/* The request's host, parsed once (RFC 3986 3.2.2 and 3.2.3): a DNS-style name, a dotted-quad
 * IPv4 address or a bracketed IPv6 address, then an optional numeric port. Routing, rate limits,
 * logs and the upstream request all use the one canonical form, so no two of them can read the
 * same Host two ways ("admin.test." and "admin.test" are one host). */
#ifndef GH_WIRE_HOST_H
#define GH_WIRE_HOST_H

#include <stddef.h>
#include <stdint.h>

#define GH_HOST_NAME_MAX 253 /* a DNS name's longest text form (RFC 1035 2.3.4) */
/* The longest canonical form: a name, or an IPv6 literal (whose canonical text may be longer
 * than the client's spelling, "[::ffff:a:a]" is "[::ffff:0.10.0.10]"), then ":65535". */
#define GH_HOST_CANON_MAX (GH_HOST_NAME_MAX + 6)

typedef struct gh_host {
    size_t name_len; /* the name's bytes, an IPv6 literal's brackets included, the dot excluded */
    int32_t port;    /* -1: none given */
} gh_host;

/* Parses s[0..len) as host[:port]. Returns NULL and fills out, or a static text saying what is
 * malformed. */
const char *gh_host_parse(const char *s, size_t len, gh_host *out);

/* Writes the canonical form of a parsed host into out (GH_HOST_CANON_MAX bytes): the name in
 * lower case without its trailing dot, or an IPv6 literal in its RFC 5952 text form, then
 * ":port" in decimal when a port was given. Returns its length; h->name_len becomes the
 * canonical name's. */
size_t gh_host_canon(const char *s, gh_host *h, char *out);

#endif
