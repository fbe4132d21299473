/* The probe's servers (src/probe/server.c) over real loopback sockets: the recording upstream
 * keeps each request's head byte for byte and its body de-chunked, in order, on a keep-alive
 * connection; take() moves them; the identity provider's side serves the key set, introspection,
 * policy answers and counts bait fetches; a WebSocket handshake gets RFC 6455's Accept and an
 * echo; an oversized head closes the connection and the server goes on. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/probe.h"

typedef struct fixture {
    gh_probe p;
    gh_jwt_provider provider;
    gh_probe_key key;
    gh_probe_server *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    gh_arena_init(&f->p.arena, 4096, 0);
    f->provider.name = "idp";
    f->key.provider = &f->provider;
    f->key.alg = GH_ALG_ES256;
    f->key.key = gh_jws_keygen(GH_ALG_ES256);
    assert_non_null(f->key.key);
    strcpy(f->key.kid, "probe-kid-1");
    f->p.keys = &f->key;
    f->p.nkeys = 1;
    f->s = gh_probe_server_start(&f->p);
    assert_non_null(f->s);
    assert_true(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM) > 0);
    assert_true(gh_probe_server_port(f->s, GH_PROBE_IDP) > 0);
    assert_int_not_equal(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM),
                         gh_probe_server_port(f->s, GH_PROBE_IDP));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gh_probe_server_stop(f->s);
    EVP_PKEY_free(f->key.key);
    gh_arena_free(&f->p.arena);
    free(f);
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const char *bytes, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, bytes, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        bytes += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s) { send_all(fd, s, strlen(s)); }

typedef struct response {
    char buf[65536];
    size_t len;       /* head and body */
    size_t head_len;
    int status;
    const char *body; /* inside buf, NUL-terminated */
    size_t body_len;
} response;

/* Reads one response: its head, then Content-Length bytes of body (none for HEAD). */
static void read_response(int fd, response *r, bool is_head)
{
    memset(r, 0, sizeof(*r));
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
        assert_true(n > 0);
        r->len += (size_t)n;
        r->buf[r->len] = '\0';
        end = strstr(r->buf, "\r\n\r\n");
    }
    r->head_len = (size_t)(end + 4 - r->buf);
    assert_int_equal(sscanf(r->buf, "HTTP/1.1 %d", &r->status), 1);
    size_t clen = 0;
    const char *cl = strcasestr(r->buf, "\r\nContent-Length:");
    if (cl && cl < end)
        clen = strtoul(cl + 17, NULL, 10);
    if (is_head || r->status == 101)
        clen = 0;
    while (r->len < r->head_len + clen) {
        ssize_t n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
        assert_true(n > 0);
        r->len += (size_t)n;
    }
    assert_int_equal(r->len, r->head_len + clen); /* nothing beyond what was asked */
    r->buf[r->len] = '\0';
    r->body = r->buf + r->head_len;
    r->body_len = clen;
}

