/* The report as SARIF 2.1.0, for code-scanning views in CI: a rule per case that ran, a result
 * per failure (on the route's line in the configuration when the run had one, else on the route
 * or the target by name), and errors as the invocation's notifications. */
#include <stdlib.h>
#include <string.h>

#include "probe/report_internal.h"

static json_t *str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char *clean = gh__probe_clean(s, true); /* not UTF-8: its odd bytes as \xHH */
    j = json_string(clean ? clean : "");
    free(clean);
    return j;
}

static const char *level(gh_probe_severity s)
{
    return s == GH_PSEV_HIGH ? "error" : s == GH_PSEV_MEDIUM ? "warning" : "note";
}

/* GitHub code scanning ranks alerts by this 0.0-10.0 score. */
static const char *security_severity(gh_probe_severity s)
{
    return s == GH_PSEV_HIGH ? "8.0" : s == GH_PSEV_MEDIUM ? "5.0" : "3.0";
}

static json_t *text(const char *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "text", str(s));
    return o;
}

static json_t *rule(const gh_probe_case *c)
{
    json_t *tags = json_array();
    json_array_append_new(tags, json_string("security"));
    if (c->group)
        json_array_append_new(tags, str(c->group));
    if (c->owasp)
        json_array_append_new(tags, str(c->owasp));
    if (c->cwe > 0) {
        char cwe[48];
        snprintf(cwe, sizeof(cwe), "external/cwe/cwe-%d", c->cwe);
        json_array_append_new(tags, json_string(cwe));
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", str(c->id));
    json_object_set_new(o, "name", str(c->id));
    json_object_set_new(o, "shortDescription", text(c->title));
    json_object_set_new(o, "fullDescription", text(c->expect ? c->expect : c->title));
    json_object_set_new(o, "help", text(c->fix ? c->fix : ""));
    json_object_set_new(o, "defaultConfiguration", json_pack("{s:s}", "level", level(c->severity)));
    json_object_set_new(
        o, "properties",
        json_pack("{s:o, s:s}", "tags", tags, "security-severity", security_severity(c->severity)));
    return o;
}

/* The rules: each case once, in the order of its first result; index[i] is result i's rule. */
static json_t *rules(const gh_probe_result *results, size_t n, size_t *index)
{
    json_t *list = json_array();
    size_t nrules = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && results[j].c != results[i].c)
            j++;
        if (j < i) {
            index[i] = index[j];
            continue;
        }
        index[i] = nrules++;
        json_array_append_new(list, rule(results[i].c));
    }
    return list;
}

/* The configuration's path as a URI reference (RFC 3986): as given, with the bytes a URI
 * cannot carry (a space, '%', '#', '?', ':' that would read as a scheme, anything not
 * ASCII) percent-encoded. */
static char *artifact_uri(const char *file)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(file) + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)file; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/@!$&'()*+,;=", *c)) {
            out[k++] = (char)*c;
        } else {
            out[k++] = '%';
            out[k++] = hex[*c >> 4];
            out[k++] = hex[*c & 15];
        }
    }
    out[k] = '\0';
    return out;
}

static json_t *location(const gh_probe *p, const gh_probe_result *r, const char *uri)
{
    if (uri && r->line > 0) {
        json_t *region = json_pack("{s:i}", "startLine", r->line);
        if (r->col > 0)
            json_object_set_new(region, "startColumn", json_integer(r->col));
        return json_pack("{s:{s:{s:s}, s:o}}", "physicalLocation", "artifactLocation", "uri", uri,
                         "region", region);
    }
    char target[300];
    gh__probe_target_text(p, target, sizeof(target));
    return json_pack("{s:[{s:o, s:s}]}", "logicalLocations", "name",
                     str(r->route ? r->route : target), "kind", r->route ? "route" : "target");
}

static json_t *result(const gh_probe *p, const gh_probe_result *r, size_t rule_index,
                      const char *uri)
{
    char *message = NULL;
    const char *why = r->why ? r->why : r->c->title;
    int rc = r->route ? asprintf(&message, "%s (route %s)", why, r->route)
                      : asprintf(&message, "%s", why);
    json_t *o = json_object();
    json_object_set_new(o, "ruleId", str(r->c->id));
    json_object_set_new(o, "ruleIndex", json_integer((json_int_t)rule_index));
    json_object_set_new(o, "level", json_string(level(r->c->severity)));
    json_object_set_new(o, "message", text(rc < 0 ? why : message));
    if (rc >= 0)
        free(message);
    json_t *where = json_array();
    json_array_append_new(where, location(p, r, uri));
    json_object_set_new(o, "locations", where);
    json_t *props = json_object();
    if (r->sent)
        json_object_set_new(props, "sent", str(r->sent));
    if (r->observed)
        json_object_set_new(props, "observed", str(r->observed));
    if (r->upstream)
        json_object_set_new(props, "upstream", str(r->upstream));
    if (r->c->expect)
        json_object_set_new(props, "expected", str(r->c->expect));
    json_object_set_new(o, "properties", props);
    return o;
}

static json_t *notification(const gh_probe_result *r, size_t rule_index)
{
    json_t *o = json_object();
    json_object_set_new(o, "level", json_string("error"));
    json_object_set_new(o, "message", text(r->why ? r->why : "the case could not run"));
    json_object_set_new(
        o, "associatedRule",
        json_pack("{s:o, s:I}", "id", str(r->c->id), "index", (json_int_t)rule_index));
    return o;
}

static json_t *document(const gh_probe *p, const gh_probe_result *results, size_t n, size_t *index)
{
    char *uri = p->config_file ? artifact_uri(p->config_file) : NULL;
    json_t *rule_list = rules(results, n, index);
    json_t *list = json_array(), *notes = json_array();
    for (size_t i = 0; i < n; i++) {
        if (results[i].verdict == GH_PV_FAIL)
            json_array_append_new(list, result(p, &results[i], index[i], uri));
        else if (results[i].verdict == GH_PV_ERROR)
            json_array_append_new(notes, notification(&results[i], index[i]));
    }
    free(uri);
    json_t *invocation = json_object();
    json_object_set_new(invocation, "executionSuccessful", json_boolean(!json_array_size(notes)));
    json_object_set_new(invocation, "toolExecutionNotifications", notes);
    json_t *driver = json_pack("{s:s, s:s, s:s}", "name", "gatehouse probe", "version", GH_VERSION,
                               "semanticVersion", GH_VERSION);
    json_object_set_new(driver, "rules", rule_list);
    return json_pack("{s:s, s:s, s:[{s:{s:o}, s:[o], s:o}]}", "$schema",
                     "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
                     "tool", "driver", driver, "invocations", invocation, "results", list);
}

void gh_probe_render_sarif(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                           const gh_probe_summary *sum)
{
    (void)sum; /* SARIF counts nothing: its readers count the results */
    size_t *index = calloc(n + 1, sizeof(*index)); /* each result's rule */
    json_t *doc = index ? document(p, results, n, index) : NULL;
    if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', out) == EOF)
        fprintf(stderr, "gatehouse probe: the SARIF report could not be written\n");
    json_decref(doc);
    free(index);
    fflush(out);
}
