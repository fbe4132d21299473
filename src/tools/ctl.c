/* `gatehouse reload|stop|status|bans`: one HTTP/1.1 request to the admin listener of a running
 * gateway, found with -c FILE (its admin.address and admin.token, loaded as `check` loads it,
 * nothing bound) or given with --admin HOST:PORT. Asking the process through its own listener,
 * rather than signalling a pid, reaches exactly the gateway that serves that address. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "stages/registry.h"
#include "tools/ctl.h"

#define GH_CTL_MAX_BODY (4 * 1024 * 1024) /* a /status of the largest configuration fits */
#define GH_CTL_MAX_TOKEN 4096
#define GH_CTL_WAIT_SLACK_MS 5000 /* stop --wait: beyond drain_timeout */

typedef struct ctl_opts {
    const char *verb, *config, *admin, *token_file;
    const char *sub, *key; /* bans: list, or lift KEY */
    bool json, wait;
} ctl_opts;

/* Where to ask and with what token; owns what it holds. */
typedef struct ctl_target {
    char *address;
    char *token;     /* NULL: none */
    bool unloadable; /* -c FILE does not load: a reload of it would be refused too */
} ctl_target;

typedef struct ctl_reply {
    long status;
    char *body;
    size_t len;
} ctl_reply;

bool gh_ctl_is_verb(const char *verb)
{
    return strcmp(verb, "reload") == 0 || strcmp(verb, "stop") == 0 ||
           strcmp(verb, "status") == 0 || strcmp(verb, "bans") == 0;
}

static int usage(const char *verb, FILE *out)
{
    static const char *const what[][2] = {
        {"reload", "load the configuration file again; prints the reload's report (exit 0 "
                   "reloaded, 1 refused)"},
        {"stop", "drain and stop (exit 0 once accepted); --wait: until the process is gone "
                 "(at most drain_timeout + 5s, exit 1 beyond)"},
        {"status", "version, configuration, uptime, workers, listeners, upstream health (exit "
                   "0 ready, 1 not ready or draining)"},
        {"bans", "list: the clients banned now; lift KEY: end KEY's ban (a key as listed; "
                 "exit 1 when it has none)"},
    };
    for (size_t i = 0; i < 4; i++)
        if (strcmp(verb, what[i][0]) == 0)
            fprintf(out,
                    "usage: gatehouse %s%s [-c FILE | --admin HOST:PORT] [--token-file PATH] "
                    "[--json]%s\n  %s\n"
                    "  -c FILE            find admin.address and admin.token in FILE\n"
                    "  --admin HOST:PORT  ask this admin listener\n"
                    "  --token-file PATH  the admin token (instead of admin.token)\n"
                    "  --json             print the answer as JSON\n"
                    "exit 2: the admin listener could not be reached or refused the token\n",
                    verb, i == 3 ? " list|lift KEY" : "", i == 1 ? " [--wait]" : "", what[i][1]);
    return out == stderr ? 2 : 0;
}

/* 0 parsed, 1 --help asked, -1 refused (said why). */
static int parse(int argc, char **argv, ctl_opts *o)
{
    *o = (ctl_opts){.verb = argv[0]};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **value = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ? &o->config
                             : strcmp(a, "--admin") == 0                       ? &o->admin
                             : strcmp(a, "--token-file") == 0                  ? &o->token_file
                                                                               : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--wait") == 0 && strcmp(o->verb, "stop") == 0)
            o->wait = true;
        else if (value && i + 1 < argc && !*value)
            *value = argv[++i];
        else if (strcmp(o->verb, "bans") == 0 && a[0] != '-' && (!o->sub || !o->key))
            *(o->sub ? &o->key : &o->sub) = a;
        else {
            fprintf(stderr, "gatehouse %s: %s '%s'\n", o->verb,
                    value ? "a value is missing or repeated after" : "unexpected argument", a);
            return -1;
        }
    }
    bool bans = strcmp(o->verb, "bans") == 0;
    if (bans && !(o->sub && ((strcmp(o->sub, "list") == 0 && !o->key) ||
                             (strcmp(o->sub, "lift") == 0 && o->key)))) {
        fprintf(stderr, "gatehouse bans: expected 'list' or 'lift KEY'\n");
        return -1;
    }
    if (!o->config == !o->admin) {
        fprintf(stderr, "gatehouse %s: give either -c FILE or --admin HOST:PORT\n", o->verb);
        return -1;
    }
    return 0;
}

