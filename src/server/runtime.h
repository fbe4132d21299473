/* State shared by the threads of one gateway process: the current configuration snapshot, the
 * upstream states, the workers and the logger. Passed explicitly, never global. */
#ifndef GH_SERVER_RUNTIME_H
#define GH_SERVER_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config/config.h"
#include "observe/log.h"
#include "observe/security_events.h"
#include "observe/http_sink.h"
#include "observe/syslog_sink.h"
#include "server/dns_watch.h"
#include "server/inherit.h"
#include "store/upstream_state.h"

typedef struct gh_worker gh_worker;

typedef struct gh_runtime {
    const char *config_path;
    pthread_mutex_t mu;
    gh_config *current; /* guarded by mu; the runtime holds one reference */
    gh_shared shared;
    gh_worker *workers;
    int nworkers;
    gh_logger logger;
    /* the security event stream: its file's log thread (a ring per worker, then the control
     * thread's), its syslog and HTTP sinks (as many rings), the sink over them, each
     * producer's side (workers first, the control last) */
    gh_logger sec_logger;
    gh_syslog_sink sec_syslog;
    gh_http_sink sec_http;
    gh_sec_sink sec_file_sink, sec_syslog_sink, sec_http_sink;
    gh_sec_tee sec_tee;
    gh_sec_sink sec_sink;
    gh_sec_stream *sec_streams;
    gh_http_sink spans; /* the span exporter (server/trace_export.h): a ring per worker */
    atomic_ullong reloads_ok, reloads_failed;
    gh_dns_counts dns; /* re-resolutions of endpoints' names */
    atomic_bool draining;
    gh_inherited *inherited; /* sockets an upgrade's old process handed over: NULL otherwise */
} gh_runtime;

/* The current snapshot with a reference taken; release it with gh_config_release. */
gh_config *gh_runtime_config(gh_runtime *rt);

#endif
