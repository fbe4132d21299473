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
