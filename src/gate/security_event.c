#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/tls.h"
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
    /* An upstream down is no one's attack; one whose certificate does not verify may be someone
     * in the middle. */
    if (req->reason == GH_R_UPSTREAM_TLS && req->detail &&
        strncmp(req->detail, GH_TLS_UNTRUSTED_PEER, strlen(GH_TLS_UNTRUSTED_PEER)) == 0)
        a = GH_SEC_UPSTREAM_CERT;
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

/* How much of the client's free text a line carries: all of it; none of the path; every
 * free-text field cut to GH_SEC_CUT_BYTES (a line that fits whatever the request held). */
typedef enum { EVENT_FULL, EVENT_NO_PATH, EVENT_CUT } event_detail;

/* In the cut form: 5 fields of at most 6 * 128 escaped bytes, the rest bounded, in 4 KiB. */
#define GH_SEC_CUT_BYTES 128

static void text_field(gh_sbuf *b, event_detail d, const char *name, const char *v, size_t len)
{
    if (d == EVENT_CUT)
        gh_sec_field_cut(b, name, v, len, GH_SEC_CUT_BYTES);
    else
        gh_sec_field(b, name, v, len);
}

/* The refusal's precise reason: its slug, the authentication's own reason when one failed
 * ("expired", "signature": what the access log's auth_reason says), then the stage's detail. */
static void add_reason(gh_sbuf *b, const gh_request *req, event_detail d)
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
    text_field(b, d, "event.reason", why, len);
}

static void format_event(gh_sbuf *b, const gh_request *req, gh_sec_action a, event_detail d)
{
    gh_sec_line_begin(b, a);
    text_field(b, d, "event.id", req->id, req->id_len);
    add_reason(b, req, d);
    if (req->reason != GH_R_OK)
        gh_sec_field(b, "error.code", gh_reason_slug(req->reason),
                     strlen(gh_reason_slug(req->reason)));
    gh_sec_field(b, "source.ip", req->client_ip[0] ? req->client_ip : NULL,
                 strnlen(req->client_ip, sizeof(req->client_ip)));
    const char *user = principal(req);
    text_field(b, d, "user.id", user, user ? strlen(user) : 0);
    gh_sec_field(b, "http.request.method", req->h1.method,
                 req->h1.method_len < 32 ? req->h1.method_len : 32);
    gh_sec_field(b, "url.path", d == EVENT_FULL && req->path_len ? req->path : NULL, req->path_len);
    GH_SBUF_LIT(b, ",\"http.response.status_code\":");
    gh_sbuf_add_u64(b, (unsigned long long)(req->status > 0 ? req->status : 0));
    const gh_route_conf *r = req->match.route;
    text_field(b, d, "rule.id", r ? r->name : NULL, r ? strlen(r->name) : 0);
    const char *stage = r && req->refused_by && req->refused_by <= r->nstages
                            ? r->stages[req->refused_by - 1].stage->name
                            : NULL;
    text_field(b, d, "rule.name", stage, stage ? strlen(stage) : 0);
    if (d == EVENT_CUT)
        GH_SBUF_LIT(b, ",\"gatehouse.event.cut\":true");
    gh_sec_line_end(b);
}

size_t gh_security_event_format(char *line, size_t cap, const gh_request *req, gh_sec_action a,
                                bool *cut)
{
    gh_sbuf b;
    *cut = false;
    for (event_detail d = EVENT_FULL; d <= EVENT_CUT; d++) {
        b = gh_sbuf_make(line, cap);
        format_event(&b, req, a, d);
        if (!b.overflow) {
            *cut = d == EVENT_CUT;
            return b.len;
        }
    }
    return 0;
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
    char line[GH_SEC_LINE_MAX];
    bool cut;
    size_t len = gh_security_event_format(line, sizeof(line), req, a, &cut);
    if (len == 0) {
        gh_sec_stream_too_long(svc->sec);
        return;
    }
    if (cut)
        gh_sec_stream_cut(svc->sec);
    gh_sec_stream_put(svc->sec, a, line, len);
}

/* The listener's address as written, from its id. */
static const char *listener_address(const gh_config *cfg, uint64_t id)
{
    for (size_t i = 0; i < cfg->nlisteners; i++)
        if (cfg->listeners[i].id == id)
            return cfg->listeners[i].address;
    return NULL;
}

void gh_security_event_handshake(gh_services *svc, const char *client_ip, uint64_t listener,
                                 const char *why)
{
    const gh_config *cfg = svc->snapshots.config;
    if (!cfg || !gh_security_stream_on(svc, cfg) ||
        (strcmp(why, "no_client_certificate") != 0 && strcmp(why, "certificate_rejected") != 0))
        return;
    /* A scanner without a certificate handshakes as fast as it likes: folded per address. */
    if (!gh_sec_fold_admit(&svc->sec->fold, GH_SEC_CLIENT_CERT, client_ip, why, NULL, wall_second(),
                           (uint32_t)cfg->security_events.max_per_second))
        return;
    char line[GH_SEC_LINE_MAX], reason[64];
    snprintf(reason, sizeof(reason), "tls-handshake: %s", why);
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    gh_sec_line_begin(&b, GH_SEC_CLIENT_CERT);
    gh_sec_field(&b, "event.reason", reason, strlen(reason));
    gh_sec_field(&b, "error.code", why, strlen(why));
    gh_sec_field(&b, "source.ip", client_ip[0] ? client_ip : NULL, strlen(client_ip));
    const char *address = listener_address(cfg, listener);
    gh_sec_field_cut(&b, "server.address", address, address ? strlen(address) : 0, 128);
    gh_sbuf_adds(&b, ",\"tls.established\":false");
    gh_sec_line_end(&b);
    if (b.overflow)
        gh_sec_stream_too_long(svc->sec);
    else
        gh_sec_stream_put(svc->sec, GH_SEC_CLIENT_CERT, line, b.len);
}

static void emit_folded(void *arg, const gh_sec_fold_slot *s)
{
    gh_services *svc = arg;
    char line[GH_SEC_LINE_MAX];
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
    if (b.overflow) /* the slot's texts are bounded: cannot happen, but never silently */
        gh_sec_stream_too_long(svc->sec);
    else
        gh_sec_stream_put(svc->sec, s->action, line, b.len);
}

void gh_security_event_flush(gh_services *svc)
{
    if (!svc->sec || !svc->sec->sink)
        return;
    gh_sec_fold_flush(&svc->sec->fold, wall_second(), emit_folded, svc);
}
