/* Graceful binary upgrade, the old process's side (upgrade.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "observe/events.h"
#include "server/inherit.h"
#include "server/upgrade.h"

extern char **environ;

#define GH_CMDLINE_MAX 65536 /* the arguments, as /proc/self/cmdline gives them */
#define GH_READY_LINE_MAX 512

typedef enum {
    UP_IDLE,     /* no upgrade: SIGUSR2 starts one */
    UP_STARTING, /* the new process runs and has not said it is ready */
    UP_FAILED,   /* it failed: waiting for it to exit and for the handles to close */
    UP_DONE,     /* it took over (or the process stops): no other upgrade */
} upgrade_state;

struct gh_upgrade {
    uv_loop_t *loop;
    void (*on_ready)(void *ctx, int pid);
    void *ctx;
    char exe[PATH_MAX]; /* "" when it could not be known at start */
    char *args_text;    /* /proc/self/cmdline: the arguments, NUL after each */
    char **argv;
    upgrade_state state;
    uv_process_t proc;
    uv_pipe_t ready_pipe;
    uv_timer_t timer;
    bool proc_open, pipe_open, timer_open, exited;
    int pid;
    char said[GH_READY_LINE_MAX]; /* what the new process wrote so far */
    size_t said_len;
};

/* ---- events ---- */

static void upgrade_event(const char *level, const char *event, const char *message, int pid,
                          const char *key, const char *value)
{
    char fields[1024];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    if (pid > 0)
        gh_sbuf_addf(&b, ",\"pid\":%d", pid);
    if (key) {
        gh_sbuf_addf(&b, ",\"%s\":", key);
        gh_sbuf_json_str(&b, value, strlen(value));
    }
    gh_event_built(level, event, message, &b);
}

/* ---- the binary and its arguments, known at start ---- */

static char **split_args(char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\0';
    char **argv = calloc(n + 1, sizeof(*argv));
    if (!argv)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len && k < n; i += strlen(text + i) + 1)
        argv[k++] = text + i;
    return argv;
}

static void remember_command(gh_upgrade *u)
{
    if (!realpath("/proc/self/exe", u->exe))
        u->exe[0] = '\0'; /* its file is gone already: an upgrade cannot know what to run */
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    char *text = malloc(GH_CMDLINE_MAX + 1);
    ssize_t len = 0, r = 0;
    while (fd >= 0 && text && len < GH_CMDLINE_MAX &&
           ((r = read(fd, text + len, (size_t)(GH_CMDLINE_MAX - len))) > 0 ||
            (r < 0 && errno == EINTR)))
        len += r > 0 ? r : 0;
    if (fd >= 0)
        close(fd);
    if (!text || len == 0 || len == GH_CMDLINE_MAX || text[len - 1] != '\0') {
        free(text);
        return; /* no arguments known: an upgrade says so */
    }
    u->args_text = text;
    u->argv = split_args(text, (size_t)len);
}

gh_upgrade *gh_upgrade_init(uv_loop_t *loop, void (*on_ready)(void *ctx, int pid), void *ctx)
{
    gh_upgrade *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->loop = loop;
    u->on_ready = on_ready;
    u->ctx = ctx;
    remember_command(u);
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    u->timer_open = true;
    return u;
}

/* ---- what is handed over ---- */

typedef struct {
    uv_stdio_container_t stdio[3 + GH_INHERIT_MAX + 1];
    int count;     /* stdio entries: 0-2, then the sockets, then the pipe */
    char *names;   /* GATEHOUSE_INHERITED_FDS=... */
    size_t len, cap;
} handover;

static bool address_of(const gh_config *cfg, const gh_sockaddr *sa)
{
    for (size_t i = 0; i < cfg->nlisteners; i++)
        if (gh_same_address(&cfg->listeners[i].addr, sa))
            return true;
    return cfg->has_admin && gh_same_address(&cfg->admin.addr, sa);
}

static int add_socket(handover *h, int fd, const char *text)
{
    if (h->count == 3 + GH_INHERIT_MAX)
        return -EMFILE;
    size_t need = h->len + GH_ADDRESS_TEXT_MAX + 16;
    if (need > h->cap) {
        char *grown = realloc(h->names, need * 2);
        if (!grown)
            return -ENOMEM;
        h->names = grown;
        h->cap = need * 2;
    }
    int child_fd = h->count; /* the new process finds it there */
    h->len += (size_t)sprintf(h->names + h->len, "%s%s=%d", h->len > sizeof(GH_INHERITED_FDS_ENV)
                              ? "," : "", text, child_fd);
    h->stdio[h->count].flags = UV_INHERIT_FD;
    h->stdio[h->count++].data.fd = fd;
    return 0;
}

