/* The self-test harness of `gatehouse probe`: the YAML editing helpers; the configuration
 * rewritten for loopback (loads, and points everything outside at the probe, keeping the rest);
 * and the gateway started on it, answering on the probe's sockets (plain and TLS with the
 * probe's client certificate), forwarding to the recording upstream, its admin listener taking
 * the probe's token. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "probe/probe.h"
#include "probe/selftest_parts.h"
#include "stages/registry.h"

/* ---- the YAML editing helpers ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_yaml_edit(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-yed-XXXXXX", path[PATH_MAX], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/out.yaml", dir);
    const char *text = "# a comment\na: 1\nb: {c: x, d: y}\nlist: [p, {url: q, weight: 2}]\n";
    yaml_document_t doc;
    assert_int_equal(gh_yed_load(&doc, text, strlen(text), err, sizeof(err)), 0);
    int root = gh_yed_root(&doc);
    assert_string_equal(gh_yed_text(&doc, gh_yed_get(&doc, root, "a")), "1");
    assert_int_equal(gh_yed_get(&doc, root, "missing"), 0);
    assert_null(gh_yed_text(&doc, gh_yed_get(&doc, root, "b")));
    int b = gh_yed_get(&doc, root, "b");
    assert_int_equal(gh_yed_count(&doc, b), 2);
    assert_true(gh_yed_remove(&doc, b, "c"));
    assert_false(gh_yed_remove(&doc, b, "c"));
    assert_int_equal(gh_yed_set(&doc, root, "a", "127.0.0.1:8080"), 0);
    assert_int_equal(gh_yed_set(&doc, root, "new", "*.example.com"), 0);
    int list = gh_yed_get(&doc, root, "list");
    assert_int_equal(gh_yed_count(&doc, list), 2);
    assert_string_equal(gh_yed_text(&doc, gh_yed_item(&doc, list, 0)), "p");
    assert_int_equal(gh_yed_item(&doc, list, 2), 0);
    int v;
    assert_string_equal(gh_yed_pair(&doc, gh_yed_item(&doc, list, 1), 1, &v), "weight");
    assert_string_equal(gh_yed_text(&doc, v), "2");
    assert_int_equal(gh_yed_set(&doc, gh_yed_item(&doc, list, 1), "url", "${file:/x}"), 0);
    assert_int_equal(gh_yed_dump(&doc, path, err, sizeof(err)), 0);
    /* Read back: the edits, in place, the rest as it was. */
    char *out = slurp(path);
    assert_int_equal(gh_yed_load(&doc, out, strlen(out), err, sizeof(err)), 0);
    root = gh_yed_root(&doc);
    assert_string_equal(gh_yed_pair(&doc, root, 0, &v), "a");
    assert_string_equal(gh_yed_text(&doc, v), "127.0.0.1:8080");
    b = gh_yed_get(&doc, root, "b");
    assert_int_equal(gh_yed_count(&doc, b), 1);
    assert_string_equal(gh_yed_text(&doc, gh_yed_get(&doc, b, "d")), "y");
    assert_string_equal(gh_yed_text(&doc, gh_yed_get(&doc, root, "new")), "*.example.com");
    list = gh_yed_get(&doc, root, "list");
    int item = gh_yed_item(&doc, list, 1);
    assert_string_equal(gh_yed_text(&doc, gh_yed_get(&doc, item, "url")), "${file:/x}");
    assert_string_equal(gh_yed_text(&doc, gh_yed_get(&doc, item, "weight")), "2");
    yaml_document_delete(&doc);
    /* Not YAML: said, nothing to free. */
    assert_int_equal(gh_yed_load(&doc, "a: [", 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not parse"));
    unlink(path);
    rmdir(dir);
}

/* ---- a configuration with one of everything the rewrite touches ---- */

typedef struct fixture {
    char dir[64];
    char config[PATH_MAX];
    gh_config *conf;
    gh_probe *running; /* a self-test a failed assertion left running: the teardown stops it */
} fixture;

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A self-signed certificate for the original configuration's TLS listener (and its client CA). */
static void self_signed(const char *dir)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    assert_true(k && x && n);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"orig", -1, -1, 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, bc, -1);
    X509_EXTENSION_free(bc);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/orig.crt", dir);
    FILE *f = fopen(path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(path, sizeof(path), "%s/orig.key", dir);
    f = fopen(path, "w");
    chmod(path, 0600);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    /* An empty CRL of it, for crl_file. */
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = X509_gmtime_adj(NULL, -60), *next = X509_gmtime_adj(NULL, 86400);
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, n);
    X509_CRL_set1_lastUpdate(crl, now);
    X509_CRL_set1_nextUpdate(crl, next);
    assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
    snprintf(path, sizeof(path), "%s/orig.crl", dir);
    f = fopen(path, "w");
    PEM_write_X509_CRL(f, crl);
    fclose(f);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
}

