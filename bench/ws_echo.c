/* WebSocket echo load for `make bench`: a server that echoes every message, and a client that
 * keeps one small message in flight on each of N connections for a number of seconds and
 * prints the messages per second. Both single-threaded with epoll, so that neither is the
 * slower side of what the benchmark compares (through the gateway against direct).
 *
 *   ws_echo server PORT
 *   ws_echo client PORT CONNECTIONS SECONDS [PATH]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define BUF 65536
#define MAX_CONNS 4096

typedef struct peer {
    int fd;
    size_t len; /* bytes held in buf */
    int upgraded;
    char buf[BUF];
} peer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1; /* the load is small enough never to fill a socket buffer */
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The Sec-WebSocket-Accept for key (RFC 6455 4.2.2). */
static void accept_of(const char *key, size_t key_len, char out[32])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char in[128];
    unsigned char digest[SHA_DIGEST_LENGTH];
    snprintf(in, sizeof(in), "%.*s%s", (int)key_len, key, guid);
    SHA1((const unsigned char *)in, strlen(in), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

/* A frame at p of len bytes: its total size, or 0 while incomplete. */
static size_t frame_size(const unsigned char *p, size_t len, size_t *head, size_t *payload)
{
    if (len < 2)
        return 0;
    size_t n = p[1] & 0x7f, h = 2;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = (size_t)p[2] << 8 | p[3];
        h = 4;
    } else if (n == 127) {
        return 0; /* messages here are small */
    }
    if (p[1] & 0x80)
        h += 4;
    *head = h;
    *payload = n;
    return len >= h + n ? h + n : 0;
}

static int server_handshake(peer *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    char *key = memmem(c->buf, (size_t)(end - c->buf), "Sec-WebSocket-Key: ", 19);
    if (!key)
        key = memmem(c->buf, (size_t)(end - c->buf), "sec-websocket-key: ", 19);
    if (!key)
        return -1;
    key += 19;
    size_t key_len = strcspn(key, "\r");
    char acc[32], resp[256];
    accept_of(key, key_len, acc);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     acc);
    size_t used = (size_t)(end + 4 - c->buf);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    c->upgraded = 1;
    return write_all(c->fd, resp, (size_t)n) == 0 ? 1 : -1;
}

/* Echoes every whole client frame held, unmasked, with its opcode. */
static int server_frames(peer *c)
{
    size_t off = 0, head, payload, size;
    unsigned char out[BUF];
    size_t outn = 0;
    while ((size = frame_size((unsigned char *)c->buf + off, c->len - off, &head, &payload))) {
        unsigned char *f = (unsigned char *)c->buf + off;
        if ((f[0] & 0x0f) == 8)
            return -1; /* close */
        const unsigned char *mask = f + head - 4;
        if (outn + payload + 4 > sizeof(out))
            break;
        out[outn++] = f[0];
        if (payload < 126) {
            out[outn++] = (unsigned char)payload;
        } else {
            out[outn++] = 126;
            out[outn++] = (unsigned char)(payload >> 8);
            out[outn++] = (unsigned char)payload;
        }
        for (size_t i = 0; i < payload; i++)
            out[outn++] = f[head + i] ^ mask[i % 4];
        off += size;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return outn ? write_all(c->fd, out, outn) : 0;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
        perror("listen");
        exit(1);
    }
    return fd;
}

static void drop(int ep, peer *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static _Noreturn void serve(int port)
{
    int lfd = listen_on(port), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            peer *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    peer *p = calloc(1, sizeof(*p));
                    p->fd = fd;
                    struct epoll_event pe = {.events = EPOLLIN, .data.ptr = p};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &pe);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                drop(ep, c);
                continue;
            }
            c->len += (size_t)r;
            int ok = c->upgraded ? 0 : server_handshake(c);
            if (ok >= 0 && c->upgraded)
                ok = server_frames(c);
            if (ok < 0)
                drop(ep, c);
        }
    }
}

static int send_message(peer *c)
{
    unsigned char f[2 + 4 + MSG];
    f[0] = 0x81; /* FIN, text */
    f[1] = 0x80 | MSG;
    memcpy(f + 2, "\x12\x34\x56\x78", 4);
    for (int i = 0; i < MSG; i++)
        f[6 + i] = (unsigned char)('a' + i % 26) ^ f[2 + i % 4];
    return write_all(c->fd, f, sizeof(f));
}

/* Whole echoes received: each sends the next message. -1 when the session failed. */
static long client_frames(peer *c)
{
    size_t off = 0, head, payload, size;
    long got = 0;
    while ((size = frame_size((unsigned char *)c->buf + off, c->len - off, &head, &payload))) {
        if ((c->buf[off] & 0x0f) != 1 || payload != MSG)
            return -1;
        off += size;
        got++;
        if (send_message(c) != 0)
            return -1;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return got;
}

static int client(int port, int conns, double seconds, const char *path)
{
    int ep = epoll_create1(0);
    struct epoll_event evs[256];
    char hs[512];
    int hn = snprintf(hs, sizeof(hs),
                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                      path, port);
    for (int i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write_all(fd, hs, (size_t)hn)) {
            perror("connect");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        peer *p = calloc(1, sizeof(*p));
        p->fd = fd;
        struct epoll_event pe = {.events = EPOLLIN, .data.ptr = p};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &pe);
    }
    long messages = 0, failed = 0;
    double start = 0, end = 0;
    int upgraded = 0;
    for (;;) {
        double t = now_s();
        if (start && t >= end)
            break;
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            peer *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
            if (r <= 0) {
                failed++;
                drop(ep, c);
                continue;
            }
            c->len += (size_t)r;
            if (!c->upgraded) {
                char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
                if (!e)
                    continue;
                if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) {
                    fprintf(stderr, "handshake refused: %.40s\n", c->buf);
                    return 1;
                }
                size_t used = (size_t)(e + 4 - c->buf);
                memmove(c->buf, c->buf + used, c->len - used);
                c->len -= used;
                c->upgraded = 1;
                if (++upgraded == conns) { /* every session open: the clock starts */
                    start = now_s();
                    end = start + seconds;
                }
                if (send_message(c) != 0)
                    failed++;
                continue;
            }
            long got = client_frames(c);
            if (got < 0) {
                failed++;
                drop(ep, c);
                continue;
            }
            if (start)
                messages += got;
        }
    }
    printf("messages/s %.0f failed %ld\n", (double)messages / seconds, failed);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        serve(atoi(argv[2]));
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "client") == 0) {
        int conns = atoi(argv[3]);
        if (conns < 1 || conns > MAX_CONNS)
            return 2;
        return client(atoi(argv[2]), conns, atof(argv[4]), argc == 6 ? argv[5] : "/");
    }
    fprintf(stderr, "usage: ws_echo server PORT | ws_echo client PORT CONNECTIONS SECONDS [PATH]\n");
    return 2;
}
