#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "observe/otlp_json.h"
#include "server/trace_export.h"

/* The batch's head: the resource's attributes and the scope around tracing.service_name (at
 * most 128 bytes, 6 a byte once escaped: 768) and the version (twice): room for the longest. */
#define HEAD_MAX 4096

/* The collector's URL: an endpoint with no path gets OTLP/HTTP's /v1/traces. */
static char *traces_url(const char *endpoint)
{
    const char *rest = strstr(endpoint, "://");
    rest = rest ? rest + 3 : endpoint;
    const char *path = strchr(rest, '/');
    bool bare = !path || strcmp(path, "/") == 0;
    size_t len = strlen(endpoint) + sizeof("/v1/traces");
    char *url = malloc(len);
    if (url)
        snprintf(url, len, "%.*s%s", (int)(bare && path ? (size_t)(path - endpoint)
                                                         : strlen(endpoint)),
                 endpoint, bare ? "/v1/traces" : "");
    return url;
}

/* "Name: value" lines of the configured headers; the caller frees each and the array. */
static char **header_lines(const gh_otlp_exporter_conf *e)
{
    char **lines = calloc(e->nheaders ? e->nheaders : 1, sizeof(*lines));
    for (size_t i = 0; lines && i < e->nheaders; i++) {
        const gh_otlp_header_conf *h = &e->headers[i];
        const char *v = h->value ? h->value : h->secret;
        if (asprintf(&lines[i], "%s: %s", h->name, v) < 0)
            lines[i] = NULL;
    }
    return lines;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; lines && i < n; i++) {
        if (lines[i]) {
            memset(lines[i], 0, strlen(lines[i])); /* a secret may be in it */
            free(lines[i]);
        }
    }
    free(lines);
}

int gh_trace_export_apply(gh_http_sink *s, const gh_config *cfg, size_t nworkers, char *err,
                          size_t cap)
{
    const gh_otlp_exporter_conf *e = &cfg->tracing.exporter;
    if (!e->endpoint)
        return 0; /* nothing to send; a running exporter sends what it holds and idles */
    char head[HEAD_MAX];
    gh_sbuf b = gh_sbuf_make(head, sizeof(head) - 1);
    gh_otlp_batch_head(&b, cfg->tracing.service_name, GH_VERSION);
    head[b.len] = '\0';
    char *url = traces_url(e->endpoint);
    char **lines = header_lines(e);
    bool lines_ok = lines != NULL;
    for (size_t i = 0; lines && i < e->nheaders; i++)
        lines_ok = lines_ok && lines[i];
    int r = -ENOMEM;
    if (url && lines_ok && !b.overflow) {
        gh_http_sink_opts o = {
            .url = url, .headers = (const char *const *)lines, .nheaders = e->nheaders,
            .batch = e->batch_size, .interval_ms = e->interval_ms, .open = head,
            .close = GH_OTLP_BATCH_TAIL, .timeout_ms = e->timeout_ms, .gzip = e->gzip,
            .ca_file = e->ca_file, .otlp_retry = true, .max_pending = e->queue_size,
        };
        r = atomic_load(&s->running) ? gh_http_sink_update(s, &o)
                                     : gh_http_sink_start_opts(s, &o, nworkers);
    }
    if (r != 0)
        snprintf(err, cap, "tracing.exporter: cannot start: %s", strerror(-r));
    free_lines(lines, e->nheaders);
    free(url);
    return r;
}
