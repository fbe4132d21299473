/* The top level of the configuration file (its keys, in the order they are read: each section
 * lives in its own file), loading a snapshot from a file or a string, and releasing it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "config/config_print.h"
#include "core/hex.h"
#include "core/lookup.h"

#define GH_MAX_FILE_BYTES (4u << 20)

int gh_split_hostport(const char *s, char *host, size_t cap, const char **port)
{
    const char *p;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= cap)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        p = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t)(colon - s) >= cap)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        p = colon + 1;
    }
    char *end;
    long n = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || n < 1 || n > 65535)
        return -1;
    *port = p;
    return 0;
}

int gh_sockaddr_compare(const gh_sockaddr *a, const gh_sockaddr *b)
{
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(&a->ss, &b->ss, a->len);
}

static int compare_sockaddrs(const void *a, const void *b)
{
    return gh_sockaddr_compare(a, b);
}

void gh_sockaddrs_sort(gh_sockaddr *a, size_t n)
{
    qsort(a, n, sizeof(*a), compare_sockaddrs);
}

size_t gh_addrinfo_collect(const struct addrinfo *res, gh_sockaddr *out, size_t max)
{
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(out->ss))
            continue;
        gh_sockaddr one = {.len = ai->ai_addrlen};
        memcpy(&one.ss, ai->ai_addr, ai->ai_addrlen);
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = gh_sockaddr_compare(&out[i], &one) == 0;
        if (seen)
            continue;
        if (n == max)
            return max + 1;
        out[n++] = one;
    }
    gh_sockaddrs_sort(out, n);
    return n;
}

/* getaddrinfo's hints for a host: fuzzing builds never reach the network, so names other than
 * literals fail there. */
static struct addrinfo resolve_hints(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
#ifdef GH_NO_DNS
    hints.ai_flags = AI_NUMERICHOST;
#endif
    return hints;
}

/* getaddrinfo, given up after wait_ms (0: never) with EAI_AGAIN: the lookup then ends on a
 * thread of its own, unheard. Literals, and fuzzing builds, are answered at once. */
static int lookup_within(const char *host, const char *port, bool named, uint64_t wait_ms,
                         struct addrinfo **res)
{
    struct addrinfo hints = resolve_hints();
    int error = 0;
    gh_lookup *l = NULL;
    if (!named || !wait_ms || (hints.ai_flags & AI_NUMERICHOST) ||
        !(l = gh_lookup_start(host, port, NULL, NULL, &error)))
        return getaddrinfo(host, port, &hints, res);
    int status = EAI_AGAIN;
    if (!gh_lookup_take(l, wait_ms, &status, res))
        status = EAI_AGAIN;
    gh_lookup_release(l);
    return status;
}

int gh_resolve_hostport(const char *s, gh_sockaddr *out, size_t max, uint64_t wait_ms, bool *named,
                        int *gai_error)
{
    char host[256];
    const char *port;
    *gai_error = 0;
    if (gh_split_hostport(s, host, sizeof(host), &port) != 0)
        return -1;
    unsigned char literal[16];
    *named = inet_pton(AF_INET, host, literal) != 1 && inet_pton(AF_INET6, host, literal) != 1;
    struct addrinfo *res = NULL;
    if ((*gai_error = lookup_within(host, port, *named, wait_ms, &res)) != 0 || !res) {
        if (!*gai_error)
            *gai_error = EAI_NONAME;
        return -1;
    }
    size_t n = gh_addrinfo_collect(res, out, max);
    freeaddrinfo(res);
    if (n == 0)
        *gai_error = EAI_ADDRFAMILY;
    return n == 0 ? -1 : (int)n;
}

