/* Fuzzes the HTTP/2 session input end to end: the bytes (after the client preface, which every
 * input gets so that the session is reached) arrive on a real connection, listening with h2c,
 * served by the gate's services on the harness's own loop, through nghttp2, the streams as
 * downstreams, routing, the stages, the proxy and the response back into frames. Whatever the
 * frames, the gateway answers, resets or closes, and frees everything once the client is gone: no
 * connection, and no upstream request, outlives its client.
 *
 * An input whose first byte is even is raw bytes. An odd first byte makes the rest a script
 * (one opcode byte, then its operands): raw bytes, a request on a stream (to a route that
 * answers at once, to an upstream that answers, or to one that never does, with or without a
 * body and a content-length), DATA, RST_STREAM with any code, a pause that lets the loop and
 * the upstream run, and the client leaving (close or half-close) at that point. So streams are
 * in flight on the upstream when the client resets them or leaves. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "config/config.h"
#include "gate/services.h"
#include "http/conn.h"
#include "http/h2.h"
#include "stages/key_wait.h"
#include "stages/pending_call.h"
#include "stages/registry.h"
#include "store/redis.h"
#include "upstream/proxy.h"

static const char CONFIG[] =
    "listeners: [{address: 127.0.0.1:1, h2c: true}]\n"
    "access_log: off\n"
    "http2: {max_concurrent_streams: 8}\n"
    "limits: {max_body_bytes: 64k}\n"
    "upstreams:\n"
    "  app: {endpoints: [\"http://127.0.0.1:%d\"], max_concurrency: 64}\n"
    "routes:\n"
    "  - {name: small, match: {path: /small, methods: [GET, POST]}, auth: none,\n"
    "     respond: {status: 200, body: hi}}\n"
    "  - {name: item, match: {path: \"/items/{id}\"}, auth: none, respond: {status: 201}}\n"
    "  - {name: app, match: {prefix: /up}, auth: none, upstream: app}\n";

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#define MAX_UPSTREAM_CONNS 64

/* What a worker would own for its connections, without the worker: the loop, the state kept
 * across reloads, and the services (holding the one configuration snapshot). */
typedef struct harness {
    uv_loop_t loop;
    gh_shared shared;
    gh_services svc;
    int upstream;                /* the listening socket the route "app" proxies to */
    int ups[MAX_UPSTREAM_CONNS]; /* connections it accepted, in this input */
    size_t nups;
} harness;

static harness *h;

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 256) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        abort();
    *port = ntohs(sin.sin_port);
    return fd;
}

/* At exit, as a worker's teardown: the connections, pools, calls and stores go, every handle
 * closes and the loop runs until none is left, so that nothing is left for the leak check. */
static void teardown(void)
{
    gh_conns_close(&h->svc);
    for (size_t i = 0; i < h->nups; i++)
        close(h->ups[i]);
    close(h->upstream);
    gh_pools_close(&h->svc);
    gh_pending_worker_stop(&h->svc);
    gh_redis_worker_stop(&h->svc.redis);
    gh_key_waits_close(&h->svc);
    gh_services_close(&h->svc);
    gh_conns_worker_close(&h->svc);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&h->loop) != 0)
        abort(); /* a handle outlived the teardown */
    gh_services_free(&h->svc);
    gh_shared_free(&h->shared);
    free(h);
    h = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    h = calloc(1, sizeof(*h));
    if (gh_shared_init(&h->shared) != 0) /* every registry the runtime holds */
        abort();
    int port;
    h->upstream = listen_local(&port);
    char config[sizeof(CONFIG) + 16];
    int n = snprintf(config, sizeof(config), CONFIG, port);
    gh_diag d = {0};
    gh_config *cfg = gh_config_load_string("fuzz.yaml", config, (size_t)n, &h->shared, &d);
    gh_diag_free(&d);
    if (!cfg || uv_loop_init(&h->loop) != 0)
        abort();
    /* The services take the snapshot's one reference; the rest is what a worker adds for its
     * connections: the proxy as the routes' action with its pools, the stages' waits for keys and
     * calls, and its downstream connections with the end-of-iteration HTTP/2 sends. */
    if (gh_services_init(&h->svc, 0, &h->loop, &h->shared, cfg) != 0 ||
        gh_proxy_worker_init(&h->svc) != 0 || gh_key_waits_init(&h->svc) != 0 ||
        gh_pending_worker_init(&h->svc) != 0 || gh_conns_worker_init(&h->svc) != 0)
        abort();
    atexit(teardown);
    return 0;
}

/* The upstream: accepts what the gateway opens; a request for /up/answer... is answered at
 * once, any other one never is (a slow upstream, as far as one input is concerned). */