static const char *const CONFIG =
    "workers: 2\n"
    "listeners:\n"
    "  - address: 127.0.0.1:1\n"
    "  - name: secure\n"
    "    address: 127.0.0.1:2\n"
    "    tls: {certificates: [{certificate: orig.crt, private_key: orig.key}], client_auth: required,\n"
    "          client_ca: orig.crt, crl_file: orig.crl}\n"
    "admin: {address: 127.0.0.1:3, token: \"${file:admin.token}\"}\n"
    "access_log: stdout\n"
    "pid_file: /tmp/gh-probe-test-never.pid\n"
    "stores:\n"
    "  redis: {address: 127.0.0.1:6379, timeout: 50ms}\n"
    "rate_limits:\n"
    "  shared: {key: client_ip, rate: 100/s, store: redis}\n"
    "identity:\n"
    "  jwt:\n"
    "    corp: {issuer: https://idp.example, audiences: [api], algorithms: [ES256, RS256],\n"
    "           jwks_uri: \"https://idp.example/jwks.json\"}\n"
    "    shared: {issuer: https://idp.example, audiences: [api], algorithms: [HS256],\n"
    "             secret: \"${file:jwt.secret}\"}\n"
    "  introspection:\n"
    "    opaque: {issuer: https://idp.example, audiences: [api], url: \"https://idp.example/introspect\",\n"
    "             client_id: gw, client_secret: \"${file:intro.secret}\"}\n"
    "  api_keys:\n"
    "    partners: {keys_file: partners.keys}\n"
    "  hmac:\n"
    "    hooks: {scheme: github, secrets: [\"${file:hmac.secret}\"]}\n"
    "policies:\n"
    "  p:\n"
    "    external: {url: \"https://opa.example/v1/data/allow\"}\n"
    "upstreams:\n"
    "  app:\n"
    "    endpoints: [\"http://10.255.0.1:8080\", {url: \"https://10.255.0.2:8443\", weight: 3}]\n"
    "    health: {tcp: {interval: 1s}}\n"
    "routes:\n"
    "  - {name: open, match: {prefix: /open}, listeners: [\"127.0.0.1:1\", secure], auth: none,\n"
    "     upstream: app, rate_limit: shared}\n"
    "  - {name: me, match: {prefix: /me}, auth: {jwt: corp, policy: p}, upstream: app}\n"
    "  - {name: hs, match: {prefix: /hs}, auth: {jwt: shared}, upstream: app}\n"
    "  - {name: op, match: {prefix: /op}, auth: {introspection: opaque}, upstream: app}\n"
    "  - {name: partner, match: {prefix: /partner}, auth: {api_key: partners}, upstream: app}\n"
    "  - {name: hook, match: {prefix: /hook}, auth: {hmac: hooks}, upstream: app}\n"
    "  - {name: sec, match: {prefix: /sec, host: \"*.example.com\"}, listeners: [secure],\n"
    "     auth: {mtls: {spiffe_ids: [\"spiffe://example.org/billing\"], subjects: [\"CN=billing,O=Example\"]}},\n"
    "     upstream: app}\n";

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/gh-probe-test-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    self_signed(f->dir);
    write_text(f->dir, "admin.token", "original-admin-token-0123456789\n");
    write_text(f->dir, "intro.secret", "original-introspection-secret\n");
    write_text(f->dir, "jwt.secret", "original-jwt-secret-0123456789-0123456789\n");
    write_text(f->dir, "hmac.secret", "original-hmac-secret-0123456789\n");
    write_text(f->dir, "partners.keys",
               "sha256:0000000000000000000000000000000000000000000000000000000000000000 orig\n");
    write_text(f->dir, "gatehouse.yaml", CONFIG);
    snprintf(f->config, sizeof(f->config), "%s/gatehouse.yaml", f->dir);
    gh_diag d = {0};
    f->conf = gh_config_load(f->config, NULL, &d);
    if (!f->conf)
        gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    *state = f;
    return f->conf ? 0 : -1;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    if (f->running)
        gh_probe_selftest_stop(f->running);
    gh_config_release(f->conf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static const gh_api_key *find_key(const gh_api_key_provider *prov, const char *key)
{
    unsigned char md[32];
    SHA256((const unsigned char *)key, strlen(key), md);
    for (size_t i = 0; i < prov->nkeys; i++)
        if (memcmp(prov->keys[i].digest, md, 32) == 0)
            return &prov->keys[i];
    return NULL;
}

/* What the rewritten configuration must hold, checked on what gh_config_load made of it. */
static void check_rewritten(const gh_probe *p, const gh_config *r, const int *ports, int admin_port,
                            int upstream_port, int idp_port)
{
    char want[256];
    assert_int_equal(r->workers, 1);
    assert_null(r->pid_file);
    assert_null(r->redis);
    assert_string_equal(r->access_log, p->access_log);
    assert_int_equal(r->nlisteners, 2);
    for (size_t i = 0; i < 2; i++) {
        snprintf(want, sizeof(want), "127.0.0.1:%d", ports[i]);
        assert_string_equal(r->listeners[i].address, want);
    }
    /* An unnamed listener is named by its address: the routes that named it follow it. */
    snprintf(want, sizeof(want), "127.0.0.1:%d", ports[0]);
    assert_string_equal(r->listeners[0].name, want);
    assert_int_equal(r->routes[0].nlistener_ids, 2);
    assert_true(r->routes[0].listener_ids[0] == r->listeners[0].id);
    assert_string_equal(r->listeners[1].name, "secure");
    assert_non_null(r->listeners[1].tls);
    assert_int_equal(r->listeners[1].client_auth, p->conf->listeners[1].client_auth);
    snprintf(want, sizeof(want), "127.0.0.1:%d", admin_port);
    assert_true(r->has_admin);
    assert_string_equal(r->admin.address, want);
    assert_string_equal(r->admin_token, p->admin_token);
    /* Every endpoint the recording upstream, no TLS, no health checks; the weight stays. */
    assert_int_equal(r->nupstreams, 1);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d", upstream_port);
    assert_int_equal(r->upstreams[0].nendpoints, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(r->upstreams[0].endpoints[i].url, want);
        assert_false(r->upstreams[0].endpoints[i].tls);
    }
    assert_int_equal(r->upstreams[0].endpoints[1].weight, p->conf->upstreams[0].endpoints[1].weight);
    assert_int_equal(r->upstreams[0].health.kind, GH_HC_NONE);
    /* Identity: the probe's. */
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/jwks/corp", idp_port);
    assert_string_equal(r->jwt_providers[0].jwks_uri, want);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/introspect/opaque", idp_port);
    assert_string_equal(r->introspection_providers[0].introspect->url, want);
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/policy/p", idp_port);
    assert_string_equal(r->policies[0].url, want);
    const gh_api_key_provider *ak = &r->api_key_providers[0];
    assert_int_equal(ak->nkeys, 2);
    assert_string_equal(find_key(ak, p->api_keys[0].key[0])->client_id, "probe-a");
    assert_string_equal(find_key(ak, p->api_keys[0].key[1])->client_id, "probe-b");
    assert_int_equal(r->hmac_providers[0].nsecrets, 1);
    assert_int_equal(r->hmac_providers[0].secret_lens[0], strlen(p->hmac_secrets[0]));
    assert_memory_equal(r->hmac_providers[0].secrets[0], p->hmac_secrets[0], strlen(p->hmac_secrets[0]));
    assert_int_equal(r->nrate_limits, 1);
    assert_false(r->rate_limits[0].redis);
    /* The rest as it was. */
    assert_int_equal(r->nroutes, p->conf->nroutes);
    for (size_t i = 0; i < r->nroutes; i++)
        assert_string_equal(r->routes[i].name, p->conf->routes[i].name);
    assert_string_equal(r->routes[6].host, p->conf->routes[6].host);
    /* The HS256 provider: the probe's secret, by reference, no key set to fetch. */
    assert_null(r->jwt_providers[1].jwks_uri);
    assert_true(r->jwt_providers[1].keys.has_secret);
}

static gh_config *load(const char *path)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load(path, NULL, &d);
    if (!c)
        gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    return c;
}

