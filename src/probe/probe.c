/* gatehouse probe: the command line, the run (every case in order, under the caps), the report.
 * Self-test (-c FILE alone) starts the configured gateway with the probe standing in for
 * everything outside it; live (--target URL) attacks a deployed gateway from outside. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "audit/locate.h"
#include "config/config.h"
#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/probe_internal.h"
#include "stages/registry.h"

typedef struct opts {
    const char *config, *target, *format, *out, *only, *signing_key, *signing_secret, *kid,
        *alg, *api_key;
    const char **hmac_secrets; /* --hmac-secret NAME=FILE, as given */
    size_t nhmac_secrets;
    const char **reports; /* --report FORMAT=FILE, as given: more reports of the same run */
    size_t nreports;
    gh_probe_severity fail_on; /* 0: none */
    bool list, quiet, profile_given;
} opts;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse probe -c FILE [options]              self-test: start the configured\n"
            "                                                      gateway on loopback and attack it\n"
            "       gatehouse probe --target URL [-c FILE] [options]   attack a running gateway\n"
            "       gatehouse probe --list-cases [--format text|json] [--only ...]\n"
            "options: --format text|json|sarif|junit|markdown (default text)"
            "  -o FILE (default stdout)\n"
            "         --only GROUP|PREFIX|ID[,...] (framing, FRM or FRM-001; see --list-cases)\n"
            "         --report FORMAT=FILE (repeatable: more reports of the same run)\n"
            "         --fail-on high|medium|low|none (default high)"
            "  --quiet (no progress on stderr)\n"
            "live only (--target):\n"
            "         --profile safe|full (default safe: GET, HEAD, OPTIONS only, no load;\n"
            "                              self-test always runs full)\n"
            "         --token T  --token-other-tenant T  --api-key KEY\n"
            "         --path /p (repeatable; without -c)\n"
            "         --signing-key PEM | --signing-secret-file F  [--kid KID] [--alg ALG]\n"
            "         --hmac-secret PROVIDER=FILE (repeatable: a webhook provider's secret)\n"
            "caps:    --max-requests N  --max-connections N  --max-bytes N  --max-seconds N"
            " (N > 0;\n"
            "         live safe: 600, 600, 8388608, 120; otherwise 20000, 20000, 268435456, 600)\n"
            "exit 0: no failure at or above --fail-on; 1: some; 2: the probe could not run\n");
    return out == stderr ? 2 : 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (!*s || *end || n == 0)
        return false;
    *v = n;
    return true;
}

static int parse_fail_on(const char *s, gh_probe_severity *sev)
{
    static const char *const names[] = {"none", "low", "medium", "high"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *sev = (gh_probe_severity)i;
            return 0;
        }
    return -1;
}

