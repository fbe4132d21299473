#include <stdlib.h>
#include <string.h>

#include "core/http_client.h"
#include "core/list.h"

struct gh_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    struct curl_slist *accept;
    uv_timer_t timer; /* the timeout curl asked for */
    gh_list watches; /* every socket curl has us watch (sock_watch.link) */
    bool keep_alive;
    bool stopping;
};

typedef struct sock_watch {
    uv_poll_t poll;
    curl_socket_t fd;
    gh_http_client *c;
    gh_link link;
} sock_watch;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    gh_http_call *call = userp;
    size_t n = size * nmemb;
    if (call->answer.len + n > call->max) {
        call->too_big = true;
        return 0; /* ends the transfer */
    }
    /* One byte more than the answer's bound: the terminating NUL, not counted in len. */
    if (gh_bytes_add(&call->answer, data, n, call->max + 1) != 0 ||
        gh_bytes_reserve(&call->answer, 1, call->max + 1) != 0)
        return 0;
    call->answer.p[call->answer.len] = '\0';
    return n;
}

int gh_http_call_init(gh_http_call *call, const char *url, const char *ca_file, long timeout_ms,
                      size_t max)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    call->easy = e;
    call->max = max;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A transfer ended while its name is still being looked up (fetch_timeout passed, or the
     * client stops) leaves the lookup's thread to end on its own: without this, the cleanup
     * waits for the resolver's own timeout, on the control thread that serves the admin API,
     * health checks, reloads and SIGTERM. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "gatehouse/" GH_VERSION);
    return 0;
}

void gh_http_call_reset(gh_http_call *call)
{
    if (call->easy)
        curl_easy_cleanup(call->easy);
    gh_bytes_free(&call->answer);
    call->easy = NULL;
    call->too_big = false;
    call->error[0] = '\0';
}

const char *gh_http_call_failure(const gh_http_call *call, CURLcode result)
{
    if (call->too_big || result == CURLE_FILESIZE_EXCEEDED)
        return "the answer is larger than allowed";
    if (result != CURLE_OK)
        return call->error[0] ? call->error : curl_easy_strerror(result);
    return NULL;
}

static void check_done(gh_http_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        gh_http_call *call = NULL;
        CURLcode result = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        curl_multi_remove_handle(c->multi, m->easy_handle);
        call->done(call, result);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_watch *w = h->data;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    gh_http_client *c = w->c;
    curl_multi_socket_action(c->multi, w->fd, flags, &running);
    check_done(c);
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

static void unwatch(gh_http_client *c, sock_watch *w)
{
    gh_list_unlink(&c->watches, &w->link);
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, free_watch);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    gh_http_client *c = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            if (!c->stopping)
                curl_multi_assign(c->multi, fd, NULL);
            unwatch(c, w);
        }
        return 0;
    }
    if (!w) {
        if (!(w = calloc(1, sizeof(*w))))
            return -1;
        w->fd = fd;
        w->c = c;
        if (uv_poll_init_socket(c->loop, &w->poll, fd) != 0) {
            free(w);
            return -1;
        }
        w->poll.data = w;
        if (!c->keep_alive)
            uv_unref((uv_handle_t *)&w->poll);
        curl_multi_assign(c->multi, fd, w);
        gh_list_push(&c->watches, &w->link);
    }
    int ev = ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    uv_poll_start(&w->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    gh_http_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int on_timeout(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    gh_http_client *c = userp;
    if (c->stopping)
        return 0;
    if (ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

gh_http_client *gh_http_client_start(uv_loop_t *loop, bool keep_alive)
{
    gh_http_client *c = calloc(1, sizeof(*c));
    if (!c || !(c->multi = curl_multi_init())) {
        free(c);
        return NULL;
    }
    c->loop = loop;
    c->keep_alive = keep_alive;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    if (!keep_alive)
        uv_unref((uv_handle_t *)&c->timer);
    return c;
}

int gh_http_client_add(gh_http_client *c, gh_http_call *call)
{
    return c->stopping || curl_multi_add_handle(c->multi, call->easy) != CURLM_OK ? -1 : 0;
}

void gh_http_client_remove(gh_http_client *c, gh_http_call *call)
{
    if (call->easy)
        curl_multi_remove_handle(c->multi, call->easy);
}

static void closed(uv_handle_t *h)
{
    free(h->data);
}

void gh_http_client_stop(gh_http_client *c)
{
    if (!c)
        return;
    c->stopping = true;
    /* Transfers still added are the callers' to remove; the multi handle goes, and with it
     * every socket watch (curl reports each socket's removal). */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    /* sockets of cached connections curl closed without telling */
    while (!gh_list_empty(&c->watches))
        unwatch(c, GH_CONTAINER(c->watches.first, sock_watch, link));
    uv_close((uv_handle_t *)&c->timer, closed);
}
