/* The certificates of a self-test (probe/selftest_parts.h): a CA of the probe's own, one server
 * certificate for every TLS listener (localhost, 127.0.0.1 and every route's host), and client
 * certificates to knock with: one the listeners trust (shaped after the first auth.mtls rule
 * that names SPIFFE IDs or subjects, so that it passes), one from another CA, one expired, one
 * revoked by the CRL the probe writes. EC P-256 throughout. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "probe/selftest_parts.h"

#define SAN_MAX 16384
#define DAY (24 * 3600L)

typedef struct issued {
    X509 *cert;
    EVP_PKEY *key;
} issued;

typedef struct cert_spec {
    X509_NAME *subject;     /* taken */
    const char *sans;       /* "DNS:a,IP:b,URI:c", or NULL */
    const issued *issuer;   /* NULL: self-signed */
    long serial;
    long not_before, not_after; /* seconds from now */
    bool ca, server;
} cert_spec;

static void issued_free(issued *i)
{
    X509_free(i->cert);
    EVP_PKEY_free(i->key);
    i->cert = NULL;
    i->key = NULL;
}

static X509_NAME *name_cn(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n && !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* An RFC 2253 subject ("CN=billing,O=Example": most specific first) as a name that prints back
 * the same. Escaped commas are not taken apart; NULL when a part is not TYPE=value. */
static X509_NAME *name_rfc2253(const char *text)
{
    const char *parts[16];
    size_t lens[16], n = 0;
    for (const char *s = text; *s && n < 16;) {
        const char *e = s;
        while (*e && !(*e == ',' && (e == s || e[-1] != '\\')))
            e++;
        parts[n] = s;
        lens[n++] = (size_t)(e - s);
        s = *e ? e + 1 : e;
    }
    X509_NAME *name = X509_NAME_new();
    for (size_t i = n; name && i-- > 0;) {
        char part[512];
        snprintf(part, sizeof(part), "%.*s", (int)lens[i], parts[i]);
        char *eq = strchr(part, '=');
        if (!eq || !X509_NAME_add_entry_by_txt(name, (*eq = '\0', part), MBSTRING_UTF8,
                                               (const unsigned char *)eq + 1, -1, -1, 0)) {
            X509_NAME_free(name);
            return NULL;
        }
    }
    return name;
}

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int issue(const cert_spec *s, issued *out)
{
    out->key = EVP_EC_gen("P-256");
    out->cert = X509_new();
    X509 *x = out->cert;
    bool ok = out->key && x && s->subject && X509_set_version(x, 2) &&
              ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial) &&
              X509_gmtime_adj(X509_getm_notBefore(x), s->not_before) &&
              X509_gmtime_adj(X509_getm_notAfter(x), s->not_after) &&
              X509_set_subject_name(x, s->subject) &&
              X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer->cert) : s->subject) &&
              X509_set_pubkey(x, out->key);
    X509V3_CTX ctx;
    if (ok) {
        X509V3_set_ctx(&ctx, s->issuer ? s->issuer->cert : x, x, NULL, NULL, 0);
        ok = add_ext(x, &ctx, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
             add_ext(x, &ctx, NID_key_usage, s->ca ? "critical,keyCertSign,cRLSign"
                                                    : "critical,digitalSignature") &&
             add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
             (s->ca || add_ext(x, &ctx, NID_ext_key_usage, s->server ? "serverAuth" : "clientAuth")) &&
             (!s->sans || add_ext(x, &ctx, NID_subject_alt_name, s->sans)) &&
             X509_sign(x, s->issuer ? s->issuer->key : out->key, EVP_sha256()) > 0;
    }
    X509_NAME_free(s->subject);
    if (!ok)
        issued_free(out);
    return ok ? 0 : -1;
}

/* The certificate and key as two PEM files, dir/<stem>.crt and .key: their paths. */
static int write_pair(gh_probe *p, const char *dir, const char *stem, const issued *i,
                      const char **cert, const char **key)
{
    *cert = gh_arena_printf(&p->arena, "%s/%s.crt", dir, stem);
    *key = gh_arena_printf(&p->arena, "%s/%s.key", dir, stem);
    FILE *fc = *cert ? fopen(*cert, "w") : NULL;
    int kfd = *key ? open(*key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    FILE *fk = kfd >= 0 ? fdopen(kfd, "w") : NULL;
    if (kfd >= 0 && !fk)
        close(kfd);
    bool ok = fc && fk && PEM_write_X509(fc, i->cert) &&
              PEM_write_PrivateKey(fk, i->key, NULL, NULL, 0, NULL, NULL);
    if (fc && fclose(fc) != 0)
        ok = false;
    if (fk && fclose(fk) != 0)
        ok = false;
    return ok ? 0 : -1;
}

/* "DNS:localhost,IP:127.0.0.1" and each route host once ("*.example.com" for a wildcard). */
static void server_sans(const gh_config *c, char *out, size_t cap)
{
    snprintf(out, cap, "DNS:localhost,IP:127.0.0.1");
    for (size_t i = 0; i < c->nroutes; i++) {
        const gh_route_conf *r = &c->routes[i];
        if (!r->host || !*r->host)
            continue;
        char entry[600];
        unsigned char raw[16];
        if (r->host_wildcard)
            snprintf(entry, sizeof(entry), ",DNS:*%s", r->host);
        else if (inet_pton(AF_INET, r->host, raw) == 1 || inet_pton(AF_INET6, r->host, raw) == 1)
            snprintf(entry, sizeof(entry), ",IP:%s", r->host);
        else
            snprintf(entry, sizeof(entry), ",DNS:%s", r->host);
        size_t at = strlen(out);
        if (!strstr(out, entry) && at + strlen(entry) < cap)
            snprintf(out + at, cap - at, "%s", entry);
    }
}

/* The first auth.mtls rule that names SPIFFE IDs or subjects, or NULL. */
static const gh_mtls_rule *first_named_rule(const gh_config *c)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        const gh_mtls_rule *m = c->routes[i].auth_mtls;
        if (m && (m->nspiffe_ids || m->nsubjects))
            return m;
    }
    return NULL;
}

