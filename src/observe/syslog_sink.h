/* The security stream's syslog sink: each line one RFC 5424 message to a collector over UDP,
 * TCP (octet-counting framing, RFC 6587) or a unix datagram socket. Producers put lines on their
 * own ring (observe/log.h) and never wait; the sink's own thread formats and sends them. When
 * the collector is down or the thread is behind, lines are dropped and counted; a TCP
 * connection that drops is made again with a backoff (100ms doubling to 5s). */
#ifndef GH_OBSERVE_SYSLOG_SINK_H
#define GH_OBSERVE_SYSLOG_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "observe/log.h"
#include "observe/security_events.h"

#define GH_SYSLOG_UDP_MAX 2048    /* a UDP message's bytes, at most (RFC 5426 suggests 2048) */
#define GH_SYSLOG_STREAM_MAX 8192 /* a TCP or unix socket message's */

typedef enum { GH_SYSLOG_UDP, GH_SYSLOG_TCP, GH_SYSLOG_UNIX } gh_syslog_transport;

typedef struct gh_syslog_sink {
    gh_log_ring **rings;
    size_t nrings;
    gh_syslog_transport transport;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char target[128]; /* the address as configured, for the events about it */
    unsigned facility;
    char app_name[49];
    char hostname[256];
    char procid[16];
    int fd;            /* -1: not connected */
    uint64_t retry_at; /* monotonic ms before which no connection is tried */
    uint32_t backoff_ms;
    atomic_ullong failed; /* lines lost to a collector that was down */
    atomic_ullong cut;    /* messages cut to the bound */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
} gh_syslog_sink;

/* address: udp://host:port, tcp://host:port or unix:/path (host resolved here). Starts the
 * thread; 0, or -errno with nothing started. */
int gh_syslog_sink_start(gh_syslog_sink *s, const char *address, unsigned facility,
                         const char *app_name, size_t nrings);
/* Sends what is left (as far as the collector takes it) and stops the thread. */
void gh_syslog_sink_stop(gh_syslog_sink *s);

/* One message for a line (its JSON, no '\n'): "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 * SD JSON", at most cap bytes; when the line does not fit it is cut and SD says
 * [gatehouse@32473 cut="<the line's full length>"]. Returns the length; *was_cut says. */
size_t gh_syslog_format(char *out, size_t cap, unsigned facility, const char *hostname,
                        const char *app_name, const char *procid, const char *line, size_t len,
                        bool *was_cut);

extern const gh_sec_sink_ops gh_sec_syslog_sink_ops;

/* Several sinks as one (the file, syslog, HTTP): a line is kept when one of them took it. */
typedef struct gh_sec_tee {
    const gh_sec_sink *sinks[3];
    size_t n;
} gh_sec_tee;

extern const gh_sec_sink_ops gh_sec_tee_sink_ops;

#endif