static char *read_token_file(const char *verb, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "gatehouse %s: --token-file %s: %s\n", verb, path, strerror(errno));
        return NULL;
    }
    char *buf = calloc(1, GH_CTL_MAX_TOKEN + 1);
    size_t n = buf ? fread(buf, 1, GH_CTL_MAX_TOKEN, f) : 0;
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (buf && n == 0) {
        fprintf(stderr, "gatehouse %s: --token-file %s is empty\n", verb, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* The admin listener of FILE, loaded as `check` loads it (secrets resolved, nothing bound). */
static int target_from_config(const ctl_opts *o, ctl_target *t)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load(o->config, NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    int rc = 0;
    if (!c) {
        /* Said plainly: "admin listener is unknown" alone reads as if the admin listener were
         * the error, and a reload must say that the running gateway kept its configuration. */
        if (strcmp(o->verb, "reload") == 0)
            fprintf(stderr,
                    "gatehouse reload: %s does not load (errors above): nothing was asked, the "
                    "running gateway keeps its configuration\n", o->config);
        else
            fprintf(stderr,
                    "gatehouse %s: %s does not load (errors above), so its admin listener is "
                    "unknown: fix the file or name the listener with --admin HOST:PORT\n",
                    o->verb, o->config);
        t->unloadable = true;
        rc = -1;
    } else if (!c->has_admin) {
        fprintf(stderr,
                "gatehouse %s: %s has no admin listener (admin.address): %s needs one to talk "
                "to\n", o->verb, o->config, o->verb);
        rc = -1;
    } else {
        t->address = strdup(c->admin.address);
        t->token = c->admin_token ? strdup(c->admin_token) : NULL;
    }
    gh_config_release(c);
    return rc;
}

static int resolve_target(const ctl_opts *o, ctl_target *t)
{
    *t = (ctl_target){0};
    if (o->config ? target_from_config(o, t) != 0 : !(t->address = strdup(o->admin)))
        return -1;
    if (o->token_file) {
        free(t->token);
        if (!(t->token = read_token_file(o->verb, o->token_file)))
            return -1;
    }
    return t->address ? 0 : -1;
}

static size_t take_body(char *data, size_t size, size_t n, void *arg)
{
    ctl_reply *r = arg;
    size_t add = size * n;
    if (r->len + add > GH_CTL_MAX_BODY)
        return 0; /* more than any admin answer: stop reading */
    char *grown = realloc(r->body, r->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, data, add);
    r->body = grown;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* One request; 0 with the answer in *r, or -1 with why it was not reached in why. */
static int ask(const ctl_target *t, const char *method, const char *path, long timeout_ms,
               ctl_reply *r, char *why, size_t whylen)
{
    *r = (ctl_reply){0};
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, whylen, "cannot set up the HTTP client");
        return -1;
    }
    char url[512], auth[GH_CTL_MAX_TOKEN + 32];
    snprintf(url, sizeof(url), "http://%s%s", t->address, path);
    struct curl_slist *headers = NULL;
    if (t->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the admin listener, never a proxy */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    CURLcode rc = curl_easy_perform(h);
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (t->token)
        memset(auth, 0, sizeof(auth));
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc));
        free(r->body);
        *r = (ctl_reply){0};
        return -1;
    }
    if (!r->body && !(r->body = calloc(1, 1)))
        return -1;
    return 0;
}