/* The value after argv[*i], or NULL after saying it is missing. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "gatehouse probe: a value is missing after %s\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_caps(gh_probe *p, const char *flag, const char *v)
{
    static const struct {
        const char *flag;
        size_t off;
    } caps[] = {{"--max-requests", offsetof(gh_probe_caps, requests)},
                {"--max-connections", offsetof(gh_probe_caps, connections)},
                {"--max-bytes", offsetof(gh_probe_caps, bytes)},
                {"--max-seconds", offsetof(gh_probe_caps, seconds)}};
    for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++)
        if (strcmp(flag, caps[k].flag) == 0) {
            if (!parse_u64(v, (uint64_t *)((char *)&p->caps + caps[k].off))) {
                fprintf(stderr, "gatehouse probe: %s takes a positive number\n", flag);
                return -1;
            }
            return 1;
        }
    return 0;
}

static gh_probe_render_fn renderer(const char *format);

/* 0 to run, 1 after --help, 2 on a bad argument. */
static int parse_args(gh_probe *p, opts *o, int argc, char **argv)
{
    const char **paths = gh_arena_alloc(&p->arena, (size_t)argc * sizeof(*paths));
    o->hmac_secrets = gh_arena_alloc(&p->arena, (size_t)argc * sizeof(*o->hmac_secrets));
    o->reports = gh_arena_alloc(&p->arena, (size_t)argc * sizeof(*o->reports));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--list-cases") == 0 || strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            *(a[2] == 'l' ? &o->list : &o->quiet) = true;
            continue;
        }
        struct {
            const char *flag, *alt, **slot;
        } slots[] = {{"-c", "--config", &o->config},  {"--target", NULL, &o->target},
                     {"--format", "-f", &o->format},  {"-o", "--output", &o->out},
                     {"--only", NULL, &o->only},      {"--token", NULL, &p->token},
                     {"--api-key", NULL, &o->api_key},
                     {"--token-other-tenant", NULL, &p->token_other},
                     {"--signing-key", NULL, &o->signing_key},
                     {"--signing-secret-file", NULL, &o->signing_secret},
                     {"--kid", NULL, &o->kid},        {"--alg", NULL, &o->alg}};
        bool taken = false;
        for (size_t k = 0; k < sizeof(slots) / sizeof(slots[0]) && !taken; k++)
            if (strcmp(a, slots[k].flag) == 0 || (slots[k].alt && strcmp(a, slots[k].alt) == 0)) {
                if (!(v = value(argc, argv, &i)))
                    return 2;
                if (*slots[k].slot) { /* the last would win silently: which did the user mean? */
                    fprintf(stderr, "gatehouse probe: %s is given twice\n", a);
                    return 2;
                }
                *slots[k].slot = v;
                taken = true;
            }
        if (taken)
            continue;
        if (strcmp(a, "--report") == 0) {
            if (!(v = value(argc, argv, &i)))
                return 2;
            const char *eq = strchr(v, '=');
            char fmt[16];
            snprintf(fmt, sizeof(fmt), "%.*s", eq ? (int)(eq - v) : 0, v);
            if (!eq || !eq[1] || !renderer(fmt)) {
                fprintf(stderr, "gatehouse probe: --report takes FORMAT=FILE (text, json, sarif, junit, "
                                "markdown)\n");
                return 2;
            }
            o->reports[o->nreports++] = v;
            continue;
        }
        if (strcmp(a, "--hmac-secret") == 0) {
            if (!(v = value(argc, argv, &i)))
                return 2;
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                fprintf(stderr, "gatehouse probe: --hmac-secret takes PROVIDER=FILE\n");
                return 2;
            }
            o->hmac_secrets[o->nhmac_secrets++] = v;
            continue;
        }
        if (strcmp(a, "--path") == 0 || strcmp(a, "--profile") == 0 || strcmp(a, "--fail-on") == 0 ||
            strncmp(a, "--max-", 6) == 0) {
            if (!(v = value(argc, argv, &i)))
                return 2;
            if (strcmp(a, "--path") == 0) {
                if (v[0] != '/') {
                    fprintf(stderr, "gatehouse probe: --path %s: a path starts with /\n", v);
                    return 2;
                }
                paths[p->npaths++] = v;
            } else if (strcmp(a, "--profile") == 0) {
                if (strcmp(v, "safe") != 0 && strcmp(v, "full") != 0) {
                    fprintf(stderr, "gatehouse probe: --profile takes safe or full\n");
                    return 2;
                }
                p->profile = v[0] == 'f' ? GH_PROFILE_FULL : GH_PROFILE_SAFE;
                o->profile_given = true;
            } else if (strcmp(a, "--fail-on") == 0) {
                if (parse_fail_on(v, &o->fail_on) != 0) {
                    fprintf(stderr, "gatehouse probe: --fail-on takes high, medium, low or none\n");
                    return 2;
                }
            } else {
                int rc = parse_caps(p, a, v);
                if (rc <= 0) {
                    if (rc == 0)
                        fprintf(stderr, "gatehouse probe: unknown option '%s'\n", a);
                    return 2;
                }
            }
            continue;
        }
        fprintf(stderr, "gatehouse probe: unknown option '%s'\n", a);
        return 2;
    }
    p->paths = paths;
    return 0;
}

/* ---- the live target ---- */

/* A port of digits only, 1 to 65535: *port, or -1. */
static int parse_port(const char *s, size_t len)
{
    int port = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || (port = port * 10 + (s[i] - '0')) > 65535)
            return -1;
    }
    return len && port > 0 ? port : -1;
}

