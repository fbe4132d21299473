/* Stand-ins for the recording server, the self-test harness and the reports while they are
 * being written; this file goes when they land. */
#include "probe/probe_internal.h"
#include <string.h>
struct gh_probe_server { int x; };
gh_probe_server *gh_probe_server_start(gh_probe *p) { (void)p; return NULL; }
void gh_probe_server_stop(gh_probe_server *s) { (void)s; }
int gh_probe_server_port(const gh_probe_server *s, gh_probe_role role) { (void)s; (void)role; return 9; }
size_t gh_probe_upstream_take(gh_probe_server *s, gh_probe_upreq **out) { (void)s; *out = NULL; return 0; }
void gh_probe_upreqs_free(gh_probe_upreq *v, size_t n) { (void)v; (void)n; }
size_t gh_probe_bait_fetches(gh_probe_server *s) { (void)s; return 0; }
size_t gh_probe_jwks_fetches(gh_probe_server *s, const char *provider) { (void)s; (void)provider; return 0; }
void gh_probe_opaque_add(gh_probe_server *s, const char *token, json_t *claims, bool active) { (void)s; (void)token; json_decref(claims); (void)active; }
int gh_probe_selftest_start(gh_probe *p) { (void)p; return -1; }
void gh_probe_selftest_stop(gh_probe *p) { (void)p; }
const char *gh_probe_verdict_name(gh_probe_verdict v) { static const char *n[] = {"pass","fail","skip","error"}; return n[v]; }
const char *gh_probe_severity_name(gh_probe_severity s) { static const char *n[] = {"none","low","medium","high"}; return n[s]; }
void gh_probe_summarize(const gh_probe_result *r, size_t n, gh_probe_summary *sum) { memset(sum, 0, sizeof(*sum)); for (size_t i=0;i<n;i++){ if(r[i].verdict==GH_PV_PASS)sum->pass++; else if(r[i].verdict==GH_PV_FAIL){sum->fail++; if(r[i].c->severity==GH_PSEV_HIGH)sum->fail_high++; else if(r[i].c->severity==GH_PSEV_MEDIUM)sum->fail_medium++; else sum->fail_low++;} else if(r[i].verdict==GH_PV_SKIP)sum->skip++; else sum->error++;} }
void gh_probe_render_text(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n, const gh_probe_summary *sum) { (void)p;(void)sum; for (size_t i=0;i<n;i++) fprintf(out, "%s %s %s\n  sent: %s\n  observed: %s\n  upstream: %s\n", results[i].c->id, gh_probe_verdict_name(results[i].verdict), results[i].why, results[i].sent?results[i].sent:"-", results[i].observed?results[i].observed:"-", results[i].upstream?results[i].upstream:"-"); }
void gh_probe_render_json(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n, const gh_probe_summary *sum) { gh_probe_render_text(out,p,results,n,sum); }
void gh_probe_render_sarif(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n, const gh_probe_summary *sum) { gh_probe_render_text(out,p,results,n,sum); }
void gh_probe_render_junit(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n, const gh_probe_summary *sum) { gh_probe_render_text(out,p,results,n,sum); }
void gh_probe_render_markdown(FILE *out, const gh_probe *p, const gh_probe_result *results, size_t n, const gh_probe_summary *sum) { gh_probe_render_text(out,p,results,n,sum); }
