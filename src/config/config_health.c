/* upstreams.<name>.health: active health checks of every endpoint, as an HTTP request
 * (health.http) or a TCP connection (health.tcp), exactly one of them. */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "wire/host.h"

/* The keys both forms share. Defaults: a check every 5s (Envoy's and HAProxy's order of
 * magnitude), two passes to come back and three failures to go down (HAProxy's rise 2, fall 3),
 * timeout and jitter derived from the interval when not written (gh__cfg_finish_health). */
static const gh_keyword common_keys[] = {
    {"interval", GH_KW_DURATION, GH_KW_AT(gh_health_conf, interval_ms), .min = 10, .max = 3600000,
     .def = "5s"},
    {"timeout", GH_KW_DURATION, GH_KW_UNSET, GH_KW_AT(gh_health_conf, timeout_ms), .min = 1,
     .max = 3600000},
    {"jitter", GH_KW_DURATION, GH_KW_UNSET, GH_KW_AT(gh_health_conf, jitter_ms), .max = 3600000},
    {"healthy_after", GH_KW_UINT, GH_KW_AT(gh_health_conf, healthy_after), .min = 1, .max = 100,
     .def = "2"},
    {"unhealthy_after", GH_KW_UINT, GH_KW_AT(gh_health_conf, unhealthy_after), .min = 1, .max = 100,
     .def = "3"},
    GH_KW_END,
};

/* The request target goes into the check's request line as written: an origin-form path of
 * visible ASCII only, so nothing in it can split the line. */
static bool valid_path(const char *s)
{
    if (s[0] != '/' || strlen(s) > 1024)
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '#')
            return false;
    return true;
}

static void load_host(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_health_conf *h = call->target;
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    gh_host parts;
    const char *err = s[0] ? gh_host_parse(s, strlen(s), &parts) : "empty";
    for (const char *c = s; !err && *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            err = "a space or control character";
    if (err)
        gh__walk_error(w, v, "'%s': %s; expected a host[:port]", s, err);
    else
        h->host = s;
}

/* One item of expect: a status (200) or an inclusive range ("200-399"). */
static bool parse_range(const char *s, gh_status_range *r)
{
    char *end;
    unsigned long lo = strtoul(s, &end, 10), hi = lo;
    if (end == s || (*end && *end != '-'))
        return false;
    if (*end == '-') {
        const char *rest = end + 1;
        if (*rest < '0' || *rest > '9')
            return false;
        hi = strtoul(rest, &end, 10);
        if (*end)
            return false;
    }
    if (lo < 100 || hi > 599 || lo > hi)
        return false;
    *r = (gh_status_range){(uint16_t)lo, (uint16_t)hi};
    return true;
}

static void load_expect(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_health_conf *h = call->target;
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items_within(w, v, GH_HC_EXPECT_MAX, "statuses", &count);
    if (!items)
        return;
    h->nexpect = 0;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = gh__walk_node(w, items[i]);
        const char *s;
        if (!gh__walk_str(w, item, &s))
            continue;
        if (!parse_range(s, &h->expect[h->nexpect]))
            gh__walk_error(w, item,
                           "'%s': expected a status (200) or a range (200-399) within 100-599", s);
        else
            h->nexpect++;
    }
}

static const gh_keyword http_keys[] = {
    {"path", GH_KW_STRING, GH_KW_AT(gh_health_conf, path), .def = "/", .valid = valid_path,
     .invalid = "'%s': expected a path starting with '/', of visible ASCII, at most 1024 bytes"},
    {"host", GH_KW_CUSTOM, .load = load_host},
    {"expect", GH_KW_CUSTOM, .load = load_expect},
    GH_KW_END,
};

/* Reads one form's mapping into the upstream's health settings. */
static void load_form(gh_walk *w, yaml_node_t *v, gh_health_conf *h, gh_hc_kind kind)
{
    const gh_keyword *const http_tables[] = {common_keys, http_keys, NULL};
    const gh_keyword *const tcp_tables[] = {common_keys, NULL};
    h->kind = kind;
    h->expect[0] = (gh_status_range){200, 399};
    h->nexpect = 1;
    gh__cfg_defaults(w, common_keys, h);
    if (kind == GH_HC_HTTP)
        gh__cfg_defaults(w, http_keys, h);
    if (!gh__cfg_known(w, v, kind == GH_HC_HTTP ? http_tables : tcp_tables))
        return;
    gh__cfg_fill(w, v, common_keys, h, NULL);
    if (kind == GH_HC_HTTP)
        gh__cfg_fill(w, v, http_keys, h, NULL);
}

/* What depends on more than one key: the timeout must end before the next check is due, and
 * a check that is not written takes what the interval implies. */
static void finish(gh_walk *w, yaml_node_t *v, gh_health_conf *h)
{
    if (h->timeout_ms == UINT64_MAX) {
        h->timeout_ms = h->interval_ms / 2 < 2000 ? h->interval_ms / 2 : 2000;
    } else if (h->timeout_ms >= h->interval_ms) {
        gh__walk_error(w, v, "timeout must be shorter than interval");
        return;
    }
    if (h->jitter_ms == UINT64_MAX)
        h->jitter_ms = h->interval_ms / 10;
    else if (h->jitter_ms > h->interval_ms)
        gh__walk_error(w, v, "jitter must be at most interval");
}

void gh__cfg_load_health(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_health_conf *h = (gh_health_conf *)((char *)call->target + call->k->offset);
    static const char *const forms[] = {"http", "tcp", NULL};
    if (!gh__walk_keys(w, v, forms))
        return;
    yaml_node_t *http = gh__walk_get(w, v, "http"), *tcp = gh__walk_get(w, v, "tcp");
    if (!http == !tcp) {
        gh__walk_error(w, v, "health takes exactly one of http and tcp");
        return;
    }
    size_t saved = gh__walk_push_key(w, http ? "http" : "tcp");
    yaml_node_t *form = http ? http : tcp;
    load_form(w, form, h, http ? GH_HC_HTTP : GH_HC_TCP);
    finish(w, form, h);
    gh__walk_pop(w, saved);
}