/* Whether host is an address literal: TLS sends no server name for one (RFC 6066). */
static bool address_literal(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* --target URL: scheme, host (a name, an IPv4 literal or a bracketed IPv6 one) and port, and a
 * path the probe aims at when nothing else names one. Refused: userinfo (credentials would go
 * out in every Host header and report), a bad or out of range port, a host that does not fit. */
static int live_target(gh_probe *p, const char *url)
{
    bool tls = strncasecmp(url, "https://", 8) == 0;
    if (!tls && strncasecmp(url, "http://", 7) != 0) {
        fprintf(stderr, "gatehouse probe: --target %s: an http:// or https:// URL\n", url);
        return -1;
    }
    const char *h = url + (tls ? 8 : 7);
    size_t hl = strcspn(h, "/?#");
    gh_probe_target *t = gh_arena_alloc(&p->arena, sizeof(*t));
    *t = (gh_probe_target){.tls = tls, .port = tls ? 443 : 80};
    const char *authority = gh_arena_strndup(&p->arena, h, hl);
    if (strchr(authority, '@')) {
        fprintf(stderr, "gatehouse probe: --target: credentials in the URL (user@host) are not "
                        "sent; give the host alone (--token for a token)\n");
        return -1;
    }
    const char *host = authority, *host_end, *colon;
    if (authority[0] == '[') {
        const char *close = strchr(authority, ']');
        if (!close || (close[1] && close[1] != ':')) {
            fprintf(stderr, "gatehouse probe: --target %s: a bad [IPv6] host\n", url);
            return -1;
        }
        host = authority + 1;
        host_end = close;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(authority, ':');
        host_end = colon ? colon : authority + strlen(authority);
    }
    if (colon && (t->port = parse_port(colon + 1, strlen(colon + 1))) < 0) {
        fprintf(stderr, "gatehouse probe: --target %s: a bad port (1 to 65535)\n", url);
        return -1;
    }
    if (host_end == host || (size_t)(host_end - host) >= sizeof(t->host)) {
        fprintf(stderr, "gatehouse probe: --target %s: no host, or one too long\n", url);
        return -1;
    }
    snprintf(t->host, sizeof(t->host), "%.*s", (int)(host_end - host), host);
    if (authority[0] == '[' && !address_literal(t->host)) {
        fprintf(stderr, "gatehouse probe: --target %s: not an IPv6 address in []\n", url);
        return -1;
    }
    t->authority = authority;
    t->sni = address_literal(t->host) ? NULL : gh_arena_strdup(&p->arena, t->host);
    p->targets = t;
    p->ntargets = 1;
    if (p->npaths == 0 && !p->conf) {
        const char *path = h[hl] == '/' ? gh_arena_strndup(&p->arena, h + hl, strcspn(h + hl, "?#")) : "/";
        p->paths = gh_arena_alloc(&p->arena, sizeof(*p->paths));
        ((const char **)p->paths)[0] = path;
        p->npaths = 1;
    }
    return 0;
}

/* --api-key: the key every API-key provider of the configuration is sent (live). */
static void live_api_key(gh_probe *p, const char *key)
{
    size_t n = p->conf ? p->conf->napi_key_providers : 0;
    if (!key || !n)
        return;
    p->api_keys = gh_arena_alloc(&p->arena, n * sizeof(*p->api_keys));
    for (size_t i = 0; i < n; i++)
        p->api_keys[i].key[0] = p->api_keys[i].key[1] = key;
}

/* --signing-key or --signing-secret-file: a key for every provider (live). */
static int live_key(gh_probe *p, const opts *o)
{
    if (!o->signing_key && !o->signing_secret)
        return 0;
    gh_probe_key *k = gh_arena_alloc(&p->arena, sizeof(*k));
    *k = (gh_probe_key){0};
    FILE *f = fopen(o->signing_key ? o->signing_key : o->signing_secret, "r");
    if (!f) {
        fprintf(stderr, "gatehouse probe: cannot open %s\n", o->signing_key ? o->signing_key : o->signing_secret);
        return -1;
    }
    if (o->signing_key) {
        k->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        unsigned algs = k->key ? gh_jws_key_algs(k->key) : 0;
        k->alg = o->alg ? gh_alg_from_name(o->alg, strlen(o->alg)) : algs & -algs;
        if (!k->key || !(k->alg & algs)) {
            fprintf(stderr, "gatehouse probe: --signing-key %s: not a PEM private key for %s\n",
                    o->signing_key, o->alg ? o->alg : "a JWS algorithm");
            fclose(f);
            EVP_PKEY_free(k->key);
            return -1;
        }
    } else {
        k->secret_len = fread(k->secret, 1, sizeof(k->secret), f);
        while (k->secret_len && (k->secret[k->secret_len - 1] == '\n' || k->secret[k->secret_len - 1] == '\r'))
            k->secret_len--;
        k->alg = o->alg ? gh_alg_from_name(o->alg, strlen(o->alg)) : GH_ALG_HS256;
        if (!k->secret_len || !(k->alg & GH_ALG_HMAC)) {
            fprintf(stderr, "gatehouse probe: --signing-secret-file: an empty secret or a non-HS --alg\n");
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    if (o->kid)
        snprintf(k->kid, sizeof(k->kid), "%s", o->kid);
    p->keys = k;
    p->nkeys = 1;
    return 0;
}

/* The index of the identity.hmac provider named name[0..len), or nhmac_providers. */
static size_t hmac_provider_index(const gh_config *c, const char *name, size_t len)
{
    size_t i = 0;
    while (i < c->nhmac_providers &&
           !(strlen(c->hmac_providers[i].name) == len &&
             strncmp(c->hmac_providers[i].name, name, len) == 0))
        i++;
    return i;
}

/* A secret file read as the gateway reads ${file:...} (trailing newlines dropped): its length,
 * or 0 when it is missing, empty, holds a NUL or fills buf. */
static size_t read_secret(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    bool whole = f && feof(f) && !ferror(f);
    if (f)
        fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    return whole && !memchr(buf, '\0', n) ? n : 0;
}

/* --hmac-secret PROVIDER=FILE: the secret of a provider of the configuration, in
 * p->hmac_secrets at the provider's index (live: self-test holds its own). */
static int live_hmac_secrets(gh_probe *p, const opts *o)
{
    if (!o->nhmac_secrets)
        return 0;
    if (!p->conf || !p->conf->nhmac_providers) {
        fprintf(stderr, "gatehouse probe: --hmac-secret needs -c FILE with identity.hmac "
                        "providers\n");
        return -1;
    }
    if (!p->hmac_secrets)
        p->hmac_secrets =
            gh_arena_zalloc(&p->arena, p->conf->nhmac_providers * sizeof(*p->hmac_secrets));
    for (size_t k = 0; k < o->nhmac_secrets; k++) {
        const char *arg = o->hmac_secrets[k], *eq = strchr(arg, '=');
        size_t nlen = (size_t)(eq - arg), i = hmac_provider_index(p->conf, arg, nlen);
        if (i == p->conf->nhmac_providers) {
            fprintf(stderr, "gatehouse probe: --hmac-secret %.*s: no identity.hmac provider has "
                            "that name\n", (int)nlen, arg);
            return -1;
        }
        char buf[4096];
        size_t n = read_secret(eq + 1, buf, sizeof(buf));
        if (n)
            p->hmac_secrets[i] = gh_arena_strndup(&p->arena, buf, n);
        OPENSSL_cleanse(buf, sizeof(buf));
        if (!n) {
            fprintf(stderr, "gatehouse probe: --hmac-secret %s: cannot read a secret (under 4 KB, "
                            "no NUL) from the file\n", arg);
            return -1;
        }
    }
    return 0;
}

/* ---- the run ---- */

/* Whether a stop signal came (self-test): read without blocking from the signalfd. */
static bool stop_requested(gh_probe *p)
{
    struct signalfd_siginfo si;
    if (p->stop_armed && !p->stopped && read(p->stop_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        p->stopped = true;
    return p->stopped;
}

const char *gh_probe_over_caps(gh_probe *p, size_t bytes)
{
    if (stop_requested(p))
        return "the probe was told to stop (a signal)";
    if (p->used.requests >= p->caps.requests)
        return gh_arena_printf(&p->arena, "the run's request cap (%llu) was reached",
                               (unsigned long long)p->caps.requests);
    if (p->used.connections >= p->caps.connections)
        return gh_arena_printf(&p->arena, "the run's connection cap (%llu) was reached",
                               (unsigned long long)p->caps.connections);
    if (p->used.bytes + bytes > p->caps.bytes)
        return gh_arena_printf(&p->arena, "the run's byte cap (%llu) was reached",
                               (unsigned long long)p->caps.bytes);
    if (gh_probe_now() - p->used.started >= (double)p->caps.seconds)
        return gh_arena_printf(&p->arena, "the run's time cap (%llu s) was reached",
                               (unsigned long long)p->caps.seconds);
    return NULL;
}

/* Why the run cannot give what c needs, or NULL. */
static const char *unmet(const gh_probe *p, const gh_probe_case *c)
{
    bool full = p->selftest || p->profile == GH_PROFILE_FULL;
    if ((c->needs & GH_PN_CONFIG) && !p->conf)
        return "needs the configuration (-c FILE) to know what to aim at";
    if ((c->needs & GH_PN_UPSTREAM) && !p->selftest)
        return "needs the upstream's view: self-test only (gatehouse probe -c FILE)";
    if ((c->needs & GH_PN_KEYS) && !p->selftest)
        return "needs secrets the probe holds (HMAC, API keys, client certificates): self-test only";
    if ((c->needs & GH_PN_SIGN) && !p->selftest && !p->nkeys)
        return "needs tokens signed with the provider's key: self-test, or --signing-key";
    if ((c->needs & GH_PN_TOKEN) && !p->selftest && !p->nkeys && !p->token)
        return "needs a valid token: self-test, --signing-key or --token";
    if ((c->needs & GH_PN_WRITE) && !full)
        return "sends methods that may change data: --profile full";
    if ((c->needs & GH_PN_LOAD) && !full)
        return "sends load: --profile full";
    if (c->needs & GH_PN_TLS) {
        bool any = false;
        for (size_t i = 0; i < p->ntargets; i++)
            any |= p->targets[i].tls;
        if (!any)
            return p->selftest ? "needs a TLS listener (listeners[].tls)"
                               : "needs an https:// target: --target https://HOST:PORT";
    }
    return NULL;
}

/* Whether s[0..n) is the prefix of id's group (FRM for FRM-001): the reports and the docs name
 * groups by it, so --only takes it as well as the group's name. */
static bool id_prefix_is(const char *id, const char *s, size_t n)
{
    const char *dash = strchr(id, '-');
    return dash && (size_t)(dash - id) == n && strncasecmp(id, s, n) == 0;
}

/* Whether c was asked for by --only (a comma-separated list of groups, id prefixes and ids). */
static bool selected(const gh_probe_case *c, const char *only)
{
    if (!only)
        return true;
    size_t n;
    for (const char *s = only; *s; s += n + (s[n] == ',')) {
        n = strcspn(s, ",");
        if ((strlen(c->id) == n && strncasecmp(c->id, s, n) == 0) ||
            (strlen(c->group) == n && strncasecmp(c->group, s, n) == 0) ||
            id_prefix_is(c->id, s, n))
            return true;
    }
    return false;
}

/* An --only entry that names no group and no case, into bad (cap bytes; a typo would
 * otherwise run nothing): true when there is one. */
static bool unknown_selection(const char *only, char *bad, size_t cap)
{
    size_t n;
    if (!*only || only[strlen(only) - 1] == ',') {
        snprintf(bad, cap, "(an empty entry)");
        return true;
    }
    for (const char *s = only; *s; s += n + (s[n] == ',')) {
        n = strcspn(s, ",");
        if (n == 0) {
            snprintf(bad, cap, "(an empty entry)");
            return true;
        }
        bool known = false;
        for (size_t i = 0; gh_probe_groups[i] && !known; i++)
            known = strlen(gh_probe_groups[i]) == n && strncasecmp(gh_probe_groups[i], s, n) == 0;
        for (size_t i = 0; i < gh_probe_ncases() && !known; i++)
            known = (strlen(gh_probe_case_at(i)->id) == n &&
                     strncasecmp(gh_probe_case_at(i)->id, s, n) == 0) ||
                    id_prefix_is(gh_probe_case_at(i)->id, s, n);
        if (!known) {
            snprintf(bad, cap, "%.*s", (int)(n < 100 ? n : 100), s);
            return true;
        }
    }
    return false;
}

static void progress(const gh_probe *p, size_t done, size_t total, const gh_probe_case *c)
{
    if (!p->progress)
        return;
    if (!c)
        fprintf(stderr, "\r%-70s\r", "");
    else
        fprintf(stderr, "\r  probe [%zu/%zu] %-14s %-10s", done + 1, total, c->group, c->id);
    fflush(stderr);
}

static gh_probe_result *run_cases(gh_probe *p, const char *only, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < gh_probe_ncases(); i++)
        total += selected(gh_probe_case_at(i), only);
    gh_probe_result *results = gh_arena_alloc(&p->arena, (total ? total : 1) * sizeof(*results));
    *n = 0;
    for (size_t i = 0; i < gh_probe_ncases(); i++) {
        const gh_probe_case *c = gh_probe_case_at(i);
        if (!selected(c, only))
            continue;
        gh_probe_result *r = &results[(*n)++];
        *r = (gh_probe_result){.c = c, .arena = &p->arena};
        progress(p, *n - 1, total, c);
        const char *why = unmet(p, c);
        const char *over = why ? NULL : gh_probe_over_caps(p, 0);
        if (why || over) {
            gh_probe_skip(r, "%s", why ? why : over);
            continue;
        }
        if (p->server) { /* what the upstream got before belongs to no case */
            gh_probe_upreq *old = NULL;
            gh_probe_upreqs_free(old, gh_probe_upstream_take(p->server, &old));
        }
        double t0 = gh_probe_now();
        uint64_t made = p->exchanges.made, silent = p->exchanges.silent;
        r->verdict = GH_PV_ERROR;
        r->why = "the case gave no verdict";
        c->run(p, r);
        r->seconds = gh_probe_now() - t0;
        /* A case the time cap or a stop signal cut short saw timeouts of the probe's own
         * making: no verdict on the gateway. */
        const char *cut = gh_probe_over_caps(p, 0);
        if (cut && (p->stopped || gh_probe_now() - p->used.started >= (double)p->caps.seconds))
            gh_probe_skip(r, "%s during the case", cut);
        /* A pass needs something observed: silence to every request is no evidence. */
        made = p->exchanges.made - made;
        silent = p->exchanges.silent - silent;
        if (r->verdict == GH_PV_PASS && made && silent == made)
            gh_probe_skip(r, "the target met each of the case's %llu requests with silence (no "
                             "answer, no close within %.1f s): nothing to judge",
                          (unsigned long long)made, (double)p->caps.exchange_ms / 1000.0);
    }
    progress(p, 0, 0, NULL);
    return results;
}

static gh_probe_render_fn renderer(const char *format)
{
    static const struct {
        const char *name;
        gh_probe_render_fn fn;
    } formats[] = {{"text", gh_probe_render_text},   {"json", gh_probe_render_json},
                   {"sarif", gh_probe_render_sarif}, {"junit", gh_probe_render_junit},
                   {"markdown", gh_probe_render_markdown}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(formats[i].name, format) == 0)
            return formats[i].fn;
    return NULL;
}

static int list_cases(const char *format, const char *only)
{
    bool json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) {
        fprintf(stderr, "gatehouse probe: --list-cases prints text or json, not %s\n", format);
        return 2;
    }
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < gh_probe_ncases(); i++) {
        const gh_probe_case *c = gh_probe_case_at(i);
        if (!selected(c, only))
            continue;
        if (json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "id", c->id,
                                                 "group", c->group, "title", c->title, "owasp",
                                                 c->owasp, "cwe", c->cwe, "severity",
                                                 gh_probe_severity_name(c->severity), "expect",
                                                 c->expect, "fix", c->fix));
        else
            printf("%-9s %-13s %-6s %-9s CWE-%-4d %s\n", c->id, c->group,
                   gh_probe_severity_name(c->severity), c->owasp, c->cwe, c->title);
    }
    if (json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(arr);
    }
    return 0;
}

static int load_config(gh_probe *p, const char *file)
{
    gh_diag d = {0};
    p->conf = gh_config_load(file, NULL, &d);
    gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    if (!p->conf) {
        fprintf(stderr, "gatehouse probe: %s does not load (see gatehouse check)\n", file);
        return -1;
    }
    p->config_file = file;
    p->loc = gh_arena_alloc(&p->arena, sizeof(*p->loc));
    if (!gh_locator_open(p->loc, file))
        p->loc = NULL;
    return 0;
}

static void set_default_caps(gh_probe *p)
{
    bool live_safe = !p->selftest && p->profile == GH_PROFILE_SAFE;
    gh_probe_caps d = {.requests = live_safe ? 600 : 20000,
                       .connections = live_safe ? 600 : 20000,
                       .bytes = live_safe ? 8u << 20 : 256u << 20,
                       .seconds = live_safe ? 120 : 600,
                       .exchange_ms = 5000};
    if (!p->caps.requests)
        p->caps.requests = d.requests;
    if (!p->caps.connections)
        p->caps.connections = d.connections;
    if (!p->caps.bytes)
        p->caps.bytes = d.bytes;
    if (!p->caps.seconds)
        p->caps.seconds = d.seconds;
    p->caps.exchange_ms = d.exchange_ms;
}

/* One report to path (stdout when NULL). 0, or 2 after saying it could not be written. */
static int write_report(const gh_probe *p, gh_probe_render_fn fn, const char *path,
                        const gh_probe_result *results, size_t n, const gh_probe_summary *sum)
{
    FILE *out = path ? fopen(path, "w") : stdout;
    if (!out) {
        fprintf(stderr, "gatehouse probe: cannot write %s\n", path);
        return 2;
    }
    fn(out, p, results, n, sum);
    bool written = fflush(out) == 0 && !ferror(out);
    if (path)
        written = fclose(out) == 0 && written;
    if (!written) {
        fprintf(stderr, "gatehouse probe: the report %s could not be written\n", path ? path : "(stdout)");
        return 2;
    }
    return 0;
}

static int report(gh_probe *p, const opts *o, gh_probe_result *results, size_t n)
{
    gh_probe_summary sum;
    gh_probe_summarize(results, n, &sum);
    sum.seconds = gh_probe_now() - p->used.started;
    int rc = write_report(p, renderer(o->format), o->out, results, n, &sum);
    for (size_t i = 0; i < o->nreports; i++) {
        const char *eq = strchr(o->reports[i], '=');
        char fmt[16];
        snprintf(fmt, sizeof(fmt), "%.*s", (int)(eq - o->reports[i]), o->reports[i]);
        rc |= write_report(p, renderer(fmt), eq + 1, results, n, &sum);
    }
    if (rc)
        return 2;
    if (!p->quiet && (o->out || strcmp(o->format, "text") != 0))
        fprintf(stderr, "gatehouse probe: %zu passed, %zu failed, %zu skipped, %zu errors\n",
                sum.pass, sum.fail, sum.skip, sum.error);
    size_t over = (o->fail_on && o->fail_on <= GH_PSEV_HIGH ? sum.fail_high : 0) +
                  (o->fail_on && o->fail_on <= GH_PSEV_MEDIUM ? sum.fail_medium : 0) +
                  (o->fail_on && o->fail_on <= GH_PSEV_LOW ? sum.fail_low : 0);
    return sum.error ? 2 : over ? 1 : 0;
}

/* Live: whether the target answers a connection (and a TLS handshake) at all. A target that
 * cannot be reached would otherwise give every case the same error. 0, or -1 after saying why. */
static int reachable(gh_probe *p)
{
    gh_probe_conn c;
    gh_probe_exchange x = {0};
    gh_probe_opts o = {0};
    const gh_probe_target *t = &p->targets[0];
    p->used.connections++;
    if (gh_probe_conn_open(p, t, &o, gh_probe_now() + (double)p->caps.exchange_ms / 1000.0, &c, &x) == 0) {
        gh_probe_conn_close(&c);
        return 0;
    }
    fprintf(stderr, "gatehouse probe: cannot reach %s:%d: %s\n", t->host, t->port,
            x.tls_error ? x.tls_error : "the connection was refused or timed out");
    return -1;
}

/* Self-test leaves a gateway and a directory of keys behind unless it ends its own way: the
 * stop signals are blocked (in every thread started after this) and read from a signalfd
 * between exchanges, so a stopped probe stops its gateway and removes its files. The gateway
 * child gets the signals back before exec (selftest.c). */
static int arm_stop(gh_probe *p)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (p->stop_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "gatehouse probe: cannot watch for stop signals\n");
        return -1;
    }
    p->stop_armed = true;
    return 0;
}

