/* The access log: each worker appends complete lines to its own single-producer ring; one log
 * thread drains every ring to stdout or a file. A worker never waits for the disk: when its
 * ring is full the line is dropped and counted. */
#ifndef GH_OBSERVE_LOG_H
#define GH_OBSERVE_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define GH_LOG_RING_BYTES (1u << 20)

typedef struct gh_log_ring {
    atomic_size_t head; /* written by the worker */
    atomic_size_t tail; /* written by the log thread */
    atomic_ulong dropped;
    char data[GH_LOG_RING_BYTES];
} gh_log_ring;

typedef struct gh_logger {
    gh_log_ring **rings;
    size_t nrings;
    char *path; /* NULL: stdout; "off": disabled */
    int fd;
    int next_fd; /* opened by the control thread, taken by the log thread (reopen) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, reopen, started;
} gh_logger;

/* path: "stdout", "off" or a file opened in append mode. Returns 0 or -errno. */
int gh_logger_start(gh_logger *l, const char *path, size_t nrings);
/* Opens the file again (SIGUSR1, after rotation) on the caller's thread, and has the log
 * thread switch to it between writes. Returns 0, or -errno with nothing changed: lines keep
 * going where they went. */
int gh_logger_reopen(gh_logger *l);
/* Switches the destination (reload changed access_log), the same way; 0 or -errno. */
int gh_logger_set_path(gh_logger *l, const char *path);
/* Drains what is left and stops the thread. */
void gh_logger_stop(gh_logger *l);

/* Appends one line (must end with '\n'); false when it was dropped. */
bool gh_log_ring_put(gh_log_ring *r, const char *line, size_t len);
/* Moves everything the ring holds into buf (GH_LOG_RING_BYTES): the sinks' threads format from
 * the copy while the worker refills the ring. Returns the bytes moved (whole lines). */
size_t gh_log_ring_take(gh_log_ring *r, char *buf);

#endif
