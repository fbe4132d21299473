/* Core building blocks: arena, JSON text, blocks, metrics series, the log ring, the intrusive
 * list, the bounded byte buffer and the registry of state kept across reloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/b64url.h"
#include "core/block.h"
#include "core/clock.h"
#include "core/bytes.h"
#include "core/deadline.h"
#include "core/outq.h"
#include "identity/token_cache.h"
#include "core/json.h"
#include "core/keep.h"
#include "core/list.h"
#include "observe/events.h"
#include "observe/log.h"
#include "observe/metrics.h"

static void arena(void **state)
{
    (void)state;
    gh_arena a;
    gh_arena_init(&a, 1024, 4096);
    char *p = gh_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_string_equal(gh_arena_strndup(&a, "hello world", 5), "hello");
    assert_non_null(gh_arena_alloc(&a, 2000)); /* oversized: its own chunk */
    assert_null(gh_arena_alloc(&a, 4096));     /* beyond the limit */
    char *z = gh_arena_zalloc(&a, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    gh_arena_reset(&a);
    assert_true(a.total <= 1024);
    assert_non_null(gh_arena_alloc(&a, 100));
    gh_arena_free(&a);
}

static void json_text(void **state)
{
    (void)state;
    char buf[64];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    gh_sbuf_json_str(&b, "a\"b\\c\n\x01\xff", 8);
    assert_int_equal(b.overflow, 0);
    assert_memory_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\"", b.len);
    /* for a reader that shows it: UTF-8 as it is, what is no UTF-8 escaped byte by byte */
    b = gh_sbuf_make(buf, sizeof(buf));
    gh_sbuf_json_text(&b, "\xc3\xa9\"\n\xff\xc3\xe2\x82\xac\xc0\xaf\xc2", 12);
    assert_int_equal(b.overflow, 0);
    assert_memory_equal(buf, "\"\xc3\xa9\\\"\\u000a\\u00ff\\u00c3\xe2\x82\xac\\u00c0\\u00af\\u00c2\"", b.len);
    b = gh_sbuf_make(buf, sizeof(buf));
    gh_sbuf_add_u64(&b, 0);
    GH_SBUF_LIT(&b, " ");
    gh_sbuf_add_u64(&b, 18446744073709551615ull);
    assert_memory_equal(buf, "0 18446744073709551615", b.len);
    b = gh_sbuf_make(buf, 4);
    gh_sbuf_adds(&b, "toolong");
    assert_int_equal(b.overflow, 1);
    assert_int_equal(b.len, 4);
}

static void blocks(void **state)
{
    (void)state;
    gh_block_pool p;
    gh_block_pool_init(&p, 1);
    gh_block *a = gh_block_get(&p), *b = gh_block_get(&p);
    assert_int_equal(p.in_use, 2);
    a->len = 5;
    gh_block_put(&p, a);
    gh_block_put(&p, b); /* beyond max_free: freed */
    assert_int_equal(p.nfree, 1);
    gh_block *c = gh_block_get(&p);
    assert_int_equal(c->len, 0); /* reused blocks come back empty */
    gh_block_put(&p, c);
    gh_block_pool_free(&p);
}

static void metrics(void **state)
{
    (void)state;
    gh_metrics m;
    assert_int_equal(gh_metrics_init(&m), 0);
    gh_metrics_request(&m, "r", 200, 300);      /* 0.3 ms: first bucket */
    gh_metrics_request(&m, "r", 200, 20000000); /* 20 s: +Inf */
    gh_metrics_request(&m, "r", 404, 1000);
    assert_int_equal(atomic_load(&m.requests.n), 2);
    gh_series *s = &m.requests.items[0];
    assert_string_equal(s->key, "r");
    assert_int_equal(atomic_load(&s->count), 2);
    assert_int_equal(atomic_load(&s->hist[0]), 1);
    assert_int_equal(atomic_load(&s->hist[GH_HIST_BUCKETS - 1]), 1);
    /* Past the table's size every new series folds into "(other)". */
    char name[16];
    for (int i = 0; i < GH_METRIC_SERIES + 10; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        gh_metrics_upstream(&m, name, GH_UP_SUCCESS);
    }
    assert_int_equal(atomic_load(&m.upstream.n), GH_METRIC_SERIES);
    gh_series *other = &m.upstream.items[GH_METRIC_SERIES - 1];
    assert_string_equal(other->key, "(other)");
    assert_int_equal(atomic_load(&other->count), 11);
    gh_metrics_free(&m);
}

