/* The probe's servers on loopback: a listener per role, one thread polling them and their
 * connections (plain non-blocking sockets), a pipe that stops it. What the thread records (the
 * upstream's requests, fetch counts) and the introspection tokens the caller adds are shared
 * under s->mu; everything else belongs to the thread. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe/server_int.h"

void gh_psrv_upreq_clear(gh_probe_upreq *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void gh_probe_upreqs_free(gh_probe_upreq *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        gh_psrv_upreq_clear(&v[i]);
    free(v);
}

/* A listener on 127.0.0.1 on a port the kernel picks; its port in *port. -1 on failure. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void accept_all(gh_probe_server *s, gh_probe_role role)
{
    for (;;) {
        int fd = accept4(s->listen_fd[role], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an error the next poll reports again */
        gh_psrv_conn *c = s->nconns < GH_PSRV_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (!c) { /* over the cap: the peer sees its connection closed */
            close(fd);
            continue;
        }
        c->fd = fd;
        c->role = role;
        c->port = s->port[role];
        s->conns[s->nconns++] = c;
    }
}

/* Writes what is pending; a peer gone marks the connection dead. */
static void flush(gh_psrv_conn *c)
{
    while (!c->dead && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                c->dead = true;
            return;
        }
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
}

static void read_some(gh_probe_server *s, gh_psrv_conn *c)
{
    if (c->in_len == c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
        if (cap > GH_PSRV_IN_MAX)
            cap = GH_PSRV_IN_MAX;
        char *grown = cap > c->in_cap ? realloc(c->in, cap) : NULL;
        if (!grown) { /* full: the head limit closes such a connection before this */
            c->dead = true;
            return;
        }
        c->in = grown;
        c->in_cap = cap;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        gh_psrv_conn_input(s, c);
    } else if (n == 0) { /* the peer is done: answer what was answered, then close */
        gh_psrv_conn_end(s, c);
        c->state = GH_PSRV_CLOSING;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c->dead = true;
    }
}

static short events_of(const gh_psrv_conn *c)
{
    size_t pending = c->out_len - c->out_off;
    short ev = pending > 0 ? POLLOUT : 0;
    if (c->state != GH_PSRV_CLOSING && pending < GH_PSRV_OUT_PAUSE)
        ev |= POLLIN;
    return ev;
}

static void serve_conn(gh_probe_server *s, gh_psrv_conn *c, short revents)
{
    if (revents & (POLLIN | POLLHUP | POLLERR))
        read_some(s, c);
    if (!c->dead && c->out_len > c->out_off)
        flush(c);
}

static void drop_conn(gh_probe_server *s, size_t i)
{
    gh_psrv_conn_end(s, s->conns[i]);
    gh_psrv_conn_free(s->conns[i]);
    s->conns[i] = s->conns[--s->nconns];
}

