#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "gate/security_event.h"

/* The second folding counts in: wall time, as the lines' @timestamp says. */
static uint64_t wall_second(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

bool gh_security_stream_on(const gh_services *svc, const gh_config *cfg)
{
    return svc->sec && svc->sec->sink &&
           (strcmp(cfg->security_events.file, "off") != 0 || cfg->security_events.syslog.address ||
            cfg->security_events.http.url);
}

gh_sec_action gh_security_event_of(const gh_request *req)
{
    gh_sec_action a = gh_sec_reason_action(req->reason);
    /* A method no route takes is ordinary when it is an ordinary one; TRACE, TRACK, PROPFIND
     * or DEBUG sent to an API is someone looking. */
    if (req->reason == GH_R_METHOD_NOT_ALLOWED &&
        gh_sec_method_unusual(req->h1.method, req->h1.method_len))
        a = GH_SEC_UNUSUAL_METHOD;
    if (a == GH_SEC_NONE && req->match.route && req->match.route->critical)
        a = GH_SEC_CRITICAL_ACCESS;
    return a;
}

/* Who the request was verified to be from, when anyone. */
static const char *principal(const gh_request *req)
{
    if (!req->auth_ok)
        return NULL;
    if (req->auth_sub)
        return req->auth_sub;
    return req->api_client ? req->api_client : req->auth_client_id;
}

/* The refusal's precise reason: its slug, the authentication's own reason when one failed
 * ("expired", "signature": what the access log's auth_reason says), then the stage's detail. */
static void add_reason(gh_sbuf *b, const gh_request *req)
{
    if (req->reason == GH_R_OK) {
        gh_sec_field(b, "event.reason", NULL, 0);
        return;
    }
    char why[512];
    const char *auth = req->auth_failed ? req->auth_reason : NULL;
    int n = snprintf(why, sizeof(why), "%s%s%s%s%s%s", gh_reason_slug(req->reason),
                     auth ? " (" : "", auth ? auth : "", auth ? ")" : "", req->detail ? ": " : "",
                     req->detail ? req->detail : "");
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(why) ? sizeof(why) - 1 : (size_t)n;
    gh_sec_field(b, "event.reason", why, len);
}

/* full: with the client's free text (the path); a line that would not fit goes without it. */
static void format_event(gh_sbuf *b, const gh_request *req, gh_sec_action a, bool full)
{
    gh_sec_line_begin(b, a);
    gh_sec_field(b, "event.id", req->id, req->id_len);
    add_reason(b, req);
    if (req->reason != GH_R_OK)
        gh_sec_field(b, "error.code", gh_reason_slug(req->reason),
                     strlen(gh_reason_slug(req->reason)));
    gh_sec_field(b, "source.ip", req->client_ip[0] ? req->client_ip : NULL, strlen(req->client_ip));
    const char *user = principal(req);
    gh_sec_field(b, "user.id", user, user ? strlen(user) : 0);
    gh_sec_field(b, "http.request.method", req->h1.method,
                 req->h1.method_len < 32 ? req->h1.method_len : 32);
    gh_sec_field(b, "url.path", full && req->path_len ? req->path : NULL, req->path_len);
    gh_sbuf_addf(b, ",\"http.response.status_code\":%d", req->status);
    const gh_route_conf *r = req->match.route;
    gh_sec_field(b, "rule.id", r ? r->name : NULL, r ? strlen(r->name) : 0);
    const char *stage = r && req->refused_by && req->refused_by <= r->nstages
                            ? r->stages[req->refused_by - 1].stage->name
                            : NULL;
    gh_sec_field(b, "rule.name", stage, stage ? strlen(stage) : 0);
    gh_sec_line_end(b);
}

void gh_security_event_request(gh_services *svc, const gh_request *req)
{
    if (!gh_security_stream_on(svc, req->config))
        return;
    gh_sec_action a = gh_security_event_of(req);
    if (a == GH_SEC_NONE)
        return;
    const gh_route_conf *r = req->match.route;
    /* Every request of a critical route is written: folding is for refusals, which an
     * attacker can repeat at will. */
    if (a != GH_SEC_CRITICAL_ACCESS &&
        !gh_sec_fold_admit(&svc->sec->fold, a, req->client_ip, gh_reason_slug(req->reason),
                           r ? r->name : NULL, wall_second(),
                           (uint32_t)req->config->security_events.max_per_second))
        return;
    char line[4096];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    format_event(&b, req, a, true);
    if (b.overflow) {
        b = gh_sbuf_make(line, sizeof(line));
        format_event(&b, req, a, false);
    }
    if (!b.overflow)
        gh_sec_stream_put(svc->sec, a, line, b.len);
}

static void emit_folded(void *arg, const gh_sec_fold_slot *s)
{
    gh_services *svc = arg;
    char line[1024];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    gh_sec_line_begin(&b, s->action);
    gh_sbuf_addf(&b, ",\"event.count\":%u", (unsigned)s->ended_folded);
    char start[32];
    time_t t = (time_t)s->ended_second;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &tm);
    gh_sbuf_addf(&b, ",\"event.start\":\"%s\"", start);
    gh_sec_field(&b, "event.reason", s->reason, strlen(s->reason));
    gh_sec_field(&b, "source.ip", s->source[0] ? s->source : NULL, strlen(s->source));
    gh_sec_field(&b, "rule.id", s->rule[0] ? s->rule : NULL, strlen(s->rule));
    gh_sec_line_end(&b);
    if (!b.overflow)
        gh_sec_stream_put(svc->sec, s->action, line, b.len);
}

void gh_security_event_flush(gh_services *svc)
{
    if (!svc->sec || !svc->sec->sink)
        return;
    gh_sec_fold_flush(&svc->sec->fold, wall_second(), emit_folded, svc);
}