/* Keys, certificates and the rewrite, without starting anything: the file loads and says what
 * it must. */
static void test_rewrite(void **state)
{
    fixture *f = *state;
    gh_probe p = {.conf = f->conf, .config_file = f->config, .selftest = true};
    gh_arena_init(&p.arena, 4096, 0);
    char dir[PATH_MAX], out[PATH_MAX + 32], err[512];
    snprintf(dir, sizeof(dir), "%s/stage", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    int ports[2] = {40001, 40002};
    gh_probe_stage st = {.dir = dir, .listener_ports = ports, .admin_port = 40003,
                         .upstream_port = 40004, .idp_port = 40005};
    p.access_log = st.access_log = gh_arena_printf(&p.arena, "%s/access.log", dir);
    assert_int_equal(gh_probe_keys_make(&p, &st, err, sizeof(err)), 0);
    assert_int_equal(gh_probe_pki_make(&p, &st, err, sizeof(err)), 0);
    assert_int_equal(p.nkeys, 2);
    assert_int_equal(p.keys[1].alg, GH_ALG_HS256);
    assert_null(p.keys[1].key);
    assert_true(p.keys[1].secret_len >= 32);
    assert_string_equal(p.keys[1].kid, ""); /* the gateway's secret has none */
    assert_int_equal(p.keys[0].alg, GH_ALG_RS256); /* the first the provider allows, bitwise */
    assert_string_equal(p.keys[0].kid, "probe-corp");
    assert_non_null(p.keys[0].key);
    assert_true(strlen(p.admin_token) >= 16);
    assert_string_not_equal(p.api_keys[0].key[0], p.api_keys[0].key[1]);
    snprintf(out, sizeof(out), "%s/gatehouse.yaml", dir);
    assert_int_equal(gh_probe_rewrite(f->conf, &st, out, err, sizeof(err)), 0);
    gh_config *r = load(out);
    assert_non_null(r);
    check_rewritten(&p, r, ports, 40003, 40004, 40005);
    /* The listener's TLS is the probe's: its CA as the client CA. */
    const char *text = slurp(out);
    assert_non_null(strstr(text, p.ca_file));
    assert_non_null(strstr(text, st.server_cert));
    assert_non_null(strstr(text, st.crl));
    assert_null(strstr(text, "orig."));
    assert_null(strstr(text, "certificates"));
    assert_null(strstr(text, "redis"));
    gh_config_release(r);
    gh_probe_keys_free(&p);
    gh_arena_free(&p.arena);
}

/* ---- the gateway started on it ---- */

typedef struct answer {
    int status; /* 0: no answer (refused, handshake failed) */
    char text[8192];
} answer;

/* One request on a new connection (TLS when cert is not NULL or tls is set), read to the close. */
static void ask(const gh_probe *p, int port, bool tls, const char *cert, const char *key,
                const char *request, answer *a)
{
    memset(a, 0, sizeof(*a));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 5};
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) { /* refused: no answer */
        close(fd);
        return;
    }
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cert) {
            assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
            assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
        }
        ssl = SSL_new(ctx);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
            goto done;
    }
    size_t len = strlen(request), got = 0;
    int w = tls ? SSL_write(ssl, request, (int)len) : (int)write(fd, request, len);
    if (w != (int)len)
        goto done;
    for (;;) {
        int n = tls ? SSL_read(ssl, a->text + got, (int)(sizeof(a->text) - 1 - got))
                    : (int)read(fd, a->text + got, sizeof(a->text) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    a->text[got] = '\0';
    if (strncmp(a->text, "HTTP/1.1 ", 9) == 0)
        a->status = atoi(a->text + 9);
done:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
}

/* A token the routes take, signed with the probe's key k. malloc'd. */
static char *probe_token(const gh_probe_key *k)
{
    char header[128], payload[256];
    long now = (long)time(NULL);
    if (k->kid[0])
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                 gh_alg_name(k->alg), k->kid);
    else
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", gh_alg_name(k->alg));
    snprintf(payload, sizeof(payload), "{\"iss\":\"https://idp.example\",\"aud\":\"api\","
             "\"sub\":\"probe-a\",\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld}", now, now, now + 300);
    char *token = gh_jws_sign(k->key, k->secret, k->secret_len, k->alg, header, payload);
    assert_non_null(token);
    return token;
}