static void upstream_step(void)
{
    int fd;
    while (h->nups < MAX_UPSTREAM_CONNS && (fd = accept4(h->upstream, NULL, NULL, SOCK_NONBLOCK)) >= 0)
        h->ups[h->nups++] = fd;
    static const char ANSWER[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char buf[65536];
    for (size_t i = 0; i < h->nups; i++) {
        ssize_t got = recv(h->ups[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (got <= 0)
            continue;
        buf[got] = '\0';
        if (strstr(buf, " /up/answer"))
            (void)send(h->ups[i], ANSWER, sizeof(ANSWER) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

/* Runs the loop (and the upstream) for a number of rounds, draining what the gateway sent. */
static void settle(int client, int rounds)
{
    char sink[65536];
    for (int i = 0; i < rounds; i++) {
        uv_run(&h->loop, UV_RUN_NOWAIT);
        upstream_step();
        while (client >= 0 && recv(client, sink, sizeof(sink), MSG_DONTWAIT) > 0) /* the gateway's frames */
            ;
    }
}

static void send_all(int fd, const void *p, size_t n)
{
    (void)send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static size_t frame_head(uint8_t *out, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    out[0] = (uint8_t)(len >> 16), out[1] = (uint8_t)(len >> 8), out[2] = (uint8_t)len;
    out[3] = type, out[4] = flags;
    out[5] = (uint8_t)(sid >> 24), out[6] = (uint8_t)(sid >> 16), out[7] = (uint8_t)(sid >> 8), out[8] = (uint8_t)sid;
    return 9;
}

/* A literal field without indexing: the name as an index of the static table (idx > 0) or
 * literal; short strings only (7-bit lengths). */
static size_t hpack_field(uint8_t *out, uint8_t idx, const char *name, const char *value)
{
    size_t n = 0, vl = strlen(value);
    out[n++] = idx;
    if (!idx) {
        size_t nl = strlen(name);
        out[n++] = (uint8_t)nl;
        memcpy(out + n, name, nl), n += nl;
    }
    out[n++] = (uint8_t)vl;
    memcpy(out + n, value, vl);
    return n + vl;
}

/* HEADERS: operands sid, shape (path, method, END_STREAM, content-length), length. */
static void send_request(int fd, uint8_t sid, uint8_t shape, uint8_t length)
{
    static const char *const paths[] = {"/up/slow", "/up/answer", "/small", "/items/7"};
    uint8_t f[512];
    size_t n = 9;
    f[n++] = shape & 4 ? 0x83 : 0x82; /* :method POST or GET */
    f[n++] = 0x86;                    /* :scheme http */
    n += hpack_field(f + n, 0x04, NULL, paths[shape & 3]);
    n += hpack_field(f + n, 0x01, NULL, "localhost");
    if (shape & 16) {
        char cl[8];
        snprintf(cl, sizeof(cl), "%u", length);
        n += hpack_field(f + n, 0, "content-length", cl);
    }
    uint8_t flags = 0x4 | (shape & 8 ? 0x1 : 0);
    frame_head(f, n - 9, 0x1, flags, 2u * sid + 1);
    send_all(fd, f, n);
}

static void send_data(int fd, uint8_t sid, uint8_t len, uint8_t flags)
{
    uint8_t f[9 + 255];
    frame_head(f, len, 0x0, flags & 1, 2u * sid + 1);
    memset(f + 9, 'x', len);
    send_all(fd, f, 9u + len);
}

static void send_reset(int fd, uint8_t sid, uint8_t code)
{
    uint8_t f[13];
    frame_head(f, 4, 0x3, 0, 2u * sid + 1);
    f[9] = 0, f[10] = 0, f[11] = 0, f[12] = code; /* 0..13 are RFC 9113's, the rest unknown */
    send_all(fd, f, sizeof(f));
}

/* The script: returns when it ends or the client leaves (*fd set to -1 on a close). It
 * starts with the SETTINGS frame that completes the client's preface. */
static void run_script(int *fd, const uint8_t *p, size_t size)
{
    uint8_t settings[9];
    send_all(*fd, settings, frame_head(settings, 0, 0x4, 0, 0));
    size_t i = 0;
    while (i < size && *fd >= 0) {
        uint8_t op = p[i++] % 6;
        uint8_t a = i < size ? p[i] : 0, b = i + 1 < size ? p[i + 1] : 0, c = i + 2 < size ? p[i + 2] : 0;
        switch (op) {
        case 0: { /* raw bytes: a length, then that many */
            size_t avail = i < size ? size - i - 1 : 0;
            size_t n = a < avail ? a : avail;
            send_all(*fd, p + i + 1, n);
            i += 1 + n;
            break;
        }
        case 1:
            send_request(*fd, a % 16, b, c), i += 3;
            break;
        case 2:
            send_data(*fd, a % 16, b, c), i += 3;
            break;
        case 3:
            send_reset(*fd, a % 16, b), i += 2;
            break;
        case 4:
            settle(*fd, 1 + a % 16), i += 1;
            break;
        default: /* the client leaves here: closes, or half-closes and still reads */
            if (a & 1) {
                shutdown(*fd, SHUT_WR);
                settle(*fd, 8);
            }
            close(*fd);
            *fd = -1;
            return;
        }
        settle(*fd, 2);
    }
}

static void run_raw(int fd, const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) { /* in pieces, so frames straddle reads */
        size_t piece = size - off < 1024 ? size - off : 1024;
        ssize_t n = send(fd, data + off, piece, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
        settle(fd, 64);
    }
}

static unsigned in_flight(void)
{
    unsigned n = 0;
    for (size_t i = 0; i < h->svc.snapshots.config->nupstreams; i++)
        n += atomic_load(&h->svc.snapshots.config->upstreams[i].state->inflight);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return 0;
    gh_conn_adopt(&h->svc, fds[0], &h->svc.snapshots.config->listeners[0]);
    int client = fds[1];
    if (send(client, PREFACE, sizeof(PREFACE) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        if (size && (data[0] & 1))
            run_script(&client, data + 1, size - 1);
        else
            run_raw(client, data, size);
    }
    settle(client, 64);
    if (client >= 0)
        close(client); /* the client leaves: every connection and stream must go */
    for (int i = 0; i < 1000 && gh_conns_count(&h->svc); i++)
        uv_run(&h->loop, UV_RUN_NOWAIT);
    if (gh_conns_count(&h->svc))
        abort(); /* a connection outlived its client */
    if (in_flight())
        abort(); /* a stream's upstream request outlived its connection */
    for (size_t i = 0; i < h->nups; i++) /* the upstream's side goes too */
        close(h->ups[i]);
    h->nups = 0;
    settle(-1, 8); /* the pool notices, close callbacks run */
    return 0;
}