/* The answer was not what the verb asked for: says so and which status; exit 2 for a refused
 * token (the caller could not ask), 1 otherwise. */
static int unexpected(const ctl_opts *o, const ctl_target *t, const ctl_reply *r)
{
    if (r->status == 401) {
        fprintf(stderr,
                "gatehouse %s: the admin listener at %s refused the token (401): %s"
                "give the admin token with -c FILE (admin.token) or --token-file PATH\n",
                o->verb, t->address, r->body);
        return 2;
    }
    fprintf(stderr, "gatehouse %s: %s answered %ld: %s", o->verb, t->address, r->status,
            r->body);
    return 1;
}

static int do_reload(const ctl_opts *o, const ctl_target *t, const ctl_reply *r)
{
    if (r->status != 200 && r->status != 422)
        return unexpected(o, t, r);
    if (o->json) {
        json_t *j = json_pack("{s:b,s:s}", "reloaded", r->status == 200, "report", r->body);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(j);
    } else {
        fputs(r->body, r->status == 200 ? stdout : stderr);
    }
    return r->status == 200 ? 0 : 1;
}

/* Whether pid names a process that has not exited: one that exited but was not yet waited for
 * by its parent (a zombie, state Z) is gone for its callers. */
static bool process_runs(long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return false;
    char path[64], stat_line[512] = "";
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true; /* no /proc: kill said it exists */
    size_t n = fread(stat_line, 1, sizeof(stat_line) - 1, f);
    fclose(f);
    stat_line[n] = '\0';
    const char *state = strrchr(stat_line, ')'); /* after the command, which may hold spaces */
    return !(state && state[1] == ' ' && state[2] == 'Z');
}

/* Whether the admin listener still accepts connections and, when it is on this host, the
 * process with pid still runs (the listener may close before the drain ends). */
static bool still_running(const ctl_target *t, long pid, bool local)
{
    ctl_reply r;
    char why[256];
    bool answers = ask(t, "GET", "/healthz", 1000, &r, why, sizeof(why)) == 0;
    free(r.body);
    return answers || (local && process_runs(pid));
}

static bool loopback_address(const char *address)
{
    return strncmp(address, "127.", 4) == 0 || strncmp(address, "[::1]:", 6) == 0 ||
           strncmp(address, "localhost:", 10) == 0;
}

static int do_stop(const ctl_opts *o, const ctl_target *t, const ctl_reply *r)
{
    if (r->status != 202)
        return unexpected(o, t, r);
    json_t *j = json_loads(r->body, 0, NULL);
    long pid = (long)json_integer_value(json_object_get(j, "pid"));
    int64_t drain_ms = (int64_t)json_integer_value(json_object_get(j, "drain_timeout_ms"));
    json_decref(j);
    if (o->json)
        fputs(r->body, stdout);
    else
        printf("gatehouse (pid %ld) at %s is draining\n", pid, t->address);
    if (!o->wait)
        return 0;
    int64_t deadline = gh_monotonic_ms() + drain_ms + GH_CTL_WAIT_SLACK_MS;
    bool local = loopback_address(t->address);
    while (still_running(t, pid, local)) {
        if (gh_monotonic_ms() > deadline) {
            fprintf(stderr, "gatehouse stop: pid %ld at %s still runs after %lld ms\n", pid,
                    t->address, (long long)(drain_ms + GH_CTL_WAIT_SLACK_MS));
            return 1;
        }
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    if (!o->json)
        printf("gatehouse (pid %ld) stopped\n", pid);
    return 0;
}

/* Whether s holds a control character (C0, DEL or C1): what a terminal may take as a command. */
static bool has_control(const unsigned char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s == 0x7f || (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f))
            return true;
    return false;
}

/* A string of the answer, to be printed: control characters become '?' (in obj itself), since
 * ban keys, reasons and names come from clients and peers, and an escape sequence sent to the
 * operator's terminal could rewrite what it shows. */