/* Whether the peer closed the connection (EOF or reset) within the receive timeout. */
static bool closed_by_peer(int fd)
{
    char b[4096];
    for (;;) {
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false; /* timed out */
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Takes the records, waiting up to 2 s for at least `want` (what a close records comes late). */
static size_t take_wait(gh_probe_server *s, gh_probe_upreq **out, size_t want)
{
    gh_probe_upreq *all = NULL;
    size_t total = 0;
    for (int i = 0; i < 200 && total < want; i++) {
        gh_probe_upreq *v = NULL;
        size_t n = gh_probe_upstream_take(s, &v);
        if (n > 0) {
            all = realloc(all, (total + n) * sizeof(*all));
            assert_non_null(all);
            memcpy(all + total, v, n * sizeof(*v));
            total += n;
            free(v); /* its contents moved into all */
        } else {
            sleep_ms(10);
        }
    }
    *out = all;
    return total;
}

static void records_keep_alive_requests(void **state)
{
    fixture *f = *state;
    int port = gh_probe_server_port(f->s, GH_PROBE_UPSTREAM);
    int fd = connect_to(port);
    static const char a[] = "POST /a?x=1 HTTP/1.1\r\nHost: up\r\nContent-Length: 5\r\n"
                            "X-Odd:  spaced \r\n\r\n";
    static const char b_head[] = "POST /b HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char b_body1[] = "5\r\nhel";
    static const char b_body2[] = "lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    response r;

    send_str(fd, a);
    send_str(fd, "hello");
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.buf, "\r\nContent-Type: application/json\r\n"));
    assert_string_equal(r.body, "{\"probe\":\"upstream\"}");

    send_str(fd, b_head);
    send_str(fd, b_body1); /* the chunk arrives in two reads */
    sleep_ms(20);
    send_str(fd, b_body2);
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);

    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].head_len, strlen(a));
    assert_memory_equal(v[0].head, a, strlen(a));
    assert_int_equal(v[0].body_len, 5);
    assert_string_equal(v[0].body, "hello");
    assert_int_equal(v[0].port, port);
    assert_true(v[0].complete);
    assert_false(v[0].body_cut);
    assert_int_equal(v[1].head_len, strlen(b_head));
    assert_memory_equal(v[1].head, b_head, strlen(b_head));
    assert_int_equal(v[1].body_len, 11);
    assert_string_equal(v[1].body, "hello world");
    assert_int_equal(v[1].body_total, 11);
    assert_true(v[1].complete);
    gh_probe_upreqs_free(v, n);

    v = NULL;
    assert_int_equal(gh_probe_upstream_take(f->s, &v), 0); /* moved: nothing left */
    assert_null(v);
    close(fd);
}

static void pipelined_head_and_close(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    /* Two requests in one write; the second asks to close. HEAD gets no body. */
    send_str(fd, "GET /one HTTP/1.1\r\nHost: up\r\n\r\n"
                 "HEAD /two HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n");
    char all[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, all + got, sizeof(all) - 1 - got, 0);
        assert_true(n >= 0);
        if (n == 0)
            break; /* closed after the second answer, as asked */
        got += (size_t)n;
    }
    all[got] = '\0';
    /* The first answer, with its body; then the second, a head alone. */
    const char *second = strstr(all, "{\"probe\":\"upstream\"}HTTP/1.1 200 OK\r\n");
    assert_non_null(second);
    assert_true(strstr(all, "Connection: close") > second); /* only the second closes */
    second += 20;
    assert_non_null(strstr(second, "Content-Length: 20\r\n"));
    assert_non_null(strstr(second, "Connection: close\r\n"));
    assert_int_equal(strstr(second, "\r\n\r\n") + 4 - all, got); /* no body after the head */
    close(fd);

    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 2);
    assert_memory_equal(v[0].head, "GET /one ", 9);
    assert_memory_equal(v[1].head, "HEAD /two ", 10);
    assert_int_equal(v[1].body_len, 0);
    assert_string_equal(v[1].body, "");
    gh_probe_upreqs_free(v, n);
}

static void large_and_unfinished_bodies(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    size_t big = 1536 * 1024;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, 'b', big);
    char head[128];
    snprintf(head, sizeof(head), "PUT /big HTTP/1.1\r\nHost: up\r\nContent-Length: %zu\r\n\r\n",
             big);
    send_str(fd, head);
    send_all(fd, body, big);
    free(body);
    response r;
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    /* A body that never ends: the connection closes within it. */
    send_str(fd, "POST /cut HTTP/1.1\r\nHost: up\r\nContent-Length: 10\r\n\r\nabc");
    sleep_ms(20);
    close(fd);

    gh_probe_upreq *v = NULL;
    size_t n = take_wait(f->s, &v, 2);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].body_len, 1024 * 1024);
    assert_int_equal(v[0].body_total, big);
    assert_true(v[0].body_cut);
    assert_true(v[0].complete);
    assert_memory_equal(v[1].head, "POST /cut ", 10);
    assert_string_equal(v[1].body, "abc");
    assert_false(v[1].complete);
    gh_probe_upreqs_free(v, n);
}

