/* The anomaly detectors: what one finished request adds to each detector's counters, and what
 * a detection does. The arithmetic is store/anomaly_sketch.c's and the shared state
 * store/anomaly_table.c's; here is what a request means to each detector. A detection is
 * reported once per (detector, key) and window, whichever worker saw it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "gate/anomaly.h"
#include "gate/request.h"
#include "gate/security_event.h"
#include "identity/claims.h"
#include "observe/security_events.h"
#include "wire/h1.h"

static const char *const detector_names[GH_ANOM_DETECTORS] = {
    "error_rate", "enumeration", "credential_stuffing", "token_sharing", "rate_spike",
    "unusual_method",
};
static const char *const mode_names[GH_ANOM_MODES] = {"off", "log", "ban"};

const char *gh_anomaly_detector_name(unsigned d)
{
    return d < GH_ANOM_DETECTORS ? detector_names[d] : "?";
}

const char *gh_anomaly_mode_name(unsigned m)
{
    return m < GH_ANOM_MODES ? mode_names[m] : "?";
}

/* What the request tells every detector, worked out once. */
typedef struct seen {
    gh_services *svc;
    const gh_request *req;
    const gh_anomaly_conf *a;
    gh_anom_table *t;
    int64_t now_us;
    char addr[64]; /* the client's address as text (behind trusted proxies) */
    int fam;       /* its family, 0 when it is no address */
    unsigned char addr_bin[16];
    const char *addr_key; /* the address under the prefixes: what names an address client */
    size_t addr_key_len;
    unsigned char addr_key_buf[17];
    const char *principal; /* verified subject or API-key client, or NULL */
    char client[192];      /* the client as text: "sub:...", "key:..." or "ip:..." */
    size_t client_len;
} seen;

/* A detection's particulars, for its event and its ban. */
typedef struct finding {
    unsigned detector;
    const char *key_text; /* who is reported (the ban's key) */
    size_t key_len;
    double count;
    uint64_t threshold;
    const char *what; /* "distinct path parameter values" */
} finding;

static bool allowed_by(const gh_anomaly_allow *allow, const seen *s)
{
    if (s->fam && gh_request_addr_in(allow->cidrs, allow->ncidrs, s->fam, s->addr_bin))
        return true;
    for (size_t i = 0; s->principal && i < allow->nsubjects; i++)
        if (strcmp(allow->subjects[i], s->principal) == 0)
            return true;
    return false;
}

/* The detector is on and the client is on no allow-list. */
static bool judged(const seen *s, unsigned d)
{
    const gh_detector_conf *dc = &s->a->detectors[d];
    return dc->mode != GH_DETECT_OFF && !allowed_by(&s->a->allow, s) && !allowed_by(&dc->allow, s);
}

static int64_t window_of(const seen *s, unsigned d)
{
    return s->now_us / (int64_t)(s->a->detectors[d].window_ms * 1000);
}

static double alpha_of(const seen *s)
{
    return 2.0 / ((double)s->a->baseline_windows + 1.0);
}

/* Counts add under (d, text) in d's current window; e gets the entry's state. */
static void observe(const seen *s, unsigned d, const char *text, size_t len, const gh_anom_add *add,
                    unsigned char key[16], gh_anom_entry *e)
{
    gh_anom_key(s->t, d, text, len, key);
    gh_anom_observe(s->t, key, window_of(s, d), s->now_us, alpha_of(s), add, e);
}

static void write_event(const seen *s, const finding *f, const char *reason, unsigned mode)
{
    const gh_request *req = s->req;
    char line[2048];
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    gh_sec_line_begin(&b, GH_SEC_ANOMALY_DETECTED);
    gh_sec_field(&b, "event.id", req->id, req->id_len);
    gh_sec_field(&b, "event.reason", reason, strlen(reason));
    gh_sec_field(&b, "source.ip", s->addr[0] ? s->addr : NULL, strlen(s->addr));
    gh_sec_field(&b, "user.id", s->principal, s->principal ? strlen(s->principal) : 0);
    gh_sec_field(&b, "http.request.method", req->h1.method,
                 req->h1.method_len < 32 ? req->h1.method_len : 32);
    gh_sec_field(&b, "url.path", req->path_len < 512 ? req->path : NULL, req->path_len);
    gh_sec_field(&b, "rule.id", detector_names[f->detector], strlen(detector_names[f->detector]));
    gh_sec_field(&b, "rule.ruleset", "anomaly", 7);
    gh_sec_field(&b, "trace.id", req->trace.trace_id, strlen(req->trace.trace_id));
    gh_sec_field(&b, "gatehouse.anomaly.mode", mode_names[mode], strlen(mode_names[mode]));
    gh_sec_field(&b, "gatehouse.anomaly.key", f->key_text, f->key_len < 256 ? f->key_len : 256);
    gh_sbuf_addf(&b, ",\"gatehouse.anomaly.count\":%.0f,\"gatehouse.anomaly.threshold\":%llu",
                 f->count, (unsigned long long)f->threshold);
    gh_sec_line_end(&b);
    if (!b.overflow)
        gh_sec_stream_put(s->svc->sec, GH_SEC_ANOMALY_DETECTED, line, b.len);
}

