/* Downstream ops: what the connection or HTTP/2 stream a request arrived on does for it. The
 * HTTP/1.1 connection and the HTTP/2 stream implement them (http/); the pipeline, the refusals
 * and the proxy use them, so nothing below http/ knows which protocol carries the request. See
 * docs/architecture.md, "Interfaces". */
#ifndef GH_GATE_DOWNSTREAM_H
#define GH_GATE_DOWNSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "wire/h1.h"

typedef struct gh_request gh_request;
struct gh_client_cert;

typedef struct gh_downstream_ops {
    /* Whether the response head goes as fields (send_fields) rather than HTTP/1.1 bytes: an
     * HTTP/2 stream's. Its send then takes only body bytes. */
    bool (*takes_fields)(const gh_request *req);
    /* The response head as fields; the body follows through send, unframed (`length` bytes for
     * GH_BODY_LENGTH, else until the response is done). 0 or a negative libuv error. */
    int (*send_fields)(gh_request *req, int status, const gh_h1_header *fields, size_t n,
                       int body, uint64_t length);
    /* Response bytes: the whole HTTP/1.1 response, or (after send_fields) the body. 0 or a
     * negative libuv error. */
    int (*send)(gh_request *req, const uv_buf_t *bufs, unsigned n);
    /* Whether the client is behind: the action stops reading its source until drained. */
    bool (*output_full)(const gh_request *req);
    /* The response went out whole: the request ends (logged, freed); the connection goes on. */
    void (*finish)(gh_request *req);
    /* Part of the response is out and the rest cannot follow: the only honest signal left is
     * cutting the connection (or resetting the stream). The request ends. */
    void (*cut)(gh_request *req);
    /* Starts reading the request body toward the action (once per request). */
    void (*read_body)(gh_request *req);
    /* Reads at most max bytes of the body whole into req->body before then(req) runs (the rest,
     * if any, then streams after what was read). */
    void (*collect_body)(gh_request *req, uint64_t max, void (*then)(gh_request *req));
    /* A wait ended (the request's may be over and freed already): the connection or stream goes
     * on with what arrived meanwhile (body bytes, the next pipelined request). Takes
     * req->downstream, not the request, for that reason. */
    void (*resume_input)(void *downstream);
    /* The action took queued body bytes: the body may move on. */
    void (*body_drained)(gh_request *req);
    /* The action is ready for the body (the upstream's head is sent): what was read ahead goes
     * first, then the rest streams; a client waiting for 100 Continue is told to send it. */
    void (*want_body)(gh_request *req);
    /* A WebSocket handshake was answered (101): from here the connection carries the session.
     * What the client sends goes, as it came, to the action's tunnel_in; send takes the
     * action's bytes; finish or cut ends it. 0, or -1 when this downstream carries no tunnel
     * (an HTTP/2 stream). */
    int (*tunnel)(gh_request *req);
    /* The client certificate (described at first use), or NULL when there is none. */
    const struct gh_client_cert *(*client_cert)(const gh_request *req);
} gh_downstream_ops;

#endif
