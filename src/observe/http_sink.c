#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observe/http_sink.h"

#define TRIES 5
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define IDLE_WAIT_MS 20
#define POST_TIMEOUT_MS 10000

/* The batch being gathered: "[" line "," line ... "]". */
typedef struct pending_batch {
    char *body;
    size_t len, events;
    uint64_t first_at; /* when its first event came (monotonic ms) */
} pending_batch;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits ms on the condition; false when the sink was told to stop meanwhile. */
static bool nap(gh_http_sink *s, uint64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (!s->stop)
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return !stop;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

/* One POST: the status, or 0 when no answer came. */
static long post(gh_http_sink *s, CURL *easy, const pending_batch *b)
{
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, s->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)s->headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(easy) == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Sends the batch, again after a backoff on 429, 5xx or no answer; what is not taken in the
 * end is counted as lost. Stopping leaves one try. */
static void send_batch(gh_http_sink *s, CURL *easy, pending_batch *b)
{
    if (b->events == 0)
        return;
    b->body[b->len++] = ']';
    uint64_t backoff = BACKOFF_FIRST_MS;
    bool sent = false;
    for (int attempt = 0; attempt < TRIES; attempt++) {
        long status = post(s, easy, b);
        if (status >= 200 && status < 300) {
            sent = true;
            break;
        }
        if (status != 0 && status != 429 && status < 500)
            break; /* the collector refuses this batch: trying again changes nothing */
        if (!nap(s, backoff))
            break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (sent)
        atomic_fetch_add_explicit(&s->posted, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&s->failed, b->events, memory_order_relaxed);
    b->len = b->events = 0;
}

/* Adds a line (no '\n') to the batch, sending it first when the line would not fit. */
static void add_line(gh_http_sink *s, CURL *easy, pending_batch *b, const char *line, size_t len)
{
    if (len + 3 > GH_HTTP_SINK_BODY_MAX) {
        atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        return;
    }
    if (b->events && b->len + len + 2 > GH_HTTP_SINK_BODY_MAX)
        send_batch(s, easy, b);
    if (b->events == 0) {
        b->body[b->len++] = '[';
        b->first_at = now_ms();
    } else {
        b->body[b->len++] = ',';
    }
    memcpy(b->body + b->len, line, len);
    b->len += len;
    if (++b->events >= s->batch)
        send_batch(s, easy, b);
}

/* Moves a ring's lines into the batch. */
static size_t drain_ring(gh_http_sink *s, CURL *easy, gh_log_ring *r, char *buf, pending_batch *b)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t len = head - tail;
    if (len == 0)
        return 0;
    size_t at = tail % GH_LOG_RING_BYTES, first = GH_LOG_RING_BYTES - at;
    if (first > len)
        first = len;
    memcpy(buf, r->data + at, first);
    memcpy(buf + first, r->data, len - first);
    atomic_store_explicit(&r->tail, head, memory_order_release);
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (end > pos)
            add_line(s, easy, b, buf + pos, end - pos);
        pos = end + 1;
    }
    return len;
}

static void *sink_thread(void *arg)
{
    gh_http_sink *s = arg;
    char *buf = malloc(GH_LOG_RING_BYTES);
    pending_batch b = {.body = malloc(GH_HTTP_SINK_BODY_MAX)};
    CURL *easy = curl_easy_init();
    for (bool running = buf && b.body && easy; running;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        size_t moved = 0;
        for (size_t i = 0; i < s->nrings; i++)
            moved += drain_ring(s, easy, s->rings[i], buf, &b);
        if (b.events && (stop || now_ms() - b.first_at >= s->interval_ms))
            send_batch(s, easy, &b);
        if (stop && moved == 0)
            running = false;
        else if (moved == 0)
            nap(s, IDLE_WAIT_MS); /* producers do not signal: a short wait between looks */
    }
    if (easy)
        curl_easy_cleanup(easy);
    free(b.body);
    free(buf);
    return NULL;
}

static int add_header(gh_http_sink *s, const char *line)
{
    struct curl_slist *l = curl_slist_append(s->headers, line);
    if (!l)
        return -ENOMEM;
    s->headers = l;
    return 0;
}

static int set_headers(gh_http_sink *s, const char *const *headers, size_t nheaders,
                       const char *authorization)
{
    int r = add_header(s, "Content-Type: application/json");
    for (size_t i = 0; r == 0 && i < nheaders; i++)
        r = add_header(s, headers[i]);
    if (r == 0 && authorization) {
        size_t n = strlen(authorization) + sizeof("Authorization: ");
        char *line = malloc(n);
        if (!line)
            return -ENOMEM;
        snprintf(line, n, "Authorization: %s", authorization);
        r = add_header(s, line);
        memset(line, 0, n);
        free(line);
    }
    return r == 0 ? add_header(s, "Expect:") : r; /* no 100-continue round trip */
}

int gh_http_sink_start(gh_http_sink *s, const char *url, const char *const *headers,
                       size_t nheaders, const char *authorization, size_t batch,
                       uint64_t interval_ms, size_t nrings)
{
    memset(s, 0, sizeof(*s));
    s->batch = batch ? batch : 1;
    s->interval_ms = interval_ms;
    if (!(s->url = strdup(url)) || !(s->rings = calloc(nrings, sizeof(*s->rings)))) {
        free(s->url);
        s->url = NULL;
        return -ENOMEM;
    }
    s->nrings = nrings;
    int r = set_headers(s, headers, nheaders, authorization);
    for (size_t i = 0; r == 0 && i < nrings; i++)
        if (!(s->rings[i] = calloc(1, sizeof(gh_log_ring))))
            r = -ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (r == 0 && pthread_create(&s->thread, NULL, sink_thread, s) != 0)
        r = -EAGAIN;
    if (r != 0) {
        gh_http_sink_stop(s);
        return r;
    }
    s->started = true;
    return 0;
}

void gh_http_sink_stop(gh_http_sink *s)
{
    if (!s->rings) /* never started (a runtime without the sink is all zeros) */
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    for (size_t i = 0; i < s->nrings; i++)
        free(s->rings[i]);
    free(s->rings);
    s->rings = NULL;
    s->nrings = 0;
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    free(s->url);
    s->url = NULL;
}

static bool http_put(void *ctx, size_t producer, const char *line, size_t len)
{
    gh_http_sink *s = ctx;
    return producer < s->nrings && gh_log_ring_put(s->rings[producer], line, len);
}

static unsigned long long http_dropped(void *ctx)
{
    gh_http_sink *s = ctx;
    unsigned long long n = atomic_load_explicit(&s->failed, memory_order_relaxed);
    for (size_t i = 0; s->rings && i < s->nrings; i++)
        n += atomic_load_explicit(&s->rings[i]->dropped, memory_order_relaxed);
    return n;
}

const gh_sec_sink_ops gh_sec_http_sink_ops = {http_put, http_dropped};