static void jwks_serves_the_probe_keys(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_IDP));
    assert_int_equal(gh_probe_jwks_fetches(f->s, "idp"), 0);
    send_str(fd, "GET /jwks/idp HTTP/1.1\r\nHost: idp\r\n\r\n");
    response r;
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    json_error_t err;
    json_t *doc = json_loadb(r.body, r.body_len, 0, &err);
    assert_non_null(doc);
    json_t *keys = json_object_get(doc, "keys");
    assert_true(json_is_array(keys));
    assert_int_equal(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    assert_string_equal(json_string_value(json_object_get(k, "kid")), "probe-kid-1");
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_null(json_object_get(k, "d")); /* the public half only */
    json_decref(doc);
    assert_int_equal(gh_probe_jwks_fetches(f->s, "idp"), 1);

    send_str(fd, "GET /jwks/other HTTP/1.1\r\nHost: idp\r\n\r\n");
    read_response(fd, &r, false);
    assert_int_equal(r.status, 404);
    assert_int_equal(gh_probe_jwks_fetches(f->s, "other"), 0);
    assert_int_equal(gh_probe_jwks_fetches(f->s, "idp"), 1);
    assert_int_equal(gh_probe_bait_fetches(f->s), 0);
    close(fd);
}

static void introspection_policy_and_bait(void **state)
{
    fixture *f = *state;
    json_t *claims = json_pack("{s:s, s:s}", "sub", "probe-a", "scope", "read");
    gh_probe_opaque_add(f->s, "tok a+b", claims, true);
    json_decref(claims); /* the server keeps its own copy */
    gh_probe_opaque_add(f->s, "revoked", NULL, false);
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_IDP));
    static const char *const bodies[] = {"client_id=gw&token=tok+a%2Bb", "token=revoked",
                                         "token=unknown"};
    response r;
    for (int i = 0; i < 3; i++) {
        char req[512];
        snprintf(req, sizeof(req),
                 "POST /introspect/idp HTTP/1.1\r\nHost: idp\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(bodies[i]), bodies[i]);
        send_str(fd, req);
        read_response(fd, &r, false);
        assert_int_equal(r.status, 200);
        json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(json_is_true(json_object_get(doc, "active")), i == 0);
        if (i == 0)
            assert_string_equal(json_string_value(json_object_get(doc, "sub")), "probe-a");
        else
            assert_int_equal(json_object_size(doc), 1);
        json_decref(doc);
    }

    send_str(fd, "POST /policy/allow HTTP/1.1\r\nHost: idp\r\nContent-Length: 2\r\n\r\n{}");
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"result\":true}");
    assert_int_equal(gh_probe_bait_fetches(f->s), 0);

    send_str(fd, "GET /bait/jku HTTP/1.1\r\nHost: idp\r\n\r\n");
    read_response(fd, &r, false);
    assert_int_equal(r.status, 404);
    assert_int_equal(gh_probe_bait_fetches(f->s), 1);
    close(fd);

    gh_probe_upreq *v = NULL;
    assert_int_equal(gh_probe_upstream_take(f->s, &v), 0); /* the IdP records no requests */
}

