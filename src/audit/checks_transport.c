/* Checks of what carries requests and of the gateway's own edges: listeners (TLS), upstreams
 * (UP), trusted proxies and the admin listener (NET), secret files (SECRET), path rules (PATH),
 * response hardening (HDR), Redis, policies and client timeouts. */
#include <string.h>
#include <sys/stat.h>

#include "audit/audit_internal.h"

static void check_listeners(gh_audit *a)
{
    const gh_config *c = a->c;
    bool any_tls = false;
    for (size_t i = 0; i < c->nlisteners; i++) {
        const gh_listener_conf *l = &c->listeners[i];
        const char *who = gh__audit_fmt(a, "listener %s", l->address);
        gh_exposure e = gh__audit_exposure(&l->addr);
        any_tls |= l->tls != NULL;
        if (!l->tls && e != GH_EXPOSE_LOOPBACK)
            gh__audit_find(a, "GH-TLS-001", e == GH_EXPOSE_PUBLIC ? GH_SEV_HIGH : GH_SEV_MEDIUM, -1,
                           gh__audit_fmt(a, "listeners[%zu].address", i), who,
                           "listener %s (%s) serves plain HTTP", l->address, gh__exposure_name(e));
        if (l->tls && l->client_auth && !l->crl)
            gh__audit_find(a, "GH-TLS-002", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "listeners[%zu].tls.client_auth", i), who,
                           "listener %s verifies client certificates without a crl_file",
                           l->address);
    }
    if (any_tls && !c->hsts)
        gh__audit_find(a, "GH-TLS-003", GH_SEV_NONE, -1, "headers.hsts", "headers",
                       "HTTPS responses carry no Strict-Transport-Security");
    if (!c->hardening)
        gh__audit_find(a, "GH-HDR-001", GH_SEV_NONE, -1, "headers.hardening", "headers",
                       "responses keep the backend's Server and X-Powered-By and carry no nosniff");
}

static bool upstream_critical(const gh_config *c, const gh_upstream_conf *u)
{
    for (size_t i = 0; i < c->nroutes; i++)
        if (c->routes[i].upstream == u && c->routes[i].critical)
            return true;
    return false;
}

static void check_upstreams(gh_audit *a)
{
    const gh_config *c = a->c;
    for (size_t i = 0; i < c->nupstreams; i++) {
        const gh_upstream_conf *u = &c->upstreams[i];
        const char *who = gh__audit_fmt(a, "upstream %s", u->name);
        bool remote_tls = false;
        for (size_t k = 0; k < u->nendpoints; k++) {
            const gh_endpoint_conf *e = &u->endpoints[k];
            remote_tls |= e->tls && gh__endpoint_remote(e);
            if (e->tls || !gh__endpoint_remote(e))
                continue;
            bool critical = upstream_critical(c, u);
            gh__audit_find(a, "GH-UP-001", critical ? GH_SEV_HIGH : GH_SEV_MEDIUM, -1,
                           gh__audit_fmt(a, "upstreams.%s.endpoints[%u]", u->name, e->item), who,
                           "upstream '%s' is reached at %s over plain HTTP%s", u->name, e->url,
                           critical ? ", from critical routes" : "");
            break;
        }
        if (u->insecure)
            gh__audit_find(a, "GH-UP-002", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "upstreams.%s.tls.insecure_skip_verify", u->name), who,
                           "upstream '%s' accepts any certificate", u->name);
        else if (remote_tls && !(u->tls && SSL_CTX_get0_certificate(u->tls)))
            gh__audit_find(a, "GH-UP-003", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "upstreams.%s.tls", u->name), who,
                           "upstream '%s' cannot tell the gateway from other clients", u->name);
    }
}

static void check_trusted_proxies(gh_audit *a)
{
    const gh_config *c = a->c;
    for (size_t i = 0; i < c->ntrusted_proxies; i++) {
        const gh_cidr *p = &c->trusted_proxies[i];
        int wide = p->family == AF_INET ? 8 : 32; /* a /8 is already a whole company's network */
        if (p->prefix >= wide)
            continue;
        const char *family = p->family == AF_INET ? "IPv4" : "IPv6";
        const char *key = gh__audit_fmt(a, "trusted_proxies[%zu]", i);
        if (p->prefix == 0)
            gh__audit_find(a, "GH-NET-001", GH_SEV_HIGH, -1, key, "trusted_proxies",
                           "trusted_proxies[%zu] trusts every %s address", i, family);
        else
            gh__audit_find(a, "GH-NET-001", GH_SEV_MEDIUM, -1, key, "trusted_proxies",
                           "trusted_proxies[%zu] trusts a /%d: %s addresses far beyond a load "
                           "balancer's", i, p->prefix, family);
    }
}