int gh_parse_hostport(const char *s, gh_sockaddr *out)
{
    char host[256];
    const char *port;
    if (gh_split_hostport(s, host, sizeof(host), &port) != 0)
        return -1;
    struct addrinfo hints = resolve_hints(), *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *gh__cfg_host_of(gh_arena *a, const char *hostport)
{
    const char *host = hostport + (hostport[0] == '[');
    const char *end = hostport[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
    return end ? gh_arena_strndup(a, host, (size_t)(end - host)) : NULL;
}

static void load_workers(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    uint64_t n;
    if (v->type == YAML_SCALAR_NODE && strcmp((char *)v->data.scalar.value, "auto") == 0)
        c->workers = 0;
    else if (gh__walk_uint(w, v, 1, 64, &n))
        c->workers = (int)n;
}

static bool access_log_ok(const char *s)
{
    return strcmp(s, "stdout") == 0 || strcmp(s, "off") == 0 || s[0] == '/';
}

static bool absolute_path(const char *s)
{
    return s[0] == '/';
}

/* udp://host:port, tcp://host:port (a port in 1..65535) or unix:/absolute/path. */
static bool syslog_address_ok(const char *s)
{
    if (strncmp(s, "unix:/", 6) == 0)
        return strlen(s) - 5 < 108; /* sun_path */
    if (strncmp(s, "udp://", 6) != 0 && strncmp(s, "tcp://", 6) != 0)
        return false;
    const char *host = s + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host || (host[0] == '[' && colon[-1] != ']'))
        return false;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    return colon[1] >= '0' && colon[1] <= '9' && *end == '\0' && port >= 1 && port <= 65535;
}

/* APP-NAME: 1 to 48 printable US-ASCII characters, no space (RFC 5424 section 6.2.5). */
static bool syslog_app_name_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 33 || s[i] > 126)
            return false;
    return n >= 1 && n <= 48;
}

/* The facilities by number (RFC 5424 table 1): the index stored is the facility. */
static const char *const syslog_facilities[] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",      "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",    "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6",   "local7",
    NULL};

/* security_events.syslog: where the messages go and what they say they are. */
static const gh_keyword security_syslog_keys[] = {
    {"address", GH_KW_STRING, GH_KW_AT(gh_sec_syslog_conf, address), .valid = syslog_address_ok,
     .invalid = "expected udp://host:port, tcp://host:port or unix:/absolute/path"},
    {"facility", GH_KW_ENUM, GH_KW_AT(gh_sec_syslog_conf, facility),
     .choices = syslog_facilities, .def = "auth"},
    {"app_name", GH_KW_STRING, GH_KW_AT(gh_sec_syslog_conf, app_name), .def = "gatehouse",
     .valid = syslog_app_name_ok, .invalid = "expected 1 to 48 printable characters, no space"},
    GH_KW_END,
};

static bool http_url_ok(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 && s[8]) || (strncmp(s, "http://", 7) == 0 && s[7]);
}

/* "Name: value": a token name, a colon, a value without control characters. */
static bool header_line_ok(const char *s)
{
    size_t name = strcspn(s, ":");
    if (name == 0 || s[name] != ':')
        return false;
    for (size_t i = 0; i < name; i++)
        if (s[i] <= 32 || s[i] >= 127)
            return false;
    for (const char *c = s + name + 1; *c; c++)
        if ((unsigned char)*c < 32 && *c != '\t')
            return false;
    return true;
}

/* security_events.http: where the batches go and how large they are. */
static const gh_keyword security_http_keys[] = {
    {"url", GH_KW_STRING, GH_KW_AT(gh_sec_http_conf, url), .valid = http_url_ok,
     .invalid = "expected an http:// or https:// URL"},
    {"headers", GH_KW_LIST, GH_KW_LIST_AT(gh_sec_http_conf, headers, nheaders),
     .valid = header_line_ok, .invalid = "expected 'Name: value', got '%s'"},
    {"authorization", GH_KW_SECRET, GH_KW_AT(gh_sec_http_conf, authorization)},
    {"batch", GH_KW_UINT, GH_KW_AT(gh_sec_http_conf, batch), .min = 1, .max = 10000,
     .def = "100"},
    {"interval", GH_KW_DURATION, GH_KW_AT(gh_sec_http_conf, interval_ms), .min = 10,
     .max = 60000, .def = "1s"},
    GH_KW_END,
};

