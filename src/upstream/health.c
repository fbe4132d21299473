/* Active health checks: one probe per endpoint state, each with one timer that waits for the
 * next check (interval plus jitter, counted from the end of the previous check) and, for a TCP
 * check, bounds the connect. HTTP checks go through libcurl on the control loop, to the
 * endpoint's resolved address with the URL's host kept for SNI and certificate checks, with the
 * upstream's TLS files; a TCP check connects and closes. Streaks of passes and failures turn
 * into verdicts in the shared state, which the workers read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/list.h"
#include "observe/events.h"
#include "upstream/health.h"

/* A check's answer is read only this far (what follows is dropped with the connection). */
#define GH_HC_BODY_MAX 4096

typedef struct probe probe;

/* A TCP check's connection: it may outlive its probe (uv_close is asynchronous). */
typedef struct tcp_check {
    uv_tcp_t tcp;
    uv_connect_t connect;
    probe *p; /* NULL once the probe gave up on it */
} tcp_check;

struct probe {
    gh_http_call call; /* first: the client hands it back */
    gh_link link;
    gh_health_checker *hc;
    gh_endpoint_state *state;   /* what identifies the probe across reloads */
    const gh_upstream_conf *up; /* in hc->cfg */
    const gh_endpoint_conf *ep; /* in hc->cfg */
    gh_config *in_flight;       /* the snapshot a running check was set up from (a reference) */
    uv_timer_t timer;
    tcp_check *tcp;    /* a TCP check running */
    bool http_running; /* an HTTP check running, with its lists: */
    struct curl_slist *headers, *connect_to;
    uint64_t started_ns;
    uint32_t passes, fails; /* in a row */
    bool seen;              /* kept by the update in progress */
};

struct gh_health_checker {
    uv_loop_t *loop;
    gh_http_client *http;
    gh_config *cfg; /* the snapshot probes point into (a reference) */
    gh_list probes;
    uint64_t rng; /* xorshift64 state: this process's jitter */
};

static uint64_t next_random(gh_health_checker *hc)
{
    uint64_t x = hc->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return hc->rng = x;
}

static void start_check(uv_timer_t *t);

/* The next check after delay_ms, plus up to the upstream's jitter at random. */
static void schedule(probe *p, uint64_t delay_ms)
{
    uint64_t jitter = p->up->health.jitter_ms;
    if (jitter)
        delay_ms += next_random(p->hc) % (jitter + 1);
    uv_timer_start(&p->timer, start_check, delay_ms, 0);
}

/* ,"upstream":"…","endpoint":"…" then the reason when there is one. */
static void event_fields(const probe *p, const char *reason, char *out, size_t cap)
{
    gh_sbuf b = gh_sbuf_make(out, cap - 1);
    GH_SBUF_LIT(&b, ",\"upstream\":");
    gh_sbuf_json_str(&b, p->up->name, strlen(p->up->name));
    GH_SBUF_LIT(&b, ",\"endpoint\":");
    gh_sbuf_json_str(&b, p->ep->label, strlen(p->ep->label));
    if (reason) {
        GH_SBUF_LIT(&b, ",\"reason\":");
        gh_sbuf_json_str(&b, reason, strlen(reason));
    }
    out[b.len] = '\0';
}

/* A streak long enough turns into a verdict. Up is recorded on every pass once the streak is
 * long enough, since it also ends a passive ejection (the endpoint proved itself). Only a change
 * from down, or to down, is an event: an unknown endpoint found up at start is the expected. */
