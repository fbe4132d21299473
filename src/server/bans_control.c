/* The bans' side on the control thread (server/bans_control.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/json.h"
#include "observe/events.h"
#include "server/bans_control.h"
#include "store/redis_conn.h"

#define TICK_MS 250
#define SHARED_HASH "gatehouse:bans"
#define LIFTS_PER_READ 32

struct gh_bans_control {
    uv_timer_t timer;
    gh_runtime *rt;
    gh_redis_conn *conn;
    gh_config *conn_cfg;    /* the snapshot whose stores.redis the connection follows (held) */
    uint64_t next_sync_ms;  /* loop time of the next read of the shared hash */
    uint64_t asked_ms;      /* when the read in flight was sent; 0: none */
    /* Keys lifted here since the read in flight was sent: its answer still holds them (the
     * deletion goes after it), and learning them again would undo the lift until the next read.
     * More than fit: the answer is not used. */
    char lifted[LIFTS_PER_READ][GH_BAN_KEY_MAX];
    size_t nlifted;
    bool lifted_overflow;
    int up;                 /* -1 unknown, 0 down, 1 up: transitions logged once */
};

static gh_ban_table *table_of(gh_bans_control *bc)
{
    return &bc->rt->shared.bans;
}

/* A ban's texts in an event (its key, reason, detector): whole, or in the cut form their
 * first EVENT_CUT_BYTES, so that the line fits GH_SEC_LINE_MAX whatever they hold (the admin
 * API takes any text; escaped, a byte may take six). */
#define EVENT_CUT_BYTES 128
/* four texts cut, each byte escaped to six at worst; 700: the common fields and the numbers */
_Static_assert(4 * (6 * EVENT_CUT_BYTES + sizeof(GH_SEC_CUT_MARK)) + 700 <= GH_SEC_LINE_MAX,
               "a ban's cut event line fits its buffer");

static void text_field(gh_sbuf *s, bool cut, const char *name, const char *v, size_t len)
{
    if (cut)
        gh_sec_field_cut(s, name, v, len, EVENT_CUT_BYTES);
    else
        gh_sec_field(s, name, v, len);
}

static void format_event(gh_sbuf *s, const gh_ban_change *c, gh_sec_action a, bool cut)
{
    static const char *const why[] = {"imposed", "lifted", "expired"};
    const gh_ban *b = &c->ban;
    gh_sec_line_begin(s, a);
    gh_sec_field(s, "event.reason", why[c->kind], strlen(why[c->kind]));
    text_field(s, cut, "rule.name", b->detector, strlen(b->detector));
    text_field(s, cut, "message", b->reason, strlen(b->reason));
    text_field(s, cut, "gatehouse.ban.key", b->key, strlen(b->key));
    const char *kind = gh_ban_key_kind(b->key);
    gh_sec_field(s, "gatehouse.ban.kind", kind, strlen(kind));
    if (strncmp(b->key, "ip:", 3) == 0)
        text_field(s, cut, "source.ip", b->key + 3, strcspn(b->key + 3, "/"));
    else if (strncmp(b->key, "sub:", 4) == 0)
        text_field(s, cut, "user.id", b->key + 4, strlen(b->key + 4));
    gh_sbuf_addf(s, ",\"gatehouse.ban.strikes\":%u,\"gatehouse.ban.until\":%lld", b->strikes,
                 (long long)b->until);
    gh_sec_field(s, "gatehouse.ban.origin", c->from_store ? "shared" : "local",
                 c->from_store ? 6 : 5);
    if (cut)
        gh_sbuf_adds(s, ",\"gatehouse.event.cut\":true");
    gh_sec_line_end(s);
}

/* The change as a security event, from the control thread's producer. */
static void write_event(gh_bans_control *bc, const gh_config *cfg, const gh_ban_change *c)
{
    gh_runtime *rt = bc->rt;
    bool on = rt->sec_streams && (strcmp(cfg->security_events.file, "off") != 0 ||
                                  cfg->security_events.syslog.address || cfg->security_events.http.url);
    if (!on)
        return;
    gh_sec_action a = c->kind == GH_BAN_IMPOSED ? GH_SEC_BAN : GH_SEC_UNBAN;
    gh_sec_stream *stream = &rt->sec_streams[rt->sec_logger.nrings - 1];
    char line[GH_SEC_LINE_MAX];
    for (int cut = 0; cut <= 1; cut++) {
        gh_sbuf s = gh_sbuf_make(line, sizeof(line));
        format_event(&s, c, a, cut);
        if (s.overflow)
            continue;
        if (cut)
            gh_sec_stream_cut(stream);
        gh_sec_stream_put(stream, a, line, s.len);
        return;
    }
    gh_sec_stream_too_long(stream); /* cannot happen (the cut form is bounded): counted */
}

