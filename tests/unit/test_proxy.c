/* The proxy against a client that falls behind: the upstream is one end of a socketpair, parked
 * in the worker's pool as an idle keep-alive connection the proxy then takes; the test writes a
 * large response into the other end. While the fake downstream reports its output full, the
 * proxy reads no more of the upstream (the bytes stay in the socket); once the client drained
 * it reads on, and the client receives the whole response byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_gate.h"
#include "upstream/upconn.h"

static const char CONFIG[] =
    "listeners: [{address: 127.0.0.1:1}]\n"
    "upstreams:\n"
    "  app: {endpoints: ['http://127.0.0.1:9']}\n"
    "routes:\n"
    "  - {name: app, match: {prefix: /}, auth: none, upstream: app}\n";

#define BODY_BYTES (1024u * 1024u)
#define HOLD_BYTES (64u * 1024u) /* the client falls behind after this much, each time */

typedef struct upstream_end {
    int fd;          /* the test's end: what the upstream sends and reads */
    int gw_fd;       /* the gateway's end */
    gh_upconn *conn; /* the gateway's connection over it */
    char *response;
    size_t len, written;
} upstream_end;

/* A connection to the route's endpoint over a socketpair, idle in the worker's pool: the proxy
 * takes it as a kept-alive connection, so nothing connects over the network. */
static void park_upstream(fake_gate *g, upstream_end *u)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    u->fd = fds[1];
    u->gw_fd = fds[0];
    const gh_upstream_conf *uc = &g->svc.snapshots.config->upstreams[0];
    gh_pool *pool = gh__pool_get(&g->svc, uc->endpoints[0].pool_key);
    assert_non_null(pool);
    u->conn = gh__upconn_new(&g->svc, pool);
    assert_non_null(u->conn);
    assert_int_equal(uv_tcp_open(&u->conn->tcp, fds[0]), 0);
    gh__pool_put(u->conn, uc->keepalive_max_idle, uc->keepalive_idle_timeout_ms);
    assert_int_equal(pool->nidle, 1);
}

/* The response: a head, then BODY_BYTES of a pattern no shifted copy of itself matches. */
static void make_response(upstream_end *u)
{
    char head[128];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %u\r\n\r\n",
                      BODY_BYTES);
    u->len = (size_t)hl + BODY_BYTES;
    u->response = malloc(u->len);
    assert_non_null(u->response);
    memcpy(u->response, head, (size_t)hl);
    for (size_t i = 0; i < BODY_BYTES; i++)
        u->response[hl + i] = (char)((i * 7 + i / 251) & 0xff);
}

/* Writes what the socket takes of the rest of the response. */
static void upstream_write(upstream_end *u)
{
    while (u->written < u->len) {
        ssize_t n = send(u->fd, u->response + u->written, u->len - u->written, MSG_DONTWAIT);
        if (n <= 0)
            return;
        u->written += (size_t)n;
    }
}

/* Bytes the gateway has not read from its end. */
static int unread(const upstream_end *u)
{
    int n = 0;
    assert_int_equal(ioctl(u->gw_fd, FIONREAD, &n), 0);
    return n;
}

/* While the client is behind, the loop turns and the upstream has more to give, the proxy takes
 * nothing more: the client receives nothing more and the bytes stay in the socket. */
static void expect_held(fake_gate *g, upstream_end *u)
{
    size_t sent = g->rec.sent_len;
    for (int i = 0; i < 20; i++) {
        upstream_write(u);
        fg_spin(g, 1);
    }
    assert_int_equal(g->rec.sent_len, sent);
    assert_true(unread(u) > 0);
    assert_false(u->conn->reading);
}

static void backpressure_holds_the_upstream(void **state)
{
    (void)state;
    fake_gate g = {0};
    upstream_end u = {0};
    fg_open(&g, CONFIG);
    park_upstream(&g, &u);
    make_response(&u);
    assert_non_null(fg_request(&g, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_int_equal(g.rec.want_bodies, 1);
    fg_spin(&g, 2);
    char req[4096];
    ssize_t got = recv(u.fd, req, sizeof(req) - 1, 0);
    assert_true(got > 0);
    req[got] = '\0';
    assert_non_null(strstr(req, "GET /big HTTP/1.1\r\n"));

    g.full_after = HOLD_BYTES;
    unsigned holds = 0;
    for (int rounds = 0; g.req && rounds < 10000; rounds++) {
        upstream_write(&u);
        fg_spin(&g, 1);
        if (!g.full || !g.req)
            continue;
        expect_held(&g, &u);
        holds++;
        size_t at = g.rec.sent_len;
        fg_drained(&g); /* the client caught up: the proxy reads on */
        g.full_after = at + HOLD_BYTES;
    }
    assert_null(g.req);
    assert_int_equal(g.rec.finishes, 1);
    assert_int_equal(g.rec.cuts, 0);
    assert_true(holds >= BODY_BYTES / HOLD_BYTES / 2);
    const char *body = strstr(g.rec.sent, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_int_equal(strncmp(g.rec.sent, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_int_equal(g.rec.sent_len - (size_t)(body - g.rec.sent), BODY_BYTES);
    size_t hl = u.len - BODY_BYTES;
    assert_memory_equal(body, u.response + hl, BODY_BYTES);
    fg_close(&g);
    close(u.fd);
    free(u.response);
}

/* Content-Length: 0 is a whole response with its head: it finishes at once, with no byte or
 * close to wait for, and its connection goes back to the pool. */
static void an_empty_body_ends_with_its_head(void **state)
{
    (void)state;
    fake_gate g = {0};
    upstream_end u = {0};
    fg_open(&g, CONFIG);
    park_upstream(&g, &u);
    assert_non_null(fg_request(&g, "GET /empty HTTP/1.1\r\nHost: t\r\n\r\n"));
    fg_spin(&g, 2);
    char req[4096];
    assert_true(recv(u.fd, req, sizeof(req), 0) > 0);
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(send(u.fd, resp, sizeof(resp) - 1, 0), (ssize_t)(sizeof(resp) - 1));
    for (int i = 0; i < 50 && g.req; i++)
        fg_spin(&g, 1);
    assert_null(g.req);
    assert_int_equal(g.rec.finishes, 1);
    assert_int_equal(g.rec.cuts, 0);
    assert_int_equal(strncmp(g.rec.sent, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_int_equal(u.conn->pool->nidle, 1);
    fg_close(&g);
    close(u.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backpressure_holds_the_upstream),
        cmocka_unit_test(an_empty_body_ends_with_its_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
