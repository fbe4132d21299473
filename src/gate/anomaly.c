/* The anomaly detectors: what one finished request adds to each detector's counters, and what
 * a detection does. The arithmetic is store/anomaly_sketch.c's and the shared state
 * store/anomaly_table.c's; here is what a request means to each detector. A detection is
 * reported once per (detector, key) and window, whichever worker saw it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hex.h"
#include "gate/anomaly.h"
#include "gate/client_key.h"
#include "gate/request.h"
#include "gate/security_event.h"
#include "identity/claims.h"
#include "observe/security_events.h"
#include "store/redis.h"
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

/* The detector is on and the client is not on its allow-list (the section's was asked first). */
static bool judged(const seen *s, unsigned d)
{
    const gh_detector_conf *dc = &s->a->detectors[d];
    return dc->mode != GH_DETECT_OFF && !allowed_by(&dc->allow, s);
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

/* What an event says of the request that crossed a threshold, copied: a count shared through
 * Redis comes back after the request ended. */
typedef struct about {
    char id[65];
    size_t id_len;
    char addr[64];
    char principal[128];
    bool has_principal;
    char method[33];
    char path[256];
    bool has_path;
    char trace_id[33];
} about;

static void copy_text(char *out, size_t cap, const char *v, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(out, v, len);
    out[len] = '\0';
}

static void about_of(const seen *s, about *ab)
{
    const gh_request *req = s->req;
    copy_text(ab->id, sizeof(ab->id), req->id, req->id_len);
    ab->id_len = strlen(ab->id);
    copy_text(ab->addr, sizeof(ab->addr), s->addr, strlen(s->addr));
    ab->has_principal = s->principal != NULL;
    if (s->principal)
        copy_text(ab->principal, sizeof(ab->principal), s->principal, strlen(s->principal));
    copy_text(ab->method, sizeof(ab->method), req->h1.method, req->h1.method_len);
    ab->has_path = req->path && req->path_len < sizeof(ab->path);
    if (ab->has_path)
        copy_text(ab->path, sizeof(ab->path), req->path, req->path_len);
    copy_text(ab->trace_id, sizeof(ab->trace_id), req->trace.trace_id,
              strlen(req->trace.trace_id));
}

/* A client's free text in an event: whole, or in the cut form its first EVENT_CUT_BYTES. */
#define EVENT_CUT_BYTES 64

static void text_field(gh_sbuf *b, bool cut, const char *name, const char *v, size_t len)
{
    if (cut)
        gh_sec_field_cut(b, name, v, len, EVENT_CUT_BYTES);
    else
        gh_sec_field(b, name, v, len);
}

/* The event's line; cut: every text a client wrote (its id, address, subject, the key) cut,
 * which fits GH_SEC_LINE_MAX whatever they held (escaped, a byte may take six). */
static void format_event(gh_sbuf *b, const about *ab, const finding *f, const char *reason,
                         unsigned mode, bool cut)
{
    gh_sec_line_begin(b, GH_SEC_ANOMALY_DETECTED);
    text_field(b, cut, "event.id", ab->id, ab->id_len);
    gh_sec_field(b, "event.reason", reason, strlen(reason));
    text_field(b, cut, "source.ip", ab->addr[0] ? ab->addr : NULL, strlen(ab->addr));
    text_field(b, cut, "user.id", ab->has_principal ? ab->principal : NULL, strlen(ab->principal));
    text_field(b, cut, "http.request.method", ab->method, strlen(ab->method));
    text_field(b, cut, "url.path", ab->has_path ? ab->path : NULL, strlen(ab->path));
    gh_sec_field(b, "rule.id", detector_names[f->detector], strlen(detector_names[f->detector]));
    gh_sec_field(b, "rule.ruleset", "anomaly", 7);
    gh_sec_field(b, "trace.id", ab->trace_id, strlen(ab->trace_id));
    gh_sec_field(b, "gatehouse.anomaly.mode", mode_names[mode], strlen(mode_names[mode]));
    text_field(b, cut, "gatehouse.anomaly.key", f->key_text, f->key_len < 256 ? f->key_len : 256);
    gh_sbuf_addf(b, ",\"gatehouse.anomaly.count\":%.0f,\"gatehouse.anomaly.threshold\":%llu",
                 f->count, (unsigned long long)f->threshold);
    if (cut)
        gh_sbuf_adds(b, ",\"gatehouse.event.cut\":true");
    gh_sec_line_end(b);
}

static void write_event(gh_services *svc, const about *ab, const finding *f, const char *reason,
                        unsigned mode)
{
    char line[GH_SEC_LINE_MAX];
    for (int cut = 0; cut <= 1; cut++) {
        gh_sbuf b = gh_sbuf_make(line, sizeof(line));
        format_event(&b, ab, f, reason, mode, cut);
        if (b.overflow)
            continue;
        if (cut)
            gh_sec_stream_cut(svc->sec);
        gh_sec_stream_put(svc->sec, GH_SEC_ANOMALY_DETECTED, line, b.len);
        return;
    }
    gh_sec_stream_too_long(svc->sec); /* cannot happen (the cut form is bounded): counted */
}

/* A detection, reported (claimed for its window already): counted, written, and banned in mode
 * ban, as the configuration in force says. */
static void report(gh_services *svc, const gh_config *cfg, const about *ab, const finding *f)
{
    const gh_detector_conf *dc = &cfg->anomaly.detectors[f->detector];
    gh_anom_table *t = cfg->anomaly.table;
    unsigned mode = dc->mode;
    if (mode == GH_DETECT_OFF || !t)
        return;
    atomic_fetch_add_explicit(&t->detections[f->detector][mode], 1, memory_order_relaxed);
    char reason[256];
    snprintf(reason, sizeof(reason), "%s: %.0f %s in %llu ms (threshold %llu)",
             detector_names[f->detector], f->count, f->what,
             (unsigned long long)dc->window_ms, (unsigned long long)f->threshold);
    if (gh_security_stream_on(svc, cfg))
        write_event(svc, ab, f, reason, mode);
    /* Mode ban reaches the ban table only through the registry's actions. Until they are
     * wired (ban NULL), a detector in mode ban logs and counts as above, and bans nobody. */
    const gh_detect_actions *act = t->actions;
    if (mode == GH_DETECT_BAN && act && act->ban)
        act->ban(act->ctx, f->key_text, f->key_len, detector_names[f->detector], reason,
                 (int64_t)time(NULL));
}

/* An address client is reported under the key the ban table checks at the door (its own
 * prefixes, bans.ipv4_prefix and ipv6_prefix), so that a ban in mode ban hits it and an
 * operator can lift it by the key the event names. */
static finding as_ban_key(const seen *s, const finding *f, char *buf, size_t cap)
{
    finding g = *f;
    if (f->key_len < 3 || memcmp(f->key_text, "ip:", 3) != 0)
        return g;
    const gh_config *cfg = s->req->config;
    size_t n = gh_client_address_key(s->req, cfg->bans.ipv4_prefix, cfg->bans.ipv6_prefix, buf, cap);
    if (n) {
        g.key_text = buf;
        g.key_len = n;
    }
    return g;
}

/* The threshold was crossed here: report it once per window. */
static void detect(const seen *s, const unsigned char key[16], const finding *f)
{
    if (!gh_anom_claim(s->t, key, window_of(s, f->detector)))
        return; /* reported already in this window */
    about ab;
    about_of(s, &ab);
    char buf[192];
    finding g = as_ban_key(s, f, buf, sizeof(buf));
    report(s->svc, s->req->config, &ab, &g);
}

/* With anomaly.store: redis, a distinct count is a HyperLogLog in Redis per (detector, key) and
 * wall-clock window, which every gateway sharing the store adds to; the one report per window
 * is a key set once. KEYS: the count, the report; ARGV: the value, the window (ms), the
 * threshold. Returns the count and whether this call reported it. */
const char gh_anomaly_shared_count_script[] =
    "redis.call('PFADD', KEYS[1], ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))\n"
    "local n = redis.call('PFCOUNT', KEYS[1])\n"
    "local first = 0\n"
    "if n >= tonumber(ARGV[3]) and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then\n"
    "  first = 1\n"
    "end\n"
    "return {n, first}\n";

/* Its SHA-1, what EVALSHA names it by: the script goes whole only when the server lacks it
 * (NOSCRIPT, after a restart or SCRIPT FLUSH), not with every request. tests/unit/test_anomaly.c
 * checks it against the text. */
const char gh_anomaly_shared_count_sha1[] = "94c42a45b1c648428a9c024bb810f9ed8669491b";

/* Commands in flight to Redis for shared counts, every worker together: beyond it, the local
 * table judges (a slow store must not pile up memory). */
#define SHARED_IN_FLIGHT_MAX 4096

typedef struct shared_count {
    gh_services *svc;
    gh_anom_registry *registry;
    unsigned detector;
    bool second; /* the detector's second threshold (credential_stuffing's max_addresses) */
    bool whole;  /* sent with EVAL, the script's text (after a NOSCRIPT) */
    const char *what;
    char key_text[192];
    size_t key_len;
    about ab;
    /* the call's keys and arguments, kept to send it again whole after a NOSCRIPT */
    char count_key[128], report_key[144], member[17], window_ms[24], threshold[24];
} shared_count;

static void on_shared_count(void *privdata, redisReply *reply);

/* Writes the call: EVALSHA, or EVAL with the script's text once the server said it lacks it. */
static bool send_shared_count(shared_count *c, const gh_redis_conf *store)
{
    const char *argv[] = {c->whole ? "EVAL" : "EVALSHA",
                          c->whole ? gh_anomaly_shared_count_script : gh_anomaly_shared_count_sha1,
                          "2", c->count_key, c->report_key, c->member, c->window_ms, c->threshold};
    return store && gh_redis_call(&c->svc->redis, store, 8, argv, on_shared_count, c);
}

/* The server lost the script (a restart, SCRIPT FLUSH): the same call again, whole, once. */
static bool again_whole(shared_count *c, const redisReply *reply)
{
    if (c->whole || !reply || reply->type != REDIS_REPLY_ERROR || !reply->str ||
        strncmp(reply->str, "NOSCRIPT", 8) != 0)
        return false;
    c->whole = true;
    return send_shared_count(c, c->svc->snapshots.config->redis);
}

static void on_shared_count(void *privdata, redisReply *reply)
{
    shared_count *c = privdata;
    if (again_whole(c, reply))
        return; /* still in flight */
    atomic_fetch_sub(&c->registry->redis_in_flight, 1);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER && reply->element[1]->integer == 1) {
        const gh_config *cfg = c->svc->snapshots.config; /* in force now */
        const gh_detector_conf *dc = &cfg->anomaly.detectors[c->detector];
        report(c->svc, cfg, &c->ab,
               &(finding){c->detector, c->key_text, c->key_len, (double)reply->element[0]->integer,
                          c->second ? dc->second : dc->limit, c->what});
    }
    free(c);
}

