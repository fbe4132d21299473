#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/json.h"
#include "identity/jwks_fetch.h"
#include "server/trace_export.h"
#include "server/admin.h"
#include "server/cert_events.h"
#include "server/bans_control.h"
#include "server/control.h"
#include "server/dns_watch.h"
#include "observe/events.h"
#include "server/file_watch.h"
#include "server/notify.h"
#include "server/pid_file.h"
#include "server/port_owner.h"
#include "server/privileges.h"
#include "server/upgrade.h"
#include "server/worker.h"
#include "stages/registry.h"
#include "upstream/health.h"
#include "upstream/proxy.h"

typedef struct gh_control {
    gh_runtime rt;
    uv_loop_t loop;
    uv_signal_t sighup, sigterm, sigint, sigusr1, sigusr2;
    uv_timer_t drained; /* while draining: polls whether the workers have finished */
    gh_admin admin;
    gh_upgrade *upgrade;      /* SIGUSR2: a new process of the binary takes the sockets over */
    char start_error[512];    /* why start failed, for the old process of an upgrade */
    gh_jwks_fetcher *fetcher; /* remote key sets */
    gh_health_checker *health; /* active checks of upstream endpoints, once per process */
    gh_file_watch *watch;     /* TLS files: a change reloads */
    gh_dns_watch *dns;        /* endpoints' names: new addresses reload */
    gh_bans_control *bans;    /* bans' expiry, events and sharing */
    gh_notify notify;         /* systemd's READY, RELOADING, STOPPING, WATCHDOG */
    gh_pid_file pid_file;     /* pid_file, as the start found it (a reload does not move it) */
    gh_cert_watch certs;      /* certificate events: loaded, expiring, expired */
    bool loop_ready;
    bool stopping;
} gh_control;

gh_config *gh_runtime_config(gh_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    gh_config *c = rt->current;
    gh_config_ref(c);
    pthread_mutex_unlock(&rt->mu);
    return c;
}

/* Whether the running snapshot listens on addr already (its workers' group). */
/* A configuration loaded to be served: what only the proxy knows how to set up is readied
 * before a worker sees it. */
static gh_config *load_for_serving(gh_runtime *rt, const char *path, gh_diag *d)
{
    gh_config *cfg = gh_config_load(path, &rt->shared, d);
    if (cfg)
        gh_upstreams_prepare(cfg);
    return cfg;
}

static bool held(const gh_config *running, const gh_sockaddr *addr)
{
    for (size_t i = 0; running && i < running->nlisteners; i++) {
        const gh_sockaddr *a = &running->listeners[i].addr;
        if (a->len == addr->len && memcmp(&a->ss, &addr->ss, addr->len) == 0)
            return true;
    }
    return false;
}

/* Binds every listener of cfg that the running snapshot does not hold once, as the workers
 * will, so that an address in use fails `run` or a reload up front with its name instead of
 * failing inside a worker. Such an address must be free: a bind without SO_REUSEPORT fails while
 * another process listens there, even one whose SO_REUSEPORT group would have let the workers
 * join it and split the connections between two gateways. Only the new process of a binary
 * upgrade shares, on the addresses whose sockets the old one handed over (inherited): their
 * trial is skipped, the workers take those sockets. No trial socket listens. */