static int write_crl(const issued *ca, long revoked_serial, const char *path)
{
    X509_CRL *crl = X509_CRL_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_TIME *now = X509_gmtime_adj(NULL, -60), *next = X509_gmtime_adj(NULL, 30 * DAY);
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    bool ok = crl && rev && now && next && serial && X509_CRL_set_version(crl, 1) &&
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) &&
              X509_CRL_set1_lastUpdate(crl, now) && X509_CRL_set1_nextUpdate(crl, next) &&
              ASN1_INTEGER_set(serial, revoked_serial) &&
              X509_REVOKED_set_serialNumber(rev, serial) &&
              X509_REVOKED_set_revocationDate(rev, now) && X509_CRL_add0_revoked(crl, rev);
    if (ok)
        rev = NULL; /* the CRL's now */
    ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0;
    FILE *f = ok ? fopen(path, "w") : NULL;
    ok = f && PEM_write_X509_CRL(f, crl);
    if (f && fclose(f) != 0)
        ok = false;
    X509_REVOKED_free(rev);
    X509_CRL_free(crl);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(serial);
    return ok ? 0 : -1;
}

/* The client certificates: trusted, wrong CA, expired, revoked (serial 4). */
static int clients(gh_probe *p, const char *dir, const issued *ca, const issued *other)
{
    const gh_mtls_rule *rule = first_named_rule(p->conf);
    char sans[1200] = "";
    if (rule && rule->nspiffe_ids)
        snprintf(sans, sizeof(sans), "URI:%s", rule->spiffe_ids[0]);
    X509_NAME *subject = rule && rule->nsubjects ? name_rfc2253(rule->subjects[0]) : NULL;
    const cert_spec specs[4] = {
        {subject ? subject : name_cn("probe-client"), sans[0] ? sans : NULL, ca, 2, -60, 30 * DAY},
        {name_cn("probe-client"), sans[0] ? sans : NULL, other, 3, -60, 30 * DAY},
        {name_cn("probe-client"), sans[0] ? sans : NULL, ca, 5, -2 * DAY, -DAY},
        {name_cn("probe-client"), sans[0] ? sans : NULL, ca, 4, -60, 30 * DAY},
    };
    const char **out[4][2] = {{&p->client_cert, &p->client_key},
                              {&p->client_wrong_cert, &p->client_wrong_key},
                              {&p->client_expired_cert, &p->client_expired_key},
                              {&p->client_revoked_cert, &p->client_revoked_key}};
    static const char *const stems[4] = {"client", "client-wrong", "client-expired", "client-revoked"};
    int rc = 0;
    for (size_t i = 0; i < 4; i++) {
        issued c = {0};
        if (rc != 0) {
            X509_NAME_free(specs[i].subject);
            continue;
        }
        rc = issue(&specs[i], &c) == 0 ? write_pair(p, dir, stems[i], &c, out[i][0], out[i][1]) : -1;
        issued_free(&c);
    }
    return rc;
}

int gh_probe_pki_make(gh_probe *p, gh_probe_stage *st, char *err, size_t cap)
{
    issued ca = {0}, other = {0}, server = {0};
    char *sans = gh_arena_alloc(&p->arena, SAN_MAX);
    const char *unused;
    int rc = -1;
    if (!sans)
        return snprintf(err, cap, "out of memory"), -1;
    server_sans(p->conf, sans, SAN_MAX);
    const cert_spec ca_spec = {name_cn("gatehouse probe CA"), NULL, NULL, 1, -60, 30 * DAY, true};
    const cert_spec other_spec = {name_cn("gatehouse probe other CA"), NULL, NULL, 1, -60, 30 * DAY, true};
    const cert_spec server_spec = {name_cn("localhost"), sans, &ca, 6, -60, 30 * DAY, false, true};
    if (issue(&ca_spec, &ca) != 0 || issue(&other_spec, &other) != 0 ||
        issue(&server_spec, &server) != 0) {
        snprintf(err, cap, "cannot make the probe's certificates (server names: %.200s)", sans);
        goto out;
    }
    if (write_pair(p, st->dir, "ca", &ca, &p->ca_file, &unused) != 0 ||
        write_pair(p, st->dir, "server", &server, &st->server_cert, &st->server_key) != 0 ||
        !(st->crl = gh_arena_printf(&p->arena, "%s/ca.crl", st->dir)) ||
        write_crl(&ca, 4, st->crl) != 0) {
        snprintf(err, cap, "cannot write the probe's certificates in %s", st->dir);
        goto out;
    }
    st->ca = p->ca_file;
    if (clients(p, st->dir, &ca, &other) != 0) {
        snprintf(err, cap, "cannot make the probe's client certificates");
        goto out;
    }
    rc = 0;
out:
    issued_free(&ca);
    issued_free(&other);
    issued_free(&server);
    return rc;
}