static void log_ring(void **state)
{
    (void)state;
    gh_log_ring *r = calloc(1, sizeof(*r));
    char line[1000];
    memset(line, 'x', sizeof(line));
    size_t fit = 0;
    while (gh_log_ring_put(r, line, sizeof(line)))
        fit++;
    assert_int_equal(fit, GH_LOG_RING_BYTES / sizeof(line));
    assert_int_equal(atomic_load(&r->dropped), 1);
    free(r);
}

static void base64url(void **state)
{
    (void)state;
    unsigned char out[16];
    assert_int_equal(gh_b64url_decode("aGVsbG8", 7, out), 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(gh_b64url_decode("", 0, out), 0);
    /* padded base64: its own alphabet, '=' only at the end, no bits left over, no whitespace */
    assert_int_equal(gh_b64_decode("YT8/Pw==", 8, out), 4);
    assert_memory_equal(out, "a???", 4);
    assert_int_equal(gh_b64_decode("+/+/", 4, out), 3);
    assert_int_equal(gh_b64_decode("YT8_Pw==", 8, out), -1);
    assert_int_equal(gh_b64_decode("YQ==YQ==", 8, out), -1);
    assert_int_equal(gh_b64_decode("YR==", 4, out), -1);
    assert_int_equal(gh_b64_decode(" YQ=", 4, out), -1);
    assert_int_equal(gh_b64_decode("YWE", 3, out), -1);
    assert_int_equal(gh_b64_decode("YWE=", 4, out), 2);
    assert_int_equal(gh_b64_decode("", 0, out), 0);
    assert_int_equal(gh_b64url_decode("-_-_", 4, out), 3);
    assert_int_equal(gh_b64url_decode("aGVsbG8=", 8, out), -1); /* padding */
    assert_int_equal(gh_b64url_decode("aGVsbG9", 7, out), -1);  /* non-zero trailing bits */
    assert_int_equal(gh_b64url_decode("aGVsb", 5, out), -1);    /* 1 mod 4 */
    assert_int_equal(gh_b64url_decode("aG+s", 4, out), -1);     /* base64, not base64url */
    assert_int_equal(gh_b64url_decode("QQ", 2, out), 1);        /* a two-character tail */
    assert_int_equal(out[0], 'A');
    assert_int_equal(gh_b64url_decode("QR", 2, out), -1);       /* its leftover bits set */
    assert_int_equal(gh_b64url_decode("aGVs\xc3\xa9", 6, out), -1); /* bytes past ASCII */
    assert_int_equal(gh_b64url_decode("aG.s", 4, out), -1);
    assert_int_equal(gh_b64url_decoded_len(7), 5);
}

/* The cache keeps what fits, evicts what expires first, and never returns an expired entry. */
static void token_cache(void **state)
{
    (void)state;
    gh_token_cache c;
    assert_int_equal(gh_token_cache_init(&c, 64), 0);
    gh_arena a;
    gh_arena_init(&a, 4096, 0);
    char tok[32];
    gh_token_entry e = {.payload = "{\"sub\":\"x\"}", .payload_len = 11, .nbf = 0};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = EVP_sha256();
    for (int i = 0; i < 2000; i++) {
        snprintf(tok, sizeof(tok), "token-%d", i);
        gh_token_hash(ctx, md, tok, strlen(tok), e.hash);
        e.exp = 1000 + i;
        gh_token_cache_put(&c, &e);
    }
    gh_token_entry out;
    gh_token_hash(ctx, md, "token-1999", 10, e.hash);
    assert_true(gh_token_cache_get(&c, e.hash, 2000, &a, &out));
    assert_memory_equal(out.payload, "{\"sub\":\"x\"}", 11);
    assert_false(gh_token_cache_get(&c, e.hash, 3000, &a, &out)); /* past exp */
    gh_token_hash(ctx, md, "token-0", 7, e.hash);
    assert_false(gh_token_cache_get(&c, e.hash, 500, &a, &out)); /* evicted: expired first */
    gh_token_hash(ctx, md, "never", 5, e.hash);
    assert_false(gh_token_cache_get(&c, e.hash, 0, &a, &out));
    gh_token_cache_free(&c);
    EVP_MD_CTX_free(ctx);
    gh_token_cache off;
    assert_int_equal(gh_token_cache_init(&off, 0), 0);
    gh_token_cache_put(&off, &e);
    assert_false(gh_token_cache_get(&off, e.hash, 0, &a, &out));
    gh_arena_free(&a);
}

static int fired;

static void on_deadline(uv_timer_t *t)
{
    if (gh_deadline_due(t->data))
        fired++;
}

/* Moving a deadline later takes effect without restarting the timer; clearing it means the
 * timer's firing is ignored. */
static void deadline(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gh_deadline d;
    gh_deadline_init(&loop, &d, on_deadline, &d);
    d.timer.data = &d;
    fired = 0;
    uint64_t start = uv_now(&loop);
    gh_deadline_set(&d, 10);
    gh_deadline_set(&d, 60);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(fired, 1);
    assert_true(uv_now(&loop) - start >= 60);
    gh_deadline_set(&d, 10);
    gh_deadline_clear(&d);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(fired, 1);
    gh_deadline_set(&d, 50);
    gh_deadline_set(&d, 5); /* earlier: the timer is restarted */
    start = uv_now(&loop);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(fired, 2);
    assert_true(uv_now(&loop) - start < 50);
    uv_close((uv_handle_t *)&d.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static int drained;
static void count_drain(gh_outq *q, int status)
{
    (void)q;
    assert_int_equal(status, 0);
    drained++;
}

static ssize_t peek(int fd, char *buf, size_t cap)
{
    return recv(fd, buf, cap, MSG_DONTWAIT);
}

/* A batch holds writes to idle queues while an iteration does costly work (and during the next
 * iteration), releases them when the iteration's callbacks are done, and tells the owner. */
static void held_output(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uv_pipe_t pipe;
    uv_pipe_init(&loop, &pipe, 0);
    assert_int_equal(uv_pipe_open(&pipe, sv[0]), 0);
    gh_block_pool pool;
    gh_block_pool_init(&pool, 4);
    gh_outq_batch batch;
    gh_outq_batch_init(&batch, &loop);
    gh_outq q;
    gh_outq_init(&q, (uv_stream_t *)&pipe, &pool, count_drain, &batch);
    char buf[64];
    drained = 0;
    uv_buf_t b = uv_buf_init("abc", 3);
    assert_int_equal(gh_outq_write(&q, &b, 1), 0); /* nothing costly: written at once */
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), 3);
    gh_outq_batch_heavy(&batch);
    b = uv_buf_init("defg", 4);
    assert_int_equal(gh_outq_write(&q, &b, 1), 0);
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), -1); /* held */
    assert_int_equal(q.pending, 4);
    uv_run(&loop, UV_RUN_NOWAIT); /* the iteration ends: released */
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "defg", 4);
    assert_int_equal(q.pending, 0);
    assert_int_equal(drained, 1);
    b = uv_buf_init("hi", 2); /* the next iteration still holds */
    assert_int_equal(gh_outq_write(&q, &b, 1), 0);
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), -1);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), 2);
    b = uv_buf_init("x", 1); /* an iteration without costly work: no more holding */
    assert_int_equal(gh_outq_write(&q, &b, 1), 0);
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), 1);
    gh_outq_batch_heavy(&batch); /* a queue reset while held leaves the batch */
    assert_int_equal(gh_outq_write(&q, &b, 1), 0);
    gh_outq_reset(&q);
    assert_null(batch.held);
    drained = 0;
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(peek(sv[1], buf, sizeof(buf)), -1);
    assert_int_equal(drained, 0);
    gh_outq_batch_close(&batch);
    uv_close((uv_handle_t *)&pipe, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(sv[1]);
    gh_block_pool_free(&pool);
}

