/* The configuration the self-test starts the gateway with (probe/selftest_parts.h): the user's
 * effective configuration (every key, defaults included, paths resolved), edited so that
 * everything outside the gateway is the probe: listeners and admin on the sockets it bound,
 * upstreams its recording server, identity providers its keys, secrets its own. Everything else
 * (routes, limits, CORS, schemas, authorization) stays as it was. */
#include <stdio.h>
#include <string.h>

#include "probe/selftest_parts.h"

#define REF_MAX 4200 /* "${file:" a path "}" */

typedef struct edit {
    yaml_document_t *doc;
    const gh_config *c;
    const gh_probe_stage *st;
    char *err;
    size_t cap;
    int failed; /* an edit could not be made (out of memory): the whole rewrite fails */
} edit;

static void set(edit *e, int map, const char *key, const char *value)
{
    if (gh_yed_set(e->doc, map, key, value) != 0)
        e->failed = 1;
}

static void set_ref(edit *e, int map, const char *key, const char *path)
{
    char ref[REF_MAX];
    snprintf(ref, sizeof(ref), "${file:%s}", path);
    set(e, map, key, ref);
}

static void set_url(edit *e, int map, const char *key, int port, const char *what, const char *name)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s/%s", port, what, name);
    set(e, map, key, url);
}

static void remove_keys(edit *e, int map, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        gh_yed_remove(e->doc, map, keys[i]);
}

/* A listener's TLS: the probe's certificate for every name, its CA and CRL where the listener
 * checks client certificates. */
static void listener_tls(edit *e, int tls)
{
    static const char *const sni[] = {"certificates", NULL};
    remove_keys(e, tls, sni);
    set(e, tls, "certificate", e->st->server_cert);
    set(e, tls, "private_key", e->st->server_key);
    if (gh_yed_get(e->doc, tls, "client_ca"))
        set(e, tls, "client_ca", e->st->ca);
    if (gh_yed_get(e->doc, tls, "crl_file"))
        set(e, tls, "crl_file", e->st->crl);
}

/* Routes name listeners (routes[].listeners), by default by their address, which a name: may
 * not be written as (no ':'): a route's reference to an unnamed listener follows its address. */
static void rename_references(edit *e, int root, const char *from, const char *to)
{
    int routes = gh_yed_get(e->doc, root, "routes");
    for (size_t i = 0; i < gh_yed_count(e->doc, routes); i++) {
        int names = gh_yed_get(e->doc, gh_yed_item(e->doc, routes, i), "listeners");
        for (size_t k = 0; k < gh_yed_count(e->doc, names); k++) {
            const char *name = gh_yed_text(e->doc, gh_yed_item(e->doc, names, k));
            if (!name || strcmp(name, from) != 0)
                continue;
            int v = gh_yed_new_scalar(e->doc, to);
            if (v > 0)
                yaml_document_get_node(e->doc, names)->data.sequence.items.start[k] = v;
            else
                e->failed = 1;
        }
    }
}

static void listeners(edit *e, int root)
{
    int seq = gh_yed_get(e->doc, root, "listeners");
    for (size_t i = 0; i < e->c->nlisteners && i < gh_yed_count(e->doc, seq); i++) {
        int l = gh_yed_item(e->doc, seq, i);
        char address[64];
        snprintf(address, sizeof(address), "127.0.0.1:%d", e->st->listener_ports[i]);
        if (!gh_yed_get(e->doc, l, "name"))
            rename_references(e, root, e->c->listeners[i].name, address);
        set(e, l, "address", address);
        int tls = gh_yed_get(e->doc, l, "tls");
        if (tls)
            listener_tls(e, tls);
    }
    int admin = gh_yed_get(e->doc, root, "admin");
    if (admin && e->st->admin_port) {
        char address[64];
        snprintf(address, sizeof(address), "127.0.0.1:%d", e->st->admin_port);
        set(e, admin, "address", address);
        set_ref(e, admin, "token", e->st->admin_token_file);
    }
}

/* Every endpoint the recording upstream; no TLS to it, no health checks (the upstream always
 * answers: a check would only add requests it records). */
