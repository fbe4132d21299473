/* The ban table: clients the gateway refuses outright for a while, by client key (the identity
 * the rate limiter counts: "sub:<subject>", "key:<API-key client>" or "ip:<address>[/prefix]",
 * gate/client_key.h). One table per process, shared by every worker and kept across reloads
 * (it lives in gh_shared, config/config.h); a reload only changes its settings.
 *
 * A ban lasts `base` seconds and doubles on each repeat strike, up to `max`; a key's strikes
 * are forgotten once it went `forget_after` without one. Bounded: at most max_entries keys
 * (active bans and remembered strikes together); when full, the remembered key whose ban ended
 * longest ago gives way, and when every entry is an active ban the new one is not recorded
 * (counted in `full`). Keys on the allow-list are never banned.
 *
 * Hot path: gh_bans_any() is one relaxed atomic load; a request looks a key up only while at
 * least one ban is active. Every other operation takes the table's mutex.
 *
 * Changes (imposed, lifted, expired) are queued for the control thread, which writes them as
 * security events and shares them through Redis (server/bans_control.c); the queue is bounded
 * and counts what it drops. */
#ifndef GH_STORE_BANS_H
#define GH_STORE_BANS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/siphash.h"

#define GH_BAN_KEY_MAX 256     /* bytes of a key, its NUL included */
#define GH_BAN_NAME_MAX 48     /* a detector's name */
#define GH_BAN_REASON_MAX 192  /* the reason text */
#define GH_BAN_DETECTORS 16    /* detectors counted by name; beyond, under "other" */
#define GH_BAN_CHANGES 256     /* changes queued for the control thread */
#define GH_BAN_MAX_ENTRIES 1000000
#define GH_BAN_MAX_SECONDS (365 * 86400) /* the longest ban bans.max allows */
#define GH_BAN_MAX_STRIKES 1000          /* strikes counted; beyond, the count stays */

typedef struct gh_ban {
    char key[GH_BAN_KEY_MAX];
    char detector[GH_BAN_NAME_MAX];
    char reason[GH_BAN_REASON_MAX];
    int64_t since, until; /* wall-clock seconds; until <= now: over, strikes remembered */
    int64_t last_strike;
    uint32_t strikes;
    bool remote; /* learnt from the shared store, not imposed here */
    bool shared; /* the shared store holds it (learnt from it, or written and acknowledged) */
} gh_ban;

typedef enum { GH_BAN_IMPOSED, GH_BAN_LIFTED, GH_BAN_EXPIRED } gh_ban_change_kind;

typedef struct gh_ban_change {
    gh_ban_change_kind kind;
    bool from_store; /* learnt from (or ended by) the shared store: not to be written back */
    gh_ban ban; /* as it was when the change happened */
} gh_ban_change;

/* An allow-list entry: an address range (family AF_INET/AF_INET6) or a whole key. */
typedef struct gh_ban_allow {
    int family; /* 0: key */
    unsigned char addr[16];
    int prefix;
    char key[GH_BAN_KEY_MAX];
} gh_ban_allow;

typedef struct gh_ban_settings {
    int64_t base_s, max_s, forget_after_s;
    size_t max_entries;
    const gh_ban_allow *allow; /* copied by gh_bans_configure */
    size_t nallow;
} gh_ban_settings;

typedef struct gh_ban_entry gh_ban_entry;

typedef struct gh_ban_table {
    pthread_mutex_t mu;
    atomic_uint active;       /* entries whose ban has not been seen over by a sweep */
    atomic_ullong refusals;   /* requests refused for a ban */
    atomic_ullong full;       /* bans not recorded: the table was full of active bans */
    atomic_ullong changes_dropped;
    atomic_ullong store_failures; /* exchanges with the shared store that failed */
    gh_ban_settings set;      /* allow owned */
    gh_sipkey sip;
    gh_ban_entry **buckets;
    size_t mask, count;
    struct {
        char name[GH_BAN_NAME_MAX];
        unsigned long long imposed;
    } detectors[GH_BAN_DETECTORS + 1]; /* the last: "other" */
    gh_ban_change changes[GH_BAN_CHANGES];
    size_t changes_head, changes_len;
} gh_ban_table;

/* The defaults (docs/configuration.md, bans). */
#define GH_BAN_DEFAULT_BASE_S 600
#define GH_BAN_DEFAULT_MAX_S 86400
#define GH_BAN_DEFAULT_FORGET_S 86400
#define GH_BAN_DEFAULT_ENTRIES 100000

/* 0, or -1 when out of memory or randomness. Starts with the defaults and no allow-list. */
int gh_bans_init(gh_ban_table *t);
void gh_bans_free(gh_ban_table *t);
/* New settings (a reload): bans in force keep their end; a smaller max_entries applies as new
 * keys come. 0, or -1 when out of memory (the old settings stay). */
int gh_bans_configure(gh_ban_table *t, const gh_ban_settings *s);

/* Whether any ban may be in force: the check every request makes first. */
static inline bool gh_bans_any(gh_ban_table *t)
{
    return t && atomic_load_explicit(&t->active, memory_order_relaxed) != 0;
}

