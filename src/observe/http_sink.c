#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gzip.h"
#include "observe/http_sink.h"

#define TRIES 5
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define IDLE_WAIT_MS 20
#define POST_TIMEOUT_MS 10000

/* What the thread posts with: a copy of the options, owned by whoever holds it. */
typedef struct gh_http_sink_settings {
    char *url, *open, *close, *ca_file;
    struct curl_slist *headers;
    size_t batch;
    uint64_t interval_ms, timeout_ms;
    bool gzip, otlp_retry;
} sink_settings;

/* The batch being gathered: open line "," line ... close. */
typedef struct pending_batch {
    char *body;
    size_t len, events;
    uint64_t first_at; /* when its first event came (monotonic ms) */
    char *packed;      /* the gzipped body, when asked */
    bool given_up;     /* stopping, a batch found no collector: the rest are not tried */
} pending_batch;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits ms on the condition; false when the sink was told to stop meanwhile. */
static bool stopping(gh_http_sink *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

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

/* Retry-After in seconds (the HTTP date form too), from the answer's head. delay-seconds is
 * digits only: strtoull would read "-1" as 2^64 - 1 (the longest wait) and take a sign or
 * spaces, so a value is read as seconds only when it starts with a digit; what is neither
 * seconds nor a date is no wish (the backoff applies). */
static size_t read_retry_after(char *p, size_t size, size_t n, void *arg)
{
    uint64_t *ms = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && len < 256 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char value[256];
        snprintf(value, sizeof(value), "%.*s", (int)(len - (sizeof(name) - 1)),
                 p + sizeof(name) - 1);
        const char *start = value + strspn(value, " \t");
        char *end;
        unsigned long long secs = strtoull(start, &end, 10);
        if (*start >= '0' && *start <= '9' && strspn(end, " \t\r\n") == strlen(end)) {
            *ms = secs > 30 ? 30000 : secs * 1000;
        } else {
            time_t at = curl_getdate(value, NULL), now = time(NULL);
            if (at > 0)
                *ms = at <= now ? 0 : (uint64_t)(at - now > 30 ? 30 : at - now) * 1000;
        }
    }
    return len;
}

/* One POST: the status, or 0 when no answer came; *retry_after_ms the answer's wish, or
 * UINT64_MAX when it has none. */