/* security_events: where the stream goes and how much of one repetition it writes. */
static const gh_keyword security_events_keys[] = {
    {"file", GH_KW_STRING, GH_KW_AT(gh_security_events_conf, file), .def = "off",
     .valid = access_log_ok, .invalid = "expected stdout, off or an absolute file path"},
    {"max_per_second", GH_KW_UINT, GH_KW_AT(gh_security_events_conf, max_per_second), .min = 1,
     .max = 100000, .def = "10"},
    {"syslog", GH_KW_MAP, GH_KW_AT(gh_security_events_conf, syslog),
     .table = security_syslog_keys},
    {"http", GH_KW_MAP, GH_KW_AT(gh_security_events_conf, http), .table = security_http_keys},
    {"certificate_expiry_warning", GH_KW_DURATION,
     GH_KW_AT(gh_security_events_conf, cert_warning_ms), .max = 365 * 86400000ULL, .def = "14d"},
    {"certificate_check_interval", GH_KW_DURATION,
     GH_KW_AT(gh_security_events_conf, cert_check_ms), .min = 1000, .max = 86400000,
     .def = "1h"},
    GH_KW_END,
};

/* The top level, in the order it is read: what the sections refer to comes first. */
static const gh_keyword root_keys[] = {
    {"workers", GH_KW_CUSTOM, .def = "auto", .load = load_workers}, /* auto: 0, as many as
                                                                      * processors */
    {"user", GH_KW_CUSTOM, .load = gh__cfg_load_user},
    {"group", GH_KW_CUSTOM, .load = gh__cfg_load_group},
    {"seccomp", GH_KW_BOOL, GH_KW_AT(gh_config, process.seccomp), .def = "true"},
    {"http1", GH_KW_MAP, .table = gh__cfg_http1_keys},
    {"http2", GH_KW_MAP, GH_KW_AT(gh_config, http2), .table = gh__cfg_http2_keys},
    {"access_log", GH_KW_STRING, GH_KW_AT(gh_config, access_log), .def = "stdout",
     .valid = access_log_ok, .invalid = "expected stdout, off or an absolute file path"},
    {"security_events", GH_KW_MAP, GH_KW_AT(gh_config, security_events),
     .table = security_events_keys},
    {"pid_file", GH_KW_STRING, GH_KW_AT(gh_config, pid_file), .valid = absolute_path,
     .invalid = "expected an absolute file path"},
    {"drain_timeout", GH_KW_DURATION, GH_KW_AT(gh_config, drain_timeout_ms), .max = 3600000,
     .def = "30s"},
    {"listeners", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = gh__cfg_load_listeners},
    {"admin", GH_KW_CUSTOM, .load = gh__cfg_load_admin},
    {"limits", GH_KW_CUSTOM, GH_KW_ALWAYS, GH_KW_AT(gh_config, limits),
     .table = gh__cfg_limits_keys, .load = gh__cfg_load_limits},
    {"paths", GH_KW_MAP, GH_KW_AT(gh_config, paths), .table = gh__cfg_paths_keys},
    {"headers", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = gh__cfg_load_top_headers},
    {"trusted_proxies", GH_KW_CUSTOM, .load = gh__cfg_load_trusted},
    {"upstreams", GH_KW_CUSTOM, .load = gh__cfg_load_upstreams},
    {"identity", GH_KW_MAP, .table = gh__cfg_identity_keys},
    {"policies", GH_KW_CUSTOM, .load = gh__cfg_load_policies},
    {"stores", GH_KW_MAP, .table = gh__cfg_stores_keys},
    {"rate_limits", GH_KW_CUSTOM, .load = gh__cfg_load_rate_limits},
    {"routes", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = gh__cfg_load_routes},
    {"audit", GH_KW_MAP, GH_KW_AT(gh_config, audit), .table = gh__cfg_audit_keys},
    {"tracing", GH_KW_MAP, GH_KW_AT(gh_config, tracing), .table = gh__cfg_tracing_keys},
    {"anomaly", GH_KW_CUSTOM, GH_KW_ALWAYS, GH_KW_AT(gh_config, anomaly),
     .table = gh__cfg_anomaly_keys, .load = gh__cfg_load_anomaly},
    {"bans", GH_KW_CUSTOM, GH_KW_ALWAYS, GH_KW_AT(gh_config, bans), .table = gh__cfg_bans_keys,
     .load = gh__cfg_load_bans},
    GH_KW_END,
};