/* 16 hex digits of SHA-256(data): names alike on every gateway, and no credential leaves. */
static void digest_hex(const seen *s, const void *data, size_t len, char out[17])
{
    gh_stage_tools *t = &s->svc->stage_tools;
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestInit_ex2(t->md_ctx, t->sha256, NULL);
    EVP_DigestUpdate(t->md_ctx, data, len);
    EVP_DigestFinal_ex(t->md_ctx, md, &n);
    gh_hex_encode(md, 8, out);
    out[16] = '\0';
}

/* 16 hex digits naming a credential or token: SHA-256 when the name goes to Redis (alike on
 * every gateway), else the table's keyed hash, several times cheaper for every request. */
static void value_id(const seen *s, const void *data, size_t len, char out[17])
{
    if (s->a->store == GH_ANOM_STORE_REDIS) {
        digest_hex(s, data, len, out);
        return;
    }
    uint64_t h = gh_anom_value_hash(s->t, data, len);
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(h >> (56 - 8 * i));
    gh_hex_encode(be, 8, out);
    out[16] = '\0';
}

/* Adds value to the shared distinct count of (d, text); true when it was sent (the decision
 * comes with the answer), false when the local table is to judge (store local, Redis down, too
 * much in flight). */
static bool shared_distinct(const seen *s, unsigned d, const char *text, size_t len,
                            const void *value, size_t vlen, bool second, const finding *f)
{
    const gh_config *cfg = s->req->config;
    const gh_anomaly_conf *a = s->a;
    if (a->store != GH_ANOM_STORE_REDIS || !cfg->redis || !a->registry)
        return false;
    const gh_detector_conf *dc = &a->detectors[d];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long window = ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) / (long long)dc->window_ms;
    /* A value this gateway added in this window already cannot move the count: whoever adds
     * the value that crosses the threshold reports it. (A command Redis then fails loses that
     * value from the count for the rest of the window.) */
    uint64_t fp = gh_anom_shared_fingerprint(s->t, d, text, len, value, vlen, window);
    if (!gh_anom_shared_note(s->t, fp))
        return true;
    if (atomic_fetch_add(&a->registry->redis_in_flight, 1) >= SHARED_IN_FLIGHT_MAX) {
        atomic_fetch_sub(&a->registry->redis_in_flight, 1);
        gh_anom_shared_unnote(s->t, fp);
        return false;
    }
    shared_count *c = calloc(1, sizeof(*c));
    if (!c) {
        atomic_fetch_sub(&a->registry->redis_in_flight, 1);
        gh_anom_shared_unnote(s->t, fp);
        return false;
    }
    *c = (shared_count){.svc = s->svc, .registry = a->registry, .detector = d, .second = second,
                        .what = f->what};
    char buf[192];
    finding g = as_ban_key(s, f, buf, sizeof(buf));
    copy_text(c->key_text, sizeof(c->key_text), g.key_text, g.key_len);
    c->key_len = strlen(c->key_text);
    about_of(s, &c->ab);
    char name[17];
    char named[256];
    int n = snprintf(named, sizeof(named), "%u:%.*s", d, (int)len, text);
    digest_hex(s, named, n < 0 ? 0 : (size_t)n >= sizeof(named) ? sizeof(named) - 1 : (size_t)n,
               name);
    digest_hex(s, value, vlen, c->member);
    snprintf(c->count_key, sizeof(c->count_key), "gatehouse:anomaly:%s:%lld:%s",
             detector_names[d], window, name);
    snprintf(c->report_key, sizeof(c->report_key), "%s:reported", c->count_key);
    snprintf(c->window_ms, sizeof(c->window_ms), "%llu", (unsigned long long)dc->window_ms);
    snprintf(c->threshold, sizeof(c->threshold), "%llu",
             (unsigned long long)(second ? dc->second : dc->limit));
    if (!send_shared_count(c, cfg->redis)) {
        atomic_fetch_sub(&a->registry->redis_in_flight, 1);
        gh_anom_shared_unnote(s->t, fp);
        free(c);
        return false;
    }
    return true;
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
        gh_sbuf t = gh_sbuf_make(text, sizeof(text));
        GH_SBUF_LIT(&t, "route:");
        gh_sbuf_add_u64(&t, (unsigned long long)s->svc->worker_id);
        GH_SBUF_LIT(&t, ":");
        gh_sbuf_adds(&t, route->name);
        observe(s, GH_DETECT_ERROR_RATE, text, t.len, &add, route_key, &r);
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
    /* the value: the route and its parameters, as bytes alike on every gateway */
    char value[512];
    gh_sbuf v = gh_sbuf_make(value, sizeof(value));
    gh_sbuf_adds(&v, route->name);
    for (size_t i = 0; i < req->match.nparams; i++) {
        GH_SBUF_LIT(&v, "/");
        gh_sbuf_add(&v, req->match.params[i].value, req->match.params[i].value_len);
    }
    size_t vlen = v.overflow ? sizeof(value) : v.len;
    int st = req->status;
    gh_anom_add add = {.requests = 1, .refused = st == 401 || st == 403 || st == 404,
                       .has_value = true, .value_hash = gh_anom_value_hash(s->t, value, vlen)};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_ENUMERATION, s->client, s->client_len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_ENUMERATION];
    double distinct = gh_hll_estimate(&e.distinct);
    finding values = {GH_DETECT_ENUMERATION, s->client, s->client_len, distinct, dc->limit,
                      "distinct path parameter values"};
    /* shared: the distinct values across gateways; the refusals stay this gateway's */
    bool shared = shared_distinct(s, GH_DETECT_ENUMERATION, s->client, s->client_len, value, vlen,
                                  false, &values);
    if (!shared && gh_count_fires(distinct, (uint32_t)dc->limit))
        detect(s, key, &values);
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
    char cred_id[17]; /* the credential's digest: no credential is kept or sent */
    value_id(s, cred->value, cred->value_len, cred_id);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_CREDENTIAL_STUFFING];
    unsigned char key[16];
    gh_anom_entry e;
    char text[64], who[80];
    text[0] = 'a';
    memcpy(text + 1, s->addr_key, s->addr_key_len);
    gh_anom_add by_addr = {.requests = 1, .has_value = true,
                           .value_hash = gh_anom_value_hash(s->t, cred_id, 16)};
    observe(s, GH_DETECT_CREDENTIAL_STUFFING, text, 1 + s->addr_key_len, &by_addr, key, &e);
    size_t len = gh_client_address_key(req, (int)s->a->ipv4_prefix, (int)s->a->ipv6_prefix, who,
                                       sizeof(who));
    finding f = {GH_DETECT_CREDENTIAL_STUFFING, who, len,
                 gh_hll_estimate(&e.distinct), dc->limit,
                 "distinct failing credentials from one address"};
    if (!shared_distinct(s, GH_DETECT_CREDENTIAL_STUFFING, text, 1 + s->addr_key_len, cred_id, 16,
                         false, &f) &&
        gh_count_fires(f.count, (uint32_t)dc->limit))
        detect(s, key, &f);
    int tl = snprintf(text, sizeof(text), "c%s", cred_id);
    gh_anom_add by_cred = {.requests = 1, .has_value = true,
                           .value_hash = gh_anom_value_hash(s->t, s->addr_key, s->addr_key_len)};
    observe(s, GH_DETECT_CREDENTIAL_STUFFING, text, (size_t)tl, &by_cred, key, &e);
    len = (size_t)snprintf(who, sizeof(who), "credential:%s", cred_id);
    f = (finding){GH_DETECT_CREDENTIAL_STUFFING, who, len,
                  gh_hll_estimate(&e.distinct), dc->second, "addresses failing with one credential"};
    if (!shared_distinct(s, GH_DETECT_CREDENTIAL_STUFFING, text, (size_t)tl, s->addr_key,
                         s->addr_key_len, true, &f) &&
        gh_count_fires(f.count, (uint32_t)dc->second))
        detect(s, key, &f);
}

