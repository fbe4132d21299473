/* Fetching remote key sets on the control thread's loop with libcurl multi: discovery
 * documents and JWK sets, TLS verified, bounded in time and size, refreshed on schedule and on
 * demand (a worker met an unknown kid), at most once per min_refresh_interval per provider. */
#ifndef GH_IDENTITY_JWKS_FETCH_H
#define GH_IDENTITY_JWKS_FETCH_H

#include <uv.h>

#include "identity/keyset.h"

#define GH_JWKS_FETCH_MAX_BYTES (1u << 20)

typedef struct gh_jwks_fetcher gh_jwks_fetcher;

/* Starts fetching for every source of reg, on loop (the control thread's). Sets reg's poke so
 * workers can ask for a fetch. NULL when libcurl cannot be set up. */
gh_jwks_fetcher *gh_jwks_fetcher_start(uv_loop_t *loop, gh_key_registry *reg);
/* Aborts transfers and closes the handles; the loop must run once more to finish closing. Call
 * it when no worker can poke any more. */
void gh_jwks_fetcher_stop(gh_jwks_fetcher *f);

#endif