static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return "?";
    if (!has_control((const unsigned char *)s))
        return s;
    size_t n = strlen(s), o = 0;
    char *clean = malloc(n + 1);
    if (!clean)
        return "?";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool c1 = *p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        clean[o++] = *p < 0x20 || *p == 0x7f || c1 ? '?' : (char)*p;
        p += c1;
    }
    clean[o] = '\0';
    json_object_set_new(obj, key, json_string(clean));
    free(clean);
    s = json_string_value(json_object_get(obj, key));
    return s ? s : "?";
}

static void print_status(json_t *j)
{
    long long up = (long long)json_integer_value(json_object_get(j, "uptime_s"));
    bool ready = json_is_true(json_object_get(j, "ready"));
    bool draining = json_is_true(json_object_get(j, "draining"));
    printf("gatehouse %s, pid %lld, up %lldd %02lld:%02lld:%02lld\n", str(j, "version"),
           (long long)json_integer_value(json_object_get(j, "pid")), up / 86400,
           up / 3600 % 24, up / 60 % 60, up % 60);
    printf("state:     %s\n", draining ? "draining" : ready ? "ready" : "not ready");
    printf("config:    sha256 %s\n", str(j, "config_hash"));
    printf("workers:   %lld\n", (long long)json_integer_value(json_object_get(j, "workers")));
    size_t i, k;
    json_t *v, *e;
    printf("listeners:\n");
    json_array_foreach(json_object_get(j, "listeners"), i, v) {
        bool named = strcmp(str(v, "name"), str(v, "address")) != 0;
        printf("  %s%s%s%s%s\n", str(v, "address"),
               json_is_true(json_object_get(v, "tls")) ? " tls" : "", named ? " (" : "",
               named ? str(v, "name") : "", named ? ")" : "");
    }
    printf("upstreams:\n");
    json_array_foreach(json_object_get(j, "upstreams"), i, v) {
        printf("  %s%s\n", str(v, "name"),
               json_is_true(json_object_get(v, "health_checks")) ? "" : " (no health checks)");
        json_array_foreach(json_object_get(v, "endpoints"), k, e)
            printf("    %-40s %s\n", str(e, "endpoint"), str(e, "health"));
    }
}

/* /readyz says why the gateway is not ready (one reason a line). */
static void print_unready_reasons(const ctl_target *t)
{
    ctl_reply r;
    char why[256];
    if (ask(t, "GET", "/readyz", 5000, &r, why, sizeof(why)) != 0)
        return;
    if (r.status == 503) {
        printf("why:\n");
        for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n"))
            printf("  %s\n", line);
    }
    free(r.body);
}

static int do_status(const ctl_opts *o, const ctl_target *t, const ctl_reply *r)
{
    if (r->status != 200) {
        unexpected(o, t, r);
        return 2; /* the state is unknown */
    }
    json_error_t err;
    json_t *j = json_loads(r->body, 0, &err);
    if (!json_is_object(j)) {
        fprintf(stderr, "gatehouse status: %s answered something else than its status: %s\n",
                t->address, err.text);
        json_decref(j);
        return 2;
    }
    bool ok = json_is_true(json_object_get(j, "ready")) &&
              !json_is_true(json_object_get(j, "draining"));
    if (o->json)
        fputs(r->body, stdout);
    else
        print_status(j);
    json_decref(j);
    if (!ok && !o->json)
        print_unready_reasons(t);
    return ok ? 0 : 1;
}