static void upstreams(edit *e, int root)
{
    static const char *const dropped[] = {"tls", "health", NULL};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", e->st->upstream_port);
    int ups = gh_yed_get(e->doc, root, "upstreams");
    for (size_t i = 0; i < gh_yed_count(e->doc, ups); i++) {
        int u;
        gh_yed_pair(e->doc, ups, i, &u);
        remove_keys(e, u, dropped);
        int eps = gh_yed_get(e->doc, u, "endpoints");
        for (size_t k = 0; k < gh_yed_count(e->doc, eps); k++) {
            int ep = gh_yed_item(e->doc, eps, k);
            if (gh_yed_text(e->doc, ep)) {
                int v = gh_yed_new_scalar(e->doc, url);
                yaml_node_t *seq = yaml_document_get_node(e->doc, eps);
                if (v > 0)
                    seq->data.sequence.items.start[k] = v;
                else
                    e->failed = 1;
            } else {
                set(e, ep, "url", url); /* {url, weight}: the weight stays */
            }
        }
    }
}

static void jwt_providers(edit *e, int jwt)
{
    static const char *const keys[] = {"jwks_file", "jwks", "secret", "discovery", "jwks_uri",
                                       "ca_file", NULL};
    static const char *const remote_only[] = {"refresh_interval", "min_refresh_interval",
                                              "max_stale", "fetch_timeout", NULL};
    for (size_t i = 0; i < e->c->njwt_providers; i++) {
        const char *name = e->c->jwt_providers[i].name;
        int prov = gh_yed_get(e->doc, jwt, name);
        if (!prov)
            continue;
        remove_keys(e, prov, keys);
        if (e->st->jwt_secret_files[i]) {
            remove_keys(e, prov, remote_only);
            set_ref(e, prov, "secret", e->st->jwt_secret_files[i]);
        } else {
            set_url(e, prov, "jwks_uri", e->st->idp_port, "jwks", name);
        }
    }
}

static void identity(edit *e, int root)
{
    static const char *const ca[] = {"ca_file", NULL};
    int id = gh_yed_get(e->doc, root, "identity");
    jwt_providers(e, gh_yed_get(e->doc, id, "jwt"));
    int intro = gh_yed_get(e->doc, id, "introspection");
    for (size_t i = 0; i < gh_yed_count(e->doc, intro); i++) {
        int prov;
        const char *name = gh_yed_pair(e->doc, intro, i, &prov);
        if (!name)
            continue;
        remove_keys(e, prov, ca);
        set_url(e, prov, "url", e->st->idp_port, "introspect", name);
        set_ref(e, prov, "client_secret", e->st->introspection_secret_file);
    }
    int api = gh_yed_get(e->doc, id, "api_keys");
    for (size_t i = 0; i < e->c->napi_key_providers; i++) {
        int prov = gh_yed_get(e->doc, api, e->c->api_key_providers[i].name);
        if (prov)
            set(e, prov, "keys_file", e->st->api_keys_files[i]);
    }
    int hmac = gh_yed_get(e->doc, id, "hmac");
    for (size_t i = 0; i < e->c->nhmac_providers; i++) {
        int prov = gh_yed_get(e->doc, hmac, e->c->hmac_providers[i].name);
        int seq = prov ? yaml_document_add_sequence(e->doc, NULL, YAML_BLOCK_SEQUENCE_STYLE) : 0;
        char ref[REF_MAX];
        snprintf(ref, sizeof(ref), "${file:%s}", e->st->hmac_secret_files[i]);
        int item = seq ? gh_yed_new_scalar(e->doc, ref) : 0;
        if (prov && (!item || !yaml_document_append_sequence_item(e->doc, seq, item) ||
                     gh_yed_set_node(e->doc, prov, "secrets", seq) != 0))
            e->failed = 1;
    }
}

static void policies(edit *e, int root)
{
    static const char *const ca[] = {"ca_file", NULL};
    int pols = gh_yed_get(e->doc, root, "policies");
    for (size_t i = 0; i < gh_yed_count(e->doc, pols); i++) {
        int pol;
        const char *name = gh_yed_pair(e->doc, pols, i, &pol);
        int ext = gh_yed_get(e->doc, pol, "external");
        if (!name || !ext)
            continue;
        remove_keys(e, ext, ca);
        set_url(e, ext, "url", e->st->idp_port, "policy", name);
    }
}

/* store: redis anywhere (named limits, a route's own) becomes local: the probe runs no Redis. */
static void local_stores(edit *e, int node, size_t depth)
{
    yaml_node_t *n = yaml_document_get_node(e->doc, node);
    if (!n || depth > 64)
        return;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (size_t i = 0; i < gh_yed_count(e->doc, node); i++)
            local_stores(e, gh_yed_item(e->doc, node, i), depth + 1);
        return;
    }
    if (n->type != YAML_MAPPING_NODE)
        return;
    const char *store = gh_yed_text(e->doc, gh_yed_get(e->doc, node, "store"));
    if (store && strcmp(store, "redis") == 0)
        set(e, node, "store", "local");
    for (size_t i = 0; i < gh_yed_count(e->doc, node); i++) {
        int v;
        gh_yed_pair(e->doc, node, i, &v);
        local_stores(e, v, depth + 1);
    }
}

