#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* hiredis's libuv adapter: static functions, included once, here. */
#include <hiredis/adapters/libuv.h>

#include "core/json.h"
#include "server/events.h"
#include "server/worker.h"
#include "store/redis.h"

#define GH_REDIS_BACKOFF_MIN_MS 100
#define GH_REDIS_BACKOFF_MAX_MS 2000

/* GCRA and quota in one step, on the server's clock, so that every gateway sharing the store
 * agrees. KEYS: the rate key, the quota key. ARGV: interval (us), burst, quota (0: none), the
 * quota key's lifetime (s). Returns {allowed, quota_exceeded, retry_after_us, reset_us, used}. */
static const char SCRIPT[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T, burst, quota = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local limit = burst * T\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
    "if tat < now then tat = now end\n"
    "local used = 0\n"
    "if quota > 0 then used = tonumber(redis.call('GET', KEYS[2]) or 0) end\n"
    "if quota > 0 and used >= quota then return {0, 1, 0, tat - now, used} end\n"
    "local nxt = tat + T\n"
    "if nxt - now > limit then return {0, 0, nxt - now - limit, tat - now, used} end\n"
    "redis.call('SET', KEYS[1], nxt, 'PX', math.floor((nxt - now) / 1000) + 1000)\n"
    "if quota > 0 then\n"
    "  used = redis.call('INCR', KEYS[2])\n"
    "  if used == 1 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4])) end\n"
    "end\n"
    "return {1, 0, 0, nxt - now, used}\n";

typedef struct gh_redis {
    gh_worker *w;
    redisAsyncContext *ac;
    char host[64];
    int port;
    char *password;
    uint64_t timeout_ms;
    uint64_t backoff_ms;
    uv_timer_t reconnect;
    uv_timer_t deadline; /* the oldest command's */
    gh_redis_cmd *head, *tail; /* in flight, oldest first */
    char sha[41];
    bool closing;
} gh_redis;

struct gh_redis_cmd {
    gh_redis_cmd *prev, *next;
    gh_redis *r;
    gh_redis_done done; /* NULL once answered, timed out or cancelled */
    void *ctx;
    uint64_t start_us, deadline_us;
    gh_limit_rule rule;
    uint64_t quota_ttl_s;
    char key[80], qkey[100];
    bool retried; /* sent again with EVAL after NOSCRIPT */
};

static void set_state(gh_redis *r, bool up, const char *why)
{
    gh_shared *shared = &r->w->rt->shared;
    int was = atomic_exchange(&shared->redis_up, up ? 1 : 0);
    if (was == (up ? 1 : 0))
        return; /* another worker said it already */
    char fields[400];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields) - 1);
    gh_sbuf_addf(&b, ",\"address\":\"%s:%d\"", r->host, r->port);
    if (why) {
        GH_SBUF_LIT(&b, ",\"error\":");
        gh_sbuf_json_str(&b, why, strlen(why));
    }
    fields[b.len] = '\0';
    gh_event(up ? "info" : "error", up ? "redis_up" : "redis_down",
             up ? "rate-limit store reachable" : "rate-limit store unreachable: limits fall back",
             fields);
}