typedef struct item {
    int v;
    gh_link link;
} item;

static int front(gh_list *l)
{
    return l->first ? GH_CONTAINER(l->first, item, link)->v : -1;
}

static void list(void **state)
{
    (void)state;
    gh_list l = {0};
    item a = {.v = 1}, b = {.v = 2}, c = {.v = 3}, d = {.v = 4};
    assert_true(gh_list_empty(&l));
    assert_null(gh_list_pop(&l));
    /* push: the most recent first; push_back: the oldest first */
    gh_list_push(&l, &a.link);
    gh_list_push(&l, &b.link);
    gh_list_push_back(&l, &c.link);
    int order[3], n = 0;
    for (item *i = GH_LIST_FIRST(&l, item, link); i; i = GH_LIST_NEXT(i, item, link))
        order[n++] = i->v;
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 3);
    assert_ptr_equal(l.last, &c.link);
    /* unlinking the middle, the last, and an element that is not linked */
    gh_list_unlink(&l, &a.link);
    assert_null(a.link.prev);
    assert_null(a.link.next);
    gh_list_unlink(&l, &a.link);
    gh_list_unlink(&l, &d.link);
    gh_list_unlink(&l, &c.link);
    assert_ptr_equal(l.first, &b.link);
    assert_ptr_equal(l.last, &b.link);
    assert_null(b.link.next);
    /* pop takes from the front until the list is empty */
    gh_list_push_back(&l, &c.link);
    gh_list_push_back(&l, &d.link);
    assert_int_equal(front(&l), 2);
    assert_ptr_equal(gh_list_pop(&l), &b.link);
    assert_ptr_equal(gh_list_pop(&l), &c.link);
    assert_ptr_equal(gh_list_pop(&l), &d.link);
    assert_null(gh_list_pop(&l));
    assert_true(gh_list_empty(&l));
    assert_null(l.last);
    assert_int_equal(front(&l), -1);
}

