/* The ban table (store/bans.h): chained buckets under one mutex, keyed by SipHash under the
 * table's random key, so that nobody can line keys up in one chain. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/bans.h"

struct gh_ban_entry {
    gh_ban_entry *next;
    bool active; /* counted in t->active */
    gh_ban ban;
};

static size_t buckets_for(size_t entries)
{
    size_t n = 64;
    while (n < entries && n < GH_BAN_MAX_ENTRIES)
        n <<= 1;
    return n;
}

static size_t slot_of(const gh_ban_table *t, const char *key, size_t len)
{
    gh_siphash h;
    gh_siphash_init(&h, &t->sip);
    gh_siphash_update(&h, key, len);
    return (size_t)gh_siphash_final(&h) & t->mask;
}

int gh_bans_init(gh_ban_table *t)
{
    memset(t, 0, sizeof(*t));
    if (!gh_sipkey_random(&t->sip))
        return -1;
    t->set = (gh_ban_settings){GH_BAN_DEFAULT_BASE_S, GH_BAN_DEFAULT_MAX_S,
                               GH_BAN_DEFAULT_FORGET_S, GH_BAN_DEFAULT_ENTRIES, NULL, 0};
    size_t n = buckets_for(GH_BAN_DEFAULT_ENTRIES);
    if (!(t->buckets = calloc(n, sizeof(*t->buckets))))
        return -1;
    t->mask = n - 1;
    pthread_mutex_init(&t->mu, NULL);
    return 0;
}

void gh_bans_free(gh_ban_table *t)
{
    if (!t->buckets)
        return;
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(t->buckets);
    free((void *)t->set.allow);
    pthread_mutex_destroy(&t->mu);
    t->buckets = NULL;
}

/* The entries into a bucket array of n (a power of two). */
static void rehash(gh_ban_table *t, gh_ban_entry **buckets, size_t n)
{
    size_t old_mask = t->mask;
    gh_ban_entry **old = t->buckets;
    t->buckets = buckets;
    t->mask = n - 1;
    for (size_t i = 0; i <= old_mask; i++)
        for (gh_ban_entry *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t s = slot_of(t, e->ban.key, strlen(e->ban.key));
            e->next = t->buckets[s];
            t->buckets[s] = e;
        }
    free(old);
}

static void spare_allowed(gh_ban_table *t);

int gh_bans_configure(gh_ban_table *t, const gh_ban_settings *s)
{
    gh_ban_allow *allow = NULL;
    if (s->nallow && !(allow = malloc(s->nallow * sizeof(*allow))))
        return -1;
    if (s->nallow)
        memcpy(allow, s->allow, s->nallow * sizeof(*allow));
    size_t n = buckets_for(s->max_entries);
    gh_ban_entry **buckets = NULL;
    if (!t->buckets) { /* never initialized: a configuration with no process behind it */
        free(allow);
        return -1;
    }
    pthread_mutex_lock(&t->mu);
    if (n != t->mask + 1 && !(buckets = calloc(n, sizeof(*buckets)))) {
        pthread_mutex_unlock(&t->mu);
        free(allow);
        return -1;
    }
    if (buckets)
        rehash(t, buckets, n);
    free((void *)t->set.allow);
    t->set = *s;
    t->set.allow = allow;
    spare_allowed(t);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

static gh_ban_entry *find(gh_ban_table *t, const char *key, size_t len, gh_ban_entry ***link)
{
    gh_ban_entry **p = &t->buckets[slot_of(t, key, len)];
    for (; *p; p = &(*p)->next)
        if (strncmp((*p)->ban.key, key, len) == 0 && (*p)->ban.key[len] == '\0') {
            if (link)
                *link = p;
            return *p;
        }
    return NULL;
}

bool gh_bans_find(gh_ban_table *t, const char *key, size_t len, int64_t now, gh_ban *out)
{
    if (!gh_ban_key_ok(key, len))
        return false;
    pthread_mutex_lock(&t->mu);
    gh_ban_entry *e = find(t, key, len, NULL);
    bool banned = e && e->ban.until > now;
    if (banned && out)
        *out = e->ban;
    pthread_mutex_unlock(&t->mu);
    return banned;
}

/* Under the mutex: a change for the control thread; the oldest is dropped when the queue is
 * full (and counted), so that the newest state always reaches the events. */
static void queue_change(gh_ban_table *t, gh_ban_change_kind kind, const gh_ban *b,
                         bool from_store)
{
    if (t->changes_len == GH_BAN_CHANGES) {
        t->changes_head = (t->changes_head + 1) % GH_BAN_CHANGES;
        t->changes_len--;
        atomic_fetch_add(&t->changes_dropped, 1);
    }
    gh_ban_change *c = &t->changes[(t->changes_head + t->changes_len++) % GH_BAN_CHANGES];
    c->kind = kind;
    c->from_store = from_store;
    c->ban = *b;
}

static void set_active(gh_ban_table *t, gh_ban_entry *e, bool active)
{
    if (e->active != active)
        atomic_fetch_add(&t->active, active ? 1u : (unsigned)-1);
    e->active = active;
}

static void unlink_entry(gh_ban_table *t, gh_ban_entry **link)
{
    gh_ban_entry *e = *link;
    set_active(t, e, false);
    *link = e->next;
    t->count--;
    free(e);
}

/* Under the mutex, new settings in force: keys the allow-list now spares are lifted. */
static void spare_allowed(gh_ban_table *t)
{
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry **p = &t->buckets[i]; *p;) {
            gh_ban_entry *e = *p;
            if (!gh_ban_allowed(&t->set, e->ban.key, strlen(e->ban.key))) {
                p = &e->next;
                continue;
            }
            if (e->active)
                queue_change(t, GH_BAN_LIFTED, &e->ban, false);
            unlink_entry(t, p);
        }
}