static void judge(probe *p, bool passed, const char *reason)
{
    const gh_health_conf *h = &p->up->health;
    uint64_t now = gh_now_us();
    int was = atomic_load(&p->state->health);
    char fields[512];
    if (passed) {
        p->fails = 0;
        if (p->passes < UINT32_MAX)
            p->passes++;
        if (p->passes >= h->healthy_after && gh_endpoint_checked(p->state, GH_HEALTH_UP, now) &&
            was == GH_HEALTH_DOWN) {
            event_fields(p, NULL, fields, sizeof(fields));
            gh_event("info", "endpoint_healthy",
                     "endpoint passed its health checks: back in rotation", fields);
        }
        return;
    }
    p->passes = 0;
    if (p->fails < UINT32_MAX)
        p->fails++;
    if (p->fails >= h->unhealthy_after && was != GH_HEALTH_DOWN &&
        gh_endpoint_checked(p->state, GH_HEALTH_DOWN, now)) {
        event_fields(p, reason, fields, sizeof(fields));
        gh_event("warn", "endpoint_unhealthy", "endpoint failed its health checks: out of rotation",
                 fields);
    }
}

/* A check ended: counted, judged, and the next one scheduled. */
static void check_ended(probe *p, bool passed, const char *reason)
{
    uint64_t us = (uv_hrtime() - p->started_ns) / 1000;
    atomic_fetch_add(passed ? &p->state->checks_passed : &p->state->checks_failed, 1);
    atomic_fetch_add(&p->state->check_us_total, us);
    gh_config_release(p->in_flight);
    p->in_flight = NULL;
    judge(p, passed, reason);
    schedule(p, p->up->health.interval_ms);
}

/* ---- TCP: connect, then close ---- */

static void free_tcp(uv_handle_t *h)
{
    free(h->data);
}

static void end_tcp(probe *p)
{
    uv_timer_stop(&p->timer);
    p->tcp->p = NULL;
    uv_close((uv_handle_t *)&p->tcp->tcp, free_tcp);
    p->tcp = NULL;
}

static void on_tcp_connect(uv_connect_t *req, int status)
{
    tcp_check *t = req->data;
    probe *p = t->p;
    if (!p)
        return; /* given up: the close frees it */
    end_tcp(p);
    char reason[96];
    if (status == UV_ECONNREFUSED)
        snprintf(reason, sizeof(reason), "connect refused");
    else if (status != 0)
        snprintf(reason, sizeof(reason), "connect failed: %s", uv_strerror(status));
    check_ended(p, status == 0, status == 0 ? NULL : reason);
}

static void on_tcp_timeout(uv_timer_t *timer)
{
    probe *p = timer->data;
    end_tcp(p);
    check_ended(p, false, "timeout");
}

static int start_tcp(probe *p)
{
    tcp_check *t = calloc(1, sizeof(*t));
    if (!t || uv_tcp_init(p->hc->loop, &t->tcp) != 0) {
        free(t);
        return -1;
    }
    t->tcp.data = t;
    t->connect.data = t;
    t->p = p;
    p->tcp = t;
    if (uv_tcp_connect(&t->connect, &t->tcp, (const struct sockaddr *)&p->ep->addr.ss,
                       on_tcp_connect) != 0) {
        end_tcp(p);
        return -1;
    }
    uv_timer_start(&p->timer, on_tcp_timeout, p->up->health.timeout_ms, 0);
    return 0;
}

/* ---- HTTP: GET path, judged by the status ---- */

static bool expected(const gh_health_conf *h, long status)
{
    for (size_t i = 0; i < h->nexpect; i++)
        if (status >= h->expect[i].lo && status <= h->expect[i].hi)
            return true;
    return false;
}

