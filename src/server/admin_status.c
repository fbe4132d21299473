/* GET /status: one JSON document built from the snapshot in force and the endpoint states the
 * workers and health checks share. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/json.h"
#include "server/admin_status.h"

/* 16 listeners and 64 endpoints per upstream of the longest names fit with room to spare; an
 * overflow answers NULL rather than cut JSON. */
#define GH_STATUS_MAX_BYTES (1024 * 1024)

static const char *health_name(int h)
{
    return h == GH_HEALTH_UP ? "up" : h == GH_HEALTH_DOWN ? "down" : "unknown";
}

static void add_str(gh_sbuf *b, const char *s)
{
    gh_sbuf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

void gh_admin_status_upstreams(gh_sbuf *b, const gh_config *cfg)
{
    uint64_t now = gh_now_us();
    GH_SBUF_LIT(b, ",\"upstreams\":[");
    for (size_t i = 0; i < cfg->nupstreams; i++) {
        const gh_upstream_conf *u = &cfg->upstreams[i];
        GH_SBUF_LIT(b, "{\"name\":");
        add_str(b, u->name);
        gh_sbuf_addf(b, ",\"health_checks\":%s,\"in_flight\":%u,\"endpoints\":[",
                     u->health.kind != GH_HC_NONE ? "true" : "false",
                     u->state ? atomic_load(&u->state->inflight) : 0);
        for (size_t j = 0; j < u->nendpoints; j++) {
            const gh_endpoint_state *e = u->states ? u->states[j] : NULL;
            int h = e ? atomic_load(&e->health) : GH_HEALTH_UNKNOWN;
            GH_SBUF_LIT(b, "{\"endpoint\":");
            add_str(b, u->endpoints[j].label);
            GH_SBUF_LIT(b, ",\"health\":");
            add_str(b, health_name(h));
            gh_sbuf_addf(b, ",\"ejected\":%s,\"in_flight\":%u",
                         e && atomic_load(&e->ejected_until_us) > now ? "true" : "false",
                         e ? atomic_load(&e->inflight) : 0);
            gh_sbuf_adds(b, j + 1 < u->nendpoints ? "}," : "}");
        }
        gh_sbuf_adds(b, i + 1 < cfg->nupstreams ? "]}," : "]}");
    }
    GH_SBUF_LIT(b, "]");
}

char *gh_admin_status_json(gh_runtime *rt, const gh_status_facts *f, size_t *len)
{
    char *out = malloc(GH_STATUS_MAX_BYTES);
    if (!out)
        return NULL;
    gh_sbuf b = gh_sbuf_make(out, GH_STATUS_MAX_BYTES - 1);
    gh_config *cfg = gh_runtime_config(rt);
    gh_sbuf_addf(&b,
                 "{\"version\":\"%s\",\"config_hash\":\"%s\",\"uptime_s\":%llu,\"pid\":%ld,"
                 "\"workers\":%d,\"listeners\":[",
                 GH_VERSION, cfg->hash, (unsigned long long)f->uptime_s, (long)getpid(),
                 rt->nworkers);
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        GH_SBUF_LIT(&b, "{\"name\":");
        add_str(&b, cfg->listeners[i].name);
        GH_SBUF_LIT(&b, ",\"address\":");
        add_str(&b, cfg->listeners[i].address);
        gh_sbuf_addf(&b, ",\"tls\":%s}%s", cfg->listeners[i].tls ? "true" : "false",
                     i + 1 < cfg->nlisteners ? "," : "");
    }
    GH_SBUF_LIT(&b, "]");
    gh_admin_status_upstreams(&b, cfg);
    gh_sbuf_addf(&b, ",\"ready\":%s,\"draining\":%s}\n", f->ready ? "true" : "false",
                 f->draining ? "true" : "false");
    gh_config_release(cfg);
    if (b.overflow) {
        free(out);
        return NULL;
    }
    *len = b.len;
    return out;
}
