/* The report as one JSON document, for scripts: the run (mode, profile, target, configuration),
 * the counts, what it spent of its caps, and every result with its case and evidence. */
#include <math.h>
#include <stdlib.h>

#include "probe/report_internal.h"

/* s as a JSON string, null when absent. Text that is not UTF-8 (a route name, an error from a
 * library) goes with its odd bytes as \xHH rather than making the document fail. */
static json_t *str(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *clean = gh__probe_clean(s, true);
    j = clean ? json_string(clean) : NULL;
    free(clean);
    return j ? j : json_null();
}

static json_t *count(size_t n)
{
    return json_integer((json_int_t)n);
}

/* A duration; jansson refuses NaN and infinities, a report shows them as 0. */
static json_t *real(double x)
{
    return json_real(isfinite(x) ? x : 0.0);
}

static json_t *cap(uint64_t used, uint64_t max)
{
    json_t *o = json_object();
    json_object_set_new(o, "used", json_integer((json_int_t)used));
    json_object_set_new(o, "max", json_integer((json_int_t)max));
    return o;
}

static json_t *summary(const gh_probe_summary *sum)
{
    json_t *o = json_object();
    json_object_set_new(o, "total", count(sum->pass + sum->fail + sum->skip + sum->error));
    json_object_set_new(o, "pass", count(sum->pass));
    json_object_set_new(o, "fail", count(sum->fail));
    json_object_set_new(o, "skip", count(sum->skip));
    json_object_set_new(o, "error", count(sum->error));
    json_object_set_new(o, "fail_high", count(sum->fail_high));
    json_object_set_new(o, "fail_medium", count(sum->fail_medium));
    json_object_set_new(o, "fail_low", count(sum->fail_low));
    json_object_set_new(o, "seconds", real(sum->seconds));
    return o;
}

static json_t *caps(const gh_probe *p, const gh_probe_summary *sum)
{
    json_t *o = json_object();
    json_object_set_new(o, "requests", cap(p->used.requests, p->caps.requests));
    json_object_set_new(o, "connections", cap(p->used.connections, p->caps.connections));
    json_object_set_new(o, "bytes", cap(p->used.bytes, p->caps.bytes));
    json_t *sec = json_object();
    json_object_set_new(sec, "used", real(sum->seconds));
    json_object_set_new(sec, "max", json_integer((json_int_t)p->caps.seconds));
    json_object_set_new(o, "seconds", sec);
    return o;
}

static json_t *target(const gh_probe *p)
{
    if (!p->targets || p->ntargets == 0)
        return json_null();
    const gh_probe_target *t = &p->targets[0];
    char url[300];
    gh__probe_target_text(p, url, sizeof(url));
    json_t *o = json_object();
    json_object_set_new(o, "url", str(url));
    json_object_set_new(o, "host", str(t->host));
    json_object_set_new(o, "port", json_integer(t->port));
    json_object_set_new(o, "tls", json_boolean(t->tls));
    return o;
}

static json_t *result(const gh_probe_result *r)
{
    const gh_probe_case *c = r->c;
    json_t *o = json_object();
    json_object_set_new(o, "id", str(c->id));
    json_object_set_new(o, "group", str(c->group));
    json_object_set_new(o, "title", str(c->title));
    json_object_set_new(o, "owasp", str(c->owasp));
    json_object_set_new(o, "cwe", c->cwe > 0 ? json_integer(c->cwe) : json_null());
    json_object_set_new(o, "severity", str(gh_probe_severity_name(c->severity)));
    json_object_set_new(o, "verdict", str(gh_probe_verdict_name(r->verdict)));
    json_object_set_new(o, "why", str(r->why));
    json_object_set_new(o, "route", str(r->route));
    json_object_set_new(o, "line", json_integer(r->line > 0 ? r->line : 0));
    json_object_set_new(o, "col", json_integer(r->line > 0 && r->col > 0 ? r->col : 0));
    json_object_set_new(o, "expected", str(c->expect));
    json_object_set_new(o, "sent", str(r->sent));
    json_object_set_new(o, "observed", str(r->observed));
    json_object_set_new(o, "upstream", str(r->upstream));
    json_object_set_new(o, "fix", str(c->fix));
    json_object_set_new(o, "seconds", real(r->seconds));
    return o;
}

void gh_probe_render_json(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n,
                          const gh_probe_summary *sum)
{
    gh_probe_summary local;
    sum = gh__probe_sum(results, n, sum, &local);
    json_t *doc = json_object(), *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, result(&results[i]));
    json_object_set_new(doc, "tool",
                        json_pack("{s:s, s:s}", "name", "gatehouse probe", "version", GH_VERSION));
    json_object_set_new(doc, "mode", str(gh__probe_mode_name(p)));
    json_object_set_new(doc, "profile", str(gh__probe_profile_name(p)));
    json_object_set_new(doc, "config", str(p->config_file));
    json_object_set_new(doc, "target", target(p));
    json_object_set_new(doc, "summary", summary(sum));
    json_object_set_new(doc, "caps", caps(p, sum));
    json_object_set_new(doc, "results", list);
    if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', out) == EOF)
        fprintf(stderr, "gatehouse probe: the JSON report could not be written\n");
    json_decref(doc);
    fflush(out);
}
