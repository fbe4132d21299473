/* The security stream's HTTP sink: events POSTed as JSON array batches to a collector (a SIEM's
 * HTTP input) with libcurl, from the sink's own thread. Producers put lines on their own ring
 * (observe/log.h) and never wait: the rings are the bounded queue, and a line that does not fit
 * is dropped and counted. A batch goes when it has `batch` events or its first waited
 * `interval`; a 429, a 5xx or a failed connection is tried again after a backoff (500ms
 * doubling to 30s, at most 5 tries), then the batch is dropped and counted. */
#ifndef GH_OBSERVE_HTTP_SINK_H
#define GH_OBSERVE_HTTP_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "observe/log.h"
#include "observe/security_events.h"

#define GH_HTTP_SINK_BODY_MAX (4u << 20) /* a batch's bytes, at most */

typedef struct gh_http_sink {
    gh_log_ring **rings;
    size_t nrings;
    char *url;
    void *headers; /* struct curl_slist * */
    size_t batch;
    uint64_t interval_ms;
    atomic_ullong failed; /* events of batches the collector never took */
    atomic_ullong posted; /* batches it took */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
} gh_http_sink;

/* headers: "Name: value" lines; authorization: the Authorization header's value or NULL.
 * Starts the thread; 0, or -errno with nothing started. */
int gh_http_sink_start(gh_http_sink *s, const char *url, const char *const *headers,
                       size_t nheaders, const char *authorization, size_t batch,
                       uint64_t interval_ms, size_t nrings);
/* Sends what is left (one try) and stops the thread. */
void gh_http_sink_stop(gh_http_sink *s);

extern const gh_sec_sink_ops gh_sec_http_sink_ops;

#endif
