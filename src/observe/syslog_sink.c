#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "observe/syslog_sink.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_WAIT_MS 20

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The string value of "name":"..." in the line, or "-" when it is not there. */
static size_t field_value(const char *line, size_t len, const char *name, const char **v)
{
    char key[64];
    int k = snprintf(key, sizeof(key), "\"%s\":\"", name);
    const char *at = memmem(line, len, key, (size_t)k);
    if (!at) {
        *v = "-";
        return 1;
    }
    *v = at + k;
    const char *end = memchr(*v, '"', len - (size_t)(*v - line));
    return end ? (size_t)(end - *v) : 0;
}

static bool field_is(const char *line, size_t len, const char *name, const char *want)
{
    const char *v;
    size_t n = field_value(line, len, name, &v);
    return n == strlen(want) && memcmp(v, want, n) == 0;
}

/* alert: warning (4); any other failure: notice (5); the rest: informational (6). */
static unsigned severity_of(const char *line, size_t len)
{
    if (field_is(line, len, "event.kind", "alert"))
        return 4;
    return field_is(line, len, "event.outcome", "failure") ? 5 : 6;
}

size_t gh_syslog_format(char *out, size_t cap, unsigned facility, const char *hostname,
                        const char *app_name, const char *procid, const char *line, size_t len,
                        bool *was_cut)
{
    const char *ts, *msgid;
    size_t ts_len = field_value(line, len, "@timestamp", &ts);
    size_t id_len = field_value(line, len, "event.action", &msgid);
    if (ts_len == 0 || ts_len > 40)
        ts = "-", ts_len = 1;
    if (id_len == 0 || id_len > 32) /* MSGID: 1 to 32 characters */
        msgid = "-", id_len = 1;
    char head[512];
    int h = snprintf(head, sizeof(head), "<%u>1 %.*s %s %s %s %.*s ",
                     facility * 8 + severity_of(line, len), (int)ts_len, ts, hostname, app_name,
                     procid, (int)id_len, msgid);
    if (h < 0 || (size_t)h >= sizeof(head) || (size_t)h + 64 > cap)
        return 0;
    char sd[64] = "- ";
    *was_cut = (size_t)h + 2 + len > cap;
    if (*was_cut)
        snprintf(sd, sizeof(sd), "[gatehouse@32473 cut=\"%zu\"] ", len);
    size_t sd_len = strlen(sd), body = len;
    if ((size_t)h + sd_len + body > cap)
        body = cap - (size_t)h - sd_len;
    memcpy(out, head, (size_t)h);
    memcpy(out + h, sd, sd_len);
    memcpy(out + (size_t)h + sd_len, line, body);
    return (size_t)h + sd_len + body;
}

static void disconnect(gh_syslog_sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->retry_at = now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

/* A socket to the collector, unless the backoff still holds: true when there is one. A send
 * waits at most a second (SO_SNDTIMEO), on this thread only. */
static bool ensure_connected(gh_syslog_sink *s)
{
    if (s->fd >= 0)
        return true;
    if (now_ms() < s->retry_at)
        return false;
    int type = s->transport == GH_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int fd = socket(s->addr.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        disconnect(s);
        return false;
    }
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) != 0) {
        close(fd);
        disconnect(s);
        return false;
    }
    s->fd = fd;
    s->backoff_ms = BACKOFF_FIRST_MS;
    return true;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One line to the collector; false (the line lost) when it is down. */
static bool send_line(gh_syslog_sink *s, const char *line, size_t len)
{
    char msg[GH_SYSLOG_STREAM_MAX + 16];
    size_t cap = s->transport == GH_SYSLOG_UDP ? GH_SYSLOG_UDP_MAX : GH_SYSLOG_STREAM_MAX;
    bool cut = false;
    size_t n = gh_syslog_format(msg + 16, cap, s->facility, s->hostname, s->app_name, s->procid,
                                line, len, &cut);
    if (n == 0 || !ensure_connected(s))
        return false;
    if (cut)
        atomic_fetch_add_explicit(&s->cut, 1, memory_order_relaxed);
    const char *p = msg + 16;
    if (s->transport == GH_SYSLOG_TCP) { /* octet counting: "LEN SP MSG" (RFC 6587 3.4.1) */
        char len_prefix[16];
        int k = snprintf(len_prefix, sizeof(len_prefix), "%zu ", n);
        p -= k;
        memcpy(msg + 16 - k, len_prefix, (size_t)k);
        n += (size_t)k;
    }
    if (send_all(s->fd, p, n))
        return true;
    disconnect(s); /* a datagram socket too: a collector that went away is looked up again */
    return false;
}