static void bytes(void **state)
{
    (void)state;
    gh_bytes b = {0};
    char big[1000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(gh_bytes_add(&b, "", 0, 10), 0); /* nothing: no memory either */
    assert_null(b.p);
    /* growth: capacity doubles, contents kept */
    assert_int_equal(gh_bytes_add(&b, "abc", 3, 4096), 0);
    assert_int_equal(gh_bytes_add(&b, big, sizeof(big), 4096), 0);
    assert_int_equal(b.len, 1003);
    assert_true(b.cap >= 1003);
    assert_memory_equal(b.p, "abcx", 4);
    assert_int_equal(b.p[1002], 'x');
    /* the hard maximum: refused, not grown, and b is unchanged */
    size_t cap = b.cap;
    assert_int_equal(gh_bytes_add(&b, big, sizeof(big), 1500), -1);
    assert_int_equal(gh_bytes_reserve(&b, 498, 1500), -1);
    assert_int_equal(b.len, 1003);
    assert_int_equal(b.cap, cap);
    assert_int_equal(gh_bytes_reserve(&b, 497, 1500), 0);
    assert_int_equal(gh_bytes_add(&b, big, 497, 1500), 0);
    assert_int_equal(b.len, 1500);
    /* reserve leaves room without counting it */
    assert_int_equal(gh_bytes_reserve(&b, 5000, 10000), 0);
    assert_int_equal(b.len, 1500);
    assert_true(b.cap >= 6500);
    /* read to the end: the space is reused from the front */
    b.off = b.len;
    assert_int_equal(gh_bytes_add(&b, "z", 1, 1), 0);
    assert_int_equal(b.off, 0);
    assert_int_equal(gh_bytes_pending(&b), 1);
    gh_bytes_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len + b.cap + b.off, 0);
}

typedef struct kept {
    void *next;
    atomic_int users;
    bool busy;
    int *drops;
    char name[8];
} kept;

static bool kept_matches(const void *e, const void *key)
{
    return strcmp(((const kept *)e)->name, key) == 0;
}

