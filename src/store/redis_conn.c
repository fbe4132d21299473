#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/tls.h"
#include "store/redis_conn.h"

/* What a connection may hold unsent (the server is slow or gone), and unparsed (a reply that
 * never ends): beyond either, it is given up. Decisions are a few hundred bytes each. */
#define GH_REDIS_MAX_UNSENT (1u << 20)
#define GH_REDIS_MAX_UNPARSED (4u << 20)

typedef struct pending {
    struct pending *next;
    gh_redis_reply_fn fn;
    void *privdata;
} pending;

struct gh_redis_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    gh_redis_ended_fn ended;
    void *owner;
    bool use_tls;
    gh_tls_pipe tls;
    bool ready, over;
    redisReader *reader;
    pending *head, *tail; /* commands written, oldest first: replies come in this order */
    gh_bytes out;         /* plaintext not yet handed to the socket (or to TLS) */
    char in[16384];
};

typedef struct write_req {
    uv_write_t req;
    gh_redis_conn *c;
    char *data;
} write_req;

static void on_closed(uv_handle_t *h)
{
    gh_redis_conn *c = h->data;
    if (c->use_tls)
        gh_tls_pipe_free(&c->tls);
    if (c->reader)
        redisReaderFree(c->reader);
    gh_bytes_free(&c->out);
    free(c);
}

/* Ends the connection once: the owner hears why (unless it asked), then every command in
 * flight is answered NULL. Memory goes when libuv has closed the socket. */
static void finish(gh_redis_conn *c, const char *why)
{
    if (c->over)
        return;
    c->over = true;
    if (why)
        c->ended(c->owner, why);
    while (c->head) {
        pending *p = c->head;
        c->head = p->next;
        p->fn(p->privdata, NULL);
        free(p);
    }
    c->tail = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    if (status < 0 && status != UV_ECANCELED)
        finish(w->c, uv_strerror(status));
    free(w->data);
    free(w);
}

/* Hands bytes to the socket: what the kernel takes now is written at once, the rest queued.
 * data is the caller's unless owned (malloc'd, taken over). */
static void send_bytes(gh_redis_conn *c, char *data, size_t len, bool owned)
{
    uv_buf_t buf = uv_buf_init(data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
        if (owned)
            free(data);
        finish(c, uv_strerror(n));
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0;
    if (sent == len) {
        if (owned)
            free(data);
        return;
    }
    write_req *w = malloc(sizeof(*w));
    char *rest = owned ? data : malloc(len - sent);
    if (!w || !rest) {
        free(w);
        free(owned ? data : rest);
        finish(c, "out of memory");
        return;
    }
    if (owned)
        memmove(rest, rest + sent, len - sent);
    else
        memcpy(rest, data + sent, len - sent);
    w->c = c;
    w->data = rest;
    buf = uv_buf_init(rest, (unsigned)(len - sent));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        free(rest);
        free(w);
        finish(c, "the socket refused a write");
    }
}

/* Ciphertext the TLS session produced goes to the socket. */
static void send_tls_output(gh_redis_conn *c)
{
    size_t len;
    char *data;
    while (!c->over && (data = gh_tls_pipe_take_output(&c->tls, &len)))
        send_bytes(c, data, len, true);
}

/* Sends what commands wrote, once the connection is ready. */
static void flush_out(gh_redis_conn *c)
{
    if (!c->ready || c->over || !c->out.len)
        return;
    if (!c->use_tls) {
        send_bytes(c, c->out.p, c->out.len, false);
        c->out.len = 0;
        return;
    }
    ssize_t n = gh_tls_pipe_write(&c->tls, c->out.p, c->out.len);
    if (n < 0) {
        finish(c, "TLS refused the write");
        return;
    }
    memmove(c->out.p, c->out.p + n, c->out.len - (size_t)n);
    c->out.len -= (size_t)n;
    send_tls_output(c);
}

static void become_ready(gh_redis_conn *c)
{
    c->ready = true;
    flush_out(c);
}