static void process(edit *e, int root)
{
    static const char *const dropped[] = {"pid_file", "user", "group", NULL};
    remove_keys(e, root, dropped);
    set(e, root, "workers", "1");
    set(e, root, "access_log", e->st->access_log);
    /* A security event file the configuration names is the deployment's: the run's events go
     * to the run's own directory instead (stdout and off stay as they are). */
    int events = gh_yed_get(e->doc, root, "security_events");
    int file = events ? gh_yed_get(e->doc, events, "file") : 0;
    const char *where = file ? gh_yed_text(e->doc, file) : NULL;
    if (where && where[0] == '/') {
        char path[REF_MAX];
        snprintf(path, sizeof(path), "%s/security_events.log", e->st->dir);
        set(e, events, "file", path);
    }
    if (events) { /* the deployment's collectors are not told of the run's attacks either */
        gh_yed_remove(e->doc, events, "syslog");
        gh_yed_remove(e->doc, events, "http");
    }
    int tracing = gh_yed_get(e->doc, root, "tracing"); /* nor their trace collector */
    if (tracing)
        gh_yed_remove(e->doc, tracing, "exporter");
    /* A detector in mode ban would ban the probe's own client halfway through its attacks:
     * the run's detectors log. */
    int anomaly = gh_yed_get(e->doc, root, "anomaly");
    int detectors = anomaly ? gh_yed_get(e->doc, anomaly, "detectors") : 0;
    for (size_t i = 0; detectors && i < gh_yed_count(e->doc, detectors); i++) {
        int d = 0;
        gh_yed_pair(e->doc, detectors, i, &d);
        const char *mode = d ? gh_yed_text(e->doc, gh_yed_get(e->doc, d, "mode")) : NULL;
        if (mode && strcmp(mode, "ban") == 0)
            set(e, d, "mode", "log");
    }
    int stores = gh_yed_get(e->doc, root, "stores");
    if (stores) {
        gh_yed_remove(e->doc, stores, "redis");
        if (gh_yed_count(e->doc, stores) == 0)
            gh_yed_remove(e->doc, root, "stores");
    }
}

/* Key material the effective configuration shows redacted (a PEM block written in a route's
 * response, say) cannot be given back: the gateway runs with the placeholder in its place. The
 * first such key is named; how many there are is returned. */
static size_t redacted(yaml_document_t *doc, int node, const char *key, const char **first,
                       size_t depth)
{
    const char *text = gh_yed_text(doc, node);
    if (text) {
        if (strncmp(text, "<redacted ", 10) != 0)
            return 0;
        if (!*first)
            *first = key;
        return 1;
    }
    yaml_node_t *n = yaml_document_get_node(doc, node);
    bool map = n && n->type == YAML_MAPPING_NODE;
    size_t count = 0;
    for (size_t i = 0; depth < 64 && i < gh_yed_count(doc, node); i++) {
        int v = 0;
        const char *k = map ? gh_yed_pair(doc, node, i, &v) : key;
        if (!map)
            v = gh_yed_item(doc, node, i);
        count += redacted(doc, v, k ? k : key, first, depth + 1);
    }
    return count;
}

int gh_probe_rewrite(const gh_config *c, const gh_probe_stage *st, const char *out_path,
                     char *err, size_t cap)
{
    if (!c->effective) {
        snprintf(err, cap, "the configuration has no effective form");
        return -1;
    }
    yaml_document_t doc;
    if (gh_yed_load(&doc, c->effective, c->effective_len, err, cap) != 0)
        return -1;
    edit e = {.doc = &doc, .c = c, .st = st, .err = err, .cap = cap};
    int root = gh_yed_root(&doc);
    process(&e, root);
    listeners(&e, root);
    upstreams(&e, root);
    identity(&e, root);
    policies(&e, root);
    local_stores(&e, root, 0);
    const char *first = NULL;
    size_t placeholders = redacted(&doc, root, "", &first, 0);
    if (placeholders)
        fprintf(stderr, "gatehouse probe: warning: %zu value%s of the configuration (the first at "
                "key '%s') %s key material shown redacted: the gateway runs with the placeholder\n",
                placeholders, placeholders == 1 ? "" : "s", first, placeholders == 1 ? "is" : "are");
    if (e.failed) {
        yaml_document_delete(&doc);
        snprintf(err, cap, "out of memory while rewriting the configuration");
        return -1;
    }
    return gh_yed_dump(&doc, out_path, err, cap);
}
