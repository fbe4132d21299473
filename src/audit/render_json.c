/* The report as data: the gateway's own JSON (everything the text report says, for scripts), and
 * SARIF 2.1.0 (findings on the configuration's lines, for code-scanning views in CI). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_internal.h"

static int dump(json_t *doc, FILE *out)
{
    int rc = doc ? json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    if (rc == 0 && fputc('\n', out) == EOF)
        rc = -1;
    json_decref(doc);
    return rc == 0 && !ferror(out) ? 0 : -1;
}

static json_t *entry_points(gh_audit *a)
{
    size_t n;
    gh_entry_point *rows = gh__audit_entry_points(a, &n);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const gh_entry_point *e = &rows[i];
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                            "route", e->route->name, "method", e->method, "listeners", e->listeners,
                            "exposure", e->exposure, "host", e->host, "path", e->path, "auth",
                            e->auth, "authz", e->authz, "policy", e->policy, "rate_limits",
                            e->limits, "body", e->body, "upstream", e->upstream, "critical",
                            e->critical));
        json_t *tags = json_array();
        for (size_t t = 0; t < e->route->ntags; t++)
            json_array_append_new(tags, json_string(e->route->tags[t]));
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "tags", tags);
    }
    return list;
}

static json_t *finding(gh_audit *a, const gh_finding *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s}", "id",
                          f->check->id, "severity", gh__sev_name(f->severity), "title",
                          f->check->title, "subject", f->subject, "message", f->message, "key",
                          f->key, "file", a->file, "line", f->line, "column", f->col, "why",
                          f->check->why, "fix", f->check->fix);
    json_object_set_new(o, "owasp", json_string(f->check->owasp));
    json_object_set_new(o, "cwe", json_string(f->check->cwe));
    json_object_set_new(o, "accepted", f->accepted ? json_string(f->accepted) : json_null());
    return o;
}

static json_t *diagram(gh_audit *a)
{
    gh_graph g;
    gh__audit_graph(a, &g);
    json_t *nodes = json_array(), *edges = json_array();
    for (size_t i = 0; i < g.nnodes; i++)
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:b}", "id", g.nodes[i].id,
                                               "label", g.nodes[i].label, "zone",
                                               gh__zone_label(g.nodes[i].zone), "critical",
                                               g.nodes[i].critical));
    for (size_t i = 0; i < g.nedges; i++)
        json_array_append_new(edges, json_pack("{s:s, s:s, s:s, s:b}", "from", g.edges[i].from,
                                               "to", g.edges[i].to, "label", g.edges[i].label,
                                               "critical", g.edges[i].critical));
    return json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
}

int gh__render_json(gh_audit *a, FILE *out)
{
    gh_audit_counts n = gh__audit_counts(a);
    json_t *listeners = json_array(), *list = json_array();
    for (size_t i = 0; i < a->c->nlisteners; i++) {
        const gh_listener_conf *l = &a->c->listeners[i];
        json_array_append_new(listeners,
                              json_pack("{s:s, s:s, s:b, s:s}", "address", l->address, "exposure",
                                        gh__exposure_name(gh__audit_exposure(&l->addr)), "tls",
                                        l->tls != NULL, "client_certificates",
                                        l->client_auth == 2 ? "required"
                                        : l->client_auth == 1 ? "optional" : "none"));
    }
    for (size_t i = 0; i < a->nfindings; i++)
        json_array_append_new(list, finding(a, &a->findings[i]));
    json_t *doc = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o}", "file",
                            a->file, "sha256", a->c->file_sha256, "summary", "high", (json_int_t)n.high,
                            "medium", (json_int_t)n.medium, "low", (json_int_t)n.low, "accepted",
                            (json_int_t)n.accepted, "listeners", listeners, "entry_points",
                            entry_points(a), "findings", list, "trust_boundaries", diagram(a));
    return dump(doc, out);
}

/* ---- SARIF 2.1.0 ---- */

static const char *sarif_level(gh_severity s)
{
    return s == GH_SEV_HIGH ? "error" : s == GH_SEV_MEDIUM ? "warning" : "note";
}

/* GitHub code scanning ranks by this 0.0-10.0 score. */
static const char *security_severity(gh_severity s)
{
    return s == GH_SEV_HIGH ? "8.0" : s == GH_SEV_MEDIUM ? "5.0" : "2.0";
}

/* The file as a URI reference (RFC 3986): relative stays relative, absolute becomes file://. */
static const char *artifact_uri(gh_audit *a)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *f = a->file;
    size_t len = strlen(f);
    char *out = gh_arena_alloc(&a->arena, 3 * len + 8);
    if (!out)
        return f;
    size_t k = 0;
    if (f[0] == '/') {
        memcpy(out, "file://", 7);
        k = 7;
    }
    for (const unsigned char *p = (const unsigned char *)f; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
    return out;
}

static json_t *sarif_rules(void)
{
    size_t n;
    const gh_audit_check *checks = gh__audit_checks(&n);
    json_t *rules = json_array();
    for (size_t i = 0; i < n; i++) {
        const gh_audit_check *c = &checks[i];
        /* Tags as code-scanning tools read them: external/cwe/cwe-306, and the OWASP entry. */
        char cwe[32], owasp[32];
        snprintf(cwe, sizeof(cwe), "external/cwe/cwe-%s", c->cwe + 4);
        snprintf(owasp, sizeof(owasp), "owasp-api-2023/%.*s", (int)strcspn(c->owasp, ":"),
                 c->owasp);
        json_array_append_new(
            rules, json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s, s:s, "
                             "s:[s, s, s]}}", "id",
                             c->id, "name", c->name, "shortDescription", "text", c->title,
                             "fullDescription", "text", c->why, "help", "text", c->fix,
                             "defaultConfiguration", "level", sarif_level(c->severity),
                             "properties", "security-severity", security_severity(c->severity),
                             "owasp", c->owasp, "cwe", c->cwe,
                             "tags", "security", cwe, owasp));
    }
    return rules;
}

static json_t *sarif_result(const gh_finding *f, const char *uri)
{
    size_t n;
    const gh_audit_check *checks = gh__audit_checks(&n);
    json_t *r = json_pack(
        "{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i, s:i}}, s:[{s:s}]}], s:{s:s, s:s, s:s}}",
        "ruleId", f->check->id, "ruleIndex", (json_int_t)(f->check - checks), "level",
        sarif_level(f->severity), "message", "text", f->message, "locations", "physicalLocation",
        "artifactLocation", "uri", uri, "region", "startLine", f->line, "startColumn", f->col,
        "logicalLocations", "fullyQualifiedName", f->key, "properties", "severity",
        gh__sev_name(f->severity), "security-severity", security_severity(f->severity), "subject",
        f->subject);
    if (f->accepted)
        json_object_set_new(r, "suppressions",
                            json_pack("[{s:s, s:s, s:s}]", "kind", "inSource", "status", "accepted",
                                      "justification", f->accepted));
    return r;
}

int gh__render_sarif(gh_audit *a, FILE *out)
{
    const char *uri = artifact_uri(a);
    json_t *results = json_array();
    for (size_t i = 0; i < a->nfindings; i++)
        json_array_append_new(results, sarif_result(&a->findings[i], uri));
    json_t *doc = json_pack(
        "{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:o}}, s:[{s:{s:s}}], s:o}]}", "$schema",
        "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool",
        "driver", "name", "gatehouse-audit", "version", GH_VERSION, "semanticVersion", GH_VERSION,
        "rules", sarif_rules(), "artifacts", "location", "uri", uri, "results", results);
    return dump(doc, out);
}