/* Under the mutex, the table full: the inactive entry whose ban ended longest ago goes. False
 * when every entry is an active ban. */
static bool evict_one(gh_ban_table *t)
{
    gh_ban_entry **oldest = NULL;
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry **p = &t->buckets[i]; *p; p = &(*p)->next)
            if (!(*p)->active && (!oldest || (*p)->ban.until < (*oldest)->ban.until))
                oldest = p;
    if (!oldest)
        return false;
    unlink_entry(t, oldest);
    return true;
}

/* Under the mutex: key's entry, made when missing; NULL when the table is full of bans. */
static gh_ban_entry *entry_for(gh_ban_table *t, const char *key, size_t len)
{
    gh_ban_entry *e = find(t, key, len, NULL);
    if (e)
        return e;
    while (t->count >= t->set.max_entries)
        if (!evict_one(t)) {
            atomic_fetch_add(&t->full, 1);
            return NULL;
        }
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    memcpy(e->ban.key, key, len);
    size_t s = slot_of(t, key, len);
    e->next = t->buckets[s];
    t->buckets[s] = e;
    t->count++;
    return e;
}

static void count_detector(gh_ban_table *t, const char *name)
{
    for (size_t i = 0; i < GH_BAN_DETECTORS; i++) {
        if (!t->detectors[i].name[0])
            snprintf(t->detectors[i].name, GH_BAN_NAME_MAX, "%s", name);
        if (strcmp(t->detectors[i].name, name) == 0) {
            t->detectors[i].imposed++;
            return;
        }
    }
    snprintf(t->detectors[GH_BAN_DETECTORS].name, GH_BAN_NAME_MAX, "other");
    t->detectors[GH_BAN_DETECTORS].imposed++;
}

/* Under the mutex: the duration a new strike earns: base doubled per strike remembered. */
static int64_t earned(const gh_ban_settings *s, uint32_t strikes)
{
    int64_t d = s->base_s;
    for (uint32_t i = 1; i < strikes && d < s->max_s; i++)
        d *= 2;
    return d < s->max_s ? d : s->max_s;
}

