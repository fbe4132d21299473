#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/json.h"
#include "core/list.h"
#include "core/lookup.h"
#include "observe/events.h"
#include "server/dns_watch.h"
#include "store/balance.h"

/* Changes seen in one moment (several names, one reload) are taken together. */
#define GH_DNS_SETTLE_MS 100
/* Addresses kept of one answer; more than an upstream's endpoints can use makes the reload
 * fail, with the reason, and the running snapshot stays. */
#define GH_DNS_MAX_ADDRS GH_BALANCE_MAX_ENDPOINTS

/* One name of one upstream: "api.internal:8080" in upstreams.app. */
typedef struct dns_name {
    gh_link link;
    gh_dns_watch *dw;
    uv_timer_t timer;
    uv_async_t done;   /* its lookup ended */
    gh_lookup *lookup; /* in flight (on a thread of its own), or NULL */
    char upstream[128];
    char authority[300]; /* host:port as written, for events */
    char host[256], port[8];
    uint64_t refresh_ms;
    gh_sockaddr addrs[GH_DNS_MAX_ADDRS]; /* what the snapshot in force has, sorted */
    size_t naddrs;
    /* The answer a reload was last asked for, until a reload succeeds: a reload that refused it
     * (more addresses than fit, an error in the file) is not asked again for the same answer
     * every dns_refresh, only for another one. */
    gh_sockaddr asked[GH_DNS_MAX_ADDRS];
    size_t nasked; /* 0: none */
    bool seen;         /* in the snapshot being set */
    int open_handles;  /* timer and wake-up: the last to close frees a name that has gone */
    bool failing;      /* the last lookup failed: logged once until one succeeds */
} dns_name;

struct gh_dns_watch {
    uv_loop_t *loop;
    uv_timer_t settle;
    gh_list names;
    gh_dns_counts *counts;
    void (*changed)(void *ctx);
    void *ctx;
};

static void on_handle_closed(uv_handle_t *h)
{
    dns_name *n = h->data;
    if (--n->open_handles == 0)
        free(n);
}

static void drop(dns_name *n)
{
    gh_list_unlink(&n->dw->names, &n->link);
    gh_lookup_release(n->lookup); /* its thread ends on its own, unheard */
    n->lookup = NULL;
    uv_close((uv_handle_t *)&n->timer, on_handle_closed);
    uv_close((uv_handle_t *)&n->done, on_handle_closed);
}

static void event(const dns_name *n, const char *level, const char *name, const char *message,
                  const char *why, size_t naddrs)
{
    char fields[768];
    gh_sbuf b = gh_sbuf_make(fields, sizeof(fields));
    GH_SBUF_LIT(&b, ",\"upstream\":");
    gh_sbuf_json_str(&b, n->upstream, strlen(n->upstream));
    GH_SBUF_LIT(&b, ",\"name\":");
    gh_sbuf_json_str(&b, n->authority, strlen(n->authority));
    if (why) {
        GH_SBUF_LIT(&b, ",\"reason\":");
        gh_sbuf_json_str(&b, why, strlen(why));
    } else {
        char count[48];
        int len = snprintf(count, sizeof(count), ",\"addresses\":%zu", naddrs);
        gh_sbuf_add(&b, count, (size_t)len);
    }
    gh_event_built(level, name, message, &b);
}

static void failed(dns_name *n, const char *why)
{
    atomic_fetch_add(&n->dw->counts->failed, 1);
    if (!n->failing)
        event(n, "warn", "dns_failed", "a name did not resolve; its last addresses stay", why, 0);
    n->failing = true;
}

static void on_settled(uv_timer_t *t)
{
    gh_dns_watch *dw = t->data;
    dw->changed(dw->ctx);
}

/* Two sorted answers of at most GH_DNS_MAX_ADDRS kept: more than fit (the count is then one
 * more) differs from any that fit, and equals another that did not fit when what was kept is
 * the same. */
static bool same_answer(const gh_sockaddr *a, size_t na, const gh_sockaddr *b, size_t nb)
{
    if (na != nb || na == 0)
        return false;
    for (size_t i = 0; i < na && i < GH_DNS_MAX_ADDRS; i++)
        if (gh_sockaddr_compare(&a[i], &b[i]) != 0)
            return false;
    return true;
}

static void on_resolved(dns_name *n, int status, struct addrinfo *res)
{
    gh_sockaddr got[GH_DNS_MAX_ADDRS];
    size_t count = status == 0 ? gh_addrinfo_collect(res, got, GH_DNS_MAX_ADDRS) : 0;
    if (status != 0 || count == 0) {
        failed(n, status != 0 ? gai_strerror(status) : "no address");
        return;
    }
    if (n->failing)
        event(n, "info", "dns_recovered", "a name resolves again", NULL, count);
    n->failing = false;
    if (same_answer(got, count, n->addrs, n->naddrs))
        n->nasked = 0; /* back to what is in force: a later change is new again */
    if (!n->nasked ? same_answer(got, count, n->addrs, n->naddrs)
                   : same_answer(got, count, n->asked, n->nasked)) {
        atomic_fetch_add(&n->dw->counts->unchanged, 1);
        return;
    }
    memcpy(n->asked, got, (count < GH_DNS_MAX_ADDRS ? count : GH_DNS_MAX_ADDRS) * sizeof(*got));
    n->nasked = count;
    atomic_fetch_add(&n->dw->counts->changed, 1);
    event(n, "info", "dns_changed", "a name's addresses changed: reloading", NULL, count);
    if (!uv_is_active((uv_handle_t *)&n->dw->settle))
        uv_timer_start(&n->dw->settle, on_settled, GH_DNS_SETTLE_MS, 0);
}

