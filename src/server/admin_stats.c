/* GET /stats: the dashboard's figures, from the same sources as /status and /metrics (the
 * workers' counters, the snapshot in force, the endpoint and key source states). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "identity/keyset.h"
#include "server/admin_stats.h"
#include "server/worker.h"
#include "tls/tls_server.h"

/* Everything listed is bounded (GH_STATS_TOP clients and routes, the configuration's upstreams,
 * certificates and providers); an overflow answers NULL rather than cut JSON. */
#define GH_STATS_MAX_BYTES (1024 * 1024)
#define GH_STATS_TICK_MS 1000

/* A string the dashboard shows: its characters as they are (route names, client keys, reasons
 * may be in any script). */
static void add_str(gh_sbuf *b, const char *s)
{
    gh_sbuf_json_text(b, s ? s : "", s ? strlen(s) : 0);
}

/* Sums every worker's requests (and their latency buckets) and refusals into out. */
static void take_sample(gh_runtime *rt, gh_stats_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->at_us = gh_now_us();
    for (int w = 0; w < rt->nworkers; w++) {
        const gh_metrics *m = &rt->workers[w].svc.metrics;
        size_t n = atomic_load_explicit(&m->requests.n, memory_order_acquire);
        for (size_t i = 0; i < n; i++) {
            const gh_series *se = &m->requests.items[i];
            out->requests += atomic_load_explicit(&se->count, memory_order_relaxed);
            for (int h = 0; h < GH_HIST_BUCKETS; h++)
                out->hist[h] += atomic_load_explicit(&se->hist[h], memory_order_relaxed);
        }
        for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++)
            out->refusals[r] += atomic_load_explicit(&m->refusals[r], memory_order_relaxed);
    }
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++)
        out->refused += out->refusals[r];
}

static void on_tick(uv_timer_t *t)
{
    gh_admin_stats *s = t->data;
    take_sample(s->rt, &s->ring[s->next]);
    s->next = (s->next + 1) % GH_STATS_SAMPLES;
}

int gh_admin_stats_start(gh_admin_stats *s, uv_loop_t *loop, gh_runtime *rt)
{
    memset(s->ring, 0, sizeof(s->ring));
    s->next = 0;
    s->rt = rt;
    int r = uv_timer_init(loop, &s->timer);
    if (r != 0)
        return r;
    s->timer.data = s;
    s->started = 1;
    return uv_timer_start(&s->timer, on_tick, GH_STATS_TICK_MS, GH_STATS_TICK_MS);
}

void gh_admin_stats_stop(gh_admin_stats *s)
{
    if (s->started)
        uv_close((uv_handle_t *)&s->timer, NULL);
    s->started = 0;
}

/* The sample the rates start from: the newest at least the window old, else the oldest kept;
 * NULL before the first tick. */
static const gh_stats_sample *window_base(const gh_admin_stats *s, uint64_t now_us)
{
    const gh_stats_sample *best = NULL, *oldest = NULL;
    uint64_t window_us = (uint64_t)GH_STATS_WINDOW_S * 1000000;
    for (unsigned i = 0; i < GH_STATS_SAMPLES; i++) {
        const gh_stats_sample *c = &s->ring[i];
        if (c->at_us == 0 || c->at_us >= now_us)
            continue;
        if (!oldest || c->at_us < oldest->at_us)
            oldest = c;
        if (now_us - c->at_us >= window_us && (!best || c->at_us > best->at_us))
            best = c;
    }
    return best ? best : oldest;
}

static double per_second(unsigned long long now, unsigned long long then, double secs)
{
    return secs > 0 && now >= then ? (double)(now - then) / secs : 0.0;
}

/* "requests" and "refusals" (by reason, the reasons seen since start), totals and rates. */
static void add_traffic(gh_sbuf *b, const gh_stats_sample *now, const gh_stats_sample *base,
                        double secs)
{
    gh_sbuf_addf(b, ",\"window_s\":%.1f,\"requests\":{\"total\":%llu,\"per_second\":%.2f}",
                 secs, now->requests, per_second(now->requests, base->requests, secs));
    gh_sbuf_addf(b, ",\"refusals\":{\"total\":%llu,\"per_second\":%.2f,\"by_reason\":[",
                 now->refused, per_second(now->refused, base->refused, secs));
    bool first = true;
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++) {
        if (!now->refusals[r])
            continue;
        gh_sbuf_addf(b, "%s{\"reason\":\"%s\",\"status\":%d,\"total\":%llu,\"per_second\":%.2f}",
                     first ? "" : ",", gh_reason_slug((gh_reason)r),
                     gh_reason_status((gh_reason)r), now->refusals[r],
                     per_second(now->refusals[r], base->refusals[r], secs));
        first = false;
    }
    GH_SBUF_LIT(b, "]}");
}