/* GET path on the plain listener with one extra field: the status. */
static int get_with(const gh_probe *p, const char *path, const char *field)
{
    char request[4096];
    answer a;
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\nConnection: close\r\n\r\n",
             path, p->targets[0].authority, field);
    ask(p, p->targets[0].port, false, NULL, NULL, request, &a);
    return a.status;
}

/* Each identity provider is the probe: its keys, its secrets, its introspection and policy. */
static void check_identities(gh_probe *p)
{
    char field[3000];
    for (size_t i = 0; i < p->nkeys; i++) {
        char *token = probe_token(&p->keys[i]);
        snprintf(field, sizeof(field), "Authorization: Bearer %s", token);
        /* corp (ES256/RS256, its key set from the probe, and the policy) and shared (HS256) */
        assert_int_equal(get_with(p, i == 0 ? "/me" : "/hs", field), 200);
        assert_int_equal(get_with(p, i == 0 ? "/hs" : "/me", field), 401);
        free(token);
    }
    assert_true(gh_probe_jwks_fetches(p->server, "corp") >= 1);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I}", "iss", "https://idp.example", "aud", "api",
                               "sub", "probe-a", "exp", (json_int_t)time(NULL) + 300);
    gh_probe_opaque_add(p->server, "opaque-probe-token", claims, true); /* takes claims */
    assert_int_equal(get_with(p, "/op", "Authorization: Bearer opaque-probe-token"), 200);
    assert_int_equal(get_with(p, "/op", "Authorization: Bearer opaque-unknown"), 401);
    for (int k = 0; k < 2; k++) {
        snprintf(field, sizeof(field), "X-API-Key: %s", p->api_keys[0].key[k]);
        assert_int_equal(get_with(p, "/partner", field), 200);
    }
    assert_int_equal(get_with(p, "/partner", "X-API-Key: not-a-key"), 401);
    /* A webhook signed with the probe's HMAC secret (GitHub's scheme). */
    const char *body = "{\"event\":\"probe\"}";
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), p->hmac_secrets[0], (int)strlen(p->hmac_secrets[0]),
         (const unsigned char *)body, strlen(body), mac, &mac_len);
    char hex[65], request[1024];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    snprintf(request, sizeof(request), "POST /hook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "X-Hub-Signature-256: sha256=%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             p->targets[0].authority, hex, strlen(body), body);
    answer a;
    ask(p, p->targets[0].port, false, NULL, NULL, request, &a);
    assert_int_equal(a.status, 200);
    gh_probe_upreq *reqs = NULL;
    size_t n = gh_probe_upstream_take(p->server, &reqs);
    assert_int_equal(n, 2 + 1 + 2 + 1); /* me, hs, op, partner twice, hook */
    gh_probe_upreqs_free(reqs, n);
}