static void websocket_handshake_and_echo(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    send_str(fd, "GET /ws HTTP/1.1\r\nHost: up\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    response r;
    read_response(fd, &r, false);
    assert_int_equal(r.status, 101);
    assert_non_null(strstr(r.buf, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    static const char frame[] = "\x81\x85\x01\x02\x03\x04raw\0bytes";
    send_all(fd, frame, sizeof(frame) - 1);
    char back[64];
    size_t got = 0;
    while (got < sizeof(frame) - 1) {
        ssize_t n = recv(fd, back + got, sizeof(back) - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(got, sizeof(frame) - 1);
    assert_memory_equal(back, frame, got);
    close(fd);

    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].head, "GET /ws ", 8);
    gh_probe_upreqs_free(v, n);

    /* An invalid key is an ordinary request. */
    fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    send_str(fd, "GET /ws HTTP/1.1\r\nHost: up\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: short\r\n\r\n");
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    close(fd);
    n = gh_probe_upstream_take(f->s, &v);
    gh_probe_upreqs_free(v, n);
}

static void huge_head_closes(void **state)
{
    fixture *f = *state;
    int port = gh_probe_server_port(f->s, GH_PROBE_UPSTREAM);
    int fd = connect_to(port);
    size_t big = 70 * 1024;
    char *field = malloc(big);
    assert_non_null(field);
    memset(field, 'h', big);
    send_str(fd, "GET /huge HTTP/1.1\r\nHost: up\r\nX-Big: ");
    /* The server may close before all of it is sent: a failed send is fine here. */
    size_t off = 0;
    while (off < big) {
        ssize_t n = send(fd, field + off, big - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    free(field);
    assert_true(closed_by_peer(fd));
    close(fd);

    /* Nothing recorded, and the server still answers. */
    fd = connect_to(port);
    send_str(fd, "GET /after HTTP/1.1\r\nHost: up\r\n\r\n");
    response r;
    read_response(fd, &r, false);
    assert_int_equal(r.status, 200);
    close(fd);
    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].head, "GET /after ", 11);
    gh_probe_upreqs_free(v, n);
}

static void bad_framing_answers_400(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    send_str(fd, "POST /x HTTP/1.1\r\nHost: up\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
    response r;
    read_response(fd, &r, false);
    assert_int_equal(r.status, 400);
    assert_true(closed_by_peer(fd));
    close(fd);
    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 1); /* what the gateway forwarded is seen all the same */
    assert_false(v[0].complete);
    gh_probe_upreqs_free(v, n);
}

static void keeps_the_last_records(void **state)
{
    fixture *f = *state;
    int fd = connect_to(gh_probe_server_port(f->s, GH_PROBE_UPSTREAM));
    response r;
    for (int i = 0; i < 1030; i++) {
        char req[64];
        snprintf(req, sizeof(req), "GET /%d HTTP/1.1\r\nHost: up\r\n\r\n", i);
        send_str(fd, req);
        read_response(fd, &r, false);
    }
    close(fd);
    gh_probe_upreq *v = NULL;
    size_t n = gh_probe_upstream_take(f->s, &v);
    assert_int_equal(n, 1024);
    assert_memory_equal(v[0].head, "GET /6 ", 7);
    assert_memory_equal(v[1023].head, "GET /1029 ", 10);
    gh_probe_upreqs_free(v, n);
}

static void stops_with_connections_open(void **state)
{
    (void)state;
    fixture f2 = {0};
    gh_probe_server *s = gh_probe_server_start(&f2.p); /* no keys at all */
    assert_non_null(s);
    int fd = connect_to(gh_probe_server_port(s, GH_PROBE_UPSTREAM));
    send_str(fd, "POST /x HTTP/1.1\r\nHost: up\r\nContent-Length: 100\r\n\r\npartial");
    int fd2 = connect_to(gh_probe_server_port(s, GH_PROBE_IDP));
    send_str(fd2, "GET /jwks/idp HTTP/1.1\r\nHost: idp\r\n\r\n");
    response r;
    read_response(fd2, &r, false);
    assert_int_equal(r.status, 404);
    gh_probe_server_stop(s); /* joins the thread, frees the half-read request */
    assert_true(closed_by_peer(fd));
    close(fd);
    close(fd2);
    gh_probe_server_stop(NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(records_keep_alive_requests),
        T(pipelined_head_and_close),
        T(large_and_unfinished_bodies),
        T(jwks_serves_the_probe_keys),
        T(introspection_policy_and_bait),
        T(websocket_handshake_and_echo),
        T(huge_head_closes),
        T(bad_framing_answers_400),
        T(keeps_the_last_records),
        cmocka_unit_test(stops_with_connections_open),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
