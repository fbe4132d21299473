/* The probe's servers inside (server.c, server_conn.c, server_answer.c): one thread, a poll()
 * loop over the listeners and the connections; what it records is shared under one mutex. */
#ifndef GH_PROBE_SERVER_INT_H
#define GH_PROBE_SERVER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"

#define GH_PSRV_ROLES 2                 /* GH_PROBE_UPSTREAM, GH_PROBE_IDP */
#define GH_PSRV_MAX_CONNS 256           /* open at once; beyond, accepted and closed */
#define GH_PSRV_HEAD_MAX (64 * 1024)    /* request line and fields */
#define GH_PSRV_IN_MAX (GH_PSRV_HEAD_MAX + 16 * 1024) /* a connection's input buffer */
#define GH_PSRV_LINE_MAX 4096           /* a chunk-size line */
#define GH_PSRV_BODY_MAX (1024 * 1024)  /* body bytes kept of one request */
#define GH_PSRV_OUT_PAUSE (256 * 1024)  /* output pending above which reading pauses */
#define GH_PSRV_OUT_MAX (4 * 1024 * 1024) /* output pending above which the connection is cut */
#define GH_PSRV_RECORDS 1024            /* requests kept for take(); older ones dropped */
#define GH_PSRV_OPAQUE_MAX 4096         /* introspection tokens */

typedef enum {
    GH_PSRV_HEAD,        /* reading a request head */
    GH_PSRV_BODY,        /* a Content-Length body */
    GH_PSRV_CHUNK_SIZE,  /* chunked: the size line */
    GH_PSRV_CHUNK_DATA,  /* chunked: a chunk's data */
    GH_PSRV_CHUNK_CRLF,  /* chunked: the line end after the data */
    GH_PSRV_TRAILERS,    /* chunked: trailer lines up to the blank one */
    GH_PSRV_TUNNEL,      /* after a 101: every byte read is echoed */
    GH_PSRV_CLOSING,     /* input ignored; closed once the output is written */
} gh_psrv_state;

/* The request being read on a connection. */
typedef struct gh_psrv_req {
    char *head; /* as received, blank line included, NUL-terminated (malloc) */
    size_t head_len;
    char *body; /* de-chunked, at most GH_PSRV_BODY_MAX bytes kept (malloc, NUL-terminated) */
    size_t body_len, body_cap;
    uint64_t body_total; /* body bytes received, kept or not */
    uint64_t remaining;  /* of the Content-Length body or of the current chunk */
    size_t trailer_len;
    char method[32];
    char path[1024]; /* the target without its query, cut at the size */
    bool http10, close, is_head, websocket, bad;
    char ws_key[32];
} gh_psrv_req;

typedef struct gh_psrv_conn {
    int fd;
    gh_probe_role role;
    int port; /* the probe's port it came to */
    char *in;
    size_t in_len, in_cap;
    size_t scanned; /* head bytes already searched for the blank line */
    char *out;
    size_t out_off, out_len, out_cap;
    gh_psrv_state state;
    bool dead; /* an error: closed without writing what is pending */
    gh_psrv_req req;
} gh_psrv_conn;

typedef struct gh_psrv_opaque {
    char *token;
    json_t *claims; /* the server's own copy */
    bool active;
} gh_psrv_opaque;

typedef struct gh_psrv_count {
    char *name;
    size_t n;
} gh_psrv_count;

struct gh_probe_server {
    gh_probe *p; /* read for p->keys only, which do not change while the server runs */
    pthread_t thread;
    bool started;
    int wake[2]; /* a byte written to wake[1] stops the thread */
    int listen_fd[GH_PSRV_ROLES];
    int port[GH_PSRV_ROLES];
    /* The thread's own. */
    gh_psrv_conn *conns[GH_PSRV_MAX_CONNS];
    size_t nconns;
    /* Under mu. */
    pthread_mutex_t mu;
    gh_probe_upreq records[GH_PSRV_RECORDS]; /* a ring: first, count */
    size_t first, count;
    size_t bait;
    gh_psrv_count *jwks; /* per provider fetched */
    size_t njwks;
    gh_psrv_opaque *opaque;
    size_t nopaque;
};

/* A string literal and its length, for gh_psrv_respond. */
#define GH_PSRV_LIT(s) s, sizeof(s) - 1

/* server.c: frees what a record holds. */
void gh_psrv_upreq_clear(gh_probe_upreq *r);

/* server_conn.c: the bytes of a connection. */
/* Works through the input buffered: requests framed, answered, tunnelled bytes echoed. */
void gh_psrv_conn_input(gh_probe_server *s, gh_psrv_conn *c);
/* The connection ends: a request whose head came but not its end is recorded incomplete. */
void gh_psrv_conn_end(gh_probe_server *s, gh_psrv_conn *c);
void gh_psrv_conn_free(gh_psrv_conn *c);
/* Queues bytes for the peer; a connection whose output cannot grow is marked dead. */
void gh_psrv_out(gh_psrv_conn *c, const void *bytes, size_t len);

/* server_answer.c: what a complete request gets (c->req), by role. */
void gh_psrv_answer(gh_probe_server *s, gh_psrv_conn *c);
/* Moves c->req's head and body into the records (upstream role). */
void gh_psrv_record(gh_probe_server *s, gh_psrv_conn *c, bool complete);
/* A response with a JSON body (none for HEAD); Connection: close when the request asked. */
void gh_psrv_respond(gh_psrv_conn *c, int status, const char *reason, const char *body,
                     size_t len);

#endif
