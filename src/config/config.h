/* Loading, validating, sharing and releasing configuration snapshots. */
#ifndef GH_CONFIG_CONFIG_H
#define GH_CONFIG_CONFIG_H

#include "config/config-t.h"
#include "config/diag.h"
#include "tls/ticket_keys.h"
#include "identity/keyset.h"
#include "store/upstream_state.h"
#include "store/bans.h"

/* State that outlives configuration snapshots in a running gateway: upstream concurrency
 * counters, remote key sources, rate-limit tables and TLS ticket keys. A reload that keeps a definition keeps its state. */
typedef struct gh_shared {
    gh_upstream_registry upstreams;
    gh_key_registry keys;
    gh_limit_registry limits;
    gh_anom_registry anomaly; /* the detectors' tables and their actions */
    atomic_int redis_up; /* -1 not yet known, 0 down, 1 up: transitions are logged once */
    gh_ticket_ring tickets; /* TLS session ticket keys */
    gh_ban_table bans;      /* the clients refused outright (bans:) */
} gh_shared;

/* Makes every registry, the ban table and the detectors' ban action; the TLS ticket ring is
 * left to whoever serves TLS (its period is theirs). 0, or -1 with nothing held. */
int gh_shared_init(gh_shared *s);
void gh_shared_free(gh_shared *s);

/* Loads and validates path. Every problem is added to diag; returns NULL if there was any
 * error. shared may be NULL (check): upstream states and key sources are then left NULL.
 * Routes come without their stages: gh_config_load (stages/registry.h) binds them. */
gh_config *gh_config_parse(const char *path, gh_shared *shared,
                           const gh_route_keys *const *route_keys, gh_diag *diag);
/* Same, from a string; name is used in diagnostics. route_keys: the keys that modules above
 * bring to every route (NULL-terminated; NULL: none). */
gh_config *gh_config_parse_string(const char *name, const char *yaml, size_t len,
                                  gh_shared *shared, const gh_route_keys *const *route_keys,
                                  gh_diag *diag);
/* What the route's keys read for keys (gh_route_keys), or NULL when the route has none. */
const void *gh_route_ext(const gh_route_conf *r, const gh_route_keys *keys);

void gh_config_ref(gh_config *c);
void gh_config_release(gh_config *c);
/* cfg goes in force in place of old (NULL at the start): its endpoints' states are marked as
 * in force, old's that cfg does not name no longer (gh_endpoint_state_in_force). */
void gh_config_in_force(const gh_config *old, const gh_config *cfg);

/* Parses "a.b.c.d:port", "[v6]:port" or "name:port" (resolved now: its first address).
 * Returns 0 or -1. */
int gh_parse_hostport(const char *s, gh_sockaddr *out);
/* The host (without brackets, into host, at most cap bytes with its NUL) and the port of
 * "a.b.c.d:port", "[v6]:port" or "name:port". Returns 0, or -1 when s is none of these. */
int gh_split_hostport(const char *s, char *host, size_t cap, const char **port);
/* Every address of host:port, into out: an IP literal gives itself; a name each of its A and
 * AAAA records (resolved now), each once, sorted (gh_sockaddr_compare), so that two answers
 * in another order compare equal. A name's lookup is given up after wait_ms (0: waited for
 * as long as the resolver takes), as EAI_AGAIN. *named: the host is a name. Returns how many,
 * max + 1 when there are more than max, or -1 (the text is no host:port, or *gai_error says
 * why the name did not resolve). */
int gh_resolve_hostport(const char *s, gh_sockaddr *out, size_t max, uint64_t wait_ms, bool *named,
                        int *gai_error);
/* What gh_resolve_hostport keeps of a resolver's answer (shared by the periodic re-resolution,
 * which asks asynchronously): the stream addresses, each once, sorted; max + 1 when more. */
struct addrinfo;
size_t gh_addrinfo_collect(const struct addrinfo *res, gh_sockaddr *out, size_t max);
/* An order of addresses: family, then bytes. 0 when equal. */
int gh_sockaddr_compare(const gh_sockaddr *a, const gh_sockaddr *b);
void gh_sockaddrs_sort(gh_sockaddr *a, size_t n);

#endif