static int trial_bind(const gh_config *cfg, const gh_config *running, const gh_inherited *inherited,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const gh_listener_conf *lc = &cfg->listeners[i];
        /* Held: the workers keep their sockets, and a process that left root could not bind a
         * port below 1024 again. */
        if (held(running, &lc->addr) || gh_inherited_has(inherited, &lc->addr))
            continue;
        int fd = gh_listen_socket(&lc->addr, 0, false);
        if (fd < 0) {
            char why[160];
            const char *denied = gh_privileged_port_why(&lc->addr, fd);
            gh_port_owner_describe(&lc->addr, -fd, why, sizeof(why));
            snprintf(err, errlen, "listeners[%zu]: cannot listen on %s: %s", i, lc->address,
                     denied ? denied : why);
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* The admin address at start, bound once before any worker listens: a binary upgrade's new
 * process that failed on it only after its workers had opened sockets beside the handed-over
 * ones would reset the connections waiting in those. */
static int trial_bind_admin(const gh_config *cfg, const gh_inherited *inherited, char *err,
                            size_t errlen)
{
    if (!cfg->has_admin || gh_inherited_has(inherited, &cfg->admin.addr))
        return 0;
    int fd = gh_listen_socket(&cfg->admin.addr, 0, false);
    if (fd < 0) {
        char why[160];
        gh_port_owner_describe(&cfg->admin.addr, -fd, why, sizeof(why));
        snprintf(err, errlen, "admin: cannot listen on %s: %s", cfg->admin.address, why);
        return -1;
    }
    close(fd);
    return 0;
}

static char *diag_text(const gh_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    gh_diag_print(d, f);
    fclose(f);
    return text;
}

static void log_diag(const char *event, const gh_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        gh_event(strstr(d->lines[i], ": warning: ") ? "warn" : "error", event, d->lines[i], NULL);
}

/* Parses and validates the file again; on success swaps the snapshot in and tells the
 * workers. On failure the running snapshot stays and each error is logged. */
/* How long a reload waits for the workers to serve the new snapshot before answering. */
#define GH_RELOAD_APPLY_MS 2000

/* A file the reload could not read for lack of permission, in a process that left root at
 * start: the reason, since the same file was read at start. */
static void explain_denied(const gh_config *running, gh_diag *d)
{
    const char *denied = strerror(EACCES);
    bool any = false;
    for (size_t i = 0; i < d->n && !any; i++)
        any = strstr(d->lines[i], denied) != NULL;
    if (any && running && (running->process.user || running->process.group))
        gh_diag_add(d, true, "%s:1:1: the gateway runs as uid %u gid %u since its start (user:, "
                    "group:): every file a reload reads (the configuration, certificates, keys, "
                    "secrets) must be readable by them, e.g. through a `gatehouse` group",
                    running->file, getuid(), getgid());
}

/* What a reload cannot change in a running process: it warns and goes on. */
static void warn_start_only(const gh_config *running, const gh_config *cfg, int nworkers)
{
    if (cfg->workers != nworkers)
        gh_event("warn", "reload", "a change of workers applies at the next start", NULL);
    if (gh_privileges_changed(&running->process, &cfg->process))
        gh_event("warn", "reload", "a change of user or group applies at the next start", NULL);
    if (running->process.seccomp != cfg->process.seccomp)
        gh_event("warn", "reload", "a change of seccomp applies at the next start", NULL);
    const gh_sec_syslog_conf *was = &running->security_events.syslog,
                             *now = &cfg->security_events.syslog;
    if (!was->address != !now->address ||
        (was->address &&
         (strcmp(was->address, now->address) != 0 || was->facility != now->facility ||
          strcmp(was->app_name, now->app_name) != 0)))
        gh_event("warn", "reload", "a change of security_events.syslog applies at the next start",
                 NULL);
    const gh_sec_http_conf *was_http = &running->security_events.http,
                           *now_http = &cfg->security_events.http;
    if (!was_http->url != !now_http->url ||
        (was_http->url &&
         (strcmp(was_http->url, now_http->url) != 0 || was_http->batch != now_http->batch ||
          was_http->interval_ms != now_http->interval_ms ||
          was_http->nheaders != now_http->nheaders)))
        gh_event("warn", "reload", "a change of security_events.http applies at the next start",
                 NULL);
}

/* The security stream's event for a reload: the configuration's hash before and after (null
 * when it failed), who asked, and why it failed. */
static void reload_event(gh_control *ctl, const char *who, const char *before, const char *after,
                         const char *report)
{
    gh_runtime *rt = &ctl->rt;
    gh_config *cfg = gh_runtime_config(rt);
    bool on = rt->sec_streams &&
              (strcmp(cfg->security_events.file, "off") != 0 ||
               cfg->security_events.syslog.address || cfg->security_events.http.url);
    gh_config_release(cfg);
    if (!on)
        return;
    gh_sec_action a = after ? GH_SEC_CONFIG_RELOADED : GH_SEC_CONFIG_RELOAD_FAILED;
    char line[GH_SEC_LINE_MAX];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    gh_sec_line_begin(&b, a);
    size_t why_len = report ? strcspn(report, "\n") : 0; /* the first error says enough */
    /* An error quotes paths and values of any length: cut so that the line always fits. */
    gh_sec_field_cut(&b, "event.reason", after ? NULL : report, why_len, 256);
    gh_sec_field(&b, "gatehouse.reload.by", who, strlen(who));
    gh_sec_field(&b, "gatehouse.config.hash_before", before, before ? strlen(before) : 0);
    gh_sec_field(&b, "gatehouse.config.hash_after", after, after ? strlen(after) : 0);
    gh_sec_field_cut(&b, "file.path", rt->config_path, strlen(rt->config_path), 256);
    gh_sec_line_end(&b);
    gh_sec_stream *control = &rt->sec_streams[rt->sec_logger.nrings - 1];
    if (b.overflow)
        gh_sec_stream_too_long(control);
    else
        gh_sec_stream_put(control, a, line, b.len);
}

static int reload_config(gh_control *ctl, char **report);

/* Says RELOADING to systemd, then READY again whatever the outcome: the previous configuration
 * serves on after a failure. who: what asked (SIGHUP, admin, tls-files, dns). */
static int reload_by(gh_control *ctl, const char *who, char **report)
{
    char before[65];
    gh_config *running = gh_runtime_config(&ctl->rt); /* held: its certificates are compared */
    snprintf(before, sizeof(before), "%s", running->hash);
    int r;
    if (ctl->stopping) {
        *report = strdup("draining: reload refused\n");
        r = -1;
    } else if (gh_upgrade_busy(ctl->upgrade)) { /* the new process reads the file as it starts */
        gh_event("warn", "reload", "a binary upgrade is under way: reload refused", NULL);
        *report = strdup("binary upgrade under way: reload refused\n");
        r = -1;
    } else {
        gh_notify_reloading(&ctl->notify);
        r = reload_config(ctl, report);
        gh_notify_ready(&ctl->notify, r == 0 ? "serving; reloaded"
                                             : "serving; the last reload failed, the previous "
                                               "configuration stays in force");
    }
    char after[65] = "";
    if (r == 0) {
        gh_config *now = gh_runtime_config(&ctl->rt);
        snprintf(after, sizeof(after), "%s", now->hash);
        gh_config_release(now);
    }
    reload_event(ctl, who, before, r == 0 ? after : NULL, *report);
    if (r == 0)
        gh_cert_watch_reloaded(&ctl->certs, running);
    gh_config_release(running);
    return r;
}

static int admin_reload(void *ctx, char **report)
{
    return reload_by(ctx, "admin", report);
}

static int reload_config(gh_control *ctl, char **report)
{
    gh_runtime *rt = &ctl->rt;
    gh_diag d = {0};
    gh_config *cfg = load_for_serving(rt, rt->config_path, &d);
    char err[512] = "";
    gh_config *running = gh_runtime_config(rt);
    int bound = cfg ? trial_bind(cfg, running, NULL, err, sizeof(err)) : 0;
    explain_denied(running, &d);
    /* Last, since nothing may fail after it: the access log moves only to a file it can open. */
    int logged = cfg && bound == 0 ? gh_logger_set_path(&rt->logger, cfg->access_log) : 0;
    if (logged != 0) {
        snprintf(err, sizeof(err), "access_log: cannot open %s: %s", cfg->access_log,
                 strerror(-logged));
        bound = -1;
    }
    int sec = cfg && bound == 0 ? gh_logger_set_path(&rt->sec_logger, cfg->security_events.file)
                                : 0;
    if (sec != 0) {
        snprintf(err, sizeof(err), "security_events.file: cannot open %s: %s",
                 cfg->security_events.file, strerror(-sec));
        bound = -1;
        /* The access log moved already: back to the running configuration's, which the
         * failed reload keeps (its file was open a moment ago). */
        gh_logger_set_path(&rt->logger, running->access_log);
    }
    if (bound != 0) {
        gh_diag_add(&d, true, "%s:1:1: %s", rt->config_path, err);
        gh_config_release(cfg);
        cfg = NULL;
    }
    if (cfg)
        warn_start_only(running, cfg, rt->nworkers);
    gh_config_release(running);
    log_diag("reload", &d);
    if (!cfg) {
        atomic_fetch_add(&rt->reloads_failed, 1);
        gh_event("error", "reload", "reload failed; the previous configuration stays in force",
                 NULL);
        *report = diag_text(&d);
        gh_diag_free(&d);
        return -1;
    }
    char *warnings = d.n ? diag_text(&d) : NULL; /* the answer says them too */
    gh_diag_free(&d);
    pthread_mutex_lock(&rt->mu);
    gh_config *old = rt->current;
    rt->current = cfg;
    pthread_mutex_unlock(&rt->mu);
    gh_config_in_force(old, cfg);
    gh_file_watch_set(ctl->watch, cfg);
    gh_dns_watch_set(ctl->dns, cfg);
    gh_health_update(ctl->health, cfg);
    if (gh_trace_export_apply(&rt->spans, cfg, (size_t)rt->nworkers, err, sizeof(err)) != 0)
        gh_event("error", "reload", err, NULL); /* the spans keep going where they went */
    gh_workers_notify(rt);
    int behind = gh_workers_wait_applied(rt, cfg, GH_RELOAD_APPLY_MS);
    if (behind > 0)
        gh_event("warn", "reload", "workers have not applied the new configuration yet", NULL);
    atomic_fetch_add(&rt->reloads_ok, 1);
    char fields[128];
    snprintf(fields, sizeof(fields), ",\"config_hash\":\"%s\"", cfg->hash);
    gh_event("info", "reload", "configuration reloaded", fields);
    if (asprintf(report, "reloaded %s\n%s", cfg->hash, warnings ? warnings : "") < 0)
        *report = NULL;
    free(warnings);
    gh_config_release(old);
    return 0;
}

/* A certificate, key, CA or CRL file changed: the configuration is loaded again, as on SIGHUP
 * (a half-written pair fails and keeps the running one; the next change retries). */
static void on_tls_files_changed(void *ctx)
{
    gh_control *ctl = ctx;
    gh_event("info", "tls_files_changed", "TLS files changed: reloading", NULL);
    char *report = NULL;
    reload_by(ctl, "tls-files", &report);
    free(report);
}

/* A name in an endpoint resolves to other addresses now: the configuration is loaded again,
 * which resolves it again (a failure keeps the running snapshot; another answer, not the same
 * one again, asks again). */
static void on_dns_changed(void *ctx)
{
    gh_control *ctl = ctx;
    char *report = NULL;
    reload_by(ctl, "dns", &report);
    free(report);
}

/* A key fetch attempt ended: the requests waiting for it wake on their workers. */
static void notify_workers(void *rt)
{
    gh_workers_notify(rt);
}

/* The admin listener closes last, once the workers have drained: until then /readyz answers
 * 503 draining to the load balancer and /metrics shows the drain. */
static void close_admin_when_drained(uv_timer_t *t)
{
    gh_control *ctl = t->data;
    if (!gh_workers_finished(&ctl->rt))
        return;
    gh_admin_stop(&ctl->admin);
    gh_bans_control_stop(ctl->bans);
    ctl->bans = NULL;
    uv_close((uv_handle_t *)&ctl->drained, NULL);
}

/* Begins the drain: the workers stop accepting and finish what they have; reloads stop. The
 * signal watchers close, so a second SIGTERM ends the process at once, as operators expect. */
static void stop_control(gh_control *ctl)
{
    if (ctl->stopping)
        return;
    ctl->stopping = true;
    gh_notify_stopping(&ctl->notify);
    if (ctl->rt.nworkers)
        gh_event("info", "drain", "draining: finishing in-flight requests", NULL);
    gh_workers_begin_drain(&ctl->rt);
    uv_close((uv_handle_t *)&ctl->sighup, NULL);
    uv_close((uv_handle_t *)&ctl->sigterm, NULL);
    uv_close((uv_handle_t *)&ctl->sigint, NULL);
    uv_close((uv_handle_t *)&ctl->sigusr1, NULL);
    uv_close((uv_handle_t *)&ctl->sigusr2, NULL);
    gh_upgrade_stop(ctl->upgrade);
    gh_file_watch_stop(ctl->watch);
    ctl->watch = NULL;
    gh_dns_watch_stop(ctl->dns);
    ctl->dns = NULL;
    gh_cert_watch_stop(&ctl->certs);
    uv_timer_start(&ctl->drained, close_admin_when_drained, 0, GH_DRAIN_POLL_MS);
}

/* POST /stop: the drain SIGTERM starts. */
static void admin_stop(void *ctx)
{
    stop_control(ctx);
}

static bool admin_stopping(void *ctx)
{
    return ((gh_control *)ctx)->stopping;
}

/* SIGUSR1 for the security events file: its own log_reopen event, only when there is one. */
static void reopen_security_events(gh_control *ctl)
{
    int r = gh_logger_reopen(&ctl->rt.sec_logger);
    const char *path = ctl->rt.sec_logger.path;
    if (!path || strcmp(path, "off") == 0)
        return;
    char why[160];
    snprintf(why, sizeof(why), "the security events file could not be reopened (%s): lines "
             "keep going to the file it had", strerror(-r));
    gh_event(r ? "error" : "info", "log_reopen", r ? why : "security events file reopened",
             ",\"log\":\"security_events\"");
}

static void on_signal(uv_signal_t *s, int signum)
{
    gh_control *ctl = s->data;
    if (signum == SIGHUP) {
        char *report = NULL;
        reload_by(ctl, "SIGHUP", &report);
        free(report);
    } else if (signum == SIGUSR1) {
        int r = gh_logger_reopen(&ctl->rt.logger);
        char why[160];
        snprintf(why, sizeof(why), "the access log could not be reopened (%s): lines keep going "
                 "to the file it had", strerror(-r));
        gh_event(r ? "error" : "info", "log_reopen", r ? why : "access log reopened", NULL);
        reopen_security_events(ctl);
    } else if (signum == SIGUSR2) {
        gh_config *running = gh_runtime_config(&ctl->rt);
        gh_upgrade_begin(ctl->upgrade, running);
        gh_config_release(running);
    } else {
        stop_control(ctl);
    }
}

/* A binary upgrade's new process is ready: this one stops accepting and drains, as on SIGTERM.
 * Its admin listener closes at once whatever a drain does with it: the socket is the new
 * process's now, and this one's "draining" answers on it would take the new gateway out of its
 * load balancer. systemd is told the service's main process is the new one, not that it stops. */
static void on_upgraded(void *ctx, int pid)
{
    gh_control *ctl = ctx;
    gh_notify_handover(&ctl->notify, pid);
    gh_admin_stop(&ctl->admin);
    stop_control(ctl);
}

/* The control loop's own handles, set up as soon as it exists so that stop_control may close
 * them on any path. */
static void init_handles(gh_control *ctl)
{
    uv_signal_t *sigs[] = {&ctl->sighup, &ctl->sigterm, &ctl->sigint, &ctl->sigusr1, &ctl->sigusr2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        uv_signal_init(&ctl->loop, sigs[i]);
        sigs[i]->data = ctl;
    }
    uv_timer_init(&ctl->loop, &ctl->drained);
    ctl->drained.data = ctl;
}

static int start_signals(gh_control *ctl)
{
    struct {
        uv_signal_t *h;
        int sig;
    } sigs[] = {{&ctl->sighup, SIGHUP},
                {&ctl->sigterm, SIGTERM},
                {&ctl->sigint, SIGINT},
                {&ctl->sigusr1, SIGUSR1},
                {&ctl->sigusr2, SIGUSR2}};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (uv_signal_start(sigs[i].h, on_signal, sigs[i].sig) != 0)
            return -1;
    return 0;
}

/* Every socket is bound (the workers' listeners, the admin listener) and every key and secret
 * read: the process becomes user: and group:, then the workers confine themselves and serve. */
static int confine(gh_control *ctl, gh_config *cfg)
{
    char err[512];
    if (gh_privileges_drop(&cfg->process, err, sizeof(err)) != 0 ||
        gh_workers_release(&ctl->rt, cfg->process.seccomp, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", ctl->rt.config_path, err);
        return -1;
    }
    gh_notify_start(&ctl->notify, &ctl->loop);
    return 0;
}

/* A start stops here: why, on stderr and for the old process of an upgrade. */
static int start_failed(gh_control *ctl, const char *err)
{
    fprintf(stderr, "%s: %s\n", ctl->rt.config_path, err);
    snprintf(ctl->start_error, sizeof(ctl->start_error), "%s", err);
    return -1;
}

/* The security stream: a ring per worker and one for the control thread's reload events. */
static int start_security_events(gh_control *ctl, gh_config *cfg)
{
    gh_runtime *rt = &ctl->rt;
    char err[512];
    size_t producers = (size_t)cfg->workers + 1;
    int r = gh_logger_start(&rt->sec_logger, cfg->security_events.file, producers);
    if (r != 0) {
        snprintf(err, sizeof(err), "security_events.file: cannot open %s: %s",
                 cfg->security_events.file, strerror(-r));
        return start_failed(ctl, err);
    }
    const char *syslog_address = cfg->security_events.syslog.address;
    if (syslog_address) {
        r = gh_syslog_sink_start(&rt->sec_syslog, syslog_address,
                                 cfg->security_events.syslog.facility,
                                 cfg->security_events.syslog.app_name, producers);
        if (r != 0) {
            snprintf(err, sizeof(err), "security_events.syslog.address: cannot use %s: %s",
                     syslog_address, strerror(-r));
            return start_failed(ctl, err);
        }
    }
    const gh_sec_http_conf *http = &cfg->security_events.http;
    if (http->url) {
        r = gh_http_sink_start(&rt->sec_http, http->url, http->headers, http->nheaders,
                               http->authorization, (size_t)http->batch, http->interval_ms,
                               producers);
        if (r != 0) {
            snprintf(err, sizeof(err), "security_events.http: cannot start: %s", strerror(-r));
            return start_failed(ctl, err);
        }
    }
    /* The stream goes to the file, syslog and HTTP each, a line kept when one of them took it. */
    rt->sec_file_sink = (gh_sec_sink){&gh_sec_file_sink_ops, &rt->sec_logger};
    rt->sec_syslog_sink = (gh_sec_sink){&gh_sec_syslog_sink_ops, &rt->sec_syslog};
    rt->sec_http_sink = (gh_sec_sink){&gh_sec_http_sink_ops, &rt->sec_http};
    if (strcmp(cfg->security_events.file, "off") != 0 || (!syslog_address && !http->url))
        rt->sec_tee.sinks[rt->sec_tee.n++] = &rt->sec_file_sink;
    if (syslog_address)
        rt->sec_tee.sinks[rt->sec_tee.n++] = &rt->sec_syslog_sink;
    if (http->url)
        rt->sec_tee.sinks[rt->sec_tee.n++] = &rt->sec_http_sink;
    rt->sec_sink = (gh_sec_sink){&gh_sec_tee_sink_ops, &rt->sec_tee};
    if (!(rt->sec_streams = calloc(producers, sizeof(*rt->sec_streams))))
        return start_failed(ctl, "out of memory");
    for (size_t i = 0; i < producers; i++) {
        rt->sec_streams[i].sink = &rt->sec_sink;
        rt->sec_streams[i].producer = i;
    }
    return 0;
}

/* What must hold before anything starts: the ids it may switch to, every address free (or
 * handed over), a pid file that can be written, an access log that opens. */
static int claim(gh_control *ctl, gh_config *cfg)
{
    gh_runtime *rt = &ctl->rt;
    char err[512];
    if (gh_privileges_check(&cfg->process, err, sizeof(err)) != 0 ||
        trial_bind(cfg, NULL, rt->inherited, err, sizeof(err)) != 0 ||
        trial_bind_admin(cfg, rt->inherited, err, sizeof(err)) != 0 ||
        gh_pid_file_prepare(&ctl->pid_file, cfg->pid_file, err, sizeof(err)) != 0)
        return start_failed(ctl, err);
    int r = gh_logger_start(&rt->logger, cfg->access_log, (size_t)cfg->workers);
    if (r != 0) {
        snprintf(err, sizeof(err), "access_log: cannot open %s: %s", cfg->access_log,
                 strerror(-r));
        return start_failed(ctl, err);
    }
    r = start_security_events(ctl, cfg);
    if (r == 0 && gh_trace_export_apply(&rt->spans, cfg, (size_t)cfg->workers, err,
                                        sizeof(err)) != 0)
        return start_failed(ctl, err);
    return r;
}

static int start(gh_control *ctl, gh_config *cfg)
{
    gh_runtime *rt = &ctl->rt;
    char err[512];
    if (claim(ctl, cfg) != 0)
        return -1;
    int r = 0;
    if (uv_loop_init(&ctl->loop) != 0)
        return -1;
    ctl->loop_ready = true;
    init_handles(ctl);
    if (!(ctl->upgrade = gh_upgrade_init(&ctl->loop, on_upgraded, ctl)))
        return -1;
    /* Key fetching is set up before the workers, which may ask for a fetch at once. An identity
     * provider that is down does not stop the start: its routes answer 503 until keys come. */
    rt->shared.keys.notify = notify_workers;
    rt->shared.keys.notify_ctx = rt;
    if (!(ctl->fetcher = gh_jwks_fetcher_start(&ctl->loop, &rt->shared.keys))) {
        fprintf(stderr, "cannot set up the HTTP client for key sets\n");
        return -1;
    }
    /* Health checks start with every endpoint unknown, in rotation: the workers need not wait. */
    if (!(ctl->health = gh_health_start(&ctl->loop))) {
        fprintf(stderr, "cannot set up health checks\n");
        return -1;
    }
    gh_health_update(ctl->health, cfg);
    rt->nworkers = cfg->workers;
    rt->workers = calloc((size_t)rt->nworkers, sizeof(gh_worker));
    if (!rt->workers || (r = gh_workers_start(rt)) != 0) {
        fprintf(stderr, "%s: starting workers: %s\n", rt->config_path, uv_strerror(r));
        return -1;
    }
    if (!(ctl->watch = gh_file_watch_start(&ctl->loop, on_tls_files_changed, ctl))) {
        fprintf(stderr, "cannot watch files\n");
        return -1;
    }
    gh_file_watch_set(ctl->watch, cfg);
    if (!(ctl->dns = gh_dns_watch_start(&ctl->loop, &rt->dns, on_dns_changed, ctl))) {
        fprintf(stderr, "cannot watch DNS names\n");
        return -1;
    }
    gh_dns_watch_set(ctl->dns, cfg);
    if (!(ctl->bans = gh_bans_control_start(&ctl->loop, rt))) {
        fprintf(stderr, "cannot set up bans\n");
        return -1;
    }
    if (start_signals(ctl) != 0) {
        fprintf(stderr, "cannot set up signal handling\n");
        return -1;
    }
    ctl->admin.rt = rt;
    ctl->admin.reload = admin_reload;
    ctl->admin.stop = admin_stop;
    ctl->admin.stopping = admin_stopping;
    ctl->admin.ctx = ctl;
    ctl->admin.started_us = gh_now_us();
    if (cfg->has_admin && (r = gh_admin_start(&ctl->admin, &ctl->loop, &cfg->admin.addr)) != 0) {
        char why[160];
        gh_port_owner_describe(&cfg->admin.addr, r < 0 ? -r : r, why, sizeof(why));
        fprintf(stderr, "%s: admin: cannot listen on %s: %s\n", rt->config_path, cfg->admin.address,
                why);
        return -1;
    }
    /* Every address is bound: whoever reads the pid can now reach what it serves (after a
     * binary upgrade, the new process: the old one then leaves the file to it at exit). */
    if (gh_pid_file_place(&ctl->pid_file, err, sizeof(err)) != 0)
        return start_failed(ctl, err);
    return confine(ctl, cfg);
}

/* What the start event says: workers, the configuration, the version, and every address the
 * gateway answers on (listeners, admin), so that an operator sees what it took. */
static void start_fields(const gh_config *cfg, int workers, char *out, size_t cap)
{
    gh_sbuf b = gh_sbuf_make(out, cap - 1);
    gh_sbuf_addf(&b, ",\"workers\":%d,\"config_hash\":\"%s\",\"version\":\"%s\",\"listeners\":[",
                 workers, cfg->hash, GH_VERSION);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        if (i)
            GH_SBUF_LIT(&b, ",");
        gh_sbuf_json_str(&b, cfg->listeners[i].address, strlen(cfg->listeners[i].address));
    }
    GH_SBUF_LIT(&b, "]");
    if (cfg->has_admin) {
        GH_SBUF_LIT(&b, ",\"admin\":");
        gh_sbuf_json_str(&b, cfg->admin.address, strlen(cfg->admin.address));
    }
    out[b.len] = '\0';
}

/* Every connection is a descriptor: lift the soft limit to the hard one, as an operator running
 * a proxy expects (nginx's worker_rlimit_nofile, HAProxy's automatic maxconn sizing). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A new process of a binary upgrade whose configuration fails tells the old one the first error. */
static void upgrade_report_config(gh_inherited *inherited, const gh_diag *d)
{
    const char *first = "the configuration has errors";
    for (size_t i = 0; i < d->n; i++) {
        if (!strstr(d->lines[i], ": warning: ")) {
            first = d->lines[i];
            break;
        }
    }
    gh_inherited_report(inherited, first);
}

/* Tells the old process of a binary upgrade whether this one started (its workers listen, the
 * admin too); the handed-over sockets nobody took (addresses no longer configured) are let go. */
static void upgrade_report_start(gh_runtime *rt, int started, const char *why)
{
    if (!rt->inherited)
        return;
    if (started == 0)
        gh_inherited_close_unused(rt->inherited);
    gh_inherited_report(rt->inherited, started == 0 ? NULL
                                       : why[0] ? why : "the new process could not start "
                                                        "(its error is logged above)");
}

int gh_control_run(const char *config_path)
{
    char err[128];
    /* First, before any thread exists: every thread inherits it. */
    if (gh_no_new_privs(err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    /* libcurl's global state is set up once, before any thread can use it. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cannot initialize libcurl\n");
        return 1;
    }
    gh_control *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return 1;
    gh_runtime *rt = &ctl->rt;
    rt->config_path = config_path;
    pthread_mutex_init(&rt->mu, NULL);
    if (gh_shared_init(&rt->shared) != 0) {
        fprintf(stderr, "cannot set up the ban table\n");
        free(ctl);
        curl_global_cleanup();
        return 1;
    }
    gh_ticket_ring_init(&rt->shared.tickets, GH_TICKET_PERIOD_S);
    rt->inherited = gh_inherited_from_env(); /* started by a binary upgrade */
    gh_diag d = {0};
    gh_config *cfg = load_for_serving(rt, config_path, &d);
    gh_diag_print(&d, stderr);
    if (!cfg)
        upgrade_report_config(rt->inherited, &d);
    gh_diag_free(&d);
    int rc = 1;
    if (cfg) {
        rt->current = cfg;
        gh_config_in_force(NULL, cfg);
        int started = start(ctl, cfg);
        if (started == 0) {
            char fields[8192]; /* 16 listeners of the longest host:port fit */
            start_fields(cfg, rt->nworkers, fields, sizeof(fields));
            gh_event("info", "start", "gatehouse started", fields);
            gh_cert_watch_start(&ctl->certs, &ctl->loop, rt);
            gh_notify_ready(&ctl->notify, "serving");
        }
        upgrade_report_start(rt, started, ctl->start_error);
        if (started == 0) {
            uv_run(&ctl->loop, UV_RUN_DEFAULT);
            rc = 0;
        }
        /* The control loop has stopped: the workers have drained (or never started). */
        gh_workers_drain_and_join(rt);
        if (ctl->loop_ready) {
            stop_control(ctl);
            gh_jwks_fetcher_stop(ctl->fetcher); /* no worker is left to poke it */
            gh_health_stop(ctl->health);
            gh_bans_control_stop(ctl->bans);
            ctl->bans = NULL;
            uv_run(&ctl->loop, UV_RUN_DEFAULT);
            uv_loop_close(&ctl->loop);
        }
        if (rc == 0)
            gh_event("info", "stop", "drained; exiting", NULL);
        gh_logger_stop(&rt->logger);
        gh_logger_stop(&rt->sec_logger);
        gh_syslog_sink_stop(&rt->sec_syslog);
        gh_http_sink_stop(&rt->sec_http);
        gh_http_sink_stop(&rt->spans); /* the workers are gone: what they queued goes now */
        gh_pid_file_release(&ctl->pid_file);
        gh_config_release(rt->current);
    }
    free(rt->workers);
    free(rt->sec_streams);
    gh_shared_free(&rt->shared);
    gh_ticket_ring_free(&rt->shared.tickets);
    gh_inherited_free(rt->inherited);
    gh_upgrade_free(ctl->upgrade);
    pthread_mutex_destroy(&rt->mu);
    free(ctl);
    curl_global_cleanup();
    return rc;
}