/* token_sharing: one accepted bearer token (its jti, else a digest of it) from many addresses. */
static void token_sharing(const seen *s)
{
    const gh_request *req = s->req;
    if (!req->auth_ok || !req->claims)
        return; /* only tokens carry claims: an API key is its client's to share */
    char text[192], digest[17];
    int tl;
    const char *jti = gh_claims_get(req->claims, req->claims_len, "jti");
    const gh_h1_header *cred = jti ? NULL : credential_of(req);
    if (jti) {
        tl = snprintf(text, sizeof(text), "jti:%s", jti);
    } else if (cred) {
        value_id(s, cred->value, cred->value_len, digest);
        tl = snprintf(text, sizeof(text), "tok:%s", digest);
    } else {
        return;
    }
    size_t len = tl < 0 ? 0 : (size_t)tl >= sizeof(text) ? sizeof(text) - 1 : (size_t)tl;
    gh_anom_add add = {.requests = 1, .has_value = true,
                       .value_hash = gh_anom_value_hash(s->t, s->addr_key, s->addr_key_len)};
    unsigned char key[16];
    gh_anom_entry e;
    observe(s, GH_DETECT_TOKEN_SHARING, text, len, &add, key, &e);
    const gh_detector_conf *dc = &s->a->detectors[GH_DETECT_TOKEN_SHARING];
    finding f = {GH_DETECT_TOKEN_SHARING, s->client, s->client_len, gh_hll_estimate(&e.distinct),
                 dc->limit, "addresses using one token"};
    if (!shared_distinct(s, GH_DETECT_TOKEN_SHARING, text, len, s->addr_key, s->addr_key_len,
                         false, &f) &&
        gh_count_fires(f.count, (uint32_t)dc->limit))
        detect(s, key, &f);
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
    s->addr_key = gh_client_address_bits(req, (int)s->a->ipv4_prefix, (int)s->a->ipv6_prefix,
                                        s->addr_key_buf, &s->addr_key_len);
    if (s->addr_key_len > 48)
        s->addr_key_len = 48;
    s->principal = req->auth_ok ? (req->auth_sub ? req->auth_sub : req->api_client) : NULL;
    /* the key the ban table names a client by (gate/client_key.h): what a ban in mode ban hits */
    s->client_len = gh_client_key(req, (int)s->a->ipv4_prefix, (int)s->a->ipv6_prefix, s->client,
                                  sizeof(s->client));
    if (!s->client_len) /* an identity too long for a key: the address names the client */
        s->client_len = gh_client_address_key(req, (int)s->a->ipv4_prefix,
                                              (int)s->a->ipv6_prefix, s->client, sizeof(s->client));
}

void gh_anomaly_request(gh_services *svc, const gh_request *req)
{
    const gh_anomaly_conf *a = &req->config->anomaly;
    if (!a->table)
        return;
    seen s = {.svc = svc, .req = req, .a = a, .t = a->table, .now_us = (int64_t)gh_now_us()};
    identify(&s);
    if (allowed_by(&a->allow, &s))
        return;
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
