#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/cert_events.h"
#include "tls/cert_info.h"
#include "tls/tls_server.h"

/* The control thread's side of the stream (the last producer), when the stream is on. */
static gh_sec_stream *control_stream(gh_runtime *rt, const gh_config *cfg)
{
    bool on =
        rt->sec_streams && (strcmp(cfg->security_events.file, "off") != 0 ||
                            cfg->security_events.syslog.address || cfg->security_events.http.url);
    return on ? &rt->sec_streams[rt->sec_logger.nrings - 1] : NULL;
}

/* One certificate's line: the listener, the certificate's name, and the ECS tls.server fields.
 * The names are cut so that the line always fits (a subject may be kilobytes of attributes). */
static void cert_line(gh_sec_stream *s, gh_sec_action a, const gh_listener_conf *l,
                      const char *label, const gh_cert_info *ci, const char *reason, time_t now)
{
    char line[GH_SEC_LINE_MAX];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    gh_sec_line_begin(&b, a);
    gh_sec_field(&b, "event.reason", reason, reason ? strlen(reason) : 0);
    gh_sec_field_cut(&b, "server.address", l->address, strlen(l->address), 128);
    gh_sec_field_cut(&b, "gatehouse.certificate.name", label, strlen(label), 128);
    gh_sec_field_cut(&b, "tls.server.x509.subject.distinguished_name", ci->subject,
                     strlen(ci->subject), 256);
    gh_sec_field_cut(&b, "tls.server.x509.issuer.distinguished_name", ci->issuer,
                     strlen(ci->issuer), 256);
    gh_sec_field(&b, "tls.server.x509.serial_number", ci->serial, strlen(ci->serial));
    gh_sec_field(&b, "tls.server.x509.not_before", ci->not_before, strlen(ci->not_before));
    gh_sec_field(&b, "tls.server.x509.not_after", ci->not_after, strlen(ci->not_after));
    gh_sec_field(&b, "tls.server.hash.sha256", ci->sha256, strlen(ci->sha256));
    gh_sbuf_addf(&b, ",\"gatehouse.certificate.days_left\":%.2f",
                 difftime(ci->not_after_t, now) / 86400.0);
    gh_sec_line_end(&b);
    if (b.overflow)
        gh_sec_stream_too_long(s);
    else
        gh_sec_stream_put(s, a, line, b.len);
}

/* Whether prev served a certificate with this fingerprint on the same listener. */
static bool served_before(const gh_config *prev, const gh_listener_conf *l, const char *sha256)
{
    for (size_t i = 0; prev && i < prev->nlisteners; i++) {
        const gh_listener_conf *p = &prev->listeners[i];
        if (p->id != l->id || !p->tls)
            continue;
        for (size_t k = 0; k < gh_tls_server_count(p->tls); k++) {
            gh_cert_info ci;
            if (gh_cert_info_of(gh_tls_server_cert_x509(p->tls, k), &ci) == 0 &&
                strcmp(ci.sha256, sha256) == 0)
                return true;
        }
    }
    return false;
}

/* The expiry events of one certificate, when it has one. */
static void expiry_line(gh_sec_stream *s, const gh_config *cfg, const gh_listener_conf *l,
                        const char *label, const gh_cert_info *ci, time_t now)
{
    uint64_t warn_s = cfg->security_events.cert_warning_ms / 1000;
    gh_cert_state st = gh_cert_state_at(ci->not_after_t, now, warn_s);
    char why[96];
    if (st == GH_CERT_EXPIRED) {
        cert_line(s, GH_SEC_CERT_EXPIRED, l, label, ci, "expired", now);
    } else if (st == GH_CERT_EXPIRING) {
        snprintf(why, sizeof(why), "expires within %llus (certificate_expiry_warning)",
                 (unsigned long long)warn_s);
        cert_line(s, GH_SEC_CERT_EXPIRING, l, label, ci, why, now);
    }
}

/* loaded: each certificate not served before on its listener (prev NULL: every one). */
static void check_all(gh_runtime *rt, bool loaded, const gh_config *prev)
{
    gh_config *cfg = gh_runtime_config(rt);
    gh_sec_stream *s = control_stream(rt, cfg);
    time_t now = time(NULL);
    for (size_t i = 0; s && i < cfg->nlisteners; i++) {
        const gh_listener_conf *l = &cfg->listeners[i];
        for (size_t k = 0; l->tls && k < gh_tls_server_count(l->tls); k++) {
            gh_cert_info ci;
            if (gh_cert_info_of(gh_tls_server_cert_x509(l->tls, k), &ci) != 0)
                continue;
            const char *label = gh_tls_server_cert_label(l->tls, k);
            if (loaded && !served_before(prev, l, ci.sha256))
                cert_line(s, GH_SEC_CERT_LOADED, l, label, &ci, prev ? "reload" : "start", now);
            expiry_line(s, cfg, l, label, &ci, now);
        }
    }
    gh_config_release(cfg);
}

static void on_check(uv_timer_t *t)
{
    gh_cert_watch *w = t->data;
    check_all(w->rt, false, NULL);
}

/* The timer on the period of the configuration in force. */
static void arm(gh_cert_watch *w)
{
    gh_config *cfg = gh_runtime_config(w->rt);
    uint64_t every = cfg->security_events.cert_check_ms;
    gh_config_release(cfg);
    if (every == w->interval_ms && uv_is_active((uv_handle_t *)&w->timer))
        return; /* unchanged: a reload does not push the next check back */
    w->interval_ms = every;
    uv_timer_start(&w->timer, on_check, every, every);
}

void gh_cert_watch_start(gh_cert_watch *w, uv_loop_t *loop, gh_runtime *rt)
{
    w->rt = rt;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->started = true;
    check_all(rt, true, NULL);
    arm(w);
}

void gh_cert_watch_reloaded(gh_cert_watch *w, const gh_config *prev)
{
    if (!w->started)
        return;
    check_all(w->rt, true, prev);
    arm(w);
}

void gh_cert_watch_stop(gh_cert_watch *w)
{
    if (!w->started)
        return;
    w->started = false;
    uv_close((uv_handle_t *)&w->timer, NULL);
}
