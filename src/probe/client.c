/* One exchange on the wire: a new connection (TLS when asked), the case's bytes as they are, and
 * every response that comes back until the connection closes or goes quiet. Blocking sockets
 * with poll() deadlines: the probe runs one case at a time, and a case's timing is part of
 * what it observes. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe/probe.h"
#include "probe/probe_internal.h"

#define READ_CAP (256 * 1024) /* bytes of answers kept from one exchange */
#define QUIET_MS 100          /* after a complete answer: how long a quiet connection is waited on */

typedef gh_probe_conn conn;

double gh_probe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gh_probe_count_exchange(gh_probe *p, const gh_probe_exchange *x)
{
    p->exchanges.made++;
    if (x->timed_out && !x->nresponses && !x->closed)
        p->exchanges.silent++;
}

double gh_probe_exchange_deadline(const gh_probe *p)
{
    double own = gh_probe_now() + (double)p->caps.exchange_ms / 1000.0;
    double run_end = p->used.started + (double)p->caps.seconds;
    return own < run_end ? own : run_end;
}

/* Waits for events on fd within ms: > 0 ready, 0 not. stop_fd (-1: none) is the run's stop
 * signalfd: a stop signal ends the wait at once (0, *stopped set) rather than at the deadline. */
static int wait_fd_or_stop(int fd, short events, int ms, int stop_fd, bool *stopped)
{
    struct pollfd pfd[2] = {{.fd = fd, .events = events}, {.fd = stop_fd, .events = POLLIN}};
    int n;
    do
        n = poll(pfd, stop_fd >= 0 ? 2 : 1, ms < 0 ? 0 : ms);
    while (n < 0 && errno == EINTR);
    if (n > 0 && stop_fd >= 0 && (pfd[1].revents & POLLIN)) {
        *stopped = true;
        return 0;
    }
    return n;
}

static int wait_conn(conn *c, short events, int ms)
{
    return c->stopped ? 0 : wait_fd_or_stop(c->fd, events, ms, c->stop_fd, &c->stopped);
}

static int tcp_connect(const gh_probe_target *t, int ms, int stop_fd)
{
    bool stopped = false;
    char port[16];
    snprintf(port, sizeof(port), "%d", t->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(t->host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close(fd);
            fd = -1;
            continue;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        if (wait_fd_or_stop(fd, POLLOUT, ms, stop_fd, &stopped) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
            err) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static const char *ssl_error_text(gh_probe *p)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (!e)
        return "the connection closed during the handshake";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return gh_arena_strdup(&p->arena, buf);
}

/* ALPN wire form of a comma-separated list ("h2,http/1.1"). */
static size_t alpn_wire(const char *list, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        if (len == 0 || len > 255 || n + 1 + len > cap)
            break;
        out[n++] = (unsigned char)len;
        memcpy(out + n, list, len);
        n += len;
        list += len + (list[len] == ',');
    }
    return n;
}

/* The TLS handshake on c->fd, nonblocking under the deadline. NULL, or why it failed. */
static const char *tls_start(gh_probe *p, conn *c, const gh_probe_target *t,
                             const gh_probe_opts *o, double deadline)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        return "cannot make a TLS context";
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL); /* the probe observes; it trusts nothing */
    if (o->tls_min)
        SSL_CTX_set_min_proto_version(c->ctx, o->tls_min);
    if (o->tls_max)
        SSL_CTX_set_max_proto_version(c->ctx, o->tls_max);
    if (o->tls_min && o->tls_min < TLS1_2_VERSION)
        SSL_CTX_set_security_level(c->ctx, 0); /* offer what an old client would */
    if (o->ciphers && !SSL_CTX_set_cipher_list(c->ctx, o->ciphers))
        return "the cipher list offered is unknown to this OpenSSL";
    const char *cert = o->no_cert ? NULL : o->cert_file ? o->cert_file : t->cert_file;
    const char *key = o->cert_file ? o->key_file : t->key_file;
    if (cert && (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1 ||
                 SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1))
        return "cannot load the client certificate";
    unsigned char alpn[64];
    size_t alen = alpn_wire(o->alpn ? o->alpn : "http/1.1", alpn, sizeof(alpn));
    if (alen)
        SSL_CTX_set_alpn_protos(c->ctx, alpn, (unsigned)alen);
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl)
        return "cannot make a TLS session";
    const char *sni = o->sni ? o->sni : t->sni;
    if (sni && *sni)
        SSL_set_tlsext_host_name(c->ssl, sni);
    SSL_set_fd(c->ssl, c->fd);
    for (;;) {
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            return NULL;
        int e = SSL_get_error(c->ssl, rc);
        int ms = (int)((deadline - gh_probe_now()) * 1000);
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || ms <= 0 || c->stopped)
            return ms <= 0 || c->stopped ? "the handshake timed out" : ssl_error_text(p);
        wait_conn(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, ms);
    }
}