/* The q-quantile of a latency histogram, in milliseconds, interpolated within its bucket; the
 * last bucket has no upper bound and answers its lower one. */
static double quantile_ms(const unsigned long long *hist, unsigned long long count, double q)
{
    double rank = q * (double)count, cum = 0;
    for (int h = 0; h < GH_HIST_BUCKETS; h++) {
        if (!hist[h] || cum + (double)hist[h] < rank) {
            cum += (double)hist[h];
            continue;
        }
        double lo = h ? gh_hist_bounds[h - 1] : 0;
        if (h == GH_HIST_BUCKETS - 1)
            return lo * 1000;
        double hi = gh_hist_bounds[h];
        return (lo + (hi - lo) * ((rank - cum) / (double)hist[h])) * 1000;
    }
    return 0;
}

/* "latency_ms": percentiles over the window when requests ended in it, else since start. */
static void add_latency(gh_sbuf *b, const gh_stats_sample *now, const gh_stats_sample *base)
{
    unsigned long long hist[GH_HIST_BUCKETS], count = 0;
    for (int h = 0; h < GH_HIST_BUCKETS; h++)
        count += hist[h] = now->hist[h] - base->hist[h];
    const char *over = "window";
    if (count == 0) {
        over = "uptime";
        for (int h = 0; h < GH_HIST_BUCKETS; h++)
            count += hist[h] = now->hist[h];
    }
    gh_sbuf_addf(b,
                 ",\"latency_ms\":{\"over\":\"%s\",\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,"
                 "\"p99\":%.3f,\"p999\":%.3f}",
                 over, count, quantile_ms(hist, count, 0.5), quantile_ms(hist, count, 0.9),
                 quantile_ms(hist, count, 0.99), quantile_ms(hist, count, 0.999));
}

typedef struct {
    const char *key; /* points into a worker's series, which live as long as the worker */
    unsigned long long count, client_errors, server_errors, refused;
} route_total;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const route_total *)a)->key, ((const route_total *)b)->key);
}

