#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/list.h"
#include "observe/events.h"
#include "store/redis.h"
#include "store/redis_conn.h"

#define GH_REDIS_BACKOFF_MIN_MS 100
#define GH_REDIS_BACKOFF_MAX_MS 2000

/* GCRA and quota, for each (rate key, quota key) pair of KEYS, in order, on the server's clock
 * so that every gateway sharing the store agrees. ARGV holds four numbers per pair: interval
 * (us), burst, quota (0: none), the quota key's lifetime (s). Returns five numbers per pair:
 * allowed, quota_exceeded, retry_after_us, reset_us, used. One call carries every decision a
 * worker asked for in one loop iteration. */
static const char SCRIPT[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local out = {}\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local rk, qk = KEYS[2 * i - 1], KEYS[2 * i]\n"
    "  local T, burst = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])\n"
    "  local quota = tonumber(ARGV[4 * i - 1])\n"
    "  local limit = burst * T\n"
    "  local tat = tonumber(redis.call('GET', rk) or now)\n"
    "  if tat < now then tat = now end\n"
    "  local used = 0\n"
    "  if quota > 0 then used = tonumber(redis.call('GET', qk) or 0) end\n"
    "  local r\n"
    "  if quota > 0 and used >= quota then\n"
    "    r = {0, 1, 0, tat - now, used}\n"
    "  elseif tat + T - now > limit then\n"
    "    r = {0, 0, tat + T - now - limit, tat - now, used}\n"
    "  else\n"
    "    local nxt = tat + T\n"
    "    redis.call('SET', rk, nxt, 'PX', math.floor((nxt - now) / 1000) + 1000)\n"
    "    if quota > 0 then\n"
    "      used = redis.call('INCR', qk)\n"
    "      if used == 1 then redis.call('EXPIRE', qk, tonumber(ARGV[4 * i])) end\n"
    "    end\n"
    "    r = {1, 0, 0, nxt - now, used}\n"
    "  end\n"
    "  for j = 1, 5 do out[#out + 1] = r[j] end\n"
    "end\n"
    "return out\n";

#define GH_REDIS_BATCH_MAX 64

typedef struct gh_redis {
    gh_redis_env *env;
    gh_redis_conn *conn; /* NULL while there is none */
    char host[64];
    int port;
    char *password;
    SSL_CTX *tls; /* NULL: plain TCP */
    char server_name[256];
    uint64_t timeout_ms;
    uint64_t backoff_ms;
    uv_timer_t reconnect;
    uv_timer_t deadline; /* the oldest command's */
    gh_list cmds; /* in flight (gh_redis_cmd.link), oldest first */
    gh_redis_cmd *queue[GH_REDIS_BATCH_MAX]; /* asked in this iteration, not sent yet */
    size_t nqueue;
    uv_check_t flush_after_io;     /* sends the queue at the end of the iteration... */
    uv_prepare_t flush_before_poll; /* ...and before the loop waits, for timer callbacks */
    char sha[41];
    bool closing;
} gh_redis;

/* One script call: the decisions of one iteration. */
typedef struct redis_batch {
    gh_redis *r;
    size_t n;
    bool retried; /* sent again with EVAL after NOSCRIPT */
    gh_redis_cmd *cmds[GH_REDIS_BATCH_MAX];
} redis_batch;

struct gh_redis_cmd {
    gh_link link;
    gh_redis *r;
    gh_redis_done done; /* NULL once answered, timed out or cancelled */
    void *ctx;
    uint64_t start_us, deadline_us;
    gh_limit_rule rule;
    char args[4][24]; /* interval, burst, quota, quota key lifetime */
    char key[80], qkey[100];
};

static void set_state(gh_redis *r, bool up, const char *why)
{
    int was = atomic_exchange(r->env->up, up ? 1 : 0);
    if (was == (up ? 1 : 0))
        return; /* another worker said it already */
    char fields[400];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    gh_sbuf_addf(&b, ",\"address\":\"%s:%d\"", r->host, r->port);
    if (why) {
        GH_SBUF_LIT(&b, ",\"error\":");
        gh_sbuf_json_str(&b, why, strlen(why));
    }
    gh_event_built(up ? "info" : "error", up ? "redis_up" : "redis_down",
                   up ? "rate-limit store reachable"
                      : "rate-limit store unreachable: limits fall back",
                   &b);
}

static void unlink_cmd(gh_redis *r, gh_redis_cmd *c)
{
    gh_list_unlink(&r->cmds, &c->link);
}

static void answer(gh_redis_cmd *c, bool ok, const gh_limit_verdict *v)
{
    gh_redis_done done = c->done;
    c->done = NULL;
    if (done)
        done(c->ctx, ok, v);
}

static void arm_deadline(gh_redis *r);
static void connect_now(gh_redis *r);

static void on_reconnect(uv_timer_t *t)
{
    connect_now(t->data);
}

static void schedule_reconnect(gh_redis *r)
{
    if (r->closing || uv_is_active((uv_handle_t *)&r->reconnect))
        return;
    uv_timer_start(&r->reconnect, on_reconnect, r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 > GH_REDIS_BACKOFF_MAX_MS ? GH_REDIS_BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void mark_up(gh_redis *r)
{
    r->backoff_ms = GH_REDIS_BACKOFF_MIN_MS;
    set_state(r, true, NULL);
}

static void on_ended(void *owner, const char *why)
{
    gh_redis *r = owner;
    r->conn = NULL;
    set_state(r, false, why);
    schedule_reconnect(r);
}

/* Drops the connection: every command in flight is answered as failed, and a new connection
 * follows after the backoff. */
static void drop(gh_redis *r)
{
    gh_redis_conn *conn = r->conn;
    r->conn = NULL;
    if (conn)
        gh_redis_conn_close(conn);
    schedule_reconnect(r);
}

/* The answer to the connection's first command (AUTH, or PING without a password): the store
 * is up when a command went there and back, which a TLS 1.3 handshake alone does not prove (the
 * server may still refuse the client's certificate). */
static void on_hello(void *privdata, redisReply *reply)
{
    gh_redis *r = privdata;
    if (!reply) /* the connection ended first: its end was reported */
        return;
    if (reply->type != REDIS_REPLY_ERROR) {
        mark_up(r);
        return;
    }
    char why[200];
    snprintf(why, sizeof(why), "%s refused: %.150s", r->password ? "AUTH" : "PING", reply->str);
    set_state(r, false, why);
    drop(r);
}

static void connect_now(gh_redis *r)
{
    if (r->closing || r->conn)
        return;
    char why[200];
    r->conn = gh_redis_conn_open(r->env->loop, r->host, r->port, r->tls, r->server_name, on_ended,
                                 r, why, sizeof(why));
    if (!r->conn) {
        set_state(r, false, why);
        schedule_reconnect(r);
        return;
    }
    /* The first command on the connection, before any decision. */
    const char *argv[] = {r->password ? "AUTH" : "PING", r->password};
    if (gh_redis_conn_command(r->conn, r->password ? 2 : 1, argv, on_hello, r) != 0)
        drop(r);
}

static void on_deadline(uv_timer_t *t)
{
    gh_redis *r = t->data;
    uint64_t now = gh_now_us();
    bool late = false;
    for (gh_redis_cmd *c = GH_LIST_FIRST(&r->cmds, gh_redis_cmd, link); c && c->deadline_us <= now;
         c = GH_LIST_NEXT(c, gh_redis_cmd, link)) {
        answer(c, false, NULL); /* the reply, if it ever comes, is ignored */
        late = true;
    }
    if (late) {
        set_state(r, false, "a command timed out");
        drop(r);
    }
    arm_deadline(r);
}

static void arm_deadline(gh_redis *r)
{
    gh_redis_cmd *c = GH_LIST_FIRST(&r->cmds, gh_redis_cmd, link);
    while (c && !c->done)
        c = GH_LIST_NEXT(c, gh_redis_cmd, link);
    if (!c || r->closing) {
        uv_timer_stop(&r->deadline);
        return;
    }
    uint64_t now = gh_now_us();
    uint64_t wait_ms = c->deadline_us > now ? (c->deadline_us - now + 999) / 1000 : 0;
    uv_timer_start(&r->deadline, on_deadline, wait_ms, 0);
}

static int send_batch(gh_redis *r, redis_batch *b, bool full_script);

/* One decision from five integers of the reply. */
static bool read_verdict(const gh_redis_cmd *c, redisReply **e, gh_limit_verdict *v)
{
    for (size_t i = 0; i < 5; i++)
        if (e[i]->type != REDIS_REPLY_INTEGER)
            return false;
    v->allowed = e[0]->integer == 1;
    v->quota_exceeded = e[1]->integer == 1;
    v->retry_after_us = e[2]->integer;
    v->reset_us = e[3]->integer;
    uint64_t used = (uint64_t)e[4]->integer;
    int64_t limit = c->rule.burst * c->rule.interval_us;
    v->remaining = (uint64_t)((limit - v->reset_us) / c->rule.interval_us);
    v->quota_remaining = c->rule.quota > used ? c->rule.quota - used : 0;
    return true;
}

static void on_reply(void *privdata, redisReply *reply)
{
    redis_batch *b = privdata;
    gh_redis *r = b->r;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        !b->retried && r->conn) {
        b->retried = true; /* the server lost the script (a restart): send it whole, once */
        if (send_batch(r, b, true) == 0)
            return;
    }
    bool whole = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5 * b->n;
    for (size_t i = 0; i < b->n; i++) {
        gh_redis_cmd *c = b->cmds[i];
        unlink_cmd(r, c);
        gh_limit_verdict v = {0};
        bool ok = whole && read_verdict(c, reply->element + 5 * i, &v);
        if (c->done)
            gh_metrics_store(r->env->metrics, ok ? GH_STORE_OK : GH_STORE_FAILED,
                             gh_now_us() - c->start_us);
        answer(c, ok, &v);
        free(c);
    }
    free(b);
    arm_deadline(r);
}

static int send_batch(gh_redis *r, redis_batch *b, bool full_script)
{
    const char *argv[3 + 6 * GH_REDIS_BATCH_MAX];
    size_t argc = 0;
    char nkeys[16];
    snprintf(nkeys, sizeof(nkeys), "%zu", 2 * b->n);
    argv[argc++] = full_script ? "EVAL" : "EVALSHA";
    argv[argc++] = full_script ? SCRIPT : r->sha;
    argv[argc++] = nkeys;
    for (size_t i = 0; i < b->n; i++) {
        argv[argc++] = b->cmds[i]->key;
        argv[argc++] = b->cmds[i]->qkey;
    }
    for (size_t i = 0; i < b->n; i++)
        for (size_t k = 0; k < 4; k++)
            argv[argc++] = b->cmds[i]->args[k];
    return gh_redis_conn_command(r->conn, (int)argc, argv, on_reply, b);
}

/* Sends what this iteration asked, as one script call. */
static void flush(gh_redis *r)
{
    if (!r->nqueue)
        return;
    redis_batch *b = calloc(1, sizeof(*b));
    if (b) {
        b->r = r;
        b->n = r->nqueue;
        memcpy(b->cmds, r->queue, r->nqueue * sizeof(r->queue[0]));
    }
    r->nqueue = 0;
    uv_check_stop(&r->flush_after_io);
    uv_prepare_stop(&r->flush_before_poll);
    if (b && r->conn && send_batch(r, b, false) == 0)
        return;
    /* No connection, or it refused the command: these decisions fail now (the callers fall
     * back), and the connection is made again. */
    for (size_t i = 0; b && i < b->n; i++) {
        unlink_cmd(r, b->cmds[i]);
        if (b->cmds[i]->done)
            gh_metrics_store(r->env->metrics, GH_STORE_FAILED, 0);
        answer(b->cmds[i], false, NULL);
        free(b->cmds[i]);
    }
    free(b);
    drop(r);
}

static void on_flush_check(uv_check_t *h)
{
    flush(h->data);
}

static void on_flush_prepare(uv_prepare_t *h)
{
    flush(h->data);
}

static bool same_secret(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The connection made for store may serve it after a reload: same address, password and TLS
 * peer. Its TLS context is replaced by the reloaded one, so rotated certificates take effect
 * on the next connection without dropping this one. */
static bool serves(gh_redis *r, const gh_redis_conf *store)
{
    if (strcmp(r->host, store->host) != 0 || r->port != store->port ||
        !same_secret(r->password, store->password) || !r->tls != !store->tls ||
        (store->tls && strcmp(r->server_name, store->server_name) != 0))
        return false;
    if (store->tls && r->tls != store->tls) {
        SSL_CTX_up_ref(store->tls);
        SSL_CTX_free(r->tls);
        r->tls = store->tls;
    }
    r->timeout_ms = store->timeout_ms;
    return true;
}

static gh_redis *redis_for(gh_redis_env *env, const gh_redis_conf *store)
{
    gh_redis *r = env->conn;
    if (r && serves(r, store))
        return r;
    if (r) /* the store moved (a reload): the old connection goes */
        gh_redis_worker_stop(env);
    if (!(r = calloc(1, sizeof(*r))))
        return NULL;
    r->env = env;
    snprintf(r->host, sizeof(r->host), "%s", store->host);
    r->port = store->port;
    r->password = store->password ? strdup(store->password) : NULL;
    if (store->tls) {
        SSL_CTX_up_ref(store->tls);
        r->tls = store->tls;
        snprintf(r->server_name, sizeof(r->server_name), "%s", store->server_name);
    }
    r->timeout_ms = store->timeout_ms;
    r->backoff_ms = GH_REDIS_BACKOFF_MIN_MS;
    unsigned char md[20];
    SHA1((const unsigned char *)SCRIPT, sizeof(SCRIPT) - 1, md);
    gh_hex_encode(md, 20, r->sha);
    r->sha[40] = '\0';
    uv_timer_init(env->loop, &r->reconnect);
    uv_timer_init(env->loop, &r->deadline);
    uv_check_init(env->loop, &r->flush_after_io);
    uv_prepare_init(env->loop, &r->flush_before_poll);
    r->reconnect.data = r->deadline.data = r->flush_after_io.data = r->flush_before_poll.data = r;
    env->conn = r;
    connect_now(r);
    return r;
}

gh_redis_cmd *gh_redis_take(gh_redis_env *env, const gh_redis_conf *store, const gh_rate_limit_conf *l,
                            const unsigned char key[16], int64_t window, int64_t window_end_s,
                            gh_redis_done done, void *ctx)
{
    gh_redis *r = redis_for(env, store);
    if (!r || !r->conn)
        return NULL;
    gh_redis_cmd *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->r = r;
    c->done = done;
    c->ctx = ctx;
    c->rule = l->rule;
    c->start_us = gh_now_us();
    c->deadline_us = c->start_us + r->timeout_ms * 1000;
    int64_t now_s = (int64_t)time(NULL);
    uint64_t quota_ttl_s = window_end_s > now_s ? (uint64_t)(window_end_s - now_s) + 60 : 60;
    snprintf(c->args[0], sizeof(c->args[0]), "%lld", (long long)c->rule.interval_us);
    snprintf(c->args[1], sizeof(c->args[1]), "%lld", (long long)c->rule.burst);
    snprintf(c->args[2], sizeof(c->args[2]), "%llu", (unsigned long long)c->rule.quota);
    snprintf(c->args[3], sizeof(c->args[3]), "%llu", (unsigned long long)quota_ttl_s);
    char hex[33];
    gh_hex_encode(key, 16, hex);
    hex[32] = '\0';
    /* Namespaced by limit; the quota key names its window, so a new window starts from zero. */
    snprintf(c->key, sizeof(c->key), "gatehouse:%.32s:%s", l->name, hex);
    snprintf(c->qkey, sizeof(c->qkey), "gatehouse:%.32s:q%lld:%s", l->name, (long long)window, hex);
    if (r->nqueue == GH_REDIS_BATCH_MAX)
        flush(r); /* a full call goes now; this decision starts the next */
    gh_list_push_back(&r->cmds, &c->link);
    r->queue[r->nqueue++] = c;
    if (r->nqueue == 1) {
        uv_check_start(&r->flush_after_io, on_flush_check);
        uv_prepare_start(&r->flush_before_poll, on_flush_prepare);
    }
    if (!uv_is_active((uv_handle_t *)&r->deadline))
        arm_deadline(r);
    return c;
}

bool gh_redis_call(gh_redis_env *env, const gh_redis_conf *store, int argc, const char **argv,
                   gh_redis_reply_fn fn, void *ctx)
{
    gh_redis *r = redis_for(env, store);
    return r && r->conn && gh_redis_conn_command(r->conn, argc, argv, fn, ctx) == 0;
}

void gh_redis_cancel(gh_redis_cmd *c)
{
    c->done = NULL; /* freed when its reply (or the connection's end) comes */
}

static void free_redis(uv_handle_t *h)
{
    gh_redis *r = h->data;
    free(r->password);
    SSL_CTX_free(r->tls);
    free(r);
}

void gh_redis_worker_stop(gh_redis_env *env)
{
    gh_redis *r = env->conn;
    if (!r)
        return;
    env->conn = NULL;
    flush(r); /* what was asked is answered (as failed, once the connection goes below) */
    r->closing = true;
    if (r->conn) {
        gh_redis_conn *conn = r->conn;
        r->conn = NULL;
        gh_redis_conn_close(conn); /* answers what is in flight as failed */
    }
    uv_close((uv_handle_t *)&r->reconnect, NULL);
    uv_close((uv_handle_t *)&r->flush_after_io, NULL);
    uv_close((uv_handle_t *)&r->flush_before_poll, NULL);
    uv_close((uv_handle_t *)&r->deadline, free_redis);
}
