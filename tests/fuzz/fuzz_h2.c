/* Fuzzes the HTTP/2 session input end to end: the bytes (after the client preface, which every
 * input gets so that the session is reached) arrive on a real connection of an embedded worker
 * listening with h2c, through nghttp2, the stream connections, routing, the stages and the
 * response back into frames. Whatever the frames, the gateway answers, resets or closes, and
 * frees everything once the client is gone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "http/conn.h"
#include "server/runtime.h"
#include "server/worker.h"

static const char CONFIG[] =
    "listeners: [{address: 127.0.0.1:1, h2c: true}]\n"
    "access_log: off\n"
    "http2: {max_concurrent_streams: 8}\n"
    "limits: {max_body_bytes: 64k}\n"
    "routes:\n"
    "  - {name: small, match: {path: /small, methods: [GET, POST]}, auth: none,\n"
    "     respond: {status: 200, body: hi}}\n"
    "  - {name: item, match: {path: \"/items/{id}\"}, auth: none, respond: {status: 201}}\n";

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

typedef struct harness {
    gh_runtime rt;
    gh_worker w;
} harness;

static harness *h;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    h = calloc(1, sizeof(*h));
    pthread_mutex_init(&h->rt.mu, NULL);
    gh_diag d = {0};
    h->rt.current = gh_config_load_string("fuzz.yaml", CONFIG, sizeof(CONFIG) - 1, NULL, &d);
    gh_diag_free(&d);
    h->rt.nworkers = 1;
    h->rt.workers = &h->w;
    if (!h->rt.current || gh_worker_embed(&h->rt, &h->w) != 0)
        abort();
    return 0;
}

/* Runs the loop until nothing is left to do in this round. */
static void settle(int client)
{
    char sink[65536];
    for (int i = 0; i < 64; i++) {
        uv_run(&h->w.loop, UV_RUN_NOWAIT);
        while (recv(client, sink, sizeof(sink), MSG_DONTWAIT) > 0) /* what the gateway sent */
            ;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return 0;
    gh_conn_adopt(&h->w, fds[0], &h->w.config->listeners[0]);
    if (send(fds[1], PREFACE, sizeof(PREFACE) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        size_t off = 0;
        while (off < size) { /* in pieces, so frames straddle reads */
            size_t piece = size - off < 1024 ? size - off : 1024;
            ssize_t n = send(fds[1], data + off, piece, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
            settle(fds[1]);
        }
    }
    settle(fds[1]);
    close(fds[1]); /* the client leaves: every connection and stream must go */
    for (int i = 0; i < 1000 && h->w.nconns; i++)
        uv_run(&h->w.loop, UV_RUN_NOWAIT);
    if (h->w.nconns)
        abort(); /* a connection outlived its client */
    uv_run(&h->w.loop, UV_RUN_NOWAIT); /* close callbacks */
    return 0;
}