/* bans list: one line per ban, the latest to end first (or the JSON as it came). */
static int do_bans_list(const ctl_opts *o, const ctl_target *t, const ctl_reply *r)
{
    if (r->status != 200)
        return unexpected(o, t, r);
    if (o->json) {
        fputs(r->body, stdout);
        return 0;
    }
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *list = json_object_get(j, "bans");
    if (!json_is_array(list)) {
        fprintf(stderr, "gatehouse bans: %s answered something else than its bans\n",
                t->address);
        json_decref(j);
        return 2;
    }
    /* DETECTOR is as wide as the longest detector's name, credential_stuffing */
    printf("%-40s %-8s %-19s %9s %7s  %s\n", "KEY", "KIND", "DETECTOR", "REMAINING", "STRIKES",
           "REASON");
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
        printf("%-40s %-8s %-19s %8llds %7lld  %s\n", str(b, "key"), str(b, "kind"),
               str(b, "detector"), (long long)json_integer_value(json_object_get(b, "remaining_seconds")),
               (long long)json_integer_value(json_object_get(b, "strikes")), str(b, "reason"));
    if (json_is_true(json_object_get(j, "truncated")))
        printf("(%lld in all: the first shown)\n",
               (long long)json_integer_value(json_object_get(j, "active")));
    json_decref(j);
    return 0;
}

/* bans lift KEY: DELETE /bans/{KEY percent-encoded}; exit 1 when KEY had no ban. */
static int do_bans_lift(const ctl_opts *o, const ctl_target *t)
{
    CURL *h = curl_easy_init();
    char *escaped = h ? curl_easy_escape(h, o->key, 0) : NULL;
    char path[1024];
    int n = escaped ? snprintf(path, sizeof(path), "/bans/%s", escaped) : -1;
    curl_free(escaped);
    if (h)
        curl_easy_cleanup(h);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "gatehouse bans: the key is too long\n");
        return 2;
    }
    ctl_reply r;
    char why[256];
    if (ask(t, "DELETE", path, 60000, &r, why, sizeof(why)) != 0) {
        fprintf(stderr, "gatehouse bans: cannot reach the admin listener at %s: %s\n", t->address,
                why);
        return 2;
    }
    int rc = 0;
    if (r.status == 200)
        o->json ? (void)fputs(r.body, stdout) : (void)printf("lifted %s\n", o->key);
    else if (r.status == 404)
        fprintf(stderr, "gatehouse bans: no active ban for %s (see gatehouse bans list)\n", o->key),
            rc = 1;
    else
        rc = unexpected(o, t, &r);
    free(r.body);
    return rc;
}

static int run(const ctl_opts *o, const ctl_target *t)
{
    if (strcmp(o->verb, "bans") == 0 && strcmp(o->sub, "lift") == 0)
        return do_bans_lift(o, t);
    static const struct {
        const char *verb, *method, *path;
        int (*done)(const ctl_opts *, const ctl_target *, const ctl_reply *);
    } verbs[] = {{"reload", "POST", "/reload", do_reload},
                 {"stop", "POST", "/stop", do_stop},
                 {"status", "GET", "/status", do_status},
                 {"bans", "GET", "/bans", do_bans_list}};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(o->verb, verbs[i].verb) != 0)
            continue;
        ctl_reply r;
        char why[256];
        if (ask(t, verbs[i].method, verbs[i].path, 60000, &r, why, sizeof(why)) != 0) {
            fprintf(stderr, "gatehouse %s: cannot reach the admin listener at %s: %s\n", o->verb,
                    t->address, why);
            return 2;
        }
        int rc = verbs[i].done(o, t, &r);
        free(r.body);
        return rc;
    }
    return 2;
}

int gh_ctl_main(int argc, char **argv)
{
    ctl_opts o;
    int p = parse(argc, argv, &o);
    if (p != 0)
        return usage(o.verb, p > 0 ? stdout : stderr);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "gatehouse %s: cannot initialize libcurl\n", o.verb);
        return 2;
    }
    ctl_target t;
    int rc = resolve_target(&o, &t) == 0                       ? run(&o, &t)
             : t.unloadable && strcmp(o.verb, "reload") == 0 ? 1
                                                              : 2;
    if (t.token)
        memset(t.token, 0, strlen(t.token));
    free(t.token);
    free(t.address);
    curl_global_cleanup();
    return rc;
}
