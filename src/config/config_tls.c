/* listeners[].tls: the certificates a listener serves (chosen by SNI), the lowest TLS version
 * and the TLS 1.2 ciphers. The contexts are made at load, so a certificate that cannot be used
 * fails `check` where it is named. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config_internal.h"
#include "core/tls.h"
#include "tls/tls_server.h"

#define GH_TLS_MAX_CERTS 64

static void load_private_key(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_tls_cert_files *f = call->target;
    f->private_key = gh__walk_readable_path(w, v, 1u << 20);
    struct stat st;
    if (f->private_key && stat(f->private_key, &st) == 0 && (st.st_mode & S_IROTH))
        gh__walk_warn(w, v, "the private key is readable by every user (mode %04o): chmod 600",
                      (unsigned)(st.st_mode & 07777));
}

/* One {certificate, private_key} pair. */
static const gh_keyword pair_keys[] = {
    {"certificate", GH_KW_PATH, GH_KW_REQUIRED, GH_KW_AT(gh_tls_cert_files, certificate),
     .max = 4u << 20},
    {"private_key", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_private_key},
    GH_KW_END,
};

static bool load_pair(gh_walk *w, yaml_node_t *n, gh_tls_cert_files *f)
{
    gh__cfg_fill(w, n, pair_keys, f, NULL);
    return f->certificate && f->private_key;
}

static void load_min_version(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_tls_server_opts *o = call->target;
    const char *s;
    o->min_version = 0;
    if (!gh__walk_str(w, n, &s))
        return;
    if (strcmp(s, "1.2") == 0)
        o->min_version = TLS1_2_VERSION;
    else if (strcmp(s, "1.3") == 0)
        o->min_version = TLS1_3_VERSION;
    else if (strcmp(s, "1.0") == 0 || strcmp(s, "1.1") == 0)
        gh__walk_error(w, n, "TLS %s is not offered (broken, and refused by current clients): \"1.2\" or \"1.3\"", s);
    else
        gh__walk_error(w, n, "'%s' is not a TLS version: \"1.2\" or \"1.3\"", s);
}

/* Warns about certificates past their end or close to it: the listener still starts (an
 * expired certificate is the operator's call), but not silently. */