typedef struct secret_walk {
    gh_audit *a;
} secret_walk;

/* private_key paths and ${file:...} references: files other users must not read. */
static void secret_file(void *ctx, const char *key, const char *name, const char *value, int line,
                        int col)
{
    (void)line;
    (void)col;
    gh_audit *a = ((secret_walk *)ctx)->a;
    const char *path = NULL;
    size_t vlen = strlen(value);
    if (strncmp(value, "${file:", 7) == 0 && vlen > 8 && value[vlen - 1] == '}')
        path = gh__audit_fmt(a, "%.*s", (int)(vlen - 8), value + 7);
    else if (name && strcmp(name, "private_key") == 0)
        path = value;
    if (!path || !*path)
        return;
    const char *full = path[0] == '/' ? path : gh__audit_fmt(a, "%s/%s", a->dir, path);
    struct stat st;
    if (stat(full, &st) != 0 || !(st.st_mode & (S_IROTH | S_IWOTH)))
        return;
    gh__audit_find(a, "GH-SECRET-001", GH_SEV_NONE, -1, key, gh__audit_fmt(a, "file %s", path),
                   "%s (mode %03o) can be %s by every user of the machine", path,
                   (unsigned)(st.st_mode & 0777), st.st_mode & S_IWOTH ? "read and written" : "read");
}

static void check_paths(gh_audit *a)
{
    static const char *const modes[] = {"reject", "keep", "decode"};
    const gh_path_rules *p = &a->c->paths;
    const struct {
        const char *key;
        uint8_t mode;
    } rules[] = {{"encoded_slash", p->encoded_slash},
                 {"backslash", p->backslash},
                 {"parameters", p->parameters},
                 {"invalid_utf8", p->invalid_utf8}};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].mode != GH_PATH_REJECT && rules[i].mode <= GH_PATH_DECODE)
            gh__audit_find(a, "GH-PATH-001", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "paths.%s", rules[i].key), "paths",
                           "paths.%s is %s: such paths reach the routes and backends",
                           rules[i].key, modes[rules[i].mode]);
    if (p->keep_slashes)
        gh__audit_find(a, "GH-PATH-001", GH_SEV_NONE, -1, "paths.merge_slashes", "paths",
                       "paths.merge_slashes is false: '//admin' and '/admin' are different paths "
                       "to the routes");
}

static void check_stores_and_policies(gh_audit *a)
{
    const gh_config *c = a->c;
    if (c->redis && c->redis->on_failure == GH_REDIS_FAIL_ALLOW)
        gh__audit_find(a, "GH-LIMIT-004", GH_SEV_NONE, -1, "stores.redis.on_failure", "stores.redis",
                       "limits kept in Redis (%s) let everything through while it is down",
                       c->redis->address);
    for (size_t i = 0; i < c->npolicies; i++) {
        const gh_policy_conf *p = &c->policies[i];
        bool used = false, critical = false;
        for (size_t r = 0; r < c->nroutes; r++)
            if (gh__route_uses(a, &c->routes[r], GH_FACT_POLICY, p->name)) {
                used = true;
                critical |= c->routes[r].critical;
            }
        if (used && p->on_error_allow)
            gh__audit_find(a, "GH-AUTHZ-004", critical ? GH_SEV_HIGH : GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "policies.%s.external.on_error", p->name),
                           gh__audit_fmt(a, "policy %s", p->name),
                           "policy '%s' allows every request when %s cannot answer%s", p->name,
                           p->url, critical ? " (critical routes ask it)" : "");
    }
    const gh_limits_conf *l = &c->limits;
    const struct {
        const char *key;
        uint64_t ms, max_ms;
    } timeouts[] = {{"head_timeout", l->head_timeout_ms, 60000},
                    {"body_timeout", l->body_timeout_ms, 300000},
                    {"idle_timeout", l->idle_timeout_ms, 600000}};
    for (size_t i = 0; i < 3; i++)
        if (timeouts[i].ms > timeouts[i].max_ms)
            gh__audit_find(a, "GH-LIMIT-006", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "limits.%s", timeouts[i].key), "limits",
                           "limits.%s is %llu seconds: slow clients hold connections that long",
                           timeouts[i].key, (unsigned long long)(timeouts[i].ms / 1000));
}

void gh__audit_check_transport(gh_audit *a)
{
    check_listeners(a);
    check_upstreams(a);
    check_trusted_proxies(a);
    secret_walk sw = {a};
    gh_locator_each_scalar(&a->loc, secret_file, &sw);
    check_paths(a);
    check_stores_and_policies(a);
}