static void load_root(gh_walk *w, yaml_node_t *root, gh_config *c, gh_shared *shared)
{
    if (!root) {
        gh__walk_error(w, NULL, "the file is empty");
        return;
    }
    if (!gh__cfg_apply(w, root, root_keys, c, shared))
        return;
    gh__cfg_process_finish(w, root, c);
    yaml_node_t *v;
    if ((v = gh__walk_get(w, root, "routes")) && w->diag->errors == 0) {
        size_t saved = gh__walk_push_key(w, "routes");
        gh__cfg_check_shadowing(w, v, c);
        gh__walk_pop(w, saved);
    }
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
}

static void hash_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    gh_hex_encode(md, 32, out);
    out[64] = '\0';
}

/* The effective configuration into the snapshot (redacted) and its hash (of the form with
 * nothing redacted, so that a printed configuration with no key material loads to the hash of
 * the one it was printed from). */
static void keep_effective(gh_walk *w, gh_config *c)
{
    size_t len, shown_len;
    bool redacted;
    char *full = gh__cfg_print(w, false, &len, NULL);
    char *shown = full ? gh__cfg_print(w, true, &shown_len, &redacted) : NULL;
    if (shown) {
        hash_hex(full, len, c->hash);
        /* The hash as a comment: it says which configuration this is without changing it. */
        c->effective = gh_arena_printf(&c->arena, "# config hash %s\n%.*s", c->hash,
                                       (int)shown_len, shown);
        c->effective_len = c->effective ? strlen(c->effective) : 0;
        c->effective_redacted = redacted;
        if (!c->effective)
            gh__walk_error(w, NULL, "out of memory");
    }
    if (full)
        OPENSSL_cleanse(full, len);
    free(full);
    free(shown);
}

gh_config *gh_config_parse_string(const char *name, const char *yaml, size_t len,
                                  gh_shared *shared, const gh_route_keys *const *route_keys,
                                  gh_diag *diag)
{
    gh_config *c = calloc(1, sizeof(*c));
    if (!c) {
        gh_diag_add(diag, true, "%s: out of memory", name);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    gh_arena_init(&c->arena, 16 * 1024, 0);
    c->file = gh_arena_strdup(&c->arena, name);
    hash_hex(yaml, len, c->file_sha256);
    c->route_keys = route_keys;

    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    size_t errors_before = diag->errors;
    if (!yaml_parser_load(&parser, &doc)) {
        gh_diag_add(diag, true, "%s:%zu:%zu: (yaml): %s", name, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        gh_config_release(c);
        return NULL;
    }
    gh_walk w = {.doc = &doc, .file = c->file, .diag = diag, .arena = &c->arena,
                 .notes = gh__cfg_notes_new(&doc)};
    if (!w.notes)
        gh_diag_add(diag, true, "%s: out of memory", name);
    else
        load_root(&w, yaml_document_get_root_node(&doc), c, shared);
    if (diag->errors == errors_before)
        keep_effective(&w, c);
    gh__cfg_notes_free(w.notes);
    yaml_parser_delete(&parser);
    yaml_document_delete(&doc);
    c->route_keys = NULL; /* read: the route keeps what they gave */
    if (diag->errors > errors_before) {
        gh_config_release(c);
        return NULL;
    }
    return c;
}

gh_config *gh_config_parse(const char *path, gh_shared *shared,
                           const gh_route_keys *const *route_keys, gh_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        gh_diag_add(diag, true, "%s:1:1: (file): cannot open: %m", path);
        return NULL;
    }
    char *buf = malloc(GH_MAX_FILE_BYTES + 1);
    size_t len = buf ? fread(buf, 1, GH_MAX_FILE_BYTES + 1, f) : 0;
    bool unreadable = buf && ferror(f); /* a folder opens, and reads as EISDIR */
    int err = errno;
    fclose(f);
    if (unreadable) {
        gh_diag_add(diag, true, "%s:1:1: (file): cannot read: %s", path, strerror(err));
        free(buf);
        return NULL;
    }
    if (!buf || len > GH_MAX_FILE_BYTES) {
        gh_diag_add(diag, true, "%s:1:1: (file): larger than %u bytes", path, GH_MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    gh_config *c = gh_config_parse_string(path, buf, len, shared, route_keys, diag);
    free(buf);
    return c;
}

void gh_config_ref(gh_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/* What the snapshot holds beyond its arena goes with the arena (config/keep.h). */
void gh_config_release(gh_config *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    gh_arena_free(&c->arena);
    free(c);
}
