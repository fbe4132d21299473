/* An HTTP sink: lines POSTed in batches to a collector with libcurl, from the sink's own thread:
 * the security stream's JSON arrays to a SIEM's HTTP input, and the OTLP exporter's spans
 * (observe/otlp_export.h). Producers put lines on their own ring (observe/log.h) and never
 * wait: the rings are the bounded queue, and a line that does not fit is dropped and counted.
 * A batch goes when it has `batch` lines or its first waited `interval`; an answer worth
 * another try (opts.otlp_retry) is tried again after a backoff (500ms doubling to 30s, or the
 * answer's Retry-After, at most 5 tries), then the batch is dropped and counted. */
#ifndef GH_OBSERVE_HTTP_SINK_H
#define GH_OBSERVE_HTTP_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/log.h"
#include "observe/security_events.h"

#define GH_HTTP_SINK_BODY_MAX (4u << 20) /* a batch's bytes, at most */

/* How a sink posts: where, with what, how much at once, and which answers it tries again. The
 * strings are copied. */
typedef struct gh_http_sink_opts {
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *authorization; /* the Authorization header's value, or NULL */
    size_t batch;              /* lines per POST */
    uint64_t interval_ms;      /* the longest the first line of a batch waits */
    const char *open, *close;  /* around the lines joined with ',': NULL is "[" and "]" */
    uint64_t timeout_ms;       /* one POST; 0: 10 s */
    bool gzip;                 /* Content-Encoding: gzip (core/gzip.h) */
    const char *ca_file;       /* the CAs an https URL is checked against; NULL: the system's */
    /* Tries again only on 429, 502, 503 and 504 (and no answer), after the answer's
     * Retry-After when it has one (at most 30 s); otherwise on 429, any 5xx and no answer. */
    bool otlp_retry;
    size_t max_pending; /* lines waiting per producer, at most; 0: as many as the ring holds */
} gh_http_sink_opts;

struct gh_http_sink_settings;

typedef struct gh_http_sink {
    gh_log_ring **rings;
    atomic_size_t *pending; /* per ring: lines put and not yet taken */
    atomic_size_t max_pending;
    size_t nrings;
    struct gh_http_sink_settings *settings; /* the thread's */
    struct gh_http_sink_settings *next;     /* handed over by gh_http_sink_update, under mu */
    atomic_ullong failed; /* events of batches the collector never took */
    atomic_ullong sent;   /* events of batches it took */
    atomic_ullong posted; /* batches it took */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool running; /* started: the rings may be written */
    bool stop, started;
} gh_http_sink;

/* headers: "Name: value" lines; authorization: the Authorization header's value or NULL.
 * Starts the thread; 0, or -errno with nothing started. */
int gh_http_sink_start(gh_http_sink *s, const char *url, const char *const *headers,
                       size_t nheaders, const char *authorization, size_t batch,
                       uint64_t interval_ms, size_t nrings);
/* The same with every option. */
int gh_http_sink_start_opts(gh_http_sink *s, const gh_http_sink_opts *o, size_t nrings);
/* New options for a running sink (a reload): the thread takes them once the batch it gathers
 * went. 0 or -ENOMEM (the old ones stay). */
int gh_http_sink_update(gh_http_sink *s, const gh_http_sink_opts *o);
/* Puts one line (ending with its only '\n') on the producer's ring; false when it was dropped
 * (the ring or the producer's share of pending lines is full: counted in the ring's dropped). */
bool gh_http_sink_put(gh_http_sink *s, size_t producer, const char *line, size_t len);
/* Lines dropped because the producers' rings were full. */
unsigned long long gh_http_sink_queue_dropped(const gh_http_sink *s);
/* Sends what is left (one try) and stops the thread. */
void gh_http_sink_stop(gh_http_sink *s);

extern const gh_sec_sink_ops gh_sec_http_sink_ops;

#endif