int64_t gh_bans_impose_for(gh_ban_table *t, const char *key, size_t len, const char *detector,
                           const char *reason, int64_t now, int64_t duration_s)
{
    if (!gh_ban_key_ok(key, len))
        return -1;
    pthread_mutex_lock(&t->mu);
    if (gh_ban_allowed(&t->set, key, len)) {
        pthread_mutex_unlock(&t->mu);
        return 0;
    }
    gh_ban_entry *e = entry_for(t, key, len);
    if (!e) {
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    gh_ban *b = &e->ban;
    if (b->strikes && now - b->last_strike > t->set.forget_after_s)
        b->strikes = 0; /* a quiet client starts over */
    if (b->strikes < GH_BAN_MAX_STRIKES)
        b->strikes++;
    b->last_strike = now;
    int64_t d = duration_s > 0 ? duration_s : earned(&t->set, b->strikes);
    if (d > t->set.max_s)
        d = t->set.max_s;
    if (b->until <= now)
        b->since = now;
    if (now + d > b->until)
        b->until = now + d;
    b->remote = b->shared = false; /* a new strike: the store learns it from this table */
    gh_ban_name_copy(b->detector, detector, detector ? strlen(detector) : 0);
    gh_ban_text_copy(b->reason, sizeof(b->reason), reason ? reason : "", reason ? strlen(reason) : 0);
    set_active(t, e, true);
    count_detector(t, b->detector);
    queue_change(t, GH_BAN_IMPOSED, b, false);
    int64_t left = b->until - now;
    pthread_mutex_unlock(&t->mu);
    return left;
}

int64_t gh_bans_impose(gh_ban_table *t, const char *key, size_t len, const char *detector,
                       const char *reason, int64_t now)
{
    return gh_bans_impose_for(t, key, len, detector, reason, now, 0);
}

int64_t gh_bans_impose_cb(void *ctx, const char *key, size_t len, const char *detector,
                          const char *reason, int64_t now)
{
    return gh_bans_impose(ctx, key, len, detector, reason, now);
}

bool gh_bans_lift(gh_ban_table *t, const char *key, size_t len, int64_t now)
{
    if (!gh_ban_key_ok(key, len))
        return false;
    pthread_mutex_lock(&t->mu);
    gh_ban_entry **link = NULL;
    gh_ban_entry *e = find(t, key, len, &link);
    bool was = e && e->ban.until > now;
    if (e) {
        if (was)
            queue_change(t, GH_BAN_LIFTED, &e->ban, false);
        unlink_entry(t, link);
    }
    pthread_mutex_unlock(&t->mu);
    return was;
}

bool gh_bans_learn(gh_ban_table *t, const gh_ban *b, int64_t now)
{
    size_t len = strnlen(b->key, GH_BAN_KEY_MAX);
    if (b->until <= now || !gh_ban_key_ok(b->key, len) || b->until - now > 2 * GH_BAN_MAX_SECONDS)
        return false;
    pthread_mutex_lock(&t->mu);
    gh_ban_entry *e = gh_ban_allowed(&t->set, b->key, len) ? NULL : find(t, b->key, len, NULL);
    bool changed = false;
    if (!gh_ban_allowed(&t->set, b->key, len) && (!e || e->ban.until < b->until) &&
        (e || (e = entry_for(t, b->key, len)))) {
        bool was_local = e->ban.until > now && !e->ban.remote;
        gh_ban keep = e->ban;
        e->ban = *b;
        e->ban.remote = !was_local;
        e->ban.shared = true;
        if (keep.strikes > e->ban.strikes)
            e->ban.strikes = keep.strikes;
        if (e->ban.strikes > GH_BAN_MAX_STRIKES)
            e->ban.strikes = GH_BAN_MAX_STRIKES;
        set_active(t, e, true);
        if (!was_local)
            queue_change(t, GH_BAN_IMPOSED, &e->ban, true);
        changed = true;
    }
    pthread_mutex_unlock(&t->mu);
    return changed;
}

void gh_bans_unlearn(gh_ban_table *t, bool (*keep)(void *ctx, const char *key), void *ctx,
                     int64_t now)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry **p = &t->buckets[i]; *p;) {
            gh_ban *b = &(*p)->ban;
            if (b->shared && b->until > now && !keep(ctx, b->key)) {
                queue_change(t, GH_BAN_LIFTED, b, true);
                unlink_entry(t, p);
                continue;
            }
            p = &(*p)->next;
        }
    pthread_mutex_unlock(&t->mu);
}

void gh_bans_mark_shared(gh_ban_table *t, const char *key, int64_t until)
{
    pthread_mutex_lock(&t->mu);
    gh_ban_entry *e = find(t, key, strlen(key), NULL);
    if (e && e->ban.until == until)
        e->ban.shared = true;
    pthread_mutex_unlock(&t->mu);
}

/* out[0..n) as a min-heap on until: out[0] ends first. */
static void sift_down(gh_ban *out, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && out[l].until < out[m].until)
            m = l;
        if (r < n && out[r].until < out[m].until)
            m = r;
        if (m == i)
            return;
        gh_ban tmp = out[i];
        out[i] = out[m];
        out[m] = tmp;
        i = m;
    }
}

/* What an operator looks for is at the top of a listing: the bans that end latest. */
static int latest_end_first(const void *a, const void *b)
{
    int64_t x = ((const gh_ban *)a)->until, y = ((const gh_ban *)b)->until;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t gh_bans_list(gh_ban_table *t, int64_t now, gh_ban *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry *e = t->buckets[i]; e; e = e->next) {
            if (e->ban.until <= now)
                continue;
            if (n < max) { /* the heap filled, then kept on the latest ends */
                out[n] = e->ban;
                for (size_t c = n; c > 0 && out[(c - 1) / 2].until > out[c].until; c = (c - 1) / 2) {
                    gh_ban tmp = out[c];
                    out[c] = out[(c - 1) / 2];
                    out[(c - 1) / 2] = tmp;
                }
            } else if (max && e->ban.until > out[0].until) {
                out[0] = e->ban;
                sift_down(out, max, 0);
            }
            n++;
        }
    pthread_mutex_unlock(&t->mu);
    size_t kept = n < max ? n : max;
    if (kept)
        qsort(out, kept, sizeof(*out), latest_end_first);
    return n;
}

