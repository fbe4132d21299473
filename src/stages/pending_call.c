#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "gate/exchange.h"
#include "gate/span.h"
#include "stages/pending_call.h"

struct gh_pending_wait {
    gh_link link; /* in call->waiters */
    gh_request *req;
    gh_pending_call *call;
    int span; /* the request's child span for the wait (gate/span.h) */
};

int gh_pending_worker_init(gh_services *svc)
{
    svc->calls = calloc(1, sizeof(*svc->calls));
    return svc->calls ? 0 : -ENOMEM;
}

bool gh_pending_event_due(gh_services *svc)
{
    int64_t now = (int64_t)time(NULL);
    if (svc->calls->event_at == now)
        return false;
    svc->calls->event_at = now;
    return true;
}

static void unlink_call(gh_services *svc, gh_pending_call *c)
{
    gh_list_unlink(&svc->calls->list, &c->link);
}

static void call_free(gh_pending_call *c)
{
    gh_http_client_remove(c->svc->http, &c->http);
    gh_http_call_reset(&c->http);
    if (c->body) {
        OPENSSL_cleanse(c->body, strlen(c->body));
        free(c->body);
    }
    curl_slist_free_all(c->headers);
    gh_config_release(c->config);
    free(c);
}

static void on_done(gh_http_call *http, CURLcode result)
{
    gh_pending_call *c = (gh_pending_call *)http;
    unlink_call(c->svc, c);
    long status = 0;
    curl_easy_getinfo(http->easy, CURLINFO_RESPONSE_CODE, &status);
    c->status = (int16_t)(status > 0 && status < 1000 ? status : 0);
    /* the call's own words go with it: the span keeps a word that stays */
    c->failure = http->too_big || result == CURLE_FILESIZE_EXCEEDED ? "answer_too_large"
                 : result != CURLE_OK                              ? curl_easy_strerror(result)
                                                                   : NULL;
    c->finished(c, result); /* resumes every waiter */
    call_free(c);
}

gh_pending_call *gh_pending_find(gh_services *svc, const void *owner, const unsigned char question[32],
                                 uint32_t *others)
{
    *others = 0;
    if (!svc->calls)
        return NULL; /* stopped: the worker is going away */
    for (gh_pending_call *c = GH_LIST_FIRST(&svc->calls->list, gh_pending_call, link); c;
         c = GH_LIST_NEXT(c, gh_pending_call, link)) {
        if (c->owner != owner)
            continue;
        if (memcmp(c->question, question, 32) == 0)
            return c;
        (*others)++;
    }
    return NULL;
}

gh_pending_call *gh_pending_start(gh_request *req, const void *owner,
                                  const unsigned char question[32], gh_pending_spec *spec,
                                  void (*finished)(gh_pending_call *c, CURLcode result))
{
    gh_services *svc = req->svc;
    gh_pending_call *c = svc->calls ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        free(spec->body);
        return NULL;
    }
    c->svc = svc;
    c->owner = owner;
    c->finished = finished;
    c->span_kind = spec->span_kind;
    c->span_detail = spec->span_detail;
    c->config = req->config;
    gh_config_ref(c->config);
    memcpy(c->question, question, 32);
    c->body = spec->body;
    c->headers = curl_slist_append(NULL, "Accept: application/json");
    if (c->headers && spec->content_type)
        c->headers = curl_slist_append(c->headers, spec->content_type);
    if (!c->body || !c->headers ||
        gh_http_call_init(&c->http, spec->url, spec->ca_file, spec->timeout_ms, spec->max_answer) != 0) {
        call_free(c);
        return NULL;
    }
    c->http.done = on_done;
    CURL *e = c->http.easy;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    if (spec->credentials) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERPWD, spec->credentials);
    }
    if (gh_http_client_add(svc->http, &c->http) != 0) {
        call_free(c);
        return NULL;
    }
    gh_list_push(&svc->calls->list, &c->link);
    return c;
}

void gh_pending_abort(gh_request *req, const void *conf, void *ctx)
{
    (void)req, (void)conf;
    gh_pending_ctx *x = ctx;
    gh_pending_wait *wt = x ? x->wait : NULL;
    if (!wt || !wt->call)
        return; /* never waited, or its call answered it already */
    gh_list_unlink(&wt->call->waiters, &wt->link);
    wt->call = NULL;
    gh_span_end(req, wt->span, 0, "abandoned");
    /* The call goes on without it: its answer may still fill a cache. */
}

int gh_pending_join(gh_pending_call *c, gh_request *req, gh_pending_ctx *ctx)
{
    gh_pending_wait *wt = ctx ? gh_arena_zalloc(&req->arena, sizeof(*wt)) : NULL;
    if (!wt)
        return -1;
    wt->req = req;
    wt->call = c;
    wt->span = gh_span_begin(req, (gh_span_kind)c->span_kind, c->span_detail);
    gh_list_push(&c->waiters, &wt->link);
    ctx->wait = wt;
    return 0;
}

gh_request *gh_pending_next_waiter(gh_pending_call *c)
{
    gh_link *l = gh_list_pop(&c->waiters);
    if (!l)
        return NULL;
    gh_pending_wait *wt = GH_CONTAINER(l, gh_pending_wait, link);
    wt->call = NULL; /* answered: nothing left to leave */
    gh_span_end(wt->req, wt->span, c->status, c->failure);
    return wt->req;
}

void gh_pending_worker_stop(gh_services *svc)
{
    /* Connections are closed by now, so no call has a waiter left. */
    for (gh_link *l; svc->calls && (l = gh_list_pop(&svc->calls->list));) {
        gh_pending_call *c = GH_CONTAINER(l, gh_pending_call, link);
        call_free(c);
    }
    free(svc->calls);
    svc->calls = NULL;
    gh_http_client_stop(svc->http);
    svc->http = NULL;
}