/* The threshold was crossed: report once per window, count, and ban in mode ban. */
static void detect(const seen *s, const unsigned char key[16], const finding *f)
{
    if (!gh_anom_claim(s->t, key, window_of(s, f->detector)))
        return; /* reported already in this window */
    const gh_detector_conf *dc = &s->a->detectors[f->detector];
    unsigned mode = dc->mode;
    atomic_fetch_add_explicit(&s->t->detections[f->detector][mode], 1, memory_order_relaxed);
    char reason[256];
    snprintf(reason, sizeof(reason), "%s: %.0f %s in %llu ms (threshold %llu)",
             detector_names[f->detector], f->count, f->what,
             (unsigned long long)dc->window_ms, (unsigned long long)f->threshold);
    if (gh_security_stream_on(s->svc, s->req->config))
        write_event(s, f, reason, mode);
    /* Mode ban reaches the ban table only through the registry's actions. Until they are
     * wired (ban NULL), a detector in mode ban logs and counts as above, and bans nobody. */
    const gh_detect_actions *act = s->t->actions;
    if (mode == GH_DETECT_BAN && act && act->ban)
        act->ban(act->ctx, f->key_text, f->key_len, detector_names[f->detector], reason);
}

static bool counted_error(int status)
{
    return status == 400 || status == 401 || status == 403 || status == 404 || status == 429;
}

/* error_rate: the client's errors in the window against its own baseline and its route's. */
static void error_rate(const seen *s)
{
    const gh_request *req = s->req;
    bool err = counted_error(req->status);
    gh_anom_add add = {.requests = 1, .errors = err};
    unsigned char key[16], route_key[16];
    gh_anom_entry e, r;
    observe(s, GH_DETECT_ERROR_RATE, s->client, s->client_len, &add, key, &e);
    double ratio = NAN;
    const gh_route_conf *route = req->match.route;
    if (route) {
        /* The route's baseline is kept per worker: every worker would otherwise take one lock
         * for each request of a busy route. Each sees its share of the route's clients, whose
         * share of errors is the route's. */
        char text[160];
        int n = snprintf(text, sizeof(text), "route:%d:%s", s->svc->worker_id, route->name);
        observe(s, GH_DETECT_ERROR_RATE, text, n < 0 ? 0 : (size_t)n, &add, route_key, &r);
        if (r.requests_base.windows && r.requests_base.mean > 0)
            ratio = r.errors_base.mean / r.requests_base.mean;
    }
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_ERROR_RATE];
    gh_error_rate_rule rule = {(uint32_t)dc->limit, (double)dc->z_score};
    if (err && gh_error_rate_fires(&rule, e.errors, e.requests, &e.errors_base, ratio))
        detect(s, key, &(finding){GH_DETECT_ERROR_RATE, s->client, s->client_len, e.errors,
                                  dc->limit, "errors (400/401/403/404/429)"});
}

/* enumeration: distinct values of the route's path parameters, and the refusals among them. */
static void enumeration(const seen *s)
{
    const gh_request *req = s->req;
    const gh_route_conf *route = req->match.route;
    if (!route || !req->match.nparams)
        return;
    gh_siphash h;
    gh_siphash_init(&h, &s->t->sip);
    gh_siphash_update(&h, route->name, strlen(route->name) + 1);
    for (size_t i = 0; i < req->match.nparams; i++) {
        gh_siphash_update(&h, req->match.params[i].value, req->match.params[i].value_len);
        gh_siphash_update(&h, "/", 1);
    }
    int st = req->status;
    gh_anom_add add = {.requests = 1, .refused = st == 401 || st == 403 || st == 404,
                       .has_value = true, .value_hash = gh_siphash_final(&h)};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_ENUMERATION, s->client, s->client_len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_ENUMERATION];
    double distinct = gh_hll_estimate(&e.distinct);
    if (gh_count_fires(distinct, (uint32_t)dc->limit))
        detect(s, key, &(finding){GH_DETECT_ENUMERATION, s->client, s->client_len, distinct,
                                  dc->limit, "distinct path parameter values"});
    else if (gh_count_fires(e.refused, (uint32_t)dc->second) &&
             gh_count_fires(distinct, (uint32_t)(dc->second + 1) / 2))
        detect(s, key, &(finding){GH_DETECT_ENUMERATION, s->client, s->client_len, e.refused,
                                  dc->second, "refused requests for distinct objects"});
}