/* Every listening TCP socket of this process bound to an address of cfg: the workers' of every
 * listener and the admin's. The kernel's table of descriptors is asked rather than the workers'
 * lists, which are theirs to change. */
static int collect_sockets(handover *h, const gh_config *cfg)
{
    for (int i = 0; i < 3; i++) { /* stdin, stdout, stderr as they are (none if closed) */
        h->stdio[i].flags = fcntl(i, F_GETFD) >= 0 ? UV_INHERIT_FD : UV_IGNORE;
        h->stdio[i].data.fd = i;
    }
    h->count = 3;
    h->cap = 256;
    if (!(h->names = malloc(h->cap)))
        return -ENOMEM;
    h->len = (size_t)sprintf(h->names, "%s=", GH_INHERITED_FDS_ENV);
    int r = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        char text[GH_ADDRESS_TEXT_MAX];
        gh_sockaddr sa;
        if (*end || end == e->d_name || fd <= 2 || fd == dirfd(d) || fstat((int)fd, &st) != 0 ||
            !S_ISSOCK(st.st_mode) || !gh_socket_listens((int)fd) ||
            gh_socket_address((int)fd, text, &sa) != 0 || !address_of(cfg, &sa))
            continue;
        r = add_socket(h, (int)fd, text);
    }
    closedir(d);
    return r;
}

/* ---- the new process's word ---- */

static void on_closed(uv_handle_t *handle)
{
    gh_upgrade *u = handle->data;
    if (handle == (uv_handle_t *)&u->proc)
        u->proc_open = false;
    else if (handle == (uv_handle_t *)&u->ready_pipe)
        u->pipe_open = false;
    else
        u->timer_open = false;
    if (u->state == UP_FAILED && !u->proc_open && !u->pipe_open)
        u->state = UP_IDLE; /* the next SIGUSR2 may try again */
}

static void close_pipe(gh_upgrade *u)
{
    if (u->pipe_open && !uv_is_closing((uv_handle_t *)&u->ready_pipe))
        uv_close((uv_handle_t *)&u->ready_pipe, on_closed);
}

static void close_proc(gh_upgrade *u)
{
    if (u->proc_open && !uv_is_closing((uv_handle_t *)&u->proc))
        uv_close((uv_handle_t *)&u->proc, on_closed);
}

static void fail(gh_upgrade *u, const char *why)
{
    if (u->state != UP_STARTING)
        return;
    u->state = UP_FAILED;
    char message[GH_READY_LINE_MAX + 96];
    snprintf(message, sizeof(message), "upgrade failed: %s; this process keeps serving", why);
    upgrade_event("error", "upgrade_failed", message, u->pid, "reason", why);
    close_pipe(u);
    if (u->exited)
        close_proc(u);
    /* Otherwise it exits on its own after a failure it reported; the timer still guards. */
}

static void succeed(gh_upgrade *u)
{
    u->state = UP_DONE;
    upgrade_event("info", "upgrade_ready", "the new process is ready: this one stops accepting "
                  "and drains", u->pid, NULL, NULL);
    uv_timer_stop(&u->timer);
    close_pipe(u);
    int pid = u->pid;
    close_proc(u); /* the new process runs on: it is no longer this one's to wait for */
    u->on_ready(u->ctx, pid);
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int signum)
{
    gh_upgrade *u = proc->data;
    u->exited = true;
    char why[128];
    if (signum)
        snprintf(why, sizeof(why), "the new process was killed by signal %d before it was ready",
                 signum);
    else
        snprintf(why, sizeof(why), "the new process exited with status %lld before it was ready "
                 "(its errors are logged above)", (long long)status);
    fail(u, why);
    uv_timer_stop(&u->timer);
    close_proc(u);
}