static void *run(void *arg)
{
    gh_probe_server *s = arg;
    struct pollfd fds[1 + GH_PSRV_ROLES + GH_PSRV_MAX_CONNS];
    gh_psrv_conn *polled[GH_PSRV_MAX_CONNS];
    for (;;) {
        size_t n = 0;
        fds[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        for (int r = 0; r < GH_PSRV_ROLES; r++)
            fds[n++] = (struct pollfd){.fd = s->listen_fd[r], .events = POLLIN};
        for (size_t i = 0; i < s->nconns; i++) {
            polled[i] = s->conns[i];
            fds[n++] = (struct pollfd){.fd = s->conns[i]->fd, .events = events_of(s->conns[i])};
        }
        size_t npolled = s->nconns;
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        for (size_t i = 0; i < npolled; i++)
            if (fds[1 + GH_PSRV_ROLES + i].revents)
                serve_conn(s, polled[i], fds[1 + GH_PSRV_ROLES + i].revents);
        for (size_t i = s->nconns; i-- > 0;) {
            gh_psrv_conn *c = s->conns[i];
            if (c->dead || (c->state == GH_PSRV_CLOSING && c->out_off == c->out_len))
                drop_conn(s, i);
        }
        for (int r = 0; r < GH_PSRV_ROLES; r++)
            if (fds[1 + r].revents & POLLIN)
                accept_all(s, (gh_probe_role)r);
    }
    while (s->nconns > 0)
        drop_conn(s, s->nconns - 1);
    return NULL;
}

static void server_free(gh_probe_server *s)
{
    for (int r = 0; r < GH_PSRV_ROLES; r++)
        if (s->listen_fd[r] >= 0)
            close(s->listen_fd[r]);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    for (size_t i = 0; i < s->count; i++)
        gh_psrv_upreq_clear(&s->records[(s->first + i) % GH_PSRV_RECORDS]);
    for (size_t i = 0; i < s->njwks; i++)
        free(s->jwks[i].name);
    free(s->jwks);
    for (size_t i = 0; i < s->nopaque; i++) {
        free(s->opaque[i].token);
        json_decref(s->opaque[i].claims);
    }
    free(s->opaque);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

gh_probe_server *gh_probe_server_start(gh_probe *p)
{
    gh_probe_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->p = p;
    s->wake[0] = s->wake[1] = -1;
    for (int r = 0; r < GH_PSRV_ROLES; r++)
        s->listen_fd[r] = -1;
    pthread_mutex_init(&s->mu, NULL);
    bool ok = pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) == 0;
    for (int r = 0; ok && r < GH_PSRV_ROLES; r++)
        ok = (s->listen_fd[r] = listen_loopback(&s->port[r])) >= 0;
    if (!ok || pthread_create(&s->thread, NULL, run, s) != 0) {
        server_free(s);
        return NULL;
    }
    s->started = true;
    return s;
}

void gh_probe_server_stop(gh_probe_server *s)
{
    if (!s)
        return;
    if (s->started) {
        ssize_t w;
        do
            w = write(s->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(s->thread, NULL);
    }
    server_free(s);
}

int gh_probe_server_port(const gh_probe_server *s, gh_probe_role role)
{
    if (!s || (int)role < 0 || (int)role >= GH_PSRV_ROLES)
        return 0;
    return s->port[role];
}

size_t gh_probe_upstream_take(gh_probe_server *s, gh_probe_upreq **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    gh_probe_upreq *v = n ? malloc(n * sizeof(*v)) : NULL;
    if (v) {
        for (size_t i = 0; i < n; i++)
            v[i] = s->records[(s->first + i) % GH_PSRV_RECORDS];
        s->first = s->count = 0;
    } else {
        n = 0; /* out of memory: the records stay for a later take */
    }
    pthread_mutex_unlock(&s->mu);
    *out = v;
    return n;
}

size_t gh_probe_bait_fetches(gh_probe_server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->bait;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t gh_probe_jwks_fetches(gh_probe_server *s, const char *provider)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->njwks; i++)
        if (strcmp(s->jwks[i].name, provider) == 0)
            n = s->jwks[i].n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void gh_probe_opaque_add(gh_probe_server *s, const char *token, json_t *claims, bool active)
{
    /* The server keeps its own copy: the caller's document may change or go. */
    gh_psrv_opaque o = {.token = strdup(token), .claims = claims ? json_deep_copy(claims) : NULL,
                        .active = active};
    if (!o.token || (claims && !o.claims))
        goto fail;
    pthread_mutex_lock(&s->mu);
    gh_psrv_opaque *grown = s->nopaque < GH_PSRV_OPAQUE_MAX
                                ? realloc(s->opaque, (s->nopaque + 1) * sizeof(*grown))
                                : NULL;
    if (grown) {
        s->opaque = grown;
        s->opaque[s->nopaque++] = o;
    }
    pthread_mutex_unlock(&s->mu);
    if (grown)
        return;
fail: /* not kept: the token is answered inactive */
    free(o.token);
    json_decref(o.claims);
}
