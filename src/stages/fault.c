/* Stage: faults injected on purpose, for game days (how clients and dashboards behave when a
 * route fails or slows down), as Envoy's fault filter does:
 *
 *   fault: {header: x-gatehouse-fault, abort: {status: 503, percent: 5},
 *           delay: {duration: 2s, percent: 10}}
 *
 * A delayed request is held on a timer of its worker's loop (nothing blocks) and then goes on;
 * an aborted one is answered by the gateway with the fault's status as a problem document
 * (fault-injected), and nothing is forwarded. With header, only requests that carry that
 * header are subject to the fault. Each fault is counted per route and kind and written in the
 * access log, and `gatehouse audit` reports every route that carries one (GH-FAULT-001).
 *
 * The stage runs last of a route's stages (GH_PHASE_FAULT): after authentication,
 * authorization, policy, rate limits and the body rules, just before the action. A request
 * that a control refuses is refused by it, never by a fault: an unauthenticated caller learns
 * nothing from a fault (not which routes carry one, not how often they fail), a delay never
 * holds a request that would have been refused, and no fault stands in for a control's
 * answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config/config.h"
#include "core/clock.h"
#include "gate/access_log.h"
#include "gate/exchange.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "wire/h1.h"

/* A delay holds a connection and its request memory: bounded, like every wait. */
#define GH_FAULT_MAX_DELAY_MS 60000
/* Percentages are kept in millionths of the requests: 0.0001 % steps. */
#define GH_FAULT_PPM 1000000u

typedef struct fault_abort {
    uint16_t status;     /* 0: no abort */
    const char *percent; /* as written */
    uint32_t ppm;        /* of the requests subject to the fault */
} fault_abort;

typedef struct fault_delay {
    uint32_t ms;         /* 0: no delay */
    const char *percent; /* as written */
    uint32_t ppm;
} fault_delay;

typedef struct fault_conf {
    const char *header; /* only requests that carry it, or NULL: every request */
    fault_abort abort;
    fault_delay delay;
} fault_conf;

/* "0" to "100", with at most four decimals ("0.5", "12.25"), in millionths; -1 otherwise. */
static int64_t parse_percent(const char *s)
{
    int64_t whole = 0, frac = 0;
    int digits = 0, decimals = 0;
    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
        whole = whole * 10 + (*s - '0');
    if (!digits)
        return -1;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9' && decimals < 5; s++, decimals++)
            frac = frac * 10 + (*s - '0');
        if (!decimals || decimals > 4)
            return -1;
    }
    for (int d = decimals; d < 4; d++)
        frac *= 10;
    int64_t ppm = whole * 10000 + frac;
    return *s || ppm > (int64_t)GH_FAULT_PPM ? -1 : ppm;
}

static bool percent_ok(const char *s)
{
    return parse_percent(s) >= 0;
}

#define PERCENT_KEY(T)                                                                             \
    {"percent", GH_KW_STRING, 0, GH_KW_AT(T, percent), .def = "100", .valid = percent_ok,          \
     .invalid = "'%s' is not a percentage from 0 to 100 (at most 4 decimals)"}

static const gh_keyword abort_keys[] = {
    {"status", GH_KW_UINT, GH_KW_REQUIRED, GH_KW_AT(fault_abort, status), .min = 400, .max = 599},
    PERCENT_KEY(fault_abort),
    GH_KW_END,
};

static const gh_keyword delay_keys[] = {
    {"duration", GH_KW_DURATION, GH_KW_REQUIRED, GH_KW_AT(fault_delay, ms), .min = 1,
     .max = GH_FAULT_MAX_DELAY_MS},
    PERCENT_KEY(fault_delay),
    GH_KW_END,
};

static const gh_keyword keys[] = {
    {"header", GH_KW_STRING, 0, GH_KW_AT(fault_conf, header), .valid = gh_h1_is_token,
     .invalid = "'%s' is not a header name"},
    {"abort", GH_KW_MAP, 0, GH_KW_AT(fault_conf, abort), .table = abort_keys},
    {"delay", GH_KW_MAP, 0, GH_KW_AT(fault_conf, delay), .table = delay_keys},
    GH_KW_END,
};

/* A fault that injects nothing is a mistake, not a way to switch one off (percent: 0 is). */
static const char *finish(void *conf)
{
    fault_conf *c = conf;
    if (!c->abort.status && !c->delay.ms)
        return "a fault needs abort, delay or both";
    c->abort.ppm = (uint32_t)parse_percent(c->abort.percent);
    c->delay.ppm = (uint32_t)parse_percent(c->delay.percent);
    return NULL;
}

static const gh_route_keys route_keys = {"fault", keys, sizeof(fault_conf), finish};

/* What one request went through, for its log line; and the delay it waits on. */
typedef struct fault_timer fault_timer;
typedef struct fault_ctx {
    fault_timer *timer; /* the delay in progress, or NULL */
    uint32_t delayed_ms;
    bool abort_due; /* the dice said abort: once the delay, if any, is over */
    bool delayed, aborted;
} fault_ctx;

/* The timer's handle outlives the request when the request goes away during the delay: libuv
 * frees nothing before the close callback, so the handle has memory of its own. */
struct fault_timer {
    uv_timer_t handle;
    gh_request *req;
    const fault_conf *conf;
    fault_ctx *ctx;
};

extern const gh_stage gh_stage_fault;

static const void *conf_of(const gh_route_conf *r)
{
    return gh_route_ext(r, &route_keys);
}