/* The credential the request presented: the Authorization field, else the route's API key. */
static const gh_h1_header *credential_of(const gh_request *req)
{
    size_t n;
    const gh_h1_header *f =
        gh_h1_find_last(req->h1.headers, req->h1.nheaders, "authorization", 13, &n);
    const gh_route_conf *r = req->match.route;
    if ((!f || !f->value_len) && r && r->auth_api_key)
        f = gh_h1_find_last(req->h1.headers, req->h1.nheaders, r->auth_api_key->header,
                            strlen(r->auth_api_key->header), &n);
    return f && f->value_len ? f : NULL;
}

/* credential_stuffing: distinct failing credentials from one address, and one credential
 * failing from many addresses. Only a credential that was presented and refused counts. */
static void credential_stuffing(const seen *s)
{
    const gh_request *req = s->req;
    if (!req->auth_failed || (req->reason != GH_R_INVALID_TOKEN && req->reason != GH_R_INVALID_API_KEY))
        return;
    const gh_h1_header *cred = credential_of(req);
    if (!cred)
        return;
    uint64_t cred_hash = gh_anom_value_hash(s->t, cred->value, cred->value_len);
    uint64_t addr_hash = gh_anom_value_hash(s->t, s->addr_key, s->addr_key_len);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_CREDENTIAL_STUFFING];
    unsigned char key[16];
    gh_anom_entry e;
    char text[64];
    text[0] = 'a';
    memcpy(text + 1, s->addr_key, s->addr_key_len);
    gh_anom_add by_addr = {.requests = 1, .has_value = true, .value_hash = cred_hash};
    observe(s, GH_DETECT_CREDENTIAL_STUFFING, text, 1 + s->addr_key_len, &by_addr, key, &e);
    double n = gh_hll_estimate(&e.distinct);
    char who[80];
    int len = snprintf(who, sizeof(who), "ip:%s", s->addr);
    if (gh_count_fires(n, (uint32_t)dc->limit))
        detect(s, key, &(finding){GH_DETECT_CREDENTIAL_STUFFING, who, len < 0 ? 0 : (size_t)len,
                                  n, dc->limit, "distinct failing credentials from one address"});
    int tl = snprintf(text, sizeof(text), "c%016llx", (unsigned long long)cred_hash);
    gh_anom_add by_cred = {.requests = 1, .has_value = true, .value_hash = addr_hash};
    observe(s, GH_DETECT_CREDENTIAL_STUFFING, text, (size_t)tl, &by_cred, key, &e);
    n = gh_hll_estimate(&e.distinct);
    len = snprintf(who, sizeof(who), "credential:%016llx", (unsigned long long)cred_hash);
    if (gh_count_fires(n, (uint32_t)dc->second))
        detect(s, key, &(finding){GH_DETECT_CREDENTIAL_STUFFING, who, len < 0 ? 0 : (size_t)len,
                                  n, dc->second, "addresses failing with one credential"});
}

/* token_sharing: one accepted bearer token (its jti, else a digest of it) from many addresses. */
static void token_sharing(const seen *s)
{
    const gh_request *req = s->req;
    if (!req->auth_ok || !req->claims)
        return; /* only tokens carry claims: an API key is its client's to share */
    char text[192];
    int tl;
    const char *jti = gh_claims_get(req->claims, req->claims_len, "jti");
    const gh_h1_header *cred = jti ? NULL : credential_of(req);
    if (jti)
        tl = snprintf(text, sizeof(text), "jti:%s", jti);
    else if (cred)
        tl = snprintf(text, sizeof(text), "tok:%016llx",
                      (unsigned long long)gh_anom_value_hash(s->t, cred->value, cred->value_len));
    else
        return;
    size_t len = tl < 0 ? 0 : (size_t)tl >= sizeof(text) ? sizeof(text) - 1 : (size_t)tl;
    gh_anom_add add = {.requests = 1, .has_value = true,
                       .value_hash = gh_anom_value_hash(s->t, s->addr_key, s->addr_key_len)};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_TOKEN_SHARING, text, len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_TOKEN_SHARING];
    double n = gh_hll_estimate(&e.distinct);
    if (gh_count_fires(n, (uint32_t)dc->limit))
        detect(s, key, &(finding){GH_DETECT_TOKEN_SHARING, s->client, s->client_len, n, dc->limit,
                                  "addresses using one token"});
}

