/* API keys known by their SHA-256: an index built at load, and a lookup whose final comparison
 * takes constant time. A presented key is hashed first, so lookup timing depends only on a
 * digest, which tells an attacker nothing about any stored key. */
#ifndef GH_IDENTITY_API_KEYS_H
#define GH_IDENTITY_API_KEYS_H

#include "config/config-t.h"

/* Builds p->slots over p->keys in arena. Returns 0, or -1 when out of memory. */
int gh_api_keys_index(gh_api_key_provider *p, gh_arena *arena);
/* The key with this digest, or NULL. */
const gh_api_key *gh_api_key_find(const gh_api_key_provider *p, const unsigned char digest[32]);

#endif