/* ppm millionths of the time, with the worker's generator (no state shared across workers). */
static bool roll(gh_request *req, uint32_t ppm)
{
    return ppm && gh_id_gen_u64(&req->svc->ids) % GH_FAULT_PPM < ppm;
}

/* After the delay (or at once): the abort, if the dice said so. */
static gh_verdict abort_or_go_on(gh_request *req, const void *conf)
{
    const fault_conf *c = conf;
    fault_ctx *ctx = gh_stage_context(req, &gh_stage_fault);
    if (!ctx || !ctx->abort_due)
        return GH_NEXT;
    ctx->aborted = true;
    gh_metrics_fault(&req->svc->metrics, req->match.route->name, GH_FAULT_ABORT);
    req->refusal_status = c->abort.status;
    return gh_stage_refuse(req, GH_R_FAULT_INJECTED,
                           "the route injects this failure on purpose, for testing (fault.abort)");
}

static void free_timer(uv_handle_t *h)
{
    free(h->data);
}

static void delay_over(uv_timer_t *h)
{
    fault_timer *t = h->data;
    gh_request *req = t->req;
    const fault_conf *conf = t->conf;
    t->ctx->timer = NULL;
    uv_close((uv_handle_t *)h, free_timer);
    gh_request_resume(req, abort_or_go_on, conf);
}

/* Holds req for the delay on its worker's loop. False when out of memory. */
static bool start_delay(gh_request *req, const fault_conf *c, fault_ctx *ctx)
{
    fault_timer *t = malloc(sizeof(*t));
    if (!t)
        return false;
    *t = (fault_timer){.req = req, .conf = c, .ctx = ctx};
    uv_timer_init(req->svc->loop, &t->handle);
    t->handle.data = t;
    uv_timer_start(&t->handle, delay_over, c->delay.ms, 0);
    ctx->timer = t;
    ctx->delayed = true;
    ctx->delayed_ms = c->delay.ms;
    gh_metrics_fault(&req->svc->metrics, req->match.route->name, GH_FAULT_DELAY);
    return true;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const fault_conf *c = conf;
    if (c->header && !gh_h1_find(req->h1.headers, req->h1.nheaders, c->header, strlen(c->header)))
        return GH_NEXT;
    fault_ctx *ctx = gh_stage_context(req, &gh_stage_fault);
    if (!ctx)
        return gh_stage_refuse(req, GH_R_INTERNAL, "out of request memory");
    /* Each kind has its own dice, as Envoy's: a request may be delayed, then aborted. */
    ctx->abort_due = c->abort.status && roll(req, c->abort.ppm);
    if (c->delay.ms && roll(req, c->delay.ppm)) {
        if (!start_delay(req, c, ctx))
            return gh_stage_refuse(req, GH_R_INTERNAL, "out of memory for the fault's delay");
        return GH_WAIT;
    }
    return abort_or_go_on(req, conf);
}

/* The request goes away during its delay (the client left, the server stops): the timer must
 * not wake a request that is gone. */
static void abort_wait(gh_request *req, const void *conf, void *ctx)
{
    (void)req, (void)conf;
    fault_ctx *f = ctx;
    if (!f || !f->timer)
        return;
    uv_close((uv_handle_t *)&f->timer->handle, free_timer); /* stops it: delay_over never runs */
    f->timer = NULL;
}

/* fault: what was injected ("delay", "abort", "delay+abort") or null; fault_delay_ms. */
static void log_fault(gh_log_line *l, const gh_request *req, const void *conf, const void *ctx)
{
    (void)req, (void)conf;
    const fault_ctx *f = ctx;
    const char *what = !f                        ? NULL
                       : f->delayed && f->aborted ? "delay+abort"
                       : f->delayed               ? "delay"
                       : f->aborted               ? "abort"
                                                  : NULL;
    gh_log_field(l, "fault", what, what ? strlen(what) : 0);
    if (f && f->delayed)
        gh_sbuf_addf(l->b, ",\"fault_delay_ms\":%u", (unsigned)f->delayed_ms);
}

/* The fault as a phrase: "abort 503 for 5% and delay 2000ms for 10% of requests". */
static const char *describe(gh_arena *arena, const fault_conf *c)
{
    char abort_part[64] = "", delay_part[64] = "";
    if (c->abort.status)
        snprintf(abort_part, sizeof(abort_part), "abort %u for %s%%", (unsigned)c->abort.status,
                 c->abort.percent);
    if (c->delay.ms)
        snprintf(delay_part, sizeof(delay_part), "delay %ums for %s%%", (unsigned)c->delay.ms,
                 c->delay.percent);
    char out[160];
    snprintf(out, sizeof(out), "%s%s%s of requests", abort_part,
             *abort_part && *delay_part ? " and " : "", delay_part);
    return gh_arena_strdup(arena, out);
}

/* Failures injected on purpose; the header that selects the requests, if any. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const fault_conf *c = conf;
    gh_stage_fact *f = gh_stage_fact_add(out, GH_FACT_FAULT, "fault", "fault");
    f->detail = describe(out->arena, c);
    if (c->header)
        f->all = (gh_fact_names){&c->header, 1};
}

const gh_stage gh_stage_fault = {
    .name = "fault",
    .phase = GH_PHASE_FAULT,
    .keys = &route_keys,
    .bind = conf_of,
    .ctx_size = sizeof(fault_ctx),
    .run = run,
    .abort = abort_wait,
    .log = log_fault,
    .facts = facts,
};