static int by_count_desc(const void *a, const void *b)
{
    unsigned long long x = ((const route_total *)a)->count, y = ((const route_total *)b)->count;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every worker's request series, one entry each (route, count by class of status); NULL when
 * out of memory, else *n entries. */
static route_total *route_series(gh_runtime *rt, size_t *n)
{
    size_t cap = 1;
    for (int w = 0; w < rt->nworkers; w++)
        cap += atomic_load_explicit(&rt->workers[w].svc.metrics.requests.n, memory_order_acquire);
    route_total *all = calloc(cap, sizeof(*all));
    *n = 0;
    for (int w = 0; all && w < rt->nworkers; w++) {
        const gh_series_table *t = &rt->workers[w].svc.metrics.requests;
        size_t ns = atomic_load_explicit(&t->n, memory_order_acquire);
        for (size_t i = 0; i < ns && *n < cap; i++) {
            const gh_series *se = &t->items[i];
            unsigned long long c = atomic_load_explicit(&se->count, memory_order_relaxed);
            route_total *r = &all[(*n)++];
            r->key = se->key;
            r->count = c;
            r->client_errors = se->code >= 400 && se->code < 500 ? c : 0;
            r->server_errors = se->code >= 500 ? c : 0;
        }
    }
    return all;
}

/* "top_routes": the routes that answered most requests since start, from the per-route
 * series /metrics shows (gatehouse_requests_total), with their 4xx and 5xx. */
static void add_top_routes(gh_sbuf *b, gh_runtime *rt)
{
    size_t n = 0, folded = 0;
    route_total *all = route_series(rt, &n);
    GH_SBUF_LIT(b, ",\"top_routes\":[");
    if (!all) {
        GH_SBUF_LIT(b, "]");
        return;
    }
    qsort(all, n, sizeof(*all), by_key);
    for (size_t i = 0; i < n; i++) {
        route_total *last = folded ? &all[folded - 1] : NULL;
        if (last && strcmp(last->key, all[i].key) == 0) {
            last->count += all[i].count;
            last->client_errors += all[i].client_errors;
            last->server_errors += all[i].server_errors;
        } else
            all[folded++] = all[i];
    }
    qsort(all, folded, sizeof(*all), by_count_desc);
    for (size_t i = 0; i < folded && i < GH_STATS_TOP; i++) {
        GH_SBUF_LIT(b, "{\"route\":");
        add_str(b, all[i].key);
        gh_sbuf_addf(b, ",\"requests\":%llu,\"client_errors\":%llu,\"server_errors\":%llu}%s",
                     all[i].count, all[i].client_errors, all[i].server_errors,
                     i + 1 < folded && i + 1 < GH_STATS_TOP ? "," : "");
    }
    GH_SBUF_LIT(b, "]");
    free(all);
}

static int client_by_count_desc(const void *a, const void *b)
{
    uint64_t x = ((const gh_top_client *)a)->count, y = ((const gh_top_client *)b)->count;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Folds one worker's top clients into all (n of them): a client busy on several workers
 * sums its counts, and so its possible errors. */
static void fold_clients(gh_top_client *all, size_t *n, const gh_top_client *c, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        size_t j = 0;
        while (j < *n && strcmp(all[j].key, c[i].key) != 0)
            j++;
        if (j == *n)
            all[(*n)++] = c[i];
        else {
            all[j].count += c[i].count;
            all[j].refused += c[i].refused;
            all[j].error += c[i].error;
        }
    }
}

/* "top_clients": the busiest client addresses now, from each worker's space-saving table
 * (counts halve every minute; "error" is how much a count may overstate). */
static void add_top_clients(gh_sbuf *b, gh_runtime *rt)
{
    size_t cap = (size_t)(rt->nworkers > 0 ? rt->nworkers : 1) * GH_TOP_CLIENTS, n = 0;
    gh_top_client *all = malloc(cap * sizeof(*all)), own[GH_TOP_CLIENTS];
    GH_SBUF_LIT(b, ",\"top_clients\":[");
    for (int w = 0; all && w < rt->nworkers; w++) {
        unsigned k = gh_top_clients_copy(&rt->workers[w].svc.metrics.clients, own);
        fold_clients(all, &n, own, k);
    }
    if (all)
        qsort(all, n, sizeof(*all), client_by_count_desc);
    for (size_t i = 0; all && i < n && i < GH_STATS_TOP; i++) {
        GH_SBUF_LIT(b, "{\"client\":");
        add_str(b, all[i].key);
        gh_sbuf_addf(b, ",\"requests\":%llu,\"refused\":%llu,\"error\":%llu}%s",
                     (unsigned long long)all[i].count, (unsigned long long)all[i].refused,
                     (unsigned long long)all[i].error, i + 1 < n && i + 1 < GH_STATS_TOP ? "," : "");
    }
    GH_SBUF_LIT(b, "]");
    free(all);
}

/* "certificates": each listener certificate in force and its days left, as
 * gatehouse_tls_certificate_expiry_days shows them. */
static void add_certificates(gh_sbuf *b, const gh_config *cfg)
{
    GH_SBUF_LIT(b, ",\"certificates\":[");
    time_t now = time(NULL);
    bool first = true;
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const gh_tls_server *t = cfg->listeners[i].tls;
        for (size_t k = 0; t && k < gh_tls_server_count(t); k++) {
            time_t end = gh_tls_server_cert_not_after(t, k);
            gh_sbuf_adds(b, first ? "{\"listener\":" : ",{\"listener\":");
            add_str(b, cfg->listeners[i].name ? cfg->listeners[i].name : cfg->listeners[i].address);
            GH_SBUF_LIT(b, ",\"certificate\":");
            add_str(b, gh_tls_server_cert_label(t, k));
            gh_sbuf_addf(b, ",\"not_after\":%lld,\"days_left\":%.2f}", (long long)end,
                         difftime(end, now) / 86400.0);
            first = false;
        }
    }
    GH_SBUF_LIT(b, "]");
}

/* "jwks": each identity provider's remote key set: keys held, the age of the last good fetch
 * (null before one), its refresh interval, fetch counts and the last error. */