/* What the handshake agreed on and what the server's certificate says. */
static void session_facts(SSL *ssl, const gh_probe_target *t, const gh_probe_opts *o,
                          gh_probe_exchange *x, gh_probe *p)
{
    const unsigned char *proto = NULL;
    unsigned plen = 0;
    SSL_get0_alpn_selected(ssl, &proto, &plen);
    if (plen)
        x->alpn = gh_arena_strndup(&p->arena, (const char *)proto, plen);
    x->tls_version = SSL_get_version(ssl);
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return;
    x->cert_seen = true;
    const char *name = o->sni ? o->sni : t->sni ? t->sni : t->host;
    x->cert_covers = X509_check_host(cert, name, strlen(name), 0, NULL) == 1 ||
                     X509_check_ip_asc(cert, name, 0) == 1;
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)))
        x->cert_days_left = days;
    X509_free(cert);
}

void gh_probe_conn_close(conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ctx) {
        SSL_CTX_free(c->ctx);
        c->ctx = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Writes all of buf before the deadline. 0, or -1 when the peer went away or time ran out. */
int gh_probe_conn_write(conn *c, const char *buf, size_t len, double deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n;
        if (c->ssl) {
            size_t w = 0;
            int rc = SSL_write_ex(c->ssl, buf + off, len - off, &w);
            int e = rc ? SSL_ERROR_NONE : SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                n = 0;
                errno = EAGAIN;
            } else {
                n = rc ? (ssize_t)w : -1;
                if (!rc)
                    errno = EPIPE;
            }
        } else {
            n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        }
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        int ms = (int)((deadline - gh_probe_now()) * 1000);
        if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || ms <= 0 ||
            c->stopped)
            return -1;
        wait_conn(c, POLLOUT, ms);
    }
    return 0;
}

/* Reads what is there within ms: the bytes read, 0 at the peer's close, -1 on nothing yet (or
 * an error, *gone set). */