/* Sends a ring's complete lines; what the collector did not take is counted as lost. */
static size_t drain_ring(gh_syslog_sink *s, gh_log_ring *r, char *buf)
{
    size_t len = gh_log_ring_take(r, buf);
    if (len == 0)
        return 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (end > pos && !send_line(s, buf + pos, end - pos))
            atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        pos = end + 1;
    }
    return len;
}

static void *sink_thread(void *arg)
{
    gh_syslog_sink *s = arg;
    char *buf = malloc(GH_LOG_RING_BYTES);
    if (!buf)
        return NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        size_t moved = 0;
        for (size_t i = 0; i < s->nrings; i++)
            moved += drain_ring(s, s->rings[i], buf);
        pthread_mutex_lock(&s->mu);
        if (stop && moved == 0)
            break;
        if (moved == 0 && !s->stop) { /* producers do not signal: a short wait between looks */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += IDLE_WAIT_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(buf);
    return NULL;
}

/* host:port (host may be [v6]) resolved into s->addr. */
static int resolve(gh_syslog_sink *s, const char *hostport, int socktype)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon)
        return -EINVAL;
    const char *h = hostport;
    size_t hl = (size_t)(colon - hostport);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0 || hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = socktype}, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int parse_address(gh_syslog_sink *s, const char *address)
{
    if (strncmp(address, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
        if (strlen(address + 5) >= sizeof(un->sun_path))
            return -ENAMETOOLONG;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, address + 5);
        s->addrlen = sizeof(*un);
        s->transport = GH_SYSLOG_UNIX;
        return 0;
    }
    bool tcp = strncmp(address, "tcp://", 6) == 0;
    if (!tcp && strncmp(address, "udp://", 6) != 0)
        return -EINVAL;
    s->transport = tcp ? GH_SYSLOG_TCP : GH_SYSLOG_UDP;
    return resolve(s, address + 6, tcp ? SOCK_STREAM : SOCK_DGRAM);
}

int gh_syslog_sink_start(gh_syslog_sink *s, const char *address, unsigned facility,
                         const char *app_name, size_t nrings)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->backoff_ms = BACKOFF_FIRST_MS;
    s->facility = facility;
    snprintf(s->target, sizeof(s->target), "%s", address);
    snprintf(s->app_name, sizeof(s->app_name), "%s", app_name ? app_name : "gatehouse");
    snprintf(s->procid, sizeof(s->procid), "%ld", (long)getpid());
    if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0 || !s->hostname[0])
        strcpy(s->hostname, "-");
    for (char *c = s->hostname; *c; c++) /* HOSTNAME: printable US-ASCII, no space */
        if (*c < 33 || *c > 126)
            *c = '-';
    int r = parse_address(s, address);
    if (r != 0)
        return r;
    if (!(s->rings = calloc(nrings, sizeof(*s->rings))))
        return -ENOMEM;
    s->nrings = nrings;
    for (size_t i = 0; i < nrings; i++)
        if (!(s->rings[i] = calloc(1, sizeof(gh_log_ring)))) {
            gh_syslog_sink_stop(s);
            return -ENOMEM;
        }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sink_thread, s) != 0) {
        gh_syslog_sink_stop(s);
        return -EAGAIN;
    }
    s->started = true;
    return 0;
}

void gh_syslog_sink_stop(gh_syslog_sink *s)
{
    if (!s->rings) /* never started (a runtime without syslog is all zeros) */
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->started = false;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    for (size_t i = 0; s->rings && i < s->nrings; i++)
        free(s->rings[i]);
    free(s->rings);
    s->rings = NULL;
    s->nrings = 0;
}

static bool syslog_put(void *ctx, size_t producer, const char *line, size_t len)
{
    gh_syslog_sink *s = ctx;
    return producer < s->nrings && gh_log_ring_put(s->rings[producer], line, len);
}

static unsigned long long syslog_dropped(void *ctx)
{
    gh_syslog_sink *s = ctx;
    unsigned long long n = atomic_load_explicit(&s->failed, memory_order_relaxed);
    for (size_t i = 0; s->rings && i < s->nrings; i++)
        n += atomic_load_explicit(&s->rings[i]->dropped, memory_order_relaxed);
    return n;
}

const gh_sec_sink_ops gh_sec_syslog_sink_ops = {syslog_put, syslog_dropped};

static bool tee_put(void *ctx, size_t producer, const char *line, size_t len)
{
    gh_sec_tee *t = ctx;
    bool kept = false;
    for (size_t i = 0; i < t->n; i++)
        kept |= t->sinks[i]->ops->put(t->sinks[i]->ctx, producer, line, len);
    return kept;
}

static unsigned long long tee_dropped(void *ctx)
{
    gh_sec_tee *t = ctx;
    unsigned long long n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->sinks[i]->ops->dropped(t->sinks[i]->ctx);
    return n;
}

const gh_sec_sink_ops gh_sec_tee_sink_ops = {tee_put, tee_dropped};