void gh_bans_sweep(gh_ban_table *t, int64_t now)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i <= t->mask; i++)
        for (gh_ban_entry **p = &t->buckets[i]; *p;) {
            gh_ban_entry *e = *p;
            if (e->active && e->ban.until <= now) {
                set_active(t, e, false);
                queue_change(t, GH_BAN_EXPIRED, &e->ban, false);
            }
            if (!e->active && now - e->ban.last_strike > t->set.forget_after_s) {
                unlink_entry(t, p);
                continue;
            }
            p = &e->next;
        }
    pthread_mutex_unlock(&t->mu);
}

size_t gh_bans_take_changes(gh_ban_table *t, gh_ban_change *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    while (n < max && t->changes_len) {
        out[n++] = t->changes[t->changes_head];
        t->changes_head = (t->changes_head + 1) % GH_BAN_CHANGES;
        t->changes_len--;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

size_t gh_bans_detector_counts(gh_ban_table *t, char (*names)[GH_BAN_NAME_MAX],
                               unsigned long long *counts, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i <= GH_BAN_DETECTORS && n < max; i++)
        if (t->detectors[i].name[0]) {
            memcpy(names[n], t->detectors[i].name, GH_BAN_NAME_MAX);
            counts[n++] = t->detectors[i].imposed;
        }
    pthread_mutex_unlock(&t->mu);
    return n;
}

const char *gh_ban_key_kind(const char *key)
{
    if (strncmp(key, "ip:", 3) == 0)
        return "address";
    if (strncmp(key, "sub:", 4) == 0)
        return "subject";
    if (strncmp(key, "key:", 4) == 0)
        return "api_key";
    return "other";
}

/* "1.2.3.4", "1.2.3.0/24", "2001:db8::/64" into a; false when it is none. */
static bool parse_range(const char *s, size_t len, gh_ban_allow *a)
{
    char text[64];
    if (len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, text, a->addr) == 1)
        a->family = AF_INET, a->prefix = 32;
    else if (inet_pton(AF_INET6, text, a->addr) == 1)
        a->family = AF_INET6, a->prefix = 128;
    else
        return false;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || p < 0 || p > a->prefix)
            return false;
        a->prefix = (int)p;
    }
    /* An IPv4-mapped range is the IPv4 one, as client keys are (gate/client_key.h). */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->family == AF_INET6 && a->prefix >= 96 && memcmp(a->addr, mapped, 12) == 0) {
        memmove(a->addr, a->addr + 12, 4);
        memset(a->addr + 4, 0, 12);
        a->family = AF_INET;
        a->prefix -= 96;
    }
    return true;
}

bool gh_ban_allow_parse(const char *s, gh_ban_allow *a)
{
    memset(a, 0, sizeof(*a));
    if (parse_range(s, strlen(s), a))
        return true;
    /* "ip:10.0.0.7" as GET /bans lists it: the range, so that it spares the client whatever
     * bans.ipv4_prefix cuts its key to. */
    if (strncmp(s, "ip:", 3) == 0 && parse_range(s + 3, strlen(s + 3), a))
        return true;
    memset(a, 0, sizeof(*a));
    if (strchr(s, '/') || !strchr(s, ':') || strlen(s) >= GH_BAN_KEY_MAX)
        return false; /* a range that does not parse, or no key */
    snprintf(a->key, sizeof(a->key), "%s", s);
    return true;
}

/* Whether two ranges share an address: their first min(prefix) bits agree. */
static bool overlap(const gh_ban_allow *a, const gh_ban_allow *b)
{
    if (a->family != b->family)
        return false;
    int bits = a->prefix < b->prefix ? a->prefix : b->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char m = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a->addr[i] ^ b->addr[i]) & m)
            return false;
    }
    return true;
}

bool gh_ban_allowed(const gh_ban_settings *s, const char *key, size_t len)
{
    gh_ban_allow range;
    bool is_range = len > 3 && memcmp(key, "ip:", 3) == 0 && parse_range(key + 3, len - 3, &range);
    for (size_t i = 0; i < s->nallow; i++) {
        const gh_ban_allow *a = &s->allow[i];
        if (a->family ? is_range && overlap(a, &range)
                      : strlen(a->key) == len && memcmp(a->key, key, len) == 0)
            return true;
    }
    return false;
}