static int run(gh_probe *p, opts *o)
{
    if (o->config && load_config(p, o->config) != 0)
        return 2;
    p->selftest = !o->target;
    if (p->selftest)
        p->profile = GH_PROFILE_FULL; /* its own gateway on loopback: every case may run */
    if (!p->selftest && (live_target(p, o->target) != 0 || live_key(p, o) != 0 ||
                         live_hmac_secrets(p, o) != 0))
        return 2;
    if (!p->selftest)
        live_api_key(p, o->api_key);
    if (p->selftest && (o->signing_key || o->signing_secret || p->token || p->npaths ||
                        o->profile_given || o->nhmac_secrets || o->api_key)) {
        fprintf(stderr, "gatehouse probe: --signing-key, --hmac-secret, --token, --api-key, --path and "
                        "--profile are for --target; self-test holds its own keys and runs every "
                        "profile\n");
        return 2;
    }
    set_default_caps(p);
    p->used.started = gh_probe_now();
    if (p->selftest && (arm_stop(p) != 0 || gh_probe_selftest_start(p) != 0))
        return 2;
    if (!p->selftest && reachable(p) != 0)
        return 2;
    gh_probe_routes_build(p);
    size_t n = 0;
    gh_probe_result *results = run_cases(p, o->only, &n);
    int rc = stop_requested(p) ? 2 : report(p, o, results, n);
    if (p->selftest)
        gh_probe_selftest_stop(p);
    if (p->stopped)
        fprintf(stderr, "gatehouse probe: stopped by a signal; the gateway was stopped and its "
                        "files removed\n");
    return rc;
}

