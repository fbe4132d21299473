/* anomaly: the detectors' modes, windows, thresholds and allow-lists, and the shared table
 * their counters live in (store/anomaly_table.h). Every detector is on in mode log unless
 * written otherwise: a detection is then a security event and nothing more, which costs one
 * table update per request and refuses nobody (docs/security.md says why). */
#include <string.h>

#include "config/config_internal.h"

static const char *const mode_choices[] = {"off", "log", "ban", NULL};
static const char *const store_choices[] = {"local", "redis", NULL};

/* allow: each item an address or CIDR, or else a subject (a verified subject or an API-key
 * client); the two go to separate lists. */
static void load_allow(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_anomaly_allow *a = (gh_anomaly_allow *)((char *)call->target + call->k->offset);
    size_t count;
    yaml_node_item_t *items = gh__walk_items(w, v, &count);
    if (!items)
        return; /* reported */
    a->cidrs = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(gh_cidr));
    a->subjects = gh_arena_zalloc(w->arena, (count ? count : 1) * sizeof(char *));
    if (!a->cidrs || !a->subjects) {
        gh__walk_error(w, v, "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        size_t saved = gh__walk_push_index(w, i);
        yaml_node_t *it = gh__walk_node(w, items[i]);
        const char *s;
        if (gh__walk_str(w, it, &s)) {
            if (!*s)
                gh__walk_error(w, it, "expected an address, a CIDR or a subject, not \"\"");
            else if (gh__cfg_parse_cidr(s, &a->cidrs[a->ncidrs]) == 0)
                a->ncidrs++;
            else
                a->subjects[a->nsubjects++] = s;
        }
        gh__walk_pop(w, saved);
    }
}

#define MODE {"mode", GH_KW_ENUM, GH_KW_AT(gh_detector_conf, mode), .choices = mode_choices, \
              .def = "log"}
#define WINDOW(d) {"window", GH_KW_DURATION, GH_KW_AT(gh_detector_conf, window_ms), .min = 100, \
                   .max = 86400000, .def = d}
#define ALLOW {"allow", GH_KW_CUSTOM, GH_KW_AT(gh_detector_conf, allow), .load = load_allow}
#define COUNT(name, field, d) {name, GH_KW_UINT, GH_KW_AT(gh_detector_conf, field), .min = 1, \
                               .max = 1000000, .def = d}

static const gh_keyword error_rate_keys[] = {
    MODE, WINDOW("1m"),
    COUNT("min_errors", limit, "20"),
    {"z_score", GH_KW_UINT, GH_KW_AT(gh_detector_conf, z_score), .min = 1, .max = 100, .def = "4"},
    ALLOW, GH_KW_END,
};

static const gh_keyword enumeration_keys[] = {
    MODE, WINDOW("1m"),
    COUNT("max_distinct", limit, "100"),
    COUNT("max_refused", second, "20"),
    ALLOW, GH_KW_END,
};

static const gh_keyword credential_stuffing_keys[] = {
    MODE, WINDOW("5m"),
    COUNT("max_credentials", limit, "5"),
    COUNT("max_addresses", second, "5"),
    ALLOW, GH_KW_END,
};

static const gh_keyword token_sharing_keys[] = {
    MODE, WINDOW("5m"),
    COUNT("max_addresses", limit, "5"),
    ALLOW, GH_KW_END,
};

static const gh_keyword rate_spike_keys[] = {
    MODE, WINDOW("10s"),
    COUNT("min_requests", limit, "100"),
    {"z_score", GH_KW_UINT, GH_KW_AT(gh_detector_conf, z_score), .min = 1, .max = 100, .def = "6"},
    {"warmup_windows", GH_KW_UINT, GH_KW_AT(gh_detector_conf, warmup_windows), .min = 1,
     .max = 1000, .def = "6"},
    ALLOW, GH_KW_END,
};

static const gh_keyword unusual_method_keys[] = {
    MODE, WINDOW("1m"),
    COUNT("max_requests", limit, "5"),
    ALLOW, GH_KW_END,
};

#define DETECTOR(name, i, keys)                                                                    \
    {name, GH_KW_MAP, GH_KW_AT(gh_anomaly_conf, detectors[i]), .table = keys}

static const gh_keyword detectors_keys[] = {
    DETECTOR("error_rate", GH_DETECT_ERROR_RATE, error_rate_keys),
    DETECTOR("enumeration", GH_DETECT_ENUMERATION, enumeration_keys),
    DETECTOR("credential_stuffing", GH_DETECT_CREDENTIAL_STUFFING, credential_stuffing_keys),
    DETECTOR("token_sharing", GH_DETECT_TOKEN_SHARING, token_sharing_keys),
    DETECTOR("rate_spike", GH_DETECT_RATE_SPIKE, rate_spike_keys),
    DETECTOR("unusual_method", GH_DETECT_UNUSUAL_METHOD, unusual_method_keys),
    GH_KW_END,
};

const gh_keyword gh__cfg_anomaly_keys[] = {
    {"detectors", GH_KW_MAP, .table = detectors_keys},
    {"allow", GH_KW_CUSTOM, GH_KW_AT(gh_anomaly_conf, allow), .load = load_allow},
    {"max_clients", GH_KW_UINT, GH_KW_AT(gh_anomaly_conf, max_clients), .min = 64,
     .max = 1048576, .def = "8192"},
    {"baseline_windows", GH_KW_UINT, GH_KW_AT(gh_anomaly_conf, baseline_windows), .min = 1,
     .max = 10000, .def = "10"},
    {"ipv4_prefix", GH_KW_UINT, GH_KW_AT(gh_anomaly_conf, ipv4_prefix), .min = 8, .max = 32,
     .def = "32"},
    {"ipv6_prefix", GH_KW_UINT, GH_KW_AT(gh_anomaly_conf, ipv6_prefix), .min = 16, .max = 128,
     .def = "64"},
    {"store", GH_KW_ENUM, GH_KW_AT(gh_anomaly_conf, store), .choices = store_choices,
     .def = "local"},
    GH_KW_END,
};

static void put_table(void *arg)
{
    gh_anomaly_conf *a = arg;
    gh_anom_table_put(a->registry, a->table);
}

/* The section (defaults when it is not written), then the shared table of a running gateway:
 * room for every detector's keys of max_clients clients. */
void gh__cfg_load_anomaly(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_anomaly_conf *a = &((gh_config *)call->target)->anomaly;
    gh_shared *shared = call->ctx;
    gh__cfg_apply(w, n, gh__cfg_anomaly_keys, a, NULL);
    if (a->store == GH_ANOM_STORE_REDIS && !((gh_config *)call->target)->redis) {
        yaml_node_t *at = gh__walk_get(w, n, "store");
        size_t saved = gh__walk_push_key(w, "store");
        gh__walk_error(w, at, "store: redis needs stores.redis");
        gh__walk_pop(w, saved);
    }
    if (!shared || w->diag->errors)
        return;
    a->registry = &shared->anomaly;
    if (!(a->table = gh_anom_table_get(a->registry, (size_t)a->max_clients * GH_ANOM_DETECTORS)) ||
        gh_arena_defer(w->arena, put_table, a) != 0) {
        if (a->table)
            gh_anom_table_put(a->registry, a->table);
        a->table = NULL;
        gh__walk_error(w, n, "out of memory for the anomaly detectors' table");
    }
}