/* Why a transfer that got no status failed, in the words an operator looks for. */
static void http_failure(const gh_http_call *call, CURLcode result, char *out, size_t cap)
{
    long os_errno = 0;
    curl_easy_getinfo(call->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (result == CURLE_OPERATION_TIMEDOUT)
        snprintf(out, cap, "timeout");
    else if (result == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
        snprintf(out, cap, "connect refused");
    else if (result == CURLE_COULDNT_CONNECT)
        snprintf(out, cap, "connect failed: %s", os_errno ? strerror((int)os_errno) : "unknown");
    else if (result == CURLE_SSL_CONNECT_ERROR || result == CURLE_PEER_FAILED_VERIFICATION ||
             result == CURLE_SSL_CERTPROBLEM || result == CURLE_SSL_CACERT_BADFILE)
        snprintf(out, cap, "tls: %s", gh_http_call_failure(call, result));
    else
        snprintf(out, cap, "%s", gh_http_call_failure(call, result));
}

static void end_http(probe *p)
{
    gh_http_call_reset(&p->call);
    curl_slist_free_all(p->headers);
    curl_slist_free_all(p->connect_to);
    p->headers = p->connect_to = NULL;
    p->http_running = false;
}

static void on_http_done(gh_http_call *call, CURLcode result)
{
    probe *p = (probe *)call;
    long status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    /* An answer longer than the check reads still has its status. */
    bool answered =
        result == CURLE_OK || (status > 0 && (call->too_big || result == CURLE_FILESIZE_EXCEEDED));
    char reason[300];
    if (!answered)
        http_failure(call, result, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "status %ld", status);
    bool passed = answered && expected(&p->up->health, status);
    end_http(p);
    check_ended(p, passed, reason);
}

static int endpoint_port(const gh_endpoint_conf *e)
{
    const struct sockaddr *sa = (const struct sockaddr *)&e->addr.ss;
    return sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
                                     : ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

/* "::ip:port": every connection of the transfer goes to the endpoint's resolved address. */
static void connect_to(const gh_endpoint_conf *e, char *out, size_t cap)
{
    char ip[64] = "";
    const struct sockaddr *sa = (const struct sockaddr *)&e->addr.ss;
    bool v6 = sa->sa_family == AF_INET6;
    if (v6)
        uv_ip6_name((const struct sockaddr_in6 *)sa, ip, sizeof(ip));
    else
        uv_ip4_name((const struct sockaddr_in *)sa, ip, sizeof(ip));
    snprintf(out, cap, "::%s%s%s:%d", v6 ? "[" : "", ip, v6 ? "]" : "", endpoint_port(e));
}

/* The same TLS as the upstream's traffic: its CAs (or the system's), its client certificate,
 * its server name, TLS 1.2 at least, verification off only where the upstream says so. */
static void http_tls(CURL *easy, const gh_upstream_conf *u)
{
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (u->tls_cert_file) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, u->tls_cert_file);
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(easy, CURLOPT_SSLKEY, u->tls_key_file);
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (u->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static int start_http(probe *p)
{
    const gh_upstream_conf *u = p->up;
    const gh_endpoint_conf *e = p->ep;
    const gh_health_conf *h = &u->health;
    const char *name = e->tls && u->server_name ? u->server_name : e->host;
    char url[1400], to[96], host[320];
    bool v6 = strchr(name, ':') != NULL; /* an IPv6 literal goes in brackets */
    snprintf(url, sizeof(url), "%s://%s%s%s:%d%s", e->tls ? "https" : "http", v6 ? "[" : "", name,
             v6 ? "]" : "", endpoint_port(e), h->path);
    if (gh_http_call_init(&p->call, url, e->tls ? u->tls_ca_file : NULL, (long)h->timeout_ms,
                          GH_HC_BODY_MAX) != 0)
        return -1;
    connect_to(e, to, sizeof(to));
    snprintf(host, sizeof(host), "Host: %s", h->host ? h->host : e->authority);
    p->connect_to = curl_slist_append(NULL, to);
    p->headers = curl_slist_append(NULL, host);
    CURL *easy = p->call.easy;
    p->call.done = on_http_done;
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, p->connect_to);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, p->headers);
    /* Each check opens its own connection: a kept one would say nothing of the next. */
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    if (e->tls)
        http_tls(easy, u);
    p->http_running = true;
    if (!p->connect_to || !p->headers || gh_http_client_add(p->hc->http, &p->call) != 0) {
        end_http(p);
        return -1;
    }
    return 0;
}

/* ---- scheduling and updates ---- */

static void start_check(uv_timer_t *t)
{
    probe *p = t->data;
    gh_config_ref(p->hc->cfg);
    p->in_flight = p->hc->cfg;
    p->started_ns = uv_hrtime();
    int rc = p->up->health.kind == GH_HC_TCP ? start_tcp(p) : start_http(p);
    if (rc != 0)
        check_ended(p, false, "cannot start the check (out of memory)");
}

static void free_probe(uv_handle_t *h)
{
    free(h->data);
}

/* Stops a probe: what is in flight is abandoned without a verdict. */
static void drop_probe(gh_health_checker *hc, probe *p)
{
    gh_list_unlink(&hc->probes, &p->link);
    if (p->tcp)
        end_tcp(p);
    if (p->http_running) {
        gh_http_client_remove(hc->http, &p->call);
        end_http(p);
    }
    gh_config_release(p->in_flight);
    uv_close((uv_handle_t *)&p->timer, free_probe);
}

static probe *find_probe(gh_health_checker *hc, const gh_endpoint_state *state)
{
    for (probe *p = GH_LIST_FIRST(&hc->probes, probe, link); p; p = GH_LIST_NEXT(p, probe, link))
        if (p->state == state)
            return p;
    return NULL;
}

/* The probe of one endpoint of cfg: the one it had, pointed at the new snapshot, or a new one
 * whose first check comes within the jitter. Two endpoints with one URL share a probe. */
static void keep_or_add(gh_health_checker *hc, const gh_upstream_conf *u, const gh_endpoint_conf *e)
{
    probe *p = find_probe(hc, e->state);
    if (p && p->seen)
        return;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return; /* unchecked: it stays as it was, unknown */
        p->hc = hc;
        p->state = e->state;
        uv_timer_init(hc->loop, &p->timer);
        uv_unref((uv_handle_t *)&p->timer);
        p->timer.data = p;
        gh_list_push_back(&hc->probes, &p->link);
        p->up = u;
        p->ep = e;
        schedule(p, 0);
    }
    p->up = u;
    p->ep = e;
    p->seen = true;
}

void gh_health_update(gh_health_checker *hc, gh_config *cfg)
{
    gh_config_ref(cfg);
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        for (size_t j = 0; u->health.kind != GH_HC_NONE && j < u->nendpoints; j++)
            if (u->endpoints[j].state)
                keep_or_add(hc, u, &u->endpoints[j]);
    }
    uint64_t now = gh_now_us();
    probe *p = GH_LIST_FIRST(&hc->probes, probe, link);
    while (p) {
        probe *next = GH_LIST_NEXT(p, probe, link);
        if (!p->seen) {
            /* No longer checked: its last verdict must not keep it out of rotation, nor come
             * back with it if the endpoint is configured again. */
            gh_endpoint_checked(p->state, GH_HEALTH_UNKNOWN, now);
            drop_probe(hc, p);
        } else {
            p->seen = false;
        }
        p = next;
    }
    gh_config_release(hc->cfg);
    hc->cfg = cfg;
}

gh_health_checker *gh_health_start(uv_loop_t *loop)
{
    gh_health_checker *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NULL;
    hc->loop = loop;
    hc->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)hc;
    if (hc->rng == 0)
        hc->rng = 0x9e3779b97f4a7c15ULL;
    if (!(hc->http = gh_http_client_start(loop, false))) {
        free(hc);
        return NULL;
    }
    return hc;
}

void gh_health_stop(gh_health_checker *hc)
{
    if (!hc)
        return;
    while (!gh_list_empty(&hc->probes))
        drop_probe(hc, GH_CONTAINER(hc->probes.first, probe, link));
    gh_http_client_stop(hc->http);
    gh_config_release(hc->cfg);
    free(hc);
}