/* The lookup's thread woke the loop: its answer. */
static void on_lookup_done(uv_async_t *a)
{
    dns_name *n = a->data;
    int status;
    struct addrinfo *res = NULL;
    if (!n->lookup || !gh_lookup_take(n->lookup, 0, &status, &res))
        return;
    gh_lookup_release(n->lookup);
    n->lookup = NULL;
    on_resolved(n, status, res);
    if (res)
        freeaddrinfo(res);
}

/* On the lookup's thread, under its lock: the name is still there to hear it. */
static void wake_loop(void *done)
{
    uv_async_send(done);
}

static void on_due(uv_timer_t *t)
{
    dns_name *n = t->data;
    if (n->lookup)
        return; /* the resolver is slower than dns_refresh: one lookup at a time */
    int error = 0;
    if (!(n->lookup = gh_lookup_start(n->host, n->port, wake_loop, &n->done, &error)))
        failed(n, strerror(error));
}

static dns_name *find(gh_dns_watch *dw, const char *upstream, const char *authority)
{
    for (dns_name *n = GH_LIST_FIRST(&dw->names, dns_name, link); n;
         n = GH_LIST_NEXT(n, dns_name, link))
        if (strcmp(n->upstream, upstream) == 0 && strcmp(n->authority, authority) == 0)
            return n;
    return NULL;
}

static dns_name *add(gh_dns_watch *dw, const char *upstream, const char *authority)
{
    dns_name *n = calloc(1, sizeof(*n));
    const char *port;
    if (!n || strlen(upstream) >= sizeof(n->upstream) ||
        strlen(authority) >= sizeof(n->authority) ||
        gh_split_hostport(authority, n->host, sizeof(n->host), &port) != 0 ||
        strlen(port) >= sizeof(n->port)) {
        free(n);
        return NULL; /* not a name the configuration could have loaded */
    }
    strcpy(n->upstream, upstream);
    strcpy(n->authority, authority);
    strcpy(n->port, port);
    n->dw = dw;
    uv_timer_init(dw->loop, &n->timer);
    uv_unref((uv_handle_t *)&n->timer);
    n->timer.data = n;
    if (uv_async_init(dw->loop, &n->done, on_lookup_done) != 0) {
        uv_close((uv_handle_t *)&n->timer, on_handle_closed);
        n->open_handles = 1;
        return NULL;
    }
    uv_unref((uv_handle_t *)&n->done);
    n->done.data = n;
    n->open_handles = 2;
    gh_list_push_back(&dw->names, &n->link);
    return n;
}

/* The name's addresses in u, as the snapshot has them. */
static void take_addresses(dns_name *n, const gh_upstream_conf *u)
{
    n->naddrs = 0;
    for (size_t i = 0; i < u->nendpoints && n->naddrs < GH_DNS_MAX_ADDRS; i++) {
        const gh_endpoint_conf *e = &u->endpoints[i];
        bool dup = false;
        for (size_t k = 0; k < n->naddrs && !dup; k++)
            dup = gh_sockaddr_compare(&n->addrs[k], &e->addr) == 0;
        if (e->named && !dup && strcmp(e->authority, n->authority) == 0)
            n->addrs[n->naddrs++] = e->addr;
    }
    gh_sockaddrs_sort(n->addrs, n->naddrs);
}

static void watch_name(gh_dns_watch *dw, const gh_upstream_conf *u, const char *authority)
{
    dns_name *n = find(dw, u->name, authority);
    if (n && n->seen)
        return; /* another endpoint of the same name */
    if (!n && !(n = add(dw, u->name, authority)))
        return;
    n->seen = true;
    n->nasked = 0; /* a reload succeeded: the next change asks for one again */
    take_addresses(n, u);
    if (n->refresh_ms != u->dns_refresh_ms) {
        n->refresh_ms = u->dns_refresh_ms;
        uv_timer_start(&n->timer, on_due, n->refresh_ms, n->refresh_ms);
    }
}

gh_dns_watch *gh_dns_watch_start(uv_loop_t *loop, gh_dns_counts *counts,
                                 void (*changed)(void *ctx), void *ctx)
{
    gh_dns_watch *dw = calloc(1, sizeof(*dw));
    if (!dw)
        return NULL;
    dw->loop = loop;
    dw->counts = counts;
    dw->changed = changed;
    dw->ctx = ctx;
    uv_timer_init(loop, &dw->settle);
    uv_unref((uv_handle_t *)&dw->settle);
    dw->settle.data = dw;
    return dw;
}

void gh_dns_watch_set(gh_dns_watch *dw, const gh_config *cfg)
{
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        for (size_t j = 0; j < u->nendpoints; j++)
            if (u->endpoints[j].named)
                watch_name(dw, u, u->endpoints[j].authority);
    }
    dns_name *n = GH_LIST_FIRST(&dw->names, dns_name, link);
    while (n) {
        dns_name *next = GH_LIST_NEXT(n, dns_name, link);
        if (!n->seen)
            drop(n);
        n->seen = false;
        n = next;
    }
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

void gh_dns_watch_stop(gh_dns_watch *dw)
{
    if (!dw)
        return;
    while (!gh_list_empty(&dw->names))
        drop(GH_CONTAINER(dw->names.first, dns_name, link));
    uv_close((uv_handle_t *)&dw->settle, free_watch);
}
