/* Route selection: routes are tried in the order written and the first whose host, path and
 * method match wins, so what an operator reads is what runs. */
#ifndef GH_ROUTE_ROUTE_H
#define GH_ROUTE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config-t.h"
#include "core/reason.h"

#define GH_ROUTE_MAX_PARAMS 16

typedef struct gh_route_param {
    const char *name; /* points into the route's template, up to '}' */
    size_t name_len;
    const char *value; /* points into the request path */
    size_t value_len;
} gh_route_param;

typedef struct gh_route_match {
    const gh_route_conf *route;
    unsigned allow; /* methods of routes whose host and path matched: the 405 Allow header */
    gh_route_param params[GH_ROUTE_MAX_PARAMS];
    size_t nparams;
} gh_route_match;

/* Whether the listener with this id serves r: it is among the route's listeners, or the route
 * names none (served everywhere). */
bool gh_route_on_listener(const gh_route_conf *r, uint64_t listener);

/* The method's GH_M_* bit, 0 for a method no route can name. */
unsigned gh_route_method_bit(const char *method, size_t len);

/* Finds the route for (host, canonical path, method) among those the listener serves (its id:
 * routes bound to other listeners are not seen). host is the canonical host name without its
 * port (wire/host.h); routes hold theirs canonical too. Returns GH_R_OK, GH_R_NOT_FOUND or
 * GH_R_METHOD_NOT_ALLOWED (m->allow set). host may be NULL (HTTP/1.0 without Host). */
gh_reason gh_route_find(const gh_config *c, uint64_t listener, const char *host, size_t host_len,
                        const char *path, size_t path_len, unsigned method, gh_route_match *m);

/* Writes "GET, HEAD, POST" for a method set; returns the length. */
size_t gh_route_allow_list(unsigned methods, char *out, size_t cap);

#endif