static void add_jwks(gh_sbuf *b, const gh_config *cfg)
{
    GH_SBUF_LIT(b, ",\"jwks\":[");
    int64_t now = gh_monotonic_ms();
    bool first = true;
    for (size_t i = 0; i < cfg->njwt_providers; i++) {
        gh_key_source *src = cfg->jwt_providers[i].source;
        if (!src)
            continue;
        char err[GH_KEY_ERROR_MAX];
        gh_key_source_last_error(src, err, sizeof(err));
        int64_t ok_at = atomic_load(&src->last_success_ms);
        gh_sbuf_adds(b, first ? "{\"provider\":" : ",{\"provider\":");
        add_str(b, cfg->jwt_providers[i].name);
        gh_sbuf_addf(b, ",\"keys\":%zu,\"age_s\":", gh_key_source_key_count(src));
        if (ok_at >= 0)
            gh_sbuf_addf(b, "%.1f", (double)(now - ok_at) / 1000.0);
        else
            GH_SBUF_LIT(b, "null");
        gh_sbuf_addf(b, ",\"fetch_ok\":%llu,\"fetch_failed\":%llu,\"last_error\":",
                     (unsigned long long)atomic_load(&src->fetch_ok),
                     (unsigned long long)atomic_load(&src->fetch_failed));
        add_str(b, err);
        GH_SBUF_LIT(b, "}");
        first = false;
    }
    GH_SBUF_LIT(b, "]");
}

/* ,"bans_active":N,"bans":[...]: at most GH_STATS_BANS of the bans in force, latest end first
 * (GET /bans has them all). Without memory for the copy, the list is empty and the count says
 * there are some. */
static void add_bans(gh_sbuf *b, gh_runtime *rt)
{
    gh_ban_table *t = &rt->shared.bans;
    int64_t now = (int64_t)time(NULL);
    gh_ban *bans = malloc(GH_STATS_BANS * sizeof(*bans));
    size_t n = bans ? gh_bans_list(t, now, bans, GH_STATS_BANS) : 0;
    n = n < GH_STATS_BANS ? n : GH_STATS_BANS;
    gh_sbuf_addf(b, ",\"bans_active\":%llu,\"bans\":[",
                 (unsigned long long)atomic_load(&t->active));
    for (size_t i = 0; i < n; i++) {
        GH_SBUF_LIT(b, "{\"key\":");
        add_str(b, bans[i].key);
        GH_SBUF_LIT(b, ",\"detector\":");
        add_str(b, bans[i].detector);
        GH_SBUF_LIT(b, ",\"reason\":");
        add_str(b, bans[i].reason);
        gh_sbuf_addf(b, ",\"since\":%lld,\"until\":%lld,\"strikes\":%u,\"remote\":%s}%s",
                     (long long)bans[i].since, (long long)bans[i].until, bans[i].strikes,
                     bans[i].remote ? "true" : "false", i + 1 < n ? "," : "");
    }
    GH_SBUF_LIT(b, "]");
    free(bans);
}

char *gh_admin_stats_json(gh_admin_stats *s, const gh_status_facts *f, size_t *len)
{
    char *out = malloc(GH_STATS_MAX_BYTES);
    if (!out)
        return NULL;
    gh_sbuf b = gh_sbuf_make(out, GH_STATS_MAX_BYTES - 1);
    gh_runtime *rt = s->rt;
    gh_stats_sample now;
    take_sample(rt, &now);
    const gh_stats_sample *base = window_base(s, now.at_us);
    double secs = base ? (double)(now.at_us - base->at_us) / 1e6 : 0;
    gh_config *cfg = gh_runtime_config(rt);
    gh_sbuf_addf(&b,
                 "{\"version\":\"%s\",\"config_hash\":\"%s\",\"pid\":%ld,\"uptime_s\":%llu,"
                 "\"now\":%lld,\"ready\":%s,\"draining\":%s",
                 GH_VERSION, cfg->hash, (long)getpid(), (unsigned long long)f->uptime_s,
                 (long long)time(NULL), f->ready ? "true" : "false",
                 f->draining ? "true" : "false");
    add_traffic(&b, &now, base ? base : &now, secs);
    add_latency(&b, &now, base ? base : &now);
    add_top_routes(&b, rt);
    add_top_clients(&b, rt);
    add_bans(&b, rt);
    gh_admin_status_upstreams(&b, cfg);
    add_certificates(&b, cfg);
    add_jwks(&b, cfg);
    GH_SBUF_LIT(&b, "}\n");
    gh_config_release(cfg);
    if (b.overflow) {
        free(out);
        return NULL;
    }
    *len = b.len;
    return out;
}