/* Every complete reply to the command it answers. */
static void deliver_replies(gh_redis_conn *c)
{
    while (!c->over) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            char why[160];
            snprintf(why, sizeof(why), "protocol error: %s", c->reader->errstr);
            finish(c, why);
            return;
        }
        if (!reply)
            break;
        pending *p = c->head;
        if (!p) {
            freeReplyObject(reply);
            finish(c, "a reply to no command");
            return;
        }
        if (!(c->head = p->next))
            c->tail = NULL;
        p->fn(p->privdata, reply);
        freeReplyObject(reply);
        free(p);
    }
    if (!c->over && c->reader->len - c->reader->pos > GH_REDIS_MAX_UNPARSED)
        finish(c, "a reply larger than 4 MiB");
}

static void feed_plaintext(gh_redis_conn *c, const char *data, size_t len)
{
    if (redisReaderFeed(c->reader, data, len) != REDIS_OK)
        finish(c, "out of memory");
}

/* Ciphertext in: the handshake moves on, and what it decrypts to goes to the parser. */
static void feed_tls(gh_redis_conn *c, const char *data, size_t len)
{
    char why[300];
    if (gh_tls_pipe_feed(&c->tls, data, len) != 0) {
        finish(c, "out of memory");
        return;
    }
    if (!c->tls.established) {
        int hs = gh_tls_pipe_handshake(&c->tls, why, sizeof(why));
        send_tls_output(c);
        if (hs < 0)
            finish(c, why);
        if (hs <= 0 || c->over)
            return;
        become_ready(c);
    }
    char plain[16384];
    ssize_t n = 0;
    while (!c->over && (n = gh_tls_pipe_read(&c->tls, plain, sizeof(plain), why, sizeof(why))) > 0)
        feed_plaintext(c, plain, (size_t)n);
    if (n < 0)
        finish(c, why);
    send_tls_output(c); /* a key update asks for an answer */
    flush_out(c);       /* and a write that waited for the peer can go on */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    gh_redis_conn *c = h->data;
    *buf = uv_buf_init(c->in, sizeof(c->in));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    gh_redis_conn *c = s->data;
    if (c->over || nread == 0)
        return;
    if (nread < 0) {
        finish(c, nread == UV_EOF ? "the server closed the connection" : uv_strerror((int)nread));
        return;
    }
    if (c->use_tls)
        feed_tls(c, buf->base, (size_t)nread);
    else
        feed_plaintext(c, buf->base, (size_t)nread);
    deliver_replies(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    gh_redis_conn *c = req->data;
    if (c->over)
        return;
    if (status < 0) {
        char why[120];
        snprintf(why, sizeof(why), "connect: %s", uv_strerror(status));
        finish(c, why);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        finish(c, "cannot read the socket");
        return;
    }
    if (!c->use_tls) {
        become_ready(c);
        return;
    }
    char why[300];
    if (gh_tls_pipe_handshake(&c->tls, why, sizeof(why)) < 0) { /* the ClientHello */
        finish(c, why);
        return;
    }
    send_tls_output(c);
}

gh_redis_conn *gh_redis_conn_open(uv_loop_t *loop, const char *host, int port, SSL_CTX *tls,
                                  const char *server_name, gh_redis_ended_fn ended, void *owner,
                                  char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
        snprintf(err, errlen, "'%s' is not an IP address", host);
        return NULL;
    }
    gh_redis_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->reader = redisReaderCreate())) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ended = ended;
    c->owner = owner;
    if (tls && gh_tls_pipe_client(&c->tls, tls, server_name) != 0) {
        redisReaderFree(c->reader);
        free(c);
        snprintf(err, errlen, "cannot start a TLS session for '%s'", server_name);
        return NULL;
    }
    c->use_tls = tls != NULL;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c->connect.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&sa, on_connected);
    if (rc != 0) {
        snprintf(err, errlen, "connect: %s", uv_strerror(rc));
        c->over = true;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return NULL;
    }
    return c;
}

int gh_redis_conn_command(gh_redis_conn *c, int argc, const char **argv, gh_redis_reply_fn fn,
                          void *privdata)
{
    if (c->over)
        return -1;
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
    pending *p = len > 0 ? malloc(sizeof(*p)) : NULL;
    if (!p || gh_bytes_add(&c->out, cmd, (size_t)len, GH_REDIS_MAX_UNSENT) != 0) {
        free(p);
        redisFreeCommand(cmd);
        return -1;
    }
    redisFreeCommand(cmd);
    *p = (pending){NULL, fn, privdata};
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    flush_out(c);
    return 0;
}

void gh_redis_conn_close(gh_redis_conn *c)
{
    finish(c, NULL);
}
