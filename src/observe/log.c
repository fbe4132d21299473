#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observe/log.h"

bool gh_log_ring_put(gh_log_ring *r, const char *line, size_t len)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (GH_LOG_RING_BYTES - (head - tail) < len) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        return false;
    }
    size_t at = head % GH_LOG_RING_BYTES, first = GH_LOG_RING_BYTES - at;
    if (first > len)
        first = len;
    memcpy(r->data + at, line, first);
    memcpy(r->data, line + first, len - first);
    atomic_store_explicit(&r->head, head + len, memory_order_release);
    return true;
}

size_t gh_log_ring_take(gh_log_ring *r, char *buf)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t len = head - tail;
    size_t at = tail % GH_LOG_RING_BYTES, first = GH_LOG_RING_BYTES - at;
    if (first > len)
        first = len;
    memcpy(buf, r->data + at, first);
    memcpy(buf + first, r->data, len - first);
    atomic_store_explicit(&r->tail, head, memory_order_release);
    return len;
}

/* Writes what it can: the bytes left unwritten when the destination failed (a full disk, an
 * I/O error, a pipe whose reader left). */
static size_t write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return len; /* the destination is gone: the gateway keeps serving */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static unsigned long lines_in(const char *p, size_t n)
{
    unsigned long lines = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        lines++;
    return lines;
}

/* Lines the destination did not take are counted as dropped (a line cut by the failure too),
 * as a full ring's are: none is lost unseen. */
static size_t drain_ring(gh_logger *l, gh_log_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t len = head - tail;
    if (len == 0)
        return 0;
    size_t at = tail % GH_LOG_RING_BYTES, first = GH_LOG_RING_BYTES - at;
    if (first > len)
        first = len;
    if (l->fd >= 0) {
        size_t left = write_all(l->fd, r->data + at, first);
        size_t second_left = left ? len - first : write_all(l->fd, r->data, len - first);
        unsigned long lost = lines_in(r->data + at + first - left, left) +
                             lines_in(r->data + (len - first) - second_left, second_left);
        if (lost)
            atomic_fetch_add_explicit(&r->dropped, lost, memory_order_relaxed);
    }
    atomic_store_explicit(&r->tail, head, memory_order_release);
    return len;
}

static bool is_off(const char *path)
{
    return path && strcmp(path, "off") == 0;
}

static int open_dest(const char *path)
{
    if (!path)
        return STDOUT_FILENO;
    if (strcmp(path, "off") == 0)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

static void close_dest(int fd)
{
    if (fd > STDERR_FILENO)
        close(fd);
}

static void *log_main(void *arg)
{
    gh_logger *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        bool stop = l->stop;
        if (l->reopen) { /* the new destination, opened already: no write is in progress */
            l->reopen = false;
            close_dest(l->fd);
            l->fd = l->next_fd;
        }
        pthread_mutex_unlock(&l->mu);
        size_t moved = 0;
        for (size_t i = 0; i < l->nrings; i++)
            moved += drain_ring(l, l->rings[i]);
        pthread_mutex_lock(&l->mu);
        if (stop)
            break;
        if (!moved && !l->stop && !l->reopen) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int gh_logger_start(gh_logger *l, const char *path, size_t nrings)
{
    memset(l, 0, sizeof(*l));
    l->path = strcmp(path, "stdout") == 0 ? NULL : strdup(path);
    l->fd = open_dest(l->path);
    if (l->fd < 0 && !is_off(l->path)) {
        int err = l->fd;
        free(l->path); /* gh_logger_stop runs after a failed start too: nothing left to free */
        l->path = NULL;
        return err;
    }
    l->rings = calloc(nrings, sizeof(*l->rings));
    l->nrings = nrings;
    for (size_t i = 0; l->rings && i < nrings; i++)
        l->rings[i] = calloc(1, sizeof(gh_log_ring));
    for (size_t i = 0; i < nrings; i++)
        if (!l->rings || !l->rings[i])
            return -ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->thread, NULL, log_main, l) != 0)
        return -EAGAIN;
    l->started = true;
    return 0;
}

/* Hands fd to the log thread; path (owned) becomes the destination's name when set_path. */
static void hand_over(gh_logger *l, int fd, bool set_path, char *path)
{
    pthread_mutex_lock(&l->mu);
    if (l->reopen)
        close_dest(l->next_fd); /* an earlier hand-over the thread has not taken yet */
    l->next_fd = fd;
    l->reopen = true;
    if (set_path) {
        free(l->path);
        l->path = path;
    }
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int gh_logger_reopen(gh_logger *l)
{
    int fd = open_dest(l->path); /* the path changes only on this (the control) thread */
    if (fd < 0 && !is_off(l->path))
        return fd;
    hand_over(l, fd, false, NULL);
    return 0;
}

int gh_logger_set_path(gh_logger *l, const char *path)
{
    const char *want = strcmp(path, "stdout") == 0 ? NULL : path;
    if ((!want && !l->path) || (want && l->path && strcmp(want, l->path) == 0))
        return 0;
    char *copy = want ? strdup(want) : NULL;
    if (want && !copy)
        return -ENOMEM;
    int fd = open_dest(copy);
    if (fd < 0 && !is_off(copy)) {
        free(copy);
        return fd;
    }
    hand_over(l, fd, true, copy);
    return 0;
}

void gh_logger_stop(gh_logger *l)
{
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
    }
    for (size_t i = 0; l->rings && i < l->nrings; i++)
        free(l->rings[i]);
    free(l->rings);
    if (l->reopen)
        close_dest(l->next_fd);
    close_dest(l->fd);
    free(l->path);
    memset(l, 0, sizeof(*l));
}