static void *kept_new(const void *key, void *ctx)
{
    kept *k = calloc(1, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", (const char *)key);
    k->drops = ctx;
    return k;
}

static void kept_drop(void *e)
{
    (*((kept *)e)->drops)++;
    free(e);
}

static bool kept_busy(const void *e)
{
    return ((const kept *)e)->busy;
}

static void keep(void **state)
{
    (void)state;
    static const gh_keep_kind kind = {offsetof(kept, next), offsetof(kept, users), kept_matches,
                                      kept_new, kept_drop, kept_busy};
    int drops = 0;
    gh_keep k;
    gh_keep_init(&k, &kind);
    /* find or make: the same key is the same entry, each use counted */
    kept *a = gh_keep_get(&k, "a", &drops), *b = gh_keep_get(&k, "b", &drops);
    assert_ptr_equal(gh_keep_get(&k, "a", &drops), a);
    assert_ptr_not_equal(a, b);
    assert_int_equal(atomic_load(&a->users), 2);
    assert_int_equal(atomic_load(&b->users), 1);
    assert_ptr_equal(k.head, b);
    /* put: the last use drops it and a later get makes a new one */
    gh_keep_put(&k, a);
    assert_int_equal(drops, 0);
    gh_keep_put(&k, a);
    assert_int_equal(drops, 1);
    assert_ptr_equal(k.head, b);
    assert_null(b->next);
    /* release leaves it to the prune, which spares what is used or busy */
    kept *c = gh_keep_get(&k, "c", &drops);
    gh_keep_release(&k, b);
    gh_keep_release(&k, c);
    c->busy = true;
    kept *a2 = gh_keep_get(&k, "a", &drops);
    assert_ptr_equal(k.head, a2);
    gh_keep_prune(&k); /* b goes; c is busy; the new a is used */
    assert_int_equal(drops, 2);
    assert_ptr_equal(((kept *)k.head)->next, c);
    assert_null(c->next);
    c->busy = false;
    gh_keep_prune(&k);
    assert_int_equal(drops, 3);
    assert_null(((kept *)k.head)->next);
    /* free drops the rest, used or not */
    gh_keep_free(&k);
    assert_int_equal(drops, 4);
    assert_null(k.head);
    /* uncounted entries live as long as the registry */
    static const gh_keep_kind forever = {offsetof(kept, next), GH_KEEP_UNCOUNTED, kept_matches,
                                         kept_new, kept_drop, NULL};
    gh_keep_init(&k, &forever);
    kept *u = gh_keep_get(&k, "u", &drops);
    assert_ptr_equal(gh_keep_get(&k, "u", &drops), u);
    assert_int_equal(atomic_load(&u->users), 0);
    gh_keep_free(&k);
    assert_int_equal(drops, 5);
}

/* Fields that do not fit (client or environment text escaped at 6 bytes a byte) never leave an
 * event line cut in the middle of a string: every line is whole JSON, and says what was cut. */
static void event_lines_stay_json(void **state)
{
    (void)state;
    char path[] = "/tmp/gh-events-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    char small[64];
    gh_sbuf b = gh_sbuf_make(small, sizeof(small));
    GH_SBUF_LIT(&b, ",\"name\":");
    gh_sbuf_json_str(&b, "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01", 12);
    assert_true(b.overflow);
    gh_event_built("warn", "cut", "built fields that overflowed", &b);
    static char huge[6000];
    memset(huge, 'x', sizeof(huge) - 1);
    memcpy(huge, ",\"long\":\"", 9);
    huge[sizeof(huge) - 2] = '"';
    gh_event("warn", "long", "fields longer than a line", huge);
    gh_sbuf fits = gh_sbuf_make(small, sizeof(small));
    GH_SBUF_LIT(&fits, ",\"n\":1");
    gh_event_built("info", "whole", "fields that fit", &fits);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[8192];
    const char *events[] = {"cut", "long", "whole"};
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(fgets(line, sizeof(line), f));
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "event")), events[i]);
        assert_int_equal(json_is_true(json_object_get(j, "fields_cut")), i < 2);
        json_decref(j);
    }
    assert_null(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(path);
}

/* The arithmetic timestamp writes what gmtime_r and strftime would, across leap days, century
 * years (2100 is no leap year, 2000 is), the epoch, before it, 2038 and far ahead (from the
 * year 1000: strftime writes earlier years with fewer than four digits, RFC 3339 never). */
static void rfc3339_timestamps(void **state)
{
    (void)state;
    const time_t fixed[] = {0, -1, 951782400, 951868799, 4107542400, 4107628800, 2147483647,
                            2147483648, 1796284800, 253402300799, -30610224000};
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        struct timespec ts = {0, (long)(x % 1000000000u)};
        if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
            ts.tv_sec = fixed[i];
        else
            ts.tv_sec = (time_t)((x >> 24) % 284012524800u) - 30610224000; /* years 1000-9999 */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char got[32], want[32];
        struct tm tm;
        assert_non_null(gmtime_r(&ts.tv_sec, &tm));
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%03ldZ", ts.tv_nsec / 1000000);
        gh_format_rfc3339_ms_at(&ts, got);
        if (strcmp(got, want) != 0)
            fail_msg("%lld: %s, gmtime_r says %s", (long long)ts.tv_sec, got, want);
    }
    char now[32];
    gh_format_rfc3339_ms(now);
    assert_int_equal(strlen(now), 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(arena),    cmocka_unit_test(json_text),
                                       cmocka_unit_test(blocks),   cmocka_unit_test(metrics),
                                       cmocka_unit_test(log_ring), cmocka_unit_test(deadline),
                                       cmocka_unit_test(base64url), cmocka_unit_test(token_cache),
                                       cmocka_unit_test(held_output), cmocka_unit_test(list),
                                       cmocka_unit_test(bytes), cmocka_unit_test(keep),
                                       cmocka_unit_test(event_lines_stay_json),
                                       cmocka_unit_test(rfc3339_timestamps)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