static void warn_expiry(gh_walk *w, yaml_node_t *n, const gh_tls_server *s, size_t i)
{
    time_t end = gh_tls_server_cert_not_after(s, i), now = time(NULL);
    if (!end || end - now > 14 * 86400)
        return;
    char when[32];
    struct tm tm;
    gmtime_r(&end, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    gh__walk_warn(w, n, "the certificate for %s %s on %s", gh_tls_server_cert_label(s, i),
                  end <= now ? "expired" : "expires", when);
}

/* A file a running gateway reloads on when it changes. */
static void watch(gh_walk *w, gh_config *c, const char *path)
{
    gh_watched_file *f = path ? gh_arena_zalloc(w->arena, sizeof(*f)) : NULL;
    if (!f)
        return;
    f->path = path;
    f->next = c->watched_files;
    c->watched_files = f;
}

static const char *const client_auth[] = {"none", "optional", "required", NULL};

/* listeners[].tls, in the order it is read: the certificates first. */
static const gh_keyword listener_tls_keys[] = {
    {"certificate", GH_KW_CUSTOM},  /* read as a pair */
    {"private_key", GH_KW_CUSTOM},  /* read as a pair */
    {"certificates", GH_KW_CUSTOM}, /* read as pairs */
    {"min_version", GH_KW_CUSTOM, .load = load_min_version},
    {"ciphers", GH_KW_STRING, GH_KW_AT(gh_tls_server_opts, ciphers)},
    {"client_auth", GH_KW_ENUM, GH_KW_AT(gh_tls_server_opts, client_auth), .choices = client_auth},
    {"client_ca", GH_KW_PATH, GH_KW_AT(gh_tls_server_opts, client_ca), .max = 4u << 20},
    {"crl_file", GH_KW_PATH, GH_KW_AT(gh_tls_server_opts, crl_file), .max = 64u << 20},
    {"session_tickets", GH_KW_BOOL, GH_KW_NEGATE, GH_KW_AT(gh_tls_server_opts, no_tickets)},
    GH_KW_END,
};

/* The certificates a listener serves: certificate and private_key, and/or certificates:
 * [{certificate, private_key}], each pair noted with the node its errors point at. */
static void load_certificates(gh_walk *w, yaml_node_t *n, gh_tls_server_opts *o,
                              gh_tls_cert_files *certs, yaml_node_t **where)
{
    static const gh_keyword *const pair[] = {pair_keys, NULL};
    if (gh__walk_get(w, n, "certificate") || gh__walk_get(w, n, "private_key")) {
        where[o->ncerts] = n;
        o->ncerts += load_pair(w, n, &certs[o->ncerts]);
    }
    yaml_node_t *list = gh__walk_get(w, n, "certificates");
    if (!list)
        return;
    size_t saved = gh__walk_push_key(w, "certificates"), count = 0;
    yaml_node_item_t *items = gh__walk_items(w, list, &count);
    if (count + o->ncerts > GH_TLS_MAX_CERTS)
        gh__walk_error(w, list, "at most %d certificates on a listener", GH_TLS_MAX_CERTS);
    for (size_t i = 0; items && i < count && o->ncerts < GH_TLS_MAX_CERTS; i++) {
        size_t at = gh__walk_push_index(w, i);
        yaml_node_t *item = gh__walk_node(w, items[i]);
        if (gh__cfg_known(w, item, pair)) {
            where[o->ncerts] = item;
            o->ncerts += load_pair(w, item, &certs[o->ncerts]);
        }
        gh__walk_pop(w, at);
    }
    gh__walk_pop(w, saved);
}

/* The contexts are made once the settings passed: a certificate that cannot be used fails
 * where it is named. */
static void make_server(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                        const gh_tls_server_opts *o, yaml_node_t **where)
{
    for (size_t i = 0; i < o->ncerts; i++) {
        watch(w, c, o->certs[i].certificate);
        watch(w, c, o->certs[i].private_key);
    }
    watch(w, c, o->client_ca);
    watch(w, c, o->crl_file);
    char why[400];
    size_t bad;
    if (!(l->tls = gh_tls_server_new(o, why, sizeof(why), &bad))) {
        gh__walk_error(w, bad < o->ncerts ? where[bad] : n, "%s", why);
        return;
    }
    if (!gh__cfg_keep_tls_server(w, l->tls)) {
        l->tls = NULL;
        gh__walk_error(w, n, "out of memory");
        return;
    }
    for (size_t i = 0; i < o->ncerts; i++)
        warn_expiry(w, where[i], l->tls, i);
}

void gh__cfg_load_listener_tls(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                               gh_ticket_ring *tickets)
{
    gh_tls_cert_files certs[GH_TLS_MAX_CERTS] = {0};
    yaml_node_t *where[GH_TLS_MAX_CERTS];
    gh_tls_server_opts o = {.certs = certs,
                            .min_version = TLS1_2_VERSION,
                            .client_auth = GH_CLIENT_AUTH_NONE,
                            .tickets = tickets,
                            .h2 = l->http2};
    if (!gh__cfg_known(w, n, (const gh_keyword *const[]){listener_tls_keys, NULL}))
        return;
    load_certificates(w, n, &o, certs, where);
    if (!o.ncerts && !w->diag->errors)
        gh__walk_error(w, n, "a TLS listener needs certificate and private_key (or certificates)");
    gh__cfg_fill(w, n, listener_tls_keys, &o, NULL);
    if (o.client_auth != GH_CLIENT_AUTH_NONE && !o.client_ca && !gh__walk_get(w, n, "client_ca"))
        gh__walk_error(w, n, "client_auth: %s needs client_ca, the CAs that sign client certificates",
                       client_auth[o.client_auth]);
    if ((o.client_ca || o.crl_file) && o.client_auth == GH_CLIENT_AUTH_NONE)
        gh__walk_error(w, n, "client_ca and crl_file need client_auth: optional or required");
    l->client_auth = (int)o.client_auth;
    l->crl = o.crl_file != NULL;
    if (!w->diag->errors && o.ncerts)
        make_server(w, n, c, l, &o, where);
}

/* "AB:CD:…" or "abcd…": 64 hex digits, made lower-case without separators. */
static const char *fingerprint(gh_walk *w, yaml_node_t *n, const char *s)
{
    char *out = gh_arena_zalloc(w->arena, 65);
    size_t len = 0;
    for (const char *p = s; out && *p; p++) {
        if (*p == ':')
            continue;
        char ch = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || len == 64) {
            len = 65;
            break;
        }
        out[len++] = ch;
    }
    if (len != 64) {
        gh__walk_error(w, n, "'%s' is not a SHA-256 fingerprint (64 hex digits, colons allowed)", s);
        return NULL;
    }
    return out;
}

static void load_spiffe_ids(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_mtls_rule *r = call->target;
    r->spiffe_ids = gh__cfg_string_list(w, v, &r->nspiffe_ids);
    for (size_t i = 0; r->spiffe_ids && i < r->nspiffe_ids; i++)
        if (strncmp(r->spiffe_ids[i], "spiffe://", 9) != 0)
            gh__walk_error(w, v, "'%s' is not a SPIFFE ID (spiffe://trust-domain/path)", r->spiffe_ids[i]);
}