static void on_timeout(uv_timer_t *t)
{
    gh_upgrade *u = t->data;
    char why[96];
    snprintf(why, sizeof(why), "the new process was not ready within %d s: killed",
             GH_UPGRADE_READY_MS / 1000);
    fail(u, why);
    /* A process that said nothing, or failed and did not exit, would keep a share of the
     * sockets: it must go. */
    if (!u->exited)
        uv_process_kill(&u->proc, SIGKILL);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    gh_upgrade *u = h->data;
    *buf = uv_buf_init(u->said + u->said_len, (unsigned)(sizeof(u->said) - 1 - u->said_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    gh_upgrade *u = s->data;
    if (nread < 0) { /* closed without a word: its exit (or the timer) will say why */
        close_pipe(u);
        return;
    }
    u->said_len += (size_t)nread;
    u->said[u->said_len] = '\0';
    char *nl = strchr(u->said, '\n');
    if (!nl && u->said_len < sizeof(u->said) - 1)
        return;
    if (nl)
        *nl = '\0';
    if (strcmp(u->said, "ready") == 0)
        succeed(u);
    else
        fail(u, strncmp(u->said, "failed ", 7) == 0 ? u->said + 7 : u->said);
}

/* ---- SIGUSR2 ---- */

static int spawn(gh_upgrade *u, handover *h, int pipe_fds[2])
{
    char ready_var[64];
    h->stdio[h->count].flags = UV_INHERIT_FD;
    h->stdio[h->count].data.fd = pipe_fds[1];
    char **env = gh_inherit_environ(h->names, h->count, ready_var, sizeof(ready_var));
    if (!env)
        return UV_ENOMEM;
    uv_process_options_t opt = {0};
    opt.exit_cb = on_exit_cb;
    opt.file = u->exe;
    opt.args = u->argv;
    opt.env = env;
    opt.stdio_count = h->count + 1;
    opt.stdio = h->stdio;
    u->proc.data = u;
    u->exited = false;
    int r = uv_spawn(u->loop, &u->proc, &opt);
    free(env);
    /* uv_spawn initializes the handle even when it fails: it must be closed either way. */
    u->proc_open = true;
    return r;
}

static int begin(gh_upgrade *u, const gh_config *cfg, char *why, size_t cap)
{
    if (!u->exe[0] || !u->argv) {
        snprintf(why, cap, "the binary's path or arguments could not be known at start");
        return -1;
    }
    handover *h = calloc(1, sizeof(*h));
    int pipe_fds[2] = {-1, -1};
    int r = h ? collect_sockets(h, cfg) : -ENOMEM;
    if (r != 0) {
        snprintf(why, cap, "cannot gather the listening sockets: %s", strerror(-r));
    } else if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        snprintf(why, cap, "cannot make the ready pipe: %s", strerror(errno));
        r = -1;
    } else if ((r = spawn(u, h, pipe_fds)) != 0) {
        snprintf(why, cap, "cannot start %s: %s", u->exe, uv_strerror(r));
        close_proc(u);
    }
    int sockets = h ? h->count - 3 : 0;
    if (h)
        free(h->names);
    free(h);
    if (pipe_fds[1] >= 0)
        close(pipe_fds[1]); /* the new process's end: this one must see EOF when it goes */
    if (r != 0) {
        if (pipe_fds[0] >= 0)
            close(pipe_fds[0]);
        return -1;
    }
    u->pid = u->proc.pid;
    u->said_len = 0;
    uv_pipe_init(u->loop, &u->ready_pipe, 0);
    u->ready_pipe.data = u;
    u->pipe_open = true;
    uv_pipe_open(&u->ready_pipe, pipe_fds[0]);
    uv_read_start((uv_stream_t *)&u->ready_pipe, on_alloc, on_read);
    uv_timer_start(&u->timer, on_timeout, GH_UPGRADE_READY_MS, 0);
    char fields[PATH_MAX + 128];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    gh_sbuf_addf(&b, ",\"pid\":%d,\"sockets\":%d,\"binary\":", u->pid, sockets);
    gh_sbuf_json_str(&b, u->exe, strlen(u->exe));
    gh_event_built("info", "upgrade_started",
                   "binary upgrade: a new process starts on the sockets", &b);
    return 0;
}

void gh_upgrade_begin(gh_upgrade *u, const gh_config *cfg)
{
    if (u->state != UP_IDLE) {
        upgrade_event("warn", "upgrade_refused",
                      u->state == UP_DONE ? "an upgrade took over already: SIGUSR2 ignored"
                                          : "an upgrade is under way: SIGUSR2 ignored",
                      u->pid, NULL, NULL);
        return;
    }
    char why[PATH_MAX + 128];
    u->state = UP_STARTING;
    if (begin(u, cfg, why, sizeof(why)) != 0) {
        u->pid = 0;
        u->exited = true;
        fail(u, why);
        if (!u->proc_open)
            u->state = UP_IDLE;
    }
}

bool gh_upgrade_busy(const gh_upgrade *u)
{
    return u->state == UP_STARTING || u->state == UP_FAILED;
}

void gh_upgrade_stop(gh_upgrade *u)
{
    if (!u)
        return;
    if (u->state == UP_STARTING)
        upgrade_event("warn", "upgrade_abandoned", "this process stops while a new one starts: "
                      "the new one is left to finish its start", u->pid, NULL, NULL);
    u->state = UP_DONE;
    close_pipe(u);
    close_proc(u);
    if (u->timer_open && !uv_is_closing((uv_handle_t *)&u->timer))
        uv_close((uv_handle_t *)&u->timer, on_closed);
}

void gh_upgrade_free(gh_upgrade *u)
{
    if (!u)
        return;
    free(u->argv);
    free(u->args_text);
    free(u);
}
