/* Key sets that change while the gateway runs: an identity provider's jwks_uri (or the one its
 * discovery document names), fetched by the control thread and read by the workers.
 *
 * A key source outlives configuration snapshots (a reload that keeps a provider's definition
 * keeps its keys, so nobody is locked out while they are fetched again). Workers take the
 * current key set with a reference; the control thread publishes a new one, or records a
 * failure and keeps the last good set until max_stale. */
#ifndef GH_IDENTITY_KEYSET_H
#define GH_IDENTITY_KEYSET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/keep.h"
#include "identity/jwk.h"

/* One fetched key set, immutable once published. */
typedef struct gh_keyset {
    atomic_int refs;
    uint64_t generation; /* of its source: 1, 2, ... one per change of content */
    unsigned char digest[32]; /* of the document, to tell an unchanged set */
    gh_jwks jwks;
} gh_keyset;

void gh_keyset_release(gh_keyset *ks);

/* What a source fetches: the registry's key, so an unchanged definition keeps its source. */
typedef struct gh_key_source_def {
    const char *provider;
    const char *issuer;
    const char *jwks_uri;      /* NULL with discovery */
    const char *discovery_url; /* NULL without discovery */
    const char *ca_file;       /* NULL: the system's CAs */
    uint64_t refresh_ms, min_refresh_ms, max_stale_ms, timeout_ms;
} gh_key_source_def;

#define GH_KEY_ERROR_MAX 256

typedef struct gh_key_source {
    void *next; /* in the registry */
    struct gh_key_registry *registry;
    gh_key_source_def def; /* strings owned by the source */
    atomic_int users;      /* configuration snapshots that name it */

    pthread_mutex_t mu;
    gh_keyset *current; /* guarded by mu; NULL before the first good fetch and after max_stale */
    char last_error[GH_KEY_ERROR_MAX]; /* guarded by mu; "" when the last attempt succeeded */

    atomic_ullong generation; /* of current; bumped when it changes or goes */
    atomic_ullong attempts_done; /* finished attempts: requests waiting for keys watch it */
    atomic_bool fetching;
    atomic_bool refetch_wanted; /* a worker met an unknown kid, or had no keys */
    atomic_llong last_attempt_ms; /* monotonic; -1 before the first */
    atomic_llong last_success_ms;
    atomic_ullong fetch_ok, fetch_failed, fetch_declined;

    /* control thread only */
    int64_t next_due_ms;
    char *resolved_uri; /* jwks_uri from the discovery document */
    void *transfer;     /* the attempt in flight */
} gh_key_source;

/* Every key source of the process. poke tells the control thread that a source wants a
 * fetch now; notify tells the workers that an attempt finished. */
typedef struct gh_key_registry {
    union {
        gh_keep keep; /* by definition; unused sources go at a prune after a reload */
        struct {      /* its lock and first source, read where sources are walked */
            pthread_mutex_t mu;
            void *head;
        };
    };
    void (*poke)(void *ctx);
    void *poke_ctx;
    void (*notify)(void *ctx);
    void *notify_ctx;
} gh_key_registry;

void gh_key_registry_init(gh_key_registry *r);
void gh_key_registry_free(gh_key_registry *r);
/* The source for def, shared when one with the same definition exists; a use is counted.
 * NULL when out of memory. */
gh_key_source *gh_key_registry_get(gh_key_registry *r, const gh_key_source_def *def);
/* Ends a use (a snapshot freed); the control thread frees unused sources (prune). */
void gh_key_source_put(gh_key_source *s);
/* Frees sources nobody uses and with no attempt in flight. Control thread. */
void gh_key_registry_prune(gh_key_registry *r);

/* The current key set with a reference taken, or NULL when there is none. */
gh_keyset *gh_key_source_acquire(gh_key_source *s);
/* Whether a fetch would start now if asked (one in flight, or the cool-down has passed). */
bool gh_key_source_may_refetch(const gh_key_source *s, int64_t now_ms);
/* Asks the control thread for a fetch (rate-limited there by min_refresh_interval). */
void gh_key_source_want(gh_key_source *s);

/* Control thread: a document arrived. Parses and publishes it (same content: only the time
 * of success moves). Returns 0, or -1 with *err (static) when the document is refused. */
int gh_key_source_publish(gh_key_source *s, const char *doc, size_t len, int64_t now_ms,
                          const char **err, bool *changed);
/* Control thread: an attempt failed; the last good set stays until max_stale has passed
 * since the last success. Returns true when that made the source lose its keys. */
bool gh_key_source_failed(gh_key_source *s, const char *why, int64_t now_ms);
/* Control thread: an attempt ended (after publish or failed): wakes the waiting requests. */
void gh_key_source_attempt_done(gh_key_source *s);

/* For /readyz and /metrics: a copy of the last error ("" when none). */
void gh_key_source_last_error(gh_key_source *s, char *out, size_t len);
size_t gh_key_source_key_count(gh_key_source *s);

#endif