int gh_probe_main(int argc, char **argv)
{
    gh_probe p = {0};
    gh_arena_init(&p.arena, 64 * 1024, 0);
    opts o = {.fail_on = GH_PSEV_HIGH};
    int rc = parse_args(&p, &o, argc, argv);
    if (!o.format)
        o.format = "text";
    if (rc == 0 && !renderer(o.format)) {
        fprintf(stderr, "gatehouse probe: --format takes text, json, sarif, junit or markdown\n");
        rc = 2;
    }
    char bad[128];
    if (rc == 0 && o.only && unknown_selection(o.only, bad, sizeof(bad))) {
        fprintf(stderr,
                "gatehouse probe: --only %s: no group or case has that name (a group as "
                "--list-cases names it, such as framing, its prefix FRM, or an id: FRM-001)\n",
                bad);
        rc = 2;
    }
    if (rc == 0 && !o.list && !o.config && !o.target) {
        fprintf(stderr, "gatehouse probe: -c FILE (self-test) or --target URL is required\n");
        rc = 3;
    }
    if (rc != 0) {
        gh_arena_free(&p.arena);
        return rc == 1 ? usage(stdout) : (usage(stderr), 2);
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    p.quiet = o.quiet;
    p.progress = !o.quiet && isatty(2);
    rc = o.list ? list_cases(o.format, o.only) : run(&p, &o);
    if (p.loc)
        gh_locator_close(p.loc);
    for (size_t i = 0; !p.selftest && i < p.nkeys; i++)
        EVP_PKEY_free(p.keys[i].key);
    if (p.stop_armed)
        close(p.stop_fd);
    gh_config_release(p.conf);
    gh_arena_free(&p.arena);
    return rc;
}
