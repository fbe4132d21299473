/* HTTP calls a stage makes from the worker on behalf of requests (token introspection, external
 * policy): one POST per distinct question, the requests asking the same question waiting for
 * the one call, the count per owner bounded, the loop never blocked. The call holds the
 * configuration snapshot it was made under, so its answer can be used (and cached) even when
 * every request that waited for it has gone. */
#ifndef GH_STAGES_PENDING_CALL_H
#define GH_STAGES_PENDING_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/http_client.h"
#include "core/list.h"

typedef struct gh_request gh_request;
typedef struct gh_services gh_services;
typedef struct gh_config gh_config;
typedef struct gh_pending_wait gh_pending_wait;
typedef struct gh_pending_call gh_pending_call;

/* A worker's calls (svc->calls). */
typedef struct gh_pending_calls {
    gh_list list;     /* gh_pending_call.link */
    int64_t event_at; /* second of the last failure event (gh_pending_event_due) */
} gh_pending_calls;

struct gh_pending_call {
    gh_http_call http; /* first: the client hands it back; the answer is in http.answer */
    gh_link link;      /* in svc->calls->list */
    gh_services *svc;
    gh_config *config;   /* held */
    const void *owner;   /* the provider or policy asking */
    unsigned char question[32];
    gh_list waiters; /* gh_pending_wait, the most recent first */
    char *body; /* the POST body: it may hold a token, so it is wiped */
    struct curl_slist *headers;
    void (*finished)(gh_pending_call *c, CURLcode result);
    int span_kind;           /* the waiters' child spans (gate/span.h) */
    const char *span_detail; /* ...and what they wait on */
    int16_t status;          /* the answer's, once finished; 0: none */
    const char *failure;     /* why it failed, once finished; NULL: an answer came */
};

/* What to send. body is taken (freed and wiped with the call). */
typedef struct gh_pending_spec {
    const char *url;
    const char *ca_file;
    long timeout_ms;
    size_t max_answer;
    char *body;
    const char *content_type;
    const char *credentials; /* HTTP Basic "id:secret", or NULL */
    int span_kind;           /* the waiters' child spans: GH_SPAN_INTROSPECTION or _POLICY */
    const char *span_detail; /* the provider or policy (configuration) */
} gh_pending_spec;

/* Makes the worker's calls (svc->calls). 0 or -ENOMEM. */
int gh_pending_worker_init(gh_services *svc);
/* Whether a stage may report a failed call now: true for the worker's first in each second. */
bool gh_pending_event_due(gh_services *svc);
/* The call in flight on req's worker for (owner, question), and how many others owner has. */
gh_pending_call *gh_pending_find(gh_services *svc, const void *owner, const unsigned char question[32],
                                 uint32_t *others);
/* Starts a call; finished runs on the worker when it ends, with the call already off the
 * worker's list, and must resume every waiter; the call is freed after it returns. NULL when
 * it cannot start. */
gh_pending_call *gh_pending_start(gh_request *req, const void *owner,
                                  const unsigned char question[32], gh_pending_spec *spec,
                                  void (*finished)(gh_pending_call *c, CURLcode result));
/* A waiting stage's state for one request: the call it waits for. */
typedef struct gh_pending_ctx {
    gh_pending_wait *wait;
} gh_pending_ctx;
/* The abort of a stage whose requests wait for calls (gate/stage-t.h; ctx is its
 * gh_pending_ctx): the request leaves the call it waits for (the call goes on, its answer may
 * still fill a cache). */
void gh_pending_abort(gh_request *req, const void *conf, void *ctx);
/* Makes req wait for c, kept in the stage's ctx (the stage then returns GH_WAIT). Returns -1
 * when out of memory. */
int gh_pending_join(gh_pending_call *c, gh_request *req, gh_pending_ctx *ctx);
/* The next request that waited (no longer waiting), or NULL: for finished to resume each. */
gh_request *gh_pending_next_waiter(gh_pending_call *c);
/* Abandons the worker's calls, frees them and stops its HTTP client (teardown, connections
 * closed). */
void gh_pending_worker_stop(gh_services *svc);

#endif
