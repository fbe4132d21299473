#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/json.h"
#include "identity/jwks_fetch.h"
#include "identity/remote_url.h"
#include "observe/events.h"

#define GH_FETCH_TICK_MS 250

struct gh_jwks_fetcher {
    uv_loop_t *loop;
    gh_key_registry *reg;
    gh_http_client *http;
    struct curl_slist *accept;
    uv_timer_t tick; /* schedules refreshes */
    uv_async_t poke; /* a worker wants keys now */
    int open_handles;
};

/* One HTTP request of an attempt: the discovery document, then the key set. */
typedef struct transfer {
    gh_http_call call; /* first: the client hands it back */
    gh_jwks_fetcher *f;
    gh_key_source *src;
    bool discovery;
    bool scheduled; /* a refresh, not a refetch asked for by a worker */
    long max_age;   /* Cache-Control max-age in seconds, -1 when absent */
} transfer;

/* A control-thread event about s; fields: more JSON members, built by the caller. */
static void event_for(const gh_key_source *s, const char *level, const char *event,
                      const char *message, gh_sbuf *more)
{
    char fields[1024];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    GH_SBUF_LIT(&b, ",\"provider\":");
    gh_sbuf_json_str(&b, s->def.provider, strlen(s->def.provider));
    if (more)
        gh_sbuf_add(&b, more->p, more->len);
    gh_event_built(level, event, message, &b);
}

/* Cache-Control: max-age=N (no-store and no-cache count as 0). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    if (n < 14 || strncasecmp(data, "cache-control:", 14) != 0)
        return n;
    char line[512];
    size_t l = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, data, l);
    line[l] = '\0';
    for (char *p = line; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    char *m = strstr(line, "max-age=");
    if (m) {
        long v = strtol(m + 8, NULL, 10);
        t->max_age = v >= 0 ? v : 0;
    } else if (strstr(line, "no-store") || strstr(line, "no-cache")) {
        t->max_age = 0;
    }
    return n;
}

static void transfer_free(transfer *t)
{
    gh_http_client_remove(t->f->http, &t->call);
    gh_http_call_reset(&t->call);
    free(t);
}

static void finished(gh_http_call *call, CURLcode result);

static int start_request(gh_jwks_fetcher *f, gh_key_source *s, const char *url, bool discovery,
                         bool scheduled)
{
    transfer *t = calloc(1, sizeof(*t));
    if (!t || gh_http_call_init(&t->call, url, s->def.ca_file, (long)s->def.timeout_ms,
                                GH_JWKS_FETCH_MAX_BYTES) != 0) {
        free(t);
        return -1;
    }
    t->call.done = finished;
    t->f = f;
    t->src = s;
    t->discovery = discovery;
    t->scheduled = scheduled;
    t->max_age = -1;
    curl_easy_setopt(t->call.easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t->call.easy, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(t->call.easy, CURLOPT_HTTPHEADER, f->accept);
    if (gh_http_client_add(f->http, &t->call) != 0) {
        gh_http_call_reset(&t->call);
        free(t);
        return -1;
    }
    s->transfer = t;
    return 0;
}

/* The attempt is over: the source is free for the next one and the waiting requests wake. */
static void attempt_end(gh_key_source *s, int64_t next_due_ms)
{
    s->transfer = NULL;
    s->next_due_ms = next_due_ms;
    atomic_store(&s->fetching, false);
    gh_key_source_attempt_done(s);
}

static void attempt_failed(gh_key_source *s, const char *why)
{
    int64_t now = gh_monotonic_ms();
    bool lost = gh_key_source_failed(s, why, now);
    bool has_keys = gh_key_source_key_count(s) > 0;
    char extra[512];
    gh_sbuf b = gh_sbuf_make(extra, sizeof(extra));
    GH_SBUF_LIT(&b, ",\"error\":");
    gh_sbuf_json_str(&b, why, strlen(why));
    event_for(s, lost || !has_keys ? "error" : "warn", "jwks_fetch_failed",
              lost       ? "key set older than max_stale dropped: requests get 503 until a fetch succeeds"
              : has_keys ? "key set fetch failed; the last good set stays in use"
                         : "key set fetch failed; the provider has no keys yet (503)",
              &b);
    attempt_end(s, now + (int64_t)s->def.min_refresh_ms);
}

static void start_attempt(gh_jwks_fetcher *f, gh_key_source *s, bool scheduled)
{
    atomic_store(&s->last_attempt_ms, gh_monotonic_ms());
    atomic_store(&s->fetching, true);
    bool discover = s->def.discovery_url && (scheduled || !s->resolved_uri);
    const char *url = discover ? s->def.discovery_url : s->def.jwks_uri ? s->def.jwks_uri : s->resolved_uri;
    if (start_request(f, s, url, discover, scheduled) != 0)
        attempt_failed(s, "cannot start an HTTP request");
}

/* The discovery document: its issuer must be the configured one, exactly (OpenID Connect
 * Discovery 1.0 §4.3), and its jwks_uri must be one the gateway may fetch. */
static const char *take_discovery(gh_key_source *s, const transfer *t)
{
    json_error_t jerr;
    json_t *doc =
        json_loadb(t->call.answer.p ? t->call.answer.p : "", t->call.answer.len, 0, &jerr);
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    const char *uri = json_string_value(json_object_get(doc, "jwks_uri"));
    const char *why = !json_is_object(doc)                  ? "the discovery document is not a JSON object"
                      : !iss || strcmp(iss, s->def.issuer) != 0 ? "the discovery document names another issuer"
                      : !uri                                ? "the discovery document has no jwks_uri"
                      : !gh_remote_url_allowed(uri)         ? "the discovery document's jwks_uri is not https"
                                                            : NULL;
    if (!why) {
        char *copy = strdup(uri);
        if (copy) {
            free(s->resolved_uri);
            s->resolved_uri = copy;
        } else {
            why = "out of memory";
        }
    }
    json_decref(doc);
    return why;
}

