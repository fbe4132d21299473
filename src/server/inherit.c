/* Sockets handed over by the old process of a graceful binary upgrade (inherit.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "observe/events.h"
#include "server/inherit.h"

typedef struct {
    int fd;
    gh_sockaddr addr;
    bool shared; /* SO_REUSEPORT: a worker's; otherwise the admin's */
    bool taken;
} inherited_socket;

struct gh_inherited {
    inherited_socket sockets[GH_INHERIT_MAX];
    size_t n;
    int ready_fd; /* -1 once reported */
};

int gh_socket_address(int fd, char *text, gh_sockaddr *sa)
{
    sa->len = sizeof(sa->ss);
    if (getsockname(fd, (struct sockaddr *)&sa->ss, &sa->len) != 0)
        return -errno;
    char ip[INET6_ADDRSTRLEN];
    if (sa->ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&sa->ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        snprintf(text, GH_ADDRESS_TEXT_MAX, "%s:%u", ip, ntohs(v4->sin_port));
    } else if (sa->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&sa->ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        snprintf(text, GH_ADDRESS_TEXT_MAX, "[%s]:%u", ip, ntohs(v6->sin6_port));
    } else {
        return -EAFNOSUPPORT;
    }
    return 0;
}

bool gh_socket_listens(int fd)
{
    int listening = 0, type = 0;
    socklen_t len = sizeof(listening), tlen = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening &&
           getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM;
}

bool gh_same_address(const gh_sockaddr *a, const gh_sockaddr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

/* name is the environment's text, of any length and bytes: it is cut, and the fields have room
 * for it escaped at its worst (6 bytes a byte), so the event line stays whole JSON. */
static void warn_fd(const char *what, int fd, const char *name)
{
    enum { NAME_SHOWN = GH_ADDRESS_TEXT_MAX };
    char fields[48 + 6 * NAME_SHOWN];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    gh_sbuf_addf(&b, ",\"fd\":%d,\"address\":", fd);
    size_t n = strlen(name);
    gh_sbuf_json_str(&b, name, n < NAME_SHOWN ? n : NAME_SHOWN);
    gh_event_built("warn", "upgrade_inherit", what, &b);
}

/* A descriptor number from the environment: a number above stderr, or -1. */
static int parse_fd(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v <= 2 || v > INT_MAX ? -1 : (int)v;
}

static bool adopted(const gh_inherited *in, int fd)
{
    for (size_t i = 0; i < in->n; i++)
        if (in->sockets[i].fd == fd)
            return true;
    return false;
}

/* One "ADDRESS=FD" item: kept when the kernel says the descriptor listens where it is named. */
static void adopt_item(gh_inherited *in, char *item)
{
    char *eq = strrchr(item, '=');
    int fd = eq ? parse_fd(eq + 1) : -1;
    if (fd < 0) {
        warn_fd("a malformed item of " GH_INHERITED_FDS_ENV " is ignored", -1, item);
        return;
    }
    *eq = '\0';
    if (fd == in->ready_fd || adopted(in, fd)) {
        /* Two owners of one descriptor would close it twice, the second time perhaps someone
         * else's that took its number: the first one named keeps it. */
        warn_fd("an inherited descriptor named twice: the second name is ignored", fd, item);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || !gh_socket_listens(fd)) {
        /* Not ours to close: whatever it is, the environment was wrong about it. */
        warn_fd("an inherited descriptor is not a listening socket: ignored", fd, item);
        return;
    }
    inherited_socket *s = &in->sockets[in->n];
    char bound[GH_ADDRESS_TEXT_MAX];
    if (in->n == GH_INHERIT_MAX || gh_socket_address(fd, bound, &s->addr) != 0 ||
        strcmp(bound, item) != 0) {
        warn_fd("an inherited socket is not bound where it is named, or one too many: closed", fd,
                item);
        close(fd);
        return;
    }
    int reuse = 0;
    socklen_t len = sizeof(reuse);
    getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse, &len);
    /* Back to close-on-exec: only a later upgrade hands it on, by name. */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    s->fd = fd;
    s->shared = reuse != 0;
    s->taken = false;
    in->n++;
}

gh_inherited *gh_inherited_from_env(void)
{
    const char *list = getenv(GH_INHERITED_FDS_ENV);
    const char *ready = getenv(GH_UPGRADE_READY_FD_ENV);
    if (!list && !ready)
        return NULL;
    gh_inherited *in = calloc(1, sizeof(*in));
    char *copy = strdup(list ? list : "");
    if (!in || !copy) {
        free(in);
        free(copy);
        return NULL;
    }
    in->ready_fd = ready ? parse_fd(ready) : -1;
    if (in->ready_fd >= 0)
        fcntl(in->ready_fd, F_SETFD, FD_CLOEXEC);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
        adopt_item(in, item);
    free(copy);
    unsetenv(GH_INHERITED_FDS_ENV);
    unsetenv(GH_UPGRADE_READY_FD_ENV);
    return in;
}

bool gh_inherited_has(const gh_inherited *in, const gh_sockaddr *addr)
{
    for (size_t i = 0; in && i < in->n; i++)
        if (gh_same_address(&in->sockets[i].addr, addr))
            return true;
    return false;
}

size_t gh_inherited_take(gh_inherited *in, const gh_sockaddr *addr, bool shared, int worker,
                         int nworkers, int *fds, size_t cap)
{
    size_t got = 0, nth = 0;
    for (size_t i = 0; in && i < in->n && got < cap; i++) {
        inherited_socket *s = &in->sockets[i];
        if (s->shared != shared || !gh_same_address(&s->addr, addr))
            continue;
        if (nth++ % (size_t)nworkers != (size_t)worker || s->taken)
            continue;
        s->taken = true;
        fds[got++] = s->fd;
    }
    return got;
}

void gh_inherited_close_unused(gh_inherited *in)
{
    for (size_t i = 0; in && i < in->n; i++) {
        if (!in->sockets[i].taken) {
            close(in->sockets[i].fd);
            in->sockets[i].taken = true;
        }
    }
}

void gh_inherited_report(gh_inherited *in, const char *why)
{
    if (!in || in->ready_fd < 0)
        return;
    char line[512];
    int n = why ? snprintf(line, sizeof(line), "failed %s\n", why)
                : snprintf(line, sizeof(line), "ready\n");
    if (n >= (int)sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* A pipe takes up to PIPE_BUF bytes at once: one write says it all, or the old process
     * sees the pipe close without "ready" (a failure) if it went away. */
    ssize_t w;
    do
        w = write(in->ready_fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    close(in->ready_fd);
    in->ready_fd = -1;
}

void gh_inherited_free(gh_inherited *in)
{
    if (!in)
        return;
    gh_inherited_close_unused(in);
    if (in->ready_fd >= 0)
        close(in->ready_fd);
    free(in);
}

char **gh_inherit_environ(char *fds_var, int ready_fd, char *ready_var, size_t cap)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof(*env));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], GH_INHERITED_FDS_ENV "=", sizeof(GH_INHERITED_FDS_ENV)) != 0 &&
            strncmp(environ[i], GH_UPGRADE_READY_FD_ENV "=", sizeof(GH_UPGRADE_READY_FD_ENV)) != 0)
            env[k++] = environ[i];
    snprintf(ready_var, cap, "%s=%d", GH_UPGRADE_READY_FD_ENV, ready_fd);
    env[k++] = fds_var;
    env[k++] = ready_var;
    return env;
}