static void set_up(gh_bans_control *bc, bool up, const char *why)
{
    if (!up)
        atomic_fetch_add(&table_of(bc)->store_failures, 1);
    if (bc->up == (int)up)
        return;
    bool first = bc->up < 0;
    bc->up = up;
    char fields[256];
    gh_sbuf f = gh_sbuf_make(fields, sizeof(fields));
    GH_SBUF_LIT(&f, ",\"reason\":");
    gh_sbuf_json_str(&f, why, strlen(why));
    gh_event_built(up ? "info" : "warn", up ? "bans_store_up" : "bans_store_down",
                   up ? (first ? "bans shared through Redis" : "bans shared through Redis again")
                      : "bans cannot be shared through Redis: local bans only",
                   &f);
}

static void close_conn(gh_bans_control *bc)
{
    if (bc->conn)
        gh_redis_conn_close(bc->conn);
    bc->conn = NULL;
    bc->asked_ms = 0;
    if (bc->conn_cfg)
        gh_config_release(bc->conn_cfg);
    bc->conn_cfg = NULL;
}

static void on_ended(void *owner, const char *why)
{
    gh_bans_control *bc = owner;
    bc->conn = NULL; /* it frees itself */
    bc->asked_ms = 0;
    if (bc->conn_cfg)
        gh_config_release(bc->conn_cfg);
    bc->conn_cfg = NULL;
    set_up(bc, false, why);
}

static void on_written(void *privdata, redisReply *reply)
{
    gh_bans_control *bc = privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        set_up(bc, false, reply->str);
}

/* A connection following cfg's stores.redis; false when there is none now. */
static bool connected(gh_bans_control *bc, gh_config *cfg)
{
    if (bc->conn && bc->conn_cfg == cfg)
        return true;
    close_conn(bc);
    if (!cfg->redis)
        return false;
    char why[200];
    const gh_redis_conf *r = cfg->redis;
    bc->conn = gh_redis_conn_open(bc->timer.loop, r->host,
                                  r->port, r->tls, r->server_name, on_ended, bc, why, sizeof(why));
    if (!bc->conn) {
        set_up(bc, false, why);
        return false;
    }
    gh_config_ref(cfg);
    bc->conn_cfg = cfg;
    const char *argv[] = {r->password ? "AUTH" : "PING", r->password};
    gh_redis_conn_command(bc->conn, r->password ? 2 : 1, argv, on_written, bc);
    return true;
}

/* An imposition written: once acknowledged, the table knows the store holds it. */
typedef struct pushed {
    gh_bans_control *bc;
    int64_t until;
    char key[GH_BAN_KEY_MAX];
} pushed;

static void on_pushed(void *privdata, redisReply *reply)
{
    pushed *p = privdata;
    if (reply && reply->type != REDIS_REPLY_ERROR)
        gh_bans_mark_shared(table_of(p->bc), p->key, p->until);
    on_written(p->bc, reply);
    free(p);
}

/* A local change to the shared hash: an imposition written, a lift deleted. */
static void push(gh_bans_control *bc, const gh_ban_change *c)
{
    if (c->from_store || c->kind == GH_BAN_EXPIRED)
        return;
    const gh_ban *b = &c->ban;
    if (c->kind == GH_BAN_LIFTED) {
        if (bc->asked_ms && bc->nlifted < LIFTS_PER_READ)
            memcpy(bc->lifted[bc->nlifted++], b->key, GH_BAN_KEY_MAX);
        else if (bc->asked_ms)
            bc->lifted_overflow = true;
        const char *argv[] = {"HDEL", SHARED_HASH, b->key};
        gh_redis_conn_command(bc->conn, 3, argv, on_written, bc);
        return;
    }
    char value[GH_BAN_NAME_MAX + GH_BAN_REASON_MAX + 80];
    snprintf(value, sizeof(value), "%lld|%lld|%u|%s|%s", (long long)b->until, (long long)b->since,
             b->strikes, b->detector, b->reason);
    pushed *p = malloc(sizeof(*p));
    if (!p)
        return;
    *p = (pushed){bc, b->until, ""};
    memcpy(p->key, b->key, sizeof(p->key));
    const char *argv[] = {"HSET", SHARED_HASH, b->key, value};
    if (gh_redis_conn_command(bc->conn, 4, argv, on_pushed, p) != 0)
        free(p);
}

/* The keys the shared hash holds, sorted, for gh_bans_unlearn to look up: a table of many bans
 * beside a hash of many is not walked once per ban under the table's mutex. */
typedef struct held_keys {
    const redisReply **keys;
    size_t n;
} held_keys;

