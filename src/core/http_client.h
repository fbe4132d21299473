/* An HTTP client on a libuv loop: libcurl multi driven by the loop's poll and timer handles.
 * The control thread uses one for key sets; each worker one for token introspection. Every
 * transfer is bounded in time and size, verifies TLS and follows no redirect. */
#ifndef GH_CORE_HTTP_CLIENT_H
#define GH_CORE_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "core/bytes.h"

typedef struct gh_http_client gh_http_client;

/* What a caller embeds first in its transfer state; done runs on the loop when the transfer
 * ends (never from inside gh_http_client_add or _remove). The easy handle is the caller's to
 * clean up. */
typedef struct gh_http_call gh_http_call;
struct gh_http_call {
    void (*done)(gh_http_call *call, CURLcode result);
    CURL *easy;
    gh_bytes answer; /* NUL-terminated (p NULL when empty); freed by gh_http_call_reset */
    size_t max;      /* larger answers end the transfer with too_big */
    bool too_big;
    char error[CURL_ERROR_SIZE];
};

/* Starts a client on loop. keep_alive false: its handles never keep the loop running. */
gh_http_client *gh_http_client_start(uv_loop_t *loop, bool keep_alive);
/* Aborts what is in flight (without callbacks) and closes; the loop must run to finish. */
void gh_http_client_stop(gh_http_client *c);

/* A new easy handle in call for url: TLS verified (ca_file, or the system's CAs when NULL),
 * http and https only, no redirects, total timeout, answers capped at max bytes. Returns 0. */
int gh_http_call_init(gh_http_call *call, const char *url, const char *ca_file, long timeout_ms,
                      size_t max);
/* Frees the easy handle and the answer. */
void gh_http_call_reset(gh_http_call *call);
/* Starts call's transfer. Returns 0, or -1 (nothing started). */
int gh_http_client_add(gh_http_client *c, gh_http_call *call);
/* Abandons call's transfer: done will not run. */
void gh_http_client_remove(gh_http_client *c, gh_http_call *call);
/* Why a finished transfer failed, in words, or NULL when it got an answer (any status). */
const char *gh_http_call_failure(const gh_http_call *call, CURLcode result);

#endif