static void take_key_set(gh_key_source *s, const transfer *t)
{
    int64_t now = gh_monotonic_ms();
    const char *err = NULL;
    bool changed = false;
    if (gh_key_source_publish(s, t->call.answer.p ? t->call.answer.p : "", t->call.answer.len,
                              now, &err, &changed) != 0) {
        attempt_failed(s, err);
        return;
    }
    if (changed) {
        char extra[256];
        gh_sbuf b = gh_sbuf_make(extra, sizeof(extra));
        gh_sbuf_addf(&b, ",\"keys\":%zu,\"generation\":%llu", gh_key_source_key_count(s),
                     (unsigned long long)atomic_load(&s->generation));
        if (err) {
            GH_SBUF_LIT(&b, ",\"left_out\":");
            gh_sbuf_json_str(&b, err, strlen(err));
        }
        event_for(s, "info", "jwks_updated", "key set loaded", &b);
    }
    int64_t wait = (int64_t)s->def.refresh_ms;
    if (t->max_age >= 0) {
        int64_t ma = (int64_t)t->max_age * 1000;
        wait = ma < (int64_t)s->def.min_refresh_ms ? (int64_t)s->def.min_refresh_ms
               : ma < wait                         ? ma
                                                   : wait;
    }
    attempt_end(s, now + wait);
}

static void finished(gh_http_call *call, CURLcode result)
{
    transfer *t = (transfer *)call;
    gh_jwks_fetcher *f = t->f;
    gh_key_source *s = t->src;
    long code = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    char why[64];
    const char *fail = gh_http_call_failure(call, result);
    if (fail && (call->too_big || result == CURLE_FILESIZE_EXCEEDED))
        fail = "the document is larger than 1 MiB";
    else if (!fail && result == CURLE_OK && code != 200) {
        snprintf(why, sizeof(why), "HTTP status %ld", code);
        fail = why;
    } else if (!fail && t->discovery) {
        fail = take_discovery(s, t);
    }
    bool next_step = !fail && t->discovery;
    bool scheduled = t->scheduled;
    if (fail)
        attempt_failed(s, fail);
    else if (!t->discovery)
        take_key_set(s, t);
    s->transfer = NULL;
    transfer_free(t);
    if (next_step && start_request(f, s, s->resolved_uri, false, scheduled) != 0)
        attempt_failed(s, "cannot start an HTTP request");
}

/* Starts what is due: scheduled refreshes, and refetches workers asked for once the provider's
 * cool-down has passed. A refetch asked for during the cool-down is declined, and the requests
 * that waited for it wake to the keys there are. */
static void schedule(gh_jwks_fetcher *f)
{
    gh_key_registry_prune(f->reg);
    int64_t now = gh_monotonic_ms();
    pthread_mutex_lock(&f->reg->mu);
    for (gh_key_source *s = f->reg->head; s; s = s->next) {
        if (s->transfer || atomic_load(&s->users) == 0)
            continue;
        bool wanted = atomic_exchange(&s->refetch_wanted, false);
        if (now >= s->next_due_ms) {
            start_attempt(f, s, true);
        } else if (wanted && gh_key_source_may_refetch(s, now)) {
            start_attempt(f, s, false);
        } else if (wanted) {
            atomic_fetch_add(&s->fetch_declined, 1);
            gh_key_source_attempt_done(s);
        }
    }
    pthread_mutex_unlock(&f->reg->mu);
}

static void on_tick(uv_timer_t *t)
{
    schedule(t->data);
}

static void on_poke(uv_async_t *a)
{
    schedule(a->data);
}

static void poke(void *ctx)
{
    uv_async_send(ctx);
}

gh_jwks_fetcher *gh_jwks_fetcher_start(uv_loop_t *loop, gh_key_registry *reg)
{
    gh_jwks_fetcher *f = calloc(1, sizeof(*f));
    /* Fetching never keeps the control loop alive: it ends when signals and admin are gone,
     * and the fetcher is stopped once the workers have been joined. */
    if (!f || !(f->http = gh_http_client_start(loop, false))) {
        free(f);
        return NULL;
    }
    f->loop = loop;
    f->reg = reg;
    f->accept = curl_slist_append(NULL, "Accept: application/json");
    uv_timer_init(loop, &f->tick);
    uv_async_init(loop, &f->poke, on_poke);
    f->tick.data = f->poke.data = f;
    uv_unref((uv_handle_t *)&f->tick);
    uv_unref((uv_handle_t *)&f->poke);
    f->open_handles = 2;
    reg->poke_ctx = &f->poke;
    reg->poke = poke;
    uv_timer_start(&f->tick, on_tick, 0, GH_FETCH_TICK_MS);
    return f;
}

static void closed(uv_handle_t *h)
{
    gh_jwks_fetcher *f = h->data;
    if (--f->open_handles == 0) {
        curl_slist_free_all(f->accept);
        free(f);
    }
}

void gh_jwks_fetcher_stop(gh_jwks_fetcher *f)
{
    if (!f)
        return;
    f->reg->poke = NULL;
    pthread_mutex_lock(&f->reg->mu);
    for (gh_key_source *s = f->reg->head; s; s = s->next) {
        if (s->transfer)
            transfer_free(s->transfer);
        s->transfer = NULL;
        atomic_store(&s->fetching, false);
    }
    pthread_mutex_unlock(&f->reg->mu);
    gh_http_client_stop(f->http);
    uv_close((uv_handle_t *)&f->tick, closed);
    uv_close((uv_handle_t *)&f->poke, closed);
}