static void load_fingerprints(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_mtls_rule *r = call->target;
    r->fingerprints = gh__cfg_string_list(w, v, &r->nfingerprints);
    for (size_t i = 0; r->fingerprints && i < r->nfingerprints; i++)
        r->fingerprints[i] = fingerprint(w, v, r->fingerprints[i]);
}

static const gh_keyword mtls_keys[] = {
    {"spiffe_ids", GH_KW_CUSTOM, .load = load_spiffe_ids},
    {"subjects", GH_KW_LIST, GH_KW_LIST_AT(gh_mtls_rule, subjects, nsubjects)},
    {"fingerprints", GH_KW_CUSTOM, .load = load_fingerprints},
    GH_KW_END,
};

gh_mtls_rule *gh__cfg_load_mtls_rule(gh_walk *w, yaml_node_t *n)
{
    gh_mtls_rule *r = gh_arena_zalloc(w->arena, sizeof(*r));
    if (r)
        gh__cfg_apply(w, n, mtls_keys, r, NULL);
    return r;
}

/* What a client TLS mapping names, before the context is made of it. */
typedef struct client_tls_files {
    const char *ca, *cert, *key;
    gh_client_tls *out;
} client_tls_files;

static void load_server_name(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    client_tls_files *f = call->target;
    const char *name = NULL;
    if (gh__walk_str(w, v, &name) && (!*name || strlen(name) > 253))
        gh__walk_error(w, v, "a DNS name or an IP address");
    else
        f->out->server_name = name;
}

static void load_insecure(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const no_yes[] = {"false", "true", NULL};
    client_tls_files *f = call->target;
    f->out->insecure = gh__walk_enum(w, v, no_yes) == 1;
    if (f->out->insecure)
        gh__walk_warn(w, v, "the server's certificate is not verified: anyone on the path "
                            "can impersonate it and read the traffic");
}

static const gh_keyword client_tls_keys[] = {
    {"ca_file", GH_KW_PATH, GH_KW_AT(client_tls_files, ca), .max = 4u << 20},
    {"server_name", GH_KW_CUSTOM, .load = load_server_name},
    {"certificate", GH_KW_PATH, GH_KW_AT(client_tls_files, cert), .max = 4u << 20},
    {"private_key", GH_KW_PATH, GH_KW_AT(client_tls_files, key), .max = 1u << 20},
    {"insecure_skip_verify", GH_KW_CUSTOM, .load = load_insecure},
    GH_KW_END,
};

/* Skipping verification is offered only where the peer may be a test or legacy backend. */
static bool load_client_files(gh_walk *w, yaml_node_t *n, client_tls_files *f, bool allow_insecure)
{
    if (!gh__cfg_known(w, n, (const gh_keyword *const[]){client_tls_keys, NULL}))
        return false;
    yaml_node_t *insecure = gh__walk_get(w, n, "insecure_skip_verify");
    if (insecure && !allow_insecure) {
        gh__walk_error(w, insecure, "not offered here: the certificate is always verified");
        return false;
    }
    gh__cfg_fill(w, n, client_tls_keys, f, NULL);
    if (!f->cert != !f->key) {
        gh__walk_error(w, n, "certificate and private_key go together (a client certificate)");
        return false;
    }
    return true;
}

void gh__cfg_client_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                        gh_client_tls *out, bool allow_insecure)
{
    client_tls_files f = {.out = out};
    if ((n && !load_client_files(w, n, &f, allow_insecure)) || w->diag->errors)
        return;
    char why[300];
    if (!(out->ctx = gh_tls_client_ctx(f.ca, f.cert, f.key, why, sizeof(why)))) {
        gh__walk_error(w, n ? n : where, "%s", why);
        return;
    }
    if (!gh__cfg_keep_ssl_ctx(w, out->ctx)) {
        out->ctx = NULL;
        return;
    }
    if (out->insecure)
        SSL_CTX_set_verify(out->ctx, SSL_VERIFY_NONE, NULL);
    out->ca_file = f.ca;
    out->cert_file = f.cert;
    out->key_file = f.key;
    watch(w, c, f.ca);
    watch(w, c, f.cert);
    watch(w, c, f.key);
}

void gh__cfg_load_upstream_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                               gh_upstream_conf *u)
{
    gh_client_tls t = {0};
    gh__cfg_client_tls(w, n, where, c, &t, true);
    u->tls = t.ctx;
    u->server_name = t.server_name;
    u->insecure = t.insecure;
    u->tls_ca_file = t.ca_file;
    u->tls_cert_file = t.cert_file;
    u->tls_key_file = t.key_file;
}