/* rate_spike: the client's requests in the window against its own past windows. */
static void rate_spike(const seen *s)
{
    gh_anom_add add = {.requests = 1};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_RATE_SPIKE, s->client, s->client_len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_RATE_SPIKE];
    gh_rate_spike_rule rule = {(uint32_t)dc->limit, (double)dc->z_score,
                               (uint32_t)dc->warmup_windows};
    if (gh_rate_spike_fires(&rule, e.requests, &e.requests_base))
        detect(s, key, &(finding){GH_DETECT_RATE_SPIKE, s->client, s->client_len, e.requests,
                                  dc->limit, "requests against the client's baseline"});
}

/* unusual_method: TRACE, PROPFIND and the like, or methods the route does not take. */
static void unusual_method(const seen *s)
{
    const gh_request *req = s->req;
    /* a request refused before its method was read (a broken head, a timeout) has none */
    bool unusual = req->h1.method_len && gh_sec_method_unusual(req->h1.method, req->h1.method_len);
    if (!unusual && req->reason != GH_R_METHOD_NOT_ALLOWED)
        return;
    gh_anom_add add = {.requests = 1};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_UNUSUAL_METHOD, s->client, s->client_len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_UNUSUAL_METHOD];
    if (gh_count_fires(e.requests, (uint32_t)dc->limit))
        detect(s, key, &(finding){GH_DETECT_UNUSUAL_METHOD, s->client, s->client_len, e.requests,
                                  dc->limit, "requests with unusual methods"});
}

/* Who the client is: the verified subject, the API key's client, or the address. */
static void identify(seen *s)
{
    const gh_request *req = s->req;
    size_t len;
    const char *text = gh_request_client_address(req, &len);
    if (len >= sizeof(s->addr))
        len = sizeof(s->addr) - 1;
    memcpy(s->addr, text, len);
    s->addr[len] = '\0';
    s->fam = gh_request_parse_addr(s->addr, len, s->addr_bin);
    s->addr_key = gh_request_client_key(req, (int)s->a->ipv4_prefix, (int)s->a->ipv6_prefix,
                                        s->addr_key_buf, &s->addr_key_len);
    if (s->addr_key_len > 48)
        s->addr_key_len = 48;
    s->principal = req->auth_ok ? (req->auth_sub ? req->auth_sub : req->api_client) : NULL;
    int n = req->auth_ok && req->auth_sub ? snprintf(s->client, sizeof(s->client), "sub:%s", req->auth_sub)
            : req->auth_ok && req->api_client
                ? snprintf(s->client, sizeof(s->client), "key:%s", req->api_client)
                : snprintf(s->client, sizeof(s->client), "ip:%s", s->addr);
    s->client_len = n < 0 ? 0 : (size_t)n >= sizeof(s->client) ? sizeof(s->client) - 1 : (size_t)n;
}

void gh_anomaly_request(gh_services *svc, const gh_request *req)
{
    const gh_anomaly_conf *a = &req->config->anomaly;
    if (!a->table)
        return;
    seen s = {.svc = svc, .req = req, .a = a, .t = a->table, .now_us = (int64_t)gh_now_us()};
    identify(&s);
    static void (*const feed[GH_ANOM_DETECTORS])(const seen *) = {
        [GH_DETECT_ERROR_RATE] = error_rate,
        [GH_DETECT_ENUMERATION] = enumeration,
        [GH_DETECT_CREDENTIAL_STUFFING] = credential_stuffing,
        [GH_DETECT_TOKEN_SHARING] = token_sharing,
        [GH_DETECT_RATE_SPIKE] = rate_spike,
        [GH_DETECT_UNUSUAL_METHOD] = unusual_method,
    };
    for (unsigned d = 0; d < GH_ANOM_DETECTORS; d++)
        if (judged(&s, d))
            feed[d](&s);
}