/* Whether key is banned at now (wall-clock seconds); out (may be NULL) gets the ban. */
bool gh_bans_find(gh_ban_table *t, const char *key, size_t len, int64_t now, gh_ban *out);

/* Imposes a ban on key for detector (its name: "bola", "admin"...) because of reason, at now.
 * The duration is base doubled per strike within forget_after, at most max. Called by the
 * detectors (through the function pointer their module owns), the admin API, anything that
 * decides a client must stop; from any thread. A key already banned gets a new strike and the
 * longer of its two ends.
 * Returns the seconds the ban lasts from now; 0 when the key is on the allow-list (nothing is
 * recorded); -1 when it could not be recorded (an empty or too long key, the table full of
 * active bans). */
int64_t gh_bans_impose(gh_ban_table *t, const char *key, size_t len, const char *detector,
                       const char *reason, int64_t now);
/* gh_bans_impose for a table of function pointers (the detectors' module reaches bans only
 * through one): ctx is the gh_ban_table, now the wall clock in seconds. */
int64_t gh_bans_impose_cb(void *ctx, const char *key, size_t len, const char *detector,
                          const char *reason, int64_t now);
/* The same with a duration of the caller's (seconds, at most max): an operator's manual ban.
 * 0 means as gh_bans_impose computes it. */
int64_t gh_bans_impose_for(gh_ban_table *t, const char *key, size_t len, const char *detector,
                           const char *reason, int64_t now, int64_t duration_s);
/* Ends key's ban and forgets its strikes. False when key had no active ban. */
bool gh_bans_lift(gh_ban_table *t, const char *key, size_t len, int64_t now);
/* A ban learnt from the shared store: recorded without a strike of its own, unless this table
 * already holds it for as long. True when it changed the table. */
bool gh_bans_learn(gh_ban_table *t, const gh_ban *b, int64_t now);
/* The store acknowledged key's ban ending at until: from now on, its absence from the store
 * means it was lifted elsewhere. */
void gh_bans_mark_shared(gh_ban_table *t, const char *key, int64_t until);
/* Ends the bans the store held (gh_ban.shared) that it no longer holds: keep(ctx, key) says
 * which it holds. */
void gh_bans_unlearn(gh_ban_table *t, bool (*keep)(void *ctx, const char *key), void *ctx,
                     int64_t now);

/* The active bans at now: the max that end latest into out, the latest end first.
 * Returns how many there are in all (which may be more than max). */
size_t gh_bans_list(gh_ban_table *t, int64_t now, gh_ban *out, size_t max);
/* Bans that ended by now are counted out (an expiry change each); keys whose strikes are older
 * than forget_after are forgotten. The control thread calls it every second. */
void gh_bans_sweep(gh_ban_table *t, int64_t now);
/* Moves queued changes into out (at most max); returns how many. */
size_t gh_bans_take_changes(gh_ban_table *t, gh_ban_change *out, size_t max);

/* Bans imposed by detector index i (0 .. GH_BAN_DETECTORS): its name ("" when unused) and
 * count, read under the mutex. */
size_t gh_bans_detector_counts(gh_ban_table *t, char (*names)[GH_BAN_NAME_MAX],
                               unsigned long long *counts, size_t max);

/* Whether key can name a client: 1 .. GH_BAN_KEY_MAX - 1 bytes of UTF-8 without a NUL (every
 * client key is: addresses, token subjects and API-key clients all are UTF-8). Every entry of the
 * table passes it, so that every listing of a key is valid JSON text. */
bool gh_ban_key_ok(const char *key, size_t len);
/* Copies text into out (cap bytes, NUL-terminated) cut at a character's end, bytes that are not
 * UTF-8 replaced by '?': a reason or detector that may come from outside, made safe to list. */
void gh_ban_text_copy(char *out, size_t cap, const char *text, size_t len);
/* A field of the shared hash (gatehouse:bans, written by any gateway, or anyone with access to
 * the store): key and "until|since|strikes|detector|reason" into out. False when malformed: a
 * key gh_ban_key_ok refuses, a number that is not one, until before since or beyond
 * GH_BAN_MAX_SECONDS (and a day of clock skew) past now. Names and reasons are made safe. */
/* A detector's name as metrics label it: letters, digits, '_', '-' and '.' (anything else
 * becomes '_'), at most GH_BAN_NAME_MAX - 1 bytes, "unknown" when empty. */
void gh_ban_name_copy(char out[GH_BAN_NAME_MAX], const char *name, size_t len);
bool gh_ban_parse_shared(const char *key, size_t key_len, const char *value, size_t value_len,
                         int64_t now, gh_ban *out);

/* "address", "subject", "api_key" or "other", from a key's prefix. */
const char *gh_ban_key_kind(const char *key);
/* Whether the allow-list in s spares key. */
bool gh_ban_allowed(const gh_ban_settings *s, const char *key, size_t len);
/* Parses "10.0.0.0/8", "::1" or a key ("sub:ci-bot") into a; false when it is an address range
 * that does not parse. */
bool gh_ban_allow_parse(const char *s, gh_ban_allow *a);

#endif