static void unlink_cmd(gh_redis *r, gh_redis_cmd *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        r->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        r->tail = c->prev;
    c->prev = c->next = NULL;
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

static void on_connect(const redisAsyncContext *ac, int status)
{
    gh_redis *r = ac->data;
    if (status != REDIS_OK) {
        r->ac = NULL; /* hiredis frees it */
        set_state(r, false, ac->errstr);
        schedule_reconnect(r);
        return;
    }
    r->backoff_ms = GH_REDIS_BACKOFF_MIN_MS;
    set_state(r, true, NULL);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    gh_redis *r = ac->data;
    r->ac = NULL;
    if (status != REDIS_OK)
        set_state(r, false, ac->errstr);
    schedule_reconnect(r);
}

static void connect_now(gh_redis *r)
{
    if (r->closing || r->ac)
        return;
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        set_state(r, false, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    if (redisLibuvAttach(ac, &r->w->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    if (r->password) /* the first command on the connection, before any decision */
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", r->password);
}

/* Drops the connection: every command in flight is answered as failed (hiredis calls their
 * callbacks with no reply), and a new connection follows after the backoff. */
static void drop(gh_redis *r)
{
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        redisAsyncFree(ac);
    }
    schedule_reconnect(r);
}

static void on_deadline(uv_timer_t *t)
{
    gh_redis *r = t->data;
    uint64_t now = gh_now_us();
    bool late = false;
    for (gh_redis_cmd *c = r->head; c && c->deadline_us <= now; c = c->next) {
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
    gh_redis_cmd *c = r->head;
    while (c && !c->done)
        c = c->next;
    if (!c || r->closing) {
        uv_timer_stop(&r->deadline);
        return;
    }
    uint64_t now = gh_now_us();
    uint64_t wait_ms = c->deadline_us > now ? (c->deadline_us - now + 999) / 1000 : 0;
    uv_timer_start(&r->deadline, on_deadline, wait_ms, 0);
}

static int send_cmd(gh_redis *r, gh_redis_cmd *c, bool full_script);

static void on_reply(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    (void)ac;
    gh_redis_cmd *c = privdata;
    gh_redis *r = c->r;
    redisReply *reply = reply_ptr;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
        !c->retried && c->done && r->ac) {
        c->retried = true; /* the server lost the script (a restart): send it whole, once */
        if (send_cmd(r, c, true) == 0)
            return;
    }
    unlink_cmd(r, c);
    gh_limit_verdict v = {0};
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5;
    for (size_t i = 0; ok && i < 5; i++)
        ok = reply->element[i]->type == REDIS_REPLY_INTEGER;
    if (ok) {
        v.allowed = reply->element[0]->integer == 1;
        v.quota_exceeded = reply->element[1]->integer == 1;
        v.retry_after_us = reply->element[2]->integer;
        v.reset_us = reply->element[3]->integer;
        uint64_t used = (uint64_t)reply->element[4]->integer;
        int64_t limit = c->rule.burst * c->rule.interval_us;
        v.remaining = (uint64_t)((limit - v.reset_us) / c->rule.interval_us);
        v.quota_remaining = c->rule.quota > used ? c->rule.quota - used : 0;
        gh_metrics_store(&r->w->metrics, GH_STORE_OK, gh_now_us() - c->start_us);
    } else if (c->done) {
        gh_metrics_store(&r->w->metrics, GH_STORE_FAILED, 0);
    }
    answer(c, ok, &v);
    free(c);
    arm_deadline(r);
}

static int send_cmd(gh_redis *r, gh_redis_cmd *c, bool full_script)
{
    char interval[24], burst[24], quota[24], ttl[24];
    snprintf(interval, sizeof(interval), "%lld", (long long)c->rule.interval_us);
    snprintf(burst, sizeof(burst), "%lld", (long long)c->rule.burst);
    snprintf(quota, sizeof(quota), "%llu", (unsigned long long)c->rule.quota);
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)c->quota_ttl_s);
    const char *argv[] = {full_script ? "EVAL" : "EVALSHA", full_script ? SCRIPT : r->sha, "2",
                          c->key, c->qkey, interval, burst, quota, ttl};
    return redisAsyncCommandArgv(r->ac, on_reply, c, 9, argv, NULL) == REDIS_OK ? 0 : -1;
}

static gh_redis *redis_for(gh_worker *w, const gh_redis_conf *store)
{
    gh_redis *r = w->redis;
    if (r && strcmp(r->host, store->host) == 0 && r->port == store->port &&
        ((!r->password && !store->password) ||
         (r->password && store->password && strcmp(r->password, store->password) == 0))) {
        r->timeout_ms = store->timeout_ms;
        return r;
    }
    if (r) /* the store moved (a reload): the old connection goes */
        gh_redis_worker_stop(w);
    if (!(r = calloc(1, sizeof(*r))))
        return NULL;
    r->w = w;
    snprintf(r->host, sizeof(r->host), "%s", store->host);
    r->port = store->port;
    r->password = store->password ? strdup(store->password) : NULL;
    r->timeout_ms = store->timeout_ms;
    r->backoff_ms = GH_REDIS_BACKOFF_MIN_MS;
    unsigned char md[20];
    SHA1((const unsigned char *)SCRIPT, sizeof(SCRIPT) - 1, md);
    for (int i = 0; i < 20; i++)
        snprintf(r->sha + 2 * i, 3, "%02x", md[i]);
    uv_timer_init(&w->loop, &r->reconnect);
    uv_timer_init(&w->loop, &r->deadline);
    r->reconnect.data = r->deadline.data = r;
    w->redis = r;
    connect_now(r);
    return r;
}

gh_redis_cmd *gh_redis_take(gh_worker *w, const gh_redis_conf *store, const gh_rate_limit_conf *l,
                            const unsigned char key[16], int64_t window, int64_t window_end_s,
                            gh_redis_done done, void *ctx)
{
    gh_redis *r = redis_for(w, store);
    if (!r || !r->ac)
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
    c->quota_ttl_s = window_end_s > now_s ? (uint64_t)(window_end_s - now_s) + 60 : 60;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    /* Namespaced by limit; the quota key names its window, so a new window starts from zero. */
    snprintf(c->key, sizeof(c->key), "gatehouse:%.32s:%s", l->name, hex);
    snprintf(c->qkey, sizeof(c->qkey), "gatehouse:%.32s:q%lld:%s", l->name, (long long)window, hex);
    if (send_cmd(r, c, false) != 0) {
        free(c);
        drop(r);
        return NULL;
    }
    c->prev = r->tail;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    if (!uv_is_active((uv_handle_t *)&r->deadline))
        arm_deadline(r);
    return c;
}

void gh_redis_cancel(gh_redis_cmd *c)
{
    c->done = NULL; /* freed when its reply (or the connection's end) comes */
}

static void free_redis(uv_handle_t *h)
{
    gh_redis *r = h->data;
    free(r->password);
    free(r);
}

void gh_redis_worker_stop(gh_worker *w)
{
    gh_redis *r = w->redis;
    if (!r)
        return;
    w->redis = NULL;
    r->closing = true;
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        redisAsyncFree(ac); /* answers what is in flight as failed */
    }
    uv_close((uv_handle_t *)&r->reconnect, NULL);
    uv_close((uv_handle_t *)&r->deadline, free_redis);
}