static long post(const sink_settings *o, CURL *easy, const char *body, size_t len,
                 uint64_t *retry_after_ms)
{
    *retry_after_ms = UINT64_MAX;
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, o->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, o->headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_retry_after);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, retry_after_ms);
    if (o->ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, o->ca_file);
    long status = 0;
    if (curl_easy_perform(easy) == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Whether an answer is worth another try. OTLP/HTTP names 429, 502, 503 and 504 (and a
 * connection that gave none); the security stream's collectors get another try on any 5xx. */
static bool worth_again(const sink_settings *o, long status)
{
    if (status == 0 || status == 429)
        return true;
    if (o->otlp_retry)
        return status == 502 || status == 503 || status == 504;
    return status >= 500;
}

/* Sends the batch, again after a backoff when the answer is worth it; what is not taken in the
 * end is counted as lost. Stopping leaves one try. */
static void send_batch(gh_http_sink *s, CURL *easy, pending_batch *b)
{
    const sink_settings *o = s->settings;
    if (b->events == 0)
        return;
    size_t close_len = strlen(o->close);
    memcpy(b->body + b->len, o->close, close_len);
    b->len += close_len;
    const char *body = b->body;
    size_t len = b->len;
    if (o->gzip && !b->packed) /* made at the first batch that asks: most sinks never do */
        b->packed = malloc(gh_gzip_bound(GH_HTTP_SINK_BODY_MAX));
    if (o->gzip && b->packed) {
        len = gh_gzip(b->body, b->len, b->packed);
        body = b->packed;
    }
    uint64_t backoff = BACKOFF_FIRST_MS;
    bool sent = false;
    for (int attempt = 0; attempt < TRIES && !b->given_up; attempt++) {
        uint64_t wish;
        long status = post(o, easy, body, len, &wish);
        if (status >= 200 && status < 300) {
            sent = true;
            break;
        }
        if (!worth_again(o, status) || attempt + 1 == TRIES)
            break; /* the collector refuses this batch: trying again changes nothing */
        if (!nap(s, wish != UINT64_MAX ? wish : backoff)) {
            b->given_up = true; /* stopping: the exit waits for no slow collector */
            break;
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (!sent && stopping(s))
        b->given_up = true;
    if (sent) {
        atomic_fetch_add_explicit(&s->posted, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->sent, b->events, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&s->failed, b->events, memory_order_relaxed);
    }
    b->len = b->events = 0;
}

/* Adds a line (no '\n') to the batch, sending it first when the line would not fit. */
static void add_line(gh_http_sink *s, CURL *easy, pending_batch *b, const char *line, size_t len)
{
    const sink_settings *o = s->settings;
    size_t frame = strlen(o->open) + strlen(o->close) + 1;
    if (len + frame > GH_HTTP_SINK_BODY_MAX) {
        atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        return;
    }
    if (b->events && b->len + len + frame > GH_HTTP_SINK_BODY_MAX)
        send_batch(s, easy, b);
    if (b->events == 0) {
        b->len = strlen(o->open);
        memcpy(b->body, o->open, b->len);
        b->first_at = now_ms();
    } else {
        b->body[b->len++] = ',';
    }
    memcpy(b->body + b->len, line, len);
    b->len += len;
    if (++b->events >= o->batch)
        send_batch(s, easy, b);
}

/* Moves a ring's lines into the batch. */
static size_t drain_ring(gh_http_sink *s, CURL *easy, size_t i, char *buf, pending_batch *b)
{
    gh_log_ring *r = s->rings[i];
    size_t len = gh_log_ring_take(r, buf);
    if (len == 0)
        return 0;
    size_t lines = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        lines++;
        if (end > pos)
            add_line(s, easy, b, buf + pos, end - pos);
        pos = end + 1;
    }
    atomic_fetch_sub_explicit(&s->pending[i], lines, memory_order_relaxed);
    return len;
}

static void settings_free(sink_settings *o)
{
    if (!o)
        return;
    curl_slist_free_all(o->headers);
    free(o->url);
    free(o->open);
    free(o->close);
    free(o->ca_file);
    free(o);
}

/* Takes the options a reload handed over, once the batch gathered with the old ones went. */
static void adopt_next(gh_http_sink *s, CURL *easy, pending_batch *b)
{
    pthread_mutex_lock(&s->mu);
    sink_settings *next = s->next;
    s->next = NULL;
    pthread_mutex_unlock(&s->mu);
    if (!next)
        return;
    send_batch(s, easy, b);
    settings_free(s->settings);
    s->settings = next;
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
        adopt_next(s, easy, &b);
        size_t moved = 0;
        for (size_t i = 0; i < s->nrings; i++)
            moved += drain_ring(s, easy, i, buf, &b);
        if (b.events && (stop || now_ms() - b.first_at >= s->settings->interval_ms))
            send_batch(s, easy, &b);
        if (stop && moved == 0)
            running = false;
        else if (moved == 0)
            nap(s, IDLE_WAIT_MS); /* producers do not signal: a short wait between looks */
    }
    if (easy)
        curl_easy_cleanup(easy);
    free(b.packed);
    free(b.body);
    free(buf);
    return NULL;
}

static int add_header(sink_settings *o, const char *line)
{
    struct curl_slist *l = curl_slist_append(o->headers, line);
    if (!l)
        return -ENOMEM;
    o->headers = l;
    return 0;
}

static int set_headers(sink_settings *o, const gh_http_sink_opts *in)
{
    int r = add_header(o, "Content-Type: application/json");
    if (r == 0 && in->gzip)
        r = add_header(o, "Content-Encoding: gzip");
    for (size_t i = 0; r == 0 && i < in->nheaders; i++)
        r = add_header(o, in->headers[i]);
    if (r == 0 && in->authorization) {
        size_t n = strlen(in->authorization) + sizeof("Authorization: ");
        char *line = malloc(n);
        if (!line)
            return -ENOMEM;
        snprintf(line, n, "Authorization: %s", in->authorization);
        r = add_header(o, line);
        memset(line, 0, n);
        free(line);
    }
    return r == 0 ? add_header(o, "Expect:") : r; /* no 100-continue round trip */
}

static char *dup_or(const char *s, const char *otherwise)
{
    return strdup(s ? s : otherwise);
}

static sink_settings *settings_make(const gh_http_sink_opts *in)
{
    sink_settings *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->batch = in->batch ? in->batch : 1;
    o->interval_ms = in->interval_ms;
    o->timeout_ms = in->timeout_ms ? in->timeout_ms : POST_TIMEOUT_MS;
    o->gzip = in->gzip;
    o->otlp_retry = in->otlp_retry;
    o->url = strdup(in->url);
    o->open = dup_or(in->open, "[");
    o->close = dup_or(in->close, "]");
    o->ca_file = in->ca_file ? strdup(in->ca_file) : NULL;
    if (!o->url || !o->open || !o->close || (in->ca_file && !o->ca_file) ||
        set_headers(o, in) != 0) {
        settings_free(o);
        return NULL;
    }
    return o;
}

int gh_http_sink_start_opts(gh_http_sink *s, const gh_http_sink_opts *o, size_t nrings)
{
    /* Not a memset: producers may be reading running (false) while a reload starts the sink;
     * the counters carry on. */
    s->rings = NULL;
    s->pending = NULL;
    s->nrings = 0;
    s->settings = s->next = NULL;
    s->stop = s->started = false;
    atomic_store(&s->max_pending, o->max_pending);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int r = 0;
    if (!(s->settings = settings_make(o)) || !(s->rings = calloc(nrings, sizeof(*s->rings))) ||
        !(s->pending = calloc(nrings, sizeof(*s->pending))))
        r = -ENOMEM;
    s->nrings = s->rings ? nrings : 0;
    for (size_t i = 0; r == 0 && i < nrings; i++)
        if (!(s->rings[i] = calloc(1, sizeof(gh_log_ring))))
            r = -ENOMEM;
    if (r == 0 && pthread_create(&s->thread, NULL, sink_thread, s) != 0)
        r = -EAGAIN;
    if (r != 0) {
        gh_http_sink_stop(s);
        return r;
    }
    s->started = true;
    atomic_store_explicit(&s->running, true, memory_order_release);
    return 0;
}

int gh_http_sink_start(gh_http_sink *s, const char *url, const char *const *headers,
                       size_t nheaders, const char *authorization, size_t batch,
                       uint64_t interval_ms, size_t nrings)
{
    gh_http_sink_opts o = {.url = url, .headers = headers, .nheaders = nheaders,
                           .authorization = authorization, .batch = batch,
                           .interval_ms = interval_ms};
    return gh_http_sink_start_opts(s, &o, nrings);
}

int gh_http_sink_update(gh_http_sink *s, const gh_http_sink_opts *o)
{
    sink_settings *next = settings_make(o);
    if (!next)
        return -ENOMEM;
    atomic_store(&s->max_pending, o->max_pending);
    pthread_mutex_lock(&s->mu);
    settings_free(s->next); /* one the thread never took */
    s->next = next;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

bool gh_http_sink_put(gh_http_sink *s, size_t producer, const char *line, size_t len)
{
    if (!atomic_load_explicit(&s->running, memory_order_acquire) || producer >= s->nrings)
        return false;
    gh_log_ring *r = s->rings[producer];
    size_t max = atomic_load_explicit(&s->max_pending, memory_order_relaxed);
    if (max && atomic_load_explicit(&s->pending[producer], memory_order_relaxed) >= max) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        return false;
    }
    if (!gh_log_ring_put(r, line, len))
        return false;
    atomic_fetch_add_explicit(&s->pending[producer], 1, memory_order_relaxed);
    return true;
}

unsigned long long gh_http_sink_queue_dropped(const gh_http_sink *s)
{
    unsigned long long n = 0;
    for (size_t i = 0; s->rings && i < s->nrings; i++)
        n += atomic_load_explicit(&s->rings[i]->dropped, memory_order_relaxed);
    return n;
}

void gh_http_sink_stop(gh_http_sink *s)
{
    if (!s->settings && !s->rings) /* never started (a runtime without the sink is all zeros) */
        return;
    atomic_store_explicit(&s->running, false, memory_order_release);
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    for (size_t i = 0; s->rings && i < s->nrings; i++)
        free(s->rings[i]);
    free(s->rings);
    s->rings = NULL;
    free(s->pending);
    s->pending = NULL;
    s->nrings = 0;
    settings_free(s->settings);
    settings_free(s->next);
    s->settings = s->next = NULL;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static bool http_put(void *ctx, size_t producer, const char *line, size_t len)
{
    return gh_http_sink_put(ctx, producer, line, len);
}

static unsigned long long http_dropped(void *ctx)
{
    gh_http_sink *s = ctx;
    return atomic_load_explicit(&s->failed, memory_order_relaxed) + gh_http_sink_queue_dropped(s);
}

const gh_sec_sink_ops gh_sec_http_sink_ops = {http_put, http_dropped};
