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

/* One {certificate, private_key} pair. */
static bool load_pair(gh_walk *w, yaml_node_t *n, gh_tls_cert_files *f)
{
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, "certificate", true, f->certificate = gh__walk_readable_path(w, v, 4u << 20))
    GH_CFG_FIELD(w, n, "private_key", true, {
        f->private_key = gh__walk_readable_path(w, v, 1u << 20);
        struct stat st;
        if (f->private_key && stat(f->private_key, &st) == 0 && (st.st_mode & S_IROTH))
            gh__walk_warn(w, v, "the private key is readable by every user (mode %04o): chmod 600",
                          (unsigned)(st.st_mode & 07777));
    })
    return f->certificate && f->private_key;
}

static int load_min_version(gh_walk *w, yaml_node_t *n)
{
    const char *s;
    if (!gh__walk_str(w, n, &s))
        return 0;
    if (strcmp(s, "1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(s, "1.3") == 0)
        return TLS1_3_VERSION;
    if (strcmp(s, "1.0") == 0 || strcmp(s, "1.1") == 0)
        gh__walk_error(w, n, "TLS %s is not offered (broken, and refused by current clients): \"1.2\" or \"1.3\"", s);
    else
        gh__walk_error(w, n, "'%s' is not a TLS version: \"1.2\" or \"1.3\"", s);
    return 0;
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

void gh__cfg_load_listener_tls(gh_walk *w, yaml_node_t *n, gh_config *c, gh_listener_conf *l,
                               gh_ticket_ring *tickets)
{
    static const char *const keys[] = {"certificate", "private_key", "certificates",
                                       "min_version", "ciphers",     "client_auth",
                                       "client_ca",   "crl_file",    "session_tickets",
                                       NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    static const char *const client_auth[] = {"none", "optional", "required", NULL};
    yaml_node_t *v, *list = NULL;
    size_t saved, count = 0;
    if (!gh__walk_keys(w, n, keys))
        return;
    gh_tls_cert_files certs[GH_TLS_MAX_CERTS];
    yaml_node_t *where[GH_TLS_MAX_CERTS];
    gh_tls_server_opts o = {.certs = certs,
                            .min_version = TLS1_2_VERSION,
                            .client_auth = GH_CLIENT_AUTH_NONE,
                            .tickets = tickets,
                            .h2 = l->http2};
    if (gh__walk_get(w, n, "certificate") || gh__walk_get(w, n, "private_key")) {
        where[o.ncerts] = n;
        o.ncerts += load_pair(w, n, &certs[o.ncerts]);
    }
    yaml_node_item_t *items = NULL;
    if ((list = gh__walk_get(w, n, "certificates"))) {
        saved = gh__walk_push_key(w, "certificates");
        items = gh__walk_items(w, list, &count);
        if (count + o.ncerts > GH_TLS_MAX_CERTS)
            gh__walk_error(w, list, "at most %d certificates on a listener", GH_TLS_MAX_CERTS);
        for (size_t i = 0; items && i < count && o.ncerts < GH_TLS_MAX_CERTS; i++) {
            size_t at = gh__walk_push_index(w, i);
            yaml_node_t *item = gh__walk_node(w, items[i]);
            static const char *const pair_keys[] = {"certificate", "private_key", NULL};
            if (gh__walk_keys(w, item, pair_keys)) {
                where[o.ncerts] = item;
                o.ncerts += load_pair(w, item, &certs[o.ncerts]);
            }
            gh__walk_pop(w, at);
        }
        gh__walk_pop(w, saved);
    }
    if (!o.ncerts && !w->diag->errors)
        gh__walk_error(w, n, "a TLS listener needs certificate and private_key (or certificates)");
    GH_CFG_FIELD(w, n, "min_version", false, o.min_version = load_min_version(w, v))
    GH_CFG_FIELD(w, n, "ciphers", false, gh__walk_str(w, v, &o.ciphers))
    GH_CFG_FIELD(w, n, "client_auth", false, {
        int a = gh__walk_enum(w, v, client_auth);
        if (a > 0)
            o.client_auth = (gh_client_auth)a;
    })
    GH_CFG_FIELD(w, n, "client_ca", false, o.client_ca = gh__walk_readable_path(w, v, 4u << 20))
    GH_CFG_FIELD(w, n, "crl_file", false, o.crl_file = gh__walk_readable_path(w, v, 64u << 20))
    GH_CFG_FIELD(w, n, "session_tickets", false, o.no_tickets = gh__walk_enum(w, v, no_yes) == 0)
    if (o.client_auth != GH_CLIENT_AUTH_NONE && !o.client_ca && !gh__walk_get(w, n, "client_ca"))
        gh__walk_error(w, n, "client_auth: %s needs client_ca, the CAs that sign client certificates",
                       client_auth[o.client_auth]);
    if ((o.client_ca || o.crl_file) && o.client_auth == GH_CLIENT_AUTH_NONE)
        gh__walk_error(w, n, "client_ca and crl_file need client_auth: optional or required");
    l->client_auth = (int)o.client_auth;
    l->crl = o.crl_file != NULL;
    if (w->diag->errors || !o.ncerts)
        return;
    for (size_t i = 0; i < o.ncerts; i++) {
        watch(w, c, certs[i].certificate);
        watch(w, c, certs[i].private_key);
    }
    watch(w, c, o.client_ca);
    watch(w, c, o.crl_file);
    char why[400];
    size_t bad;
    if (!(l->tls = gh_tls_server_new(&o, why, sizeof(why), &bad))) {
        gh__walk_error(w, bad < o.ncerts ? where[bad] : n, "%s", why);
        return;
    }
    for (size_t i = 0; i < o.ncerts; i++)
        warn_expiry(w, where[i], l->tls, i);
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

gh_mtls_rule *gh__cfg_load_mtls_rule(gh_walk *w, yaml_node_t *n, gh_config *c)
{
    static const char *const keys[] = {"spiffe_ids", "subjects", "fingerprints", NULL};
    gh_mtls_rule *r = gh_arena_zalloc(&c->arena, sizeof(*r));
    if (!r || !gh__walk_keys(w, n, keys))
        return r;
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, "spiffe_ids", false, {
        r->spiffe_ids = gh__cfg_string_list(w, v, &r->nspiffe_ids);
        for (size_t i = 0; r->spiffe_ids && i < r->nspiffe_ids; i++)
            if (strncmp(r->spiffe_ids[i], "spiffe://", 9) != 0)
                gh__walk_error(w, v, "'%s' is not a SPIFFE ID (spiffe://trust-domain/path)", r->spiffe_ids[i]);
    })
    GH_CFG_FIELD(w, n, "subjects", false, r->subjects = gh__cfg_string_list(w, v, &r->nsubjects))
    GH_CFG_FIELD(w, n, "fingerprints", false, {
        r->fingerprints = gh__cfg_string_list(w, v, &r->nfingerprints);
        for (size_t i = 0; r->fingerprints && i < r->nfingerprints; i++)
            r->fingerprints[i] = fingerprint(w, v, r->fingerprints[i]);
    })
    return r;
}

void gh__cfg_client_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                        gh_client_tls *out, bool allow_insecure)
{
    static const char *const keys[] = {"ca_file", "server_name", "certificate", "private_key",
                                       "insecure_skip_verify", NULL};
    static const char *const no_yes[] = {"false", "true", NULL};
    yaml_node_t *v;
    size_t saved;
    const char *ca = NULL, *cert = NULL, *key = NULL;
    /* Skipping verification is offered only where the peer may be a test or legacy backend. */
    if (n && !gh__walk_keys(w, n, keys))
        return;
    if (n && !allow_insecure && gh__walk_get(w, n, "insecure_skip_verify")) {
        gh__walk_error(w, gh__walk_get(w, n, "insecure_skip_verify"), "not offered here: the "
                       "certificate is always verified");
        return;
    }
    if (n) {
        GH_CFG_FIELD(w, n, "ca_file", false, ca = gh__walk_readable_path(w, v, 4u << 20))
        GH_CFG_FIELD(w, n, "server_name", false, {
            const char *name = NULL;
            if (gh__walk_str(w, v, &name) && (!*name || strlen(name) > 253))
                gh__walk_error(w, v, "a DNS name or an IP address");
            else
                out->server_name = name;
        })
        GH_CFG_FIELD(w, n, "certificate", false, cert = gh__walk_readable_path(w, v, 4u << 20))
        GH_CFG_FIELD(w, n, "private_key", false, key = gh__walk_readable_path(w, v, 1u << 20))
        GH_CFG_FIELD(w, n, "insecure_skip_verify", false, {
            out->insecure = gh__walk_enum(w, v, no_yes) == 1;
            if (out->insecure)
                gh__walk_warn(w, v, "the server's certificate is not verified: anyone on the path "
                                    "can impersonate it and read the traffic");
        })
        if (!cert != !key) {
            gh__walk_error(w, n, "certificate and private_key go together (a client certificate)");
            return;
        }
    }
    if (w->diag->errors)
        return;
    char why[300];
    if (!(out->ctx = gh_tls_client_ctx(ca, cert, key, why, sizeof(why)))) {
        gh__walk_error(w, n ? n : where, "%s", why);
        return;
    }
    if (out->insecure)
        SSL_CTX_set_verify(out->ctx, SSL_VERIFY_NONE, NULL);
    watch(w, c, ca);
    watch(w, c, cert);
    watch(w, c, key);
}

void gh__cfg_load_upstream_tls(gh_walk *w, yaml_node_t *n, yaml_node_t *where, gh_config *c,
                               gh_upstream_conf *u)
{
    gh_client_tls t = {0};
    gh__cfg_client_tls(w, n, where, c, &t, true);
    u->tls = t.ctx;
    u->server_name = t.server_name;
    u->insecure = t.insecure;
}