ssize_t gh_probe_conn_read(conn *c, char *buf, size_t cap, int ms, bool *gone)
{
    *gone = false;
    if (!(c->ssl && SSL_pending(c->ssl) > 0) && wait_conn(c, POLLIN, ms) <= 0) {
        if (!c->stopped)
            return -1;
        *gone = true; /* stopped: to every reader, as if the peer had gone */
        return 0;
    }
    if (c->ssl) {
        size_t n = 0;
        int rc = SSL_read_ex(c->ssl, buf, cap, &n);
        if (rc)
            return (ssize_t)n;
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return -1;
        *gone = e != SSL_ERROR_ZERO_RETURN;
        return 0;
    }
    ssize_t n = recv(c->fd, buf, cap, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -1;
    if (n < 0) {
        *gone = true; /* a reset is a close too */
        return 0;
    }
    return n;
}

static bool all_sent_and_answered(const gh_probe_exchange *x, const gh_probe_opts *o, bool sent)
{
    if (!sent || x->nresponses == 0)
        return false;
    return o->responses && x->nresponses >= o->responses;
}

/* Reads until the connection closes, or it is quiet after a complete answer, or the deadline. */
static void read_answers(gh_probe *p, conn *c, gh_probe_exchange *x, const gh_probe_opts *o,
                         gh_probe_buf *in, double deadline, bool sent)
{
    unsigned quiet = o->wait_ms ? o->wait_ms : QUIET_MS;
    for (;;) {
        double now = gh_probe_now();
        if (now >= deadline) {
            x->timed_out = true;
            return;
        }
        if (all_sent_and_answered(x, o, sent))
            return;
        int ms = (int)((deadline - now) * 1000);
        if (sent && x->nresponses > 0 && (int)quiet < ms)
            ms = (int)quiet;
        if (in->len == in->cap) { /* kept enough: the rest is not evidence */
            x->cut = true;
            return;
        }
        bool gone;
        ssize_t n = gh_probe_conn_read(c, in->data + in->len, in->cap - in->len, ms, &gone);
        if (n < 0) {
            if (sent && x->nresponses > 0)
                return; /* quiet after an answer */
            if (!sent)
                return; /* between parts: nothing more yet */
            continue;
        }
        if (n == 0) {
            x->closed = true;
            return;
        }
        in->len += (size_t)n;
        p->used.bytes += (uint64_t)n;
        gh_probe_parse_answers(p, x, in->data, in->len, false, o->is_head, false);
    }
}

int gh_probe_conn_open(gh_probe *p, const gh_probe_target *t, const gh_probe_opts *o,
                       double deadline, gh_probe_conn *c, gh_probe_exchange *x)
{
    int stop_fd = p->stop_armed ? p->stop_fd : -1;
    *c = (conn){.fd = tcp_connect(t, (int)((deadline - gh_probe_now()) * 1000), stop_fd),
                .stop_fd = stop_fd};
    if (c->fd < 0) {
        x->connect_failed = true;
        return -1;
    }
    if (t->tls && (x->tls_error = tls_start(p, c, t, o, deadline))) {
        gh_probe_conn_close(c);
        return -1;
    }
    if (c->ssl)
        session_facts(c->ssl, t, o, x, p);
    return 0;
}

static void count_requests(gh_probe *p, const char *bytes, size_t len)
{
    /* Each request line the case wrote counts as a request, whatever the gateway makes of it. */
    uint64_t n = 1;
    for (size_t i = 0; i + 1 < len; i++)
        if (bytes[i] == '\n' && i + 10 < len && memmem(bytes + i + 1, len - i - 1 < 32 ? len - i - 1 : 32, " HTTP/1.", 8))
            n++;
    p->used.requests += n;
}

int gh_probe_send(gh_probe *p, gh_probe_result *r, const gh_probe_target *t, const char *bytes,
                  size_t len, const gh_probe_opts *opts, gh_probe_exchange *x)
{
    static const gh_probe_opts none;
    const gh_probe_opts *o = opts ? opts : &none;
    const char *const *parts = o->parts ? o->parts : &bytes;
    const size_t *lens = o->parts ? o->part_lens : &len;
    size_t nparts = o->parts ? o->nparts : 1, total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += lens[i];
    *x = (gh_probe_exchange){0};
    const char *over = gh_probe_over_caps(p, total);
    if (over) {
        gh_probe_skip(r, "%s", over);
        return -1;
    }
    p->used.connections++;
    for (size_t i = 0; i < nparts; i++)
        count_requests(p, parts[i], lens[i]);
    p->used.bytes += total;
    x->sent = gh_probe_escape_parts(p, parts, lens, nparts);
    double deadline = gh_probe_exchange_deadline(p);
    conn c;
    if (gh_probe_conn_open(p, t, o, deadline, &c, x) != 0)
        return 0;
    gh_probe_buf in = {.data = malloc(READ_CAP), .cap = READ_CAP};
    if (!in.data) {
        gh_probe_conn_close(&c);
        gh_probe_error(r, "out of memory");
        return -1;
    }
    bool last_sent = false;
    for (size_t i = 0; i < nparts && !x->closed; i++) {
        if (i + 1 == nparts) {
            x->before_last = x->nresponses;
            last_sent = true;
        }
        if (gh_probe_conn_write(&c, parts[i], lens[i], deadline) != 0) {
            x->closed = true; /* the gateway stopped reading: it closed or reset */
            break;
        }
        if (i + 1 < nparts && o->pause_ms) {
            double until = gh_probe_now() + o->pause_ms / 1000.0;
            gh_probe_opts between = *o;
            between.wait_ms = o->pause_ms;
            read_answers(p, &c, x, &between, &in, until < deadline ? until : deadline, false);
            double left = until - gh_probe_now();
            if (left > 0 && !x->closed)
                usleep((useconds_t)(left * 1e6));
        }
    }
    if (!x->closed)
        read_answers(p, &c, x, o, &in, deadline, true);
    gh_probe_parse_answers(p, x, in.data, in.len, x->closed, o->is_head, true);
    gh_probe_count_exchange(p, x);
    if (!last_sent) /* the connection closed before the last part: every answer came before it */
        x->before_last = x->nresponses;
    free(in.data);
    gh_probe_conn_close(&c);
    return 0;
}

int gh_probe_send_many(gh_probe *p, gh_probe_result *r, const gh_probe_target *t,
                       const char *const *bytes, const size_t *lens, size_t n,
                       gh_probe_exchange *xs)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    const char *over = gh_probe_over_caps(p, total);
    if (over || p->used.connections + n > p->caps.connections ||
        p->used.requests + n > p->caps.requests) {
        gh_probe_skip(r, "%s",
                      over ? over : "the run's caps leave too little for the parallel requests");
        return -1;
    }
    if (n > GH_PROBE_MAX_PARALLEL) {
        gh_probe_error(r, "%zu parallel connections asked, at most %d", n, GH_PROBE_MAX_PARALLEL);
        return -1;
    }
    conn cs[GH_PROBE_MAX_PARALLEL];
    double deadline = gh_probe_exchange_deadline(p);
    p->used.connections += n;
    p->used.requests += n;
    p->used.bytes += total;
    /* Every connection is open before the first request goes, so that the requests arrive
     * together rather than one per handshake. */
    static const gh_probe_opts plain;
    for (size_t i = 0; i < n; i++) {
        xs[i] = (gh_probe_exchange){.sent = gh_probe_escape(p, bytes[i], lens[i])};
        if (gh_probe_conn_open(p, t, &plain, deadline, &cs[i], &xs[i]) != 0)
            cs[i] = (conn){.fd = -1, .stop_fd = -1};
    }
    for (size_t i = 0; i < n; i++)
        if (cs[i].fd >= 0 && gh_probe_conn_write(&cs[i], bytes[i], lens[i], deadline) != 0)
            xs[i].closed = true;
    static const gh_probe_opts one = {.responses = 1};
    for (size_t i = 0; i < n; i++) {
        if (cs[i].fd < 0)
            continue;
        gh_probe_buf in = {.data = malloc(READ_CAP), .cap = READ_CAP};
        if (in.data && !xs[i].closed)
            read_answers(p, &cs[i], &xs[i], &one, &in, deadline, true);
        if (in.data)
            gh_probe_parse_answers(p, &xs[i], in.data, in.len, xs[i].closed, false, true);
        gh_probe_count_exchange(p, &xs[i]);
        free(in.data);
        gh_probe_conn_close(&cs[i]);
    }
    return 0;
}