/* The gatehouse binary of this build: next to the directory of the test binaries. */
static void gateway_binary(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* build/rel/tests */
    *strrchr(self, '/') = '\0'; /* build/rel */
    snprintf(out, cap, "%s/gatehouse", self);
}

static void test_selftest_runs(void **state)
{
    fixture *f = *state;
    char exe[PATH_MAX + 16], request[512];
    gateway_binary(exe, sizeof(exe));
    gh_probe p = {.conf = f->conf, .config_file = f->config, .selftest = true, .gateway_exe = exe};
    gh_arena_init(&p.arena, 4096, 0);
    f->running = &p;
    assert_int_equal(gh_probe_selftest_start(&p), 0);
    assert_int_equal(p.ntargets, 2);
    assert_false(p.targets[0].tls);
    assert_true(p.targets[1].tls);
    assert_ptr_equal(p.targets[1].listener, &f->conf->listeners[1]);
    assert_null(p.targets[0].cert_file);
    assert_string_equal(p.targets[1].cert_file, p.client_cert); /* it requires one */
    assert_string_equal(p.targets[1].key_file, p.client_key);
    assert_non_null(p.admin);
    answer a;
    /* Plain: a proxied route reaches the recording upstream. */
    snprintf(request, sizeof(request),
             "GET /open/plain HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p.targets[0].authority);
    ask(&p, p.targets[0].port, false, NULL, NULL, request, &a);
    assert_int_equal(a.status, 200);
    gh_probe_upreq *reqs = NULL;
    size_t n = gh_probe_upstream_take(p.server, &reqs);
    assert_int_equal(n, 1);
    assert_non_null(strstr(reqs[0].head, "GET /open/plain HTTP/1.1"));
    gh_probe_upreqs_free(reqs, n);
    /* TLS with the probe's client certificate; without one, the handshake is refused. */
    snprintf(request, sizeof(request),
             "GET /open/tls HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p.targets[1].authority);
    ask(&p, p.targets[1].port, true, p.client_cert, p.client_key, request, &a);
    assert_int_equal(a.status, 200);
    ask(&p, p.targets[1].port, true, NULL, NULL, request, &a);
    assert_int_equal(a.status, 0);
    ask(&p, p.targets[1].port, true, p.client_wrong_cert, p.client_wrong_key, request, &a);
    assert_int_equal(a.status, 0);
    ask(&p, p.targets[1].port, true, p.client_expired_cert, p.client_expired_key, request, &a);
    assert_int_equal(a.status, 0);
    ask(&p, p.targets[1].port, true, p.client_revoked_cert, p.client_revoked_key, request, &a);
    assert_int_equal(a.status, 0);
    /* The client certificate is shaped after the mTLS rule: the route takes it. */
    snprintf(request, sizeof(request),
             "GET /sec HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n");
    ask(&p, p.targets[1].port, true, p.client_cert, p.client_key, request, &a);
    assert_int_equal(a.status, 200);
    n = gh_probe_upstream_take(p.server, &reqs);
    assert_int_equal(n, 2);
    gh_probe_upreqs_free(reqs, n);
    /* The admin takes the probe's token, and only it. */
    snprintf(request, sizeof(request), "GET /status HTTP/1.1\r\nHost: %s\r\n"
             "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", p.admin->authority, p.admin_token);
    ask(&p, p.admin->port, false, NULL, NULL, request, &a);
    assert_int_equal(a.status, 200);
    snprintf(request, sizeof(request), "GET /status HTTP/1.1\r\nHost: %s\r\n"
             "Authorization: Bearer original-admin-token-0123456789\r\nConnection: close\r\n\r\n",
             p.admin->authority);
    ask(&p, p.admin->port, false, NULL, NULL, request, &a);
    assert_int_equal(a.status, 401);
    check_identities(&p);
    /* The file it runs on loads. */
    const char *file = gh_probe_selftest_file(&p);
    assert_non_null(file);
    gh_config *r = load(file);
    assert_non_null(r);
    gh_config_release(r);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    *strrchr(dir, '/') = '\0';
    gh_probe_selftest_stop(&p);
    f->running = NULL;
    /* Stopped: the gateway is gone, and so is the directory. */
    ask(&p, p.targets[0].port, false, NULL, NULL, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &a);
    assert_int_equal(a.status, 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_null(p.server);
    assert_null(p.selftest_run);
    gh_arena_free(&p.arena);
}

/* A configuration the gateway refuses to start with: start says so and cleans up. */
static void test_selftest_failure(void **state)
{
    fixture *f = *state;
    gh_probe p = {.conf = f->conf, .config_file = f->config, .selftest = true,
                  .gateway_exe = "/bin/false"};
    gh_arena_init(&p.arena, 4096, 0);
    assert_int_equal(gh_probe_selftest_start(&p), -1);
    assert_null(p.selftest_run);
    assert_null(p.server);
    gh_arena_free(&p.arena);
}

/* A gateway that says why it failed (and keeps running): start passes the reason on, with the
 * tail of its stderr, and stops it. */
static void test_selftest_failure_said(void **state)
{
    fixture *f = *state;
    char exe[PATH_MAX], said[PATH_MAX], text[8192];
    snprintf(exe, sizeof(exe), "%s/fake-gateway", f->dir);
    write_text(f->dir, "fake-gateway",
               "#!/bin/sh\necho 'listeners[0]: something the fake refuses' >&2\n"
               "echo \"failed the fake's reason\" > /proc/self/fd/$GATEHOUSE_UPGRADE_READY_FD\n"
               "exec sleep 30\n");
    assert_int_equal(chmod(exe, 0700), 0);
    snprintf(said, sizeof(said), "%s/said", f->dir);
    fflush(stderr);
    int saved = dup(2), fd = open(said, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    gh_probe p = {.conf = f->conf, .config_file = f->config, .selftest = true, .gateway_exe = exe};
    gh_arena_init(&p.arena, 4096, 0);
    time_t started = time(NULL);
    int rc = gh_probe_selftest_start(&p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, -1);
    assert_true(time(NULL) - started < 10); /* not the 15 s wait, nor the sleep */
    assert_null(p.selftest_run);
    FILE *in = fopen(said, "r");
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    assert_non_null(strstr(text, "the gateway did not start: the fake's reason"));
    assert_non_null(strstr(text, "something the fake refuses"));
    gh_arena_free(&p.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_edit),
        cmocka_unit_test_setup_teardown(test_rewrite, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_selftest_runs, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_selftest_failure, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_selftest_failure_said, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
