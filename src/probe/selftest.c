/* Self-test (probe/probe.h): the configured gateway, started by the probe on loopback with
 * everything outside it replaced by the probe. The probe binds the listening sockets itself and
 * hands them over as a binary upgrade does (server/inherit.h): the gateway adopts them and says
 * on a pipe that it is ready, or why it failed, so no port is ever guessed or raced for. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe/selftest_parts.h"
#include "server/inherit.h"

#define READY_MS 15000
#define STOP_MS 5000
#define STDERR_TAIL 2000

extern char **environ;

struct gh_probe_selftest {
    char dir[PATH_MAX]; /* "" until made */
    pid_t pid;          /* the gateway, 0 when none */
    int *fds;           /* the probe's copies of the sockets handed over, -1 once closed */
    size_t nfds;
    int *ports;         /* per listener */
    int admin_port;
    const char *stderr_file;
    const char *config_file; /* the rewritten configuration */
    gh_probe_stage stage;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int make_dir(struct gh_probe_selftest *s, char *err, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof(s->dir), "%s/gatehouse-probe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        snprintf(err, cap, "cannot make a temporary directory in %s: %s",
                 tmp && *tmp ? tmp : "/tmp", strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel: its descriptor, *port. */
static int bind_loopback(bool shared, int *port, char *err, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 511) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        snprintf(err, cap, "cannot listen on 127.0.0.1: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* One socket per listener (shared, as the workers' are) and one for the admin (not shared). */
static int bind_all(gh_probe *p, struct gh_probe_selftest *s, char *err, size_t cap)
{
    const gh_config *c = p->conf;
    s->fds = gh_arena_alloc(&p->arena, (c->nlisteners + 1) * sizeof(int));
    s->ports = gh_arena_zalloc(&p->arena, (c->nlisteners + 1) * sizeof(int));
    if (!s->fds || !s->ports)
        return snprintf(err, cap, "out of memory"), -1;
    for (size_t i = 0; i <= c->nlisteners; i++) {
        bool admin = i == c->nlisteners;
        if (admin && !c->has_admin)
            break;
        int fd = bind_loopback(!admin, admin ? &s->admin_port : &s->ports[i], err, cap);
        if (fd < 0)
            return -1;
        s->fds[s->nfds++] = fd;
    }
    s->stage.listener_ports = s->ports;
    s->stage.admin_port = s->admin_port;
    return 0;
}

static void close_sockets(struct gh_probe_selftest *s)
{
    for (size_t i = 0; s->fds && i < s->nfds; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    s->nfds = 0;
}

/* "GATEHOUSE_INHERITED_FDS=127.0.0.1:P=FD,..." in the arena. */
static const char *inherited_var(gh_probe *p, const struct gh_probe_selftest *s)
{
    size_t cap = 64 + s->nfds * (GH_ADDRESS_TEXT_MAX + 16);
    char *out = gh_arena_alloc(&p->arena, cap);
    if (!out)
        return NULL;
    size_t at = (size_t)snprintf(out, cap, "%s=", GH_INHERITED_FDS_ENV);
    for (size_t i = 0; i < s->nfds; i++) {
        int port = i < p->conf->nlisteners ? s->ports[i] : s->admin_port;
        at += (size_t)snprintf(out + at, cap - at, "%s127.0.0.1:%d=%d", i ? "," : "", port, s->fds[i]);
    }
    return out;
}

/* The environment of the gateway: the probe's, without hand-over variables of its own, and the
 * two (server/inherit.c, as a binary upgrade starts its successor). In the arena. */
static char **gateway_env(gh_probe *p, const struct gh_probe_selftest *s, int ready_fd)
{
    char *fds = (char *)inherited_var(p, s);
    char *ready = gh_arena_alloc(&p->arena, 64);
    char **env = fds && ready ? gh_inherit_environ(fds, ready_fd, ready, 64) : NULL;
    if (!env)
        return NULL;
    size_t n = 0;
    while (env[n])
        n++;
    char **kept = gh_arena_zalloc(&p->arena, (n + 1) * sizeof(char *));
    if (kept)
        memcpy(kept, env, n * sizeof(char *));
    free(env);
    return kept;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(const struct gh_probe_selftest *s, int ready_fd, int out_fd, int err_fd,
                  char *const argv[], char *const env[])
{
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* a probe that dies takes its gateway along */
    sigset_t none; /* the probe blocks its stop signals (probe.c); the gateway must get them */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(126);
    for (size_t i = 0; i < s->nfds; i++)
        fcntl(s->fds[i], F_SETFD, 0);
    fcntl(ready_fd, F_SETFD, 0);
    execve(argv[0], argv, env);
    _exit(127);
}

static int spawn(gh_probe *p, struct gh_probe_selftest *s, const char *config, int pipe_fds[2],
                 char *err, size_t cap)
{
    const char *exe = p->gateway_exe ? p->gateway_exe : "/proc/self/exe";
    char *argv[] = {(char *)exe, "run", "-c", (char *)config, NULL};
    char **env = gateway_env(p, s, pipe_fds[1]);
    const char *out_file = gh_arena_printf(&p->arena, "%s/gateway.stdout", s->dir);
    s->stderr_file = gh_arena_printf(&p->arena, "%s/gateway.stderr", s->dir);
    if (!env || !out_file || !s->stderr_file)
        return snprintf(err, cap, "out of memory"), -1;
    int out_fd = open(out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err_fd = open(s->stderr_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t pid = out_fd >= 0 && err_fd >= 0 ? fork() : -1;
    if (pid == 0)
        child(s, pipe_fds[1], out_fd, err_fd, argv, env);
    int saved = errno;
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    if (pid < 0)
        return snprintf(err, cap, "cannot start %s: %s", exe, strerror(saved)), -1;
    s->pid = pid;
    return 0;
}

/* The last bytes of the gateway's stderr on ours. */
static void show_stderr_tail(const struct gh_probe_selftest *s)
{
    FILE *f = s->stderr_file ? fopen(s->stderr_file, "r") : NULL;
    if (!f)
        return;
    char buf[STDERR_TAIL + 1];
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        fseek(f, size > STDERR_TAIL ? size - STDERR_TAIL : 0, SEEK_SET);
    }
    size_t n = fread(buf, 1, STDERR_TAIL, f);
    fclose(f);
    buf[n] = '\0';
    if (n)
        fprintf(stderr, "gatehouse probe: the gateway's stderr ends with:\n%s%s", buf,
                buf[n - 1] == '\n' ? "" : "\n");
}

/* Reads the gateway's word: 0 on "ready", -1 with why. The pipe closes without a word when it
 * exits before it is ready. */
static int await_ready(struct gh_probe_selftest *s, int fd, char *err, size_t cap)
{
    char said[512];
    size_t len = 0;
    double deadline = now_ms() + READY_MS;
    for (;;) {
        double left = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return snprintf(err, cap, "the gateway was not ready within %d s", READY_MS / 1000), -1;
        ssize_t n = read(fd, said + len, sizeof(said) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        said[len] = '\0';
        if (strchr(said, '\n') || len == sizeof(said) - 1)
            break;
    }
    said[len] = '\0';
    said[strcspn(said, "\n")] = '\0';
    if (strcmp(said, "ready") == 0)
        return 0;
    if (len)
        return snprintf(err, cap, "the gateway did not start: %s",
                        strncmp(said, "failed ", 7) == 0 ? said + 7 : said), -1;
    int status = 0;
    if (waitpid(s->pid, &status, 0) == s->pid) {
        s->pid = 0;
        if (WIFSIGNALED(status))
            return snprintf(err, cap, "the gateway was killed by signal %d before it was ready",
                            WTERMSIG(status)), -1;
        return snprintf(err, cap, "the gateway exited with status %d before it was ready",
                        WEXITSTATUS(status)), -1;
    }
    return snprintf(err, cap, "the gateway closed its ready pipe without a word"), -1;
}

static int fill_targets(gh_probe *p, const struct gh_probe_selftest *s)
{
    const gh_config *c = p->conf;
    p->targets = gh_arena_zalloc(&p->arena, (c->nlisteners + 1) * sizeof(*p->targets));
    if (!p->targets)
        return -1;
    for (size_t i = 0; i <= c->nlisteners; i++) {
        bool admin = i == c->nlisteners;
        if (admin && !c->has_admin)
            break;
        gh_probe_target *t = admin ? gh_arena_zalloc(&p->arena, sizeof(*t)) : &p->targets[i];
        if (!t)
            return -1;
        snprintf(t->host, sizeof(t->host), "127.0.0.1");
        t->port = admin ? s->admin_port : s->ports[i];
        t->tls = !admin && c->listeners[i].tls != NULL;
        t->sni = t->tls ? "localhost" : NULL;
        t->authority = gh_arena_printf(&p->arena, "localhost:%d", t->port);
        t->listener = admin ? &c->admin : &c->listeners[i];
        if (t->tls && c->listeners[i].client_auth) { /* optional or required: the trusted one */
            t->cert_file = p->client_cert;
            t->key_file = p->client_key;
        }
        if (!t->authority)
            return -1;
        if (admin)
            p->admin = t;
    }
    p->ntargets = c->nlisteners;
    return 0;
}

/* Steps 2 to 5 of the start: keys, certificates, sockets, the configuration, the gateway. */
static int prepare_and_run(gh_probe *p, struct gh_probe_selftest *s, char *err, size_t cap)
{
    gh_probe_stage *st = &s->stage;
    st->dir = s->dir;
    st->upstream_port = gh_probe_server_port(p->server, GH_PROBE_UPSTREAM);
    st->idp_port = gh_probe_server_port(p->server, GH_PROBE_IDP);
    p->access_log = st->access_log = gh_arena_printf(&p->arena, "%s/access.log", s->dir);
    const char *config = s->config_file = gh_arena_printf(&p->arena, "%s/gatehouse.yaml", s->dir);
    if (!st->access_log || !config)
        return snprintf(err, cap, "out of memory"), -1;
    if (gh_probe_keys_make(p, st, err, cap) != 0 || gh_probe_pki_make(p, st, err, cap) != 0 ||
        bind_all(p, s, err, cap) != 0 || gh_probe_rewrite(p->conf, st, config, err, cap) != 0)
        return -1;
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return snprintf(err, cap, "cannot make the ready pipe: %s", strerror(errno)), -1;
    int rc = spawn(p, s, config, pipe_fds, err, cap);
    close(pipe_fds[1]); /* the gateway's now: its end closing is its exit */
    close_sockets(s);   /* the gateway holds them; the probe's copies would keep them open */
    if (rc == 0)
        rc = await_ready(s, pipe_fds[0], err, cap);
    close(pipe_fds[0]);
    return rc;
}

int gh_probe_selftest_start(gh_probe *p)
{
    char err[1024] = "";
    struct gh_probe_selftest *s = calloc(1, sizeof(*s));
    if (!p->conf) {
        free(s);
        fprintf(stderr, "gatehouse probe: self-test needs a configuration (-c)\n");
        return -1;
    }
    if (!s) {
        fprintf(stderr, "gatehouse probe: out of memory\n");
        return -1;
    }
    p->selftest_run = s;
    int rc = make_dir(s, err, sizeof(err));
    if (rc == 0 && !(p->server = gh_probe_server_start(p))) {
        snprintf(err, sizeof(err), "cannot start the probe's upstream and identity servers");
        rc = -1;
    }
    if (rc == 0)
        rc = prepare_and_run(p, s, err, sizeof(err));
    if (rc == 0)
        rc = fill_targets(p, s) == 0 ? 0 : (snprintf(err, sizeof(err), "out of memory"), -1);
    if (rc != 0) {
        fprintf(stderr, "gatehouse probe: %s\n", err);
        show_stderr_tail(s);
        gh_probe_selftest_stop(p);
    }
    return rc;
}

const char *gh_probe_selftest_file(const gh_probe *p)
{
    return p->selftest_run && p->selftest_run->pid > 0 ? p->selftest_run->config_file : NULL;
}

static void stop_gateway(struct gh_probe_selftest *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    double deadline = now_ms() + STOP_MS;
    int status;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        usleep(20000);
    }
    s->pid = 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void gh_probe_selftest_stop(gh_probe *p)
{
    struct gh_probe_selftest *s = p->selftest_run;
    if (!s)
        return;
    stop_gateway(s);
    close_sockets(s);
    if (p->server)
        gh_probe_server_stop(p->server);
    p->server = NULL;
    gh_probe_keys_free(p);
    if (s->dir[0])
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
    p->selftest_run = NULL;
}
