/* Internal to src/config: what a snapshot holds beyond its arena (contexts, compiled schemas,
 * caches, resolved secrets, references to state shared across reloads) is handed to the arena
 * with its release, so freeing the arena releases each exactly once. Each returns false when it
 * could not be recorded: the thing has been released already and must not be kept. */
#ifndef GH_CONFIG_KEEP_H
#define GH_CONFIG_KEEP_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/yaml_walk.h"

struct gh_token_cache;
struct gh_schema;
struct gh_tls_server;
struct gh_key_source;
struct gh_jwks;
struct gh_rate_limit_conf;

bool gh__cfg_keep_secret(gh_walk *w, char *secret, size_t len); /* wiped and freed */
bool gh__cfg_keep_string(gh_walk *w, char *secret);             /* wiped to its end and freed */
bool gh__cfg_keep_ssl_ctx(gh_walk *w, SSL_CTX *ctx);
bool gh__cfg_keep_cache(gh_walk *w, struct gh_token_cache *cache);
bool gh__cfg_keep_schema(gh_walk *w, struct gh_schema *schema);
/* Connections hold their own references: the context lives until the last one ends. */
bool gh__cfg_keep_tls_server(gh_walk *w, struct gh_tls_server *tls);
/* Shared across reloads: a reload that keeps the definition took its own reference. */
bool gh__cfg_keep_key_source(gh_walk *w, struct gh_key_source *source);
bool gh__cfg_keep_limit_table(gh_walk *w, struct gh_rate_limit_conf *limit);
/* The keys of a set (the set itself is in the arena). */
bool gh__cfg_keep_jwks(gh_walk *w, struct gh_jwks *keys);

#endif