static int by_bytes(const void *a, const void *b)
{
    const redisReply *x = *(const redisReply *const *)a, *y = *(const redisReply *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static bool held_by(void *ctx, const char *key)
{
    const held_keys *h = ctx;
    redisReply probe = {.type = REDIS_REPLY_STRING, .str = (char *)key, .len = strlen(key)};
    const redisReply *p = &probe;
    return bsearch(&p, h->keys, h->n, sizeof(*h->keys), by_bytes) != NULL;
}

/* A field to delete: malformed or over. A key with a NUL inside cannot be named by the command
 * (its arguments are C strings): deleting it would delete another. */
static void forget_field(gh_bans_control *bc, const redisReply *k)
{
    if (!bc->conn || memchr(k->str, '\0', k->len))
        return;
    const char *argv[] = {"HDEL", SHARED_HASH, k->str};
    gh_redis_conn_command(bc->conn, 3, argv, on_written, bc);
}

/* Whether key was lifted here since the read in flight was sent. */
static bool lifted_meanwhile(const gh_bans_control *bc, const char *key)
{
    for (size_t i = 0; i < bc->nlifted; i++)
        if (strcmp(bc->lifted[i], key) == 0)
            return true;
    return false;
}

static void take_changes(gh_bans_control *bc, gh_config *cfg, bool to_store);

/* The shared hash read back: bans learnt, bans lifted elsewhere ended, ended fields deleted.
 * Anyone with access to the store may have written it: every field is checked
 * (gh_ban_parse_shared), and one that is malformed counts as absent. */
static void on_read(void *privdata, redisReply *reply)
{
    gh_bans_control *bc = privdata;
    if (!reply) {
        bc->asked_ms = 0;
        return; /* the connection ended: reported */
    }
    /* The changes since the last tick first: a lift made since then is one the answer
     * predates. */
    gh_config *cfg = gh_runtime_config(bc->rt);
    take_changes(bc, cfg, true);
    gh_config_release(cfg);
    bc->asked_ms = 0;
    if (bc->lifted_overflow) {
        bc->next_sync_ms = 0; /* read again at the next tick, after the deletions */
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        set_up(bc, false, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    set_up(bc, true, "a read of the shared bans came back");
    int64_t now = (int64_t)time(NULL);
    gh_ban_table *t = table_of(bc);
    held_keys held = {malloc((reply->elements / 2 + 1) * sizeof(*held.keys)), 0};
    if (!held.keys)
        return; /* out of memory: the next read */
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        gh_ban b;
        if (!gh_ban_parse_shared(k->str, k->len, v->str, v->len, now, &b) || b.until <= now) {
            forget_field(bc, k);
            continue;
        }
        held.keys[held.n++] = k;
        if (!lifted_meanwhile(bc, b.key))
            gh_bans_learn(t, &b, now);
    }
    qsort(held.keys, held.n, sizeof(*held.keys), by_bytes);
    gh_bans_unlearn(t, held_by, &held, now);
    free(held.keys);
}

static void sync_store(gh_bans_control *bc, gh_config *cfg, const gh_ban_change *changes,
                       size_t n)
{
    uint64_t now_ms = uv_now(bc->timer.loop);
    if (bc->asked_ms && cfg->redis && now_ms - bc->asked_ms > cfg->redis->timeout_ms + 1000) {
        close_conn(bc); /* silent: start over */
        set_up(bc, false, "the shared bans were not read back in time");
    }
    if (!connected(bc, cfg))
        return;
    for (size_t i = 0; i < n; i++)
        push(bc, &changes[i]);
    if (bc->asked_ms || now_ms < bc->next_sync_ms)
        return;
    bc->next_sync_ms = now_ms + cfg->bans.sync_interval_ms;
    bc->nlifted = 0;
    bc->lifted_overflow = false;
    const char *argv[] = {"HGETALL", SHARED_HASH};
    if (gh_redis_conn_command(bc->conn, 2, argv, on_read, bc) == 0)
        bc->asked_ms = now_ms ? now_ms : 1;
}

static void on_tick(uv_timer_t *timer)
{
    gh_bans_control *bc = timer->data;
    gh_ban_table *t = table_of(bc);
    gh_bans_sweep(t, (int64_t)time(NULL));
    gh_config *cfg = gh_runtime_config(bc->rt);
    take_changes(bc, cfg, false);
    gh_config_release(cfg);
}

/* The queued changes written as events and, to_store, to the store on the connection as it is
 * (a reply's callback may not open or close it); else through sync_store. */
static void take_changes(gh_bans_control *bc, gh_config *cfg, bool to_store)
{
    gh_ban_change changes[64];
    size_t n;
    do {
        n = gh_bans_take_changes(table_of(bc), changes, sizeof(changes) / sizeof(changes[0]));
        for (size_t i = 0; i < n; i++)
            write_event(bc, cfg, &changes[i]);
        if (!to_store) {
            sync_store(bc, cfg, changes, n);
            continue;
        }
        for (size_t i = 0; i < n && bc->conn; i++)
            push(bc, &changes[i]);
    } while (n == sizeof(changes) / sizeof(changes[0]));
}

gh_bans_control *gh_bans_control_start(uv_loop_t *loop, gh_runtime *rt)
{
    gh_bans_control *bc = calloc(1, sizeof(*bc));
    if (!bc)
        return NULL;
    bc->rt = rt;
    bc->up = -1;
    uv_timer_init(loop, &bc->timer);
    bc->timer.data = bc;
    uv_timer_start(&bc->timer, on_tick, TICK_MS, TICK_MS);
    return bc;
}

static void free_control(uv_handle_t *h)
{
    free(h->data);
}

void gh_bans_control_stop(gh_bans_control *bc)
{
    if (!bc)
        return;
    close_conn(bc);
    uv_timer_stop(&bc->timer);
    uv_close((uv_handle_t *)&bc->timer, free_control);
}
