/* Token introspection calls in flight on a worker (stage auth_introspect). */
#ifndef GH_STAGES_AUTH_INTROSPECT_H
#define GH_STAGES_AUTH_INTROSPECT_H

typedef struct gh_worker gh_worker;
typedef struct gh_introspection_call gh_introspection_call;
typedef struct gh_introspection_wait gh_introspection_wait;

/* Abandons the worker's calls and stops its HTTP client (teardown, connections closed). */
void gh_introspect_worker_stop(gh_worker *w);

#endif
