/* The anomaly detectors' state: per (detector, key) counters of the current window, a
 * distinct-value sketch and the baselines of past windows, in one fixed-size table shared by
 * every worker of the process (sharded mutexes held for a few hundred nanoseconds). Bounded:
 * a key that finds its probe run full takes the place of the lightest entry (space-saving:
 * the clients that send the most keep their place; a newcomer starts from the evicted weight,
 * so a flood of new keys cannot push out an attacker who keeps sending). The table lives in a
 * registry across reloads, as the rate-limit tables do, and the registry holds the actions
 * (gh_detect_actions) the detectors take. */
#ifndef GH_STORE_ANOMALY_TABLE_H
#define GH_STORE_ANOMALY_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keep.h"
#include "core/siphash.h"
#include "store/anomaly_sketch.h"

#define GH_ANOM_SHARDS 64
#define GH_ANOM_SHARED_SENT 4096 /* values lately added to Redis counts (a power of two) */
#define GH_ANOM_PROBE 8
#define GH_ANOM_DETECTORS 6 /* gh_anomaly_detector (config-t.h) */
#define GH_ANOM_MODES 3     /* off, log, ban */

/* What the detectors do beyond their security event: the ban table fills this in. A detector in
 * mode ban calls ban(ctx, key, key_len, detector, reason, now) once per window of detection:
 * key is the client's key as text ("sub:alice", "key:partner-a", "ip:203.0.113.7"), detector
 * its name ("enumeration"), reason a sentence for the ban's problem document, now the wall
 * clock in seconds. It returns how long the ban lasts (seconds), 0 when the key is spared, -1
 * when it could not be recorded. ban NULL: not wired, and mode ban only logs. Set once before
 * the workers start; read without a lock afterwards. */
typedef struct gh_detect_actions {
    void *ctx;
    int64_t (*ban)(void *ctx, const char *key, size_t key_len, const char *detector,
                   const char *reason, int64_t now);
} gh_detect_actions;

typedef struct gh_anom_entry {
    unsigned char key[16]; /* all zero: free */
    int64_t window;        /* the window the counters below hold */
    int64_t last_us;       /* last seen: long-idle entries give way first */
    uint64_t weight;       /* space-saving weight: halved every window, plus the requests */
    uint32_t requests, errors, refused; /* this window */
    uint32_t fired;                     /* this window: reported already (0 or 1) */
    gh_ewma requests_base, errors_base; /* per window, over the windows that ended */
    gh_hll distinct;                    /* this window's distinct values */
} gh_anom_entry;

/* One request's contribution to an entry. */
typedef struct gh_anom_add {
    uint32_t requests, errors, refused;
    bool has_value;
    uint64_t value_hash; /* a distinct value (a path parameter, a subject, an address) */
} gh_anom_add;

typedef struct gh_anom_table {
    void *next; /* in the registry */
    size_t max_keys;
    atomic_int users;
    gh_sipkey sip;                       /* keys are hashed with it: nobody aims at a slot */
    const gh_detect_actions *actions;    /* the registry's */
    atomic_ullong detections[GH_ANOM_DETECTORS][GH_ANOM_MODES]; /* metrics */
    /* Fingerprints of (detector, key, value, window) lately added to a shared count in Redis,
     * direct-mapped: a value already added in this window is not sent again, since adding a
     * known member to a HyperLogLog changes nothing. A slot overwritten only costs a resend. */
    atomic_ullong shared_sent[GH_ANOM_SHARED_SENT];
    struct {
        pthread_mutex_t mu;
        gh_anom_entry *slots;
        size_t mask;
    } shards[GH_ANOM_SHARDS];
} gh_anom_table;

typedef struct gh_anom_registry {
    gh_keep keep;
    gh_detect_actions actions; /* zero until the ban table is wired */
    atomic_int redis_in_flight; /* shared counts asked of Redis and not answered, every worker */
} gh_anom_registry;

void gh_anom_registry_init(gh_anom_registry *r);
void gh_anom_registry_free(gh_anom_registry *r);
/* The table with room for max_keys, shared with a snapshot that already uses one of that size;
 * a use is counted. NULL when out of memory. */
gh_anom_table *gh_anom_table_get(gh_anom_registry *r, size_t max_keys);
void gh_anom_table_put(gh_anom_registry *r, gh_anom_table *t);

/* 16 bytes naming (detector, key text) under the table's random key. */
void gh_anom_key(const gh_anom_table *t, unsigned detector, const char *text, size_t len,
                 unsigned char out[16]);
/* The keyed 64-bit hash of a value for a distinct-count sketch. */
uint64_t gh_anom_value_hash(const gh_anom_table *t, const void *v, size_t len);

/* The fingerprint of value added to the shared count of (detector, key text) in window. */
uint64_t gh_anom_shared_fingerprint(const gh_anom_table *t, unsigned detector, const char *text,
                                    size_t len, const void *value, size_t vlen, int64_t window);
/* True the first time fp is noted, as far as the table remembers (and it is now noted); false
 * when it was sent lately. */
bool gh_anom_shared_note(gh_anom_table *t, uint64_t fp);
/* Forgets fp again: it was not sent after all. */
void gh_anom_shared_unnote(gh_anom_table *t, uint64_t fp);

/* Counts add for key in window (the window's number at the detector's length) at now_us and
 * copies the entry out (out), for a decision without the lock. A new window first folds the
 * ended one (and, up to 16, the empty ones between) into the baselines with weight alpha. */
void gh_anom_observe(gh_anom_table *t, const unsigned char key[16], int64_t window,
                     int64_t now_us, double alpha, const gh_anom_add *add, gh_anom_entry *out);
/* Marks key as reported in window; true only for the first caller of the window (one event and
 * one ban per client and window, whichever worker saw it). */
bool gh_anom_claim(gh_anom_table *t, const unsigned char key[16], int64_t window);

#endif
