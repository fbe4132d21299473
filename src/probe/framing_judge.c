/* The judgement every HTTP/1.1 framing case shares. An attack hides a request (the smuggled
 * one) where two readers of its framing disagree; a harmless request follows on the same
 * connection. What the client sees tells the readings apart without the upstream's view: a
 * gateway that refuses closes the connection, so the follow-up goes unanswered; one that
 * accepts answers the attack and the follow-up, one answer each. An answer more means some
 * reader took the smuggled request as a request of its own. In self-test the upstream's view
 * adds what the client cannot see: the smuggled request, or a malformed head, forwarded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/framing.h"

#define PAUSE_MS 200 /* between the attack and the follow-up: the attack's answer comes first */
#define QUIET_MS 500 /* how long a quiet connection is waited on after an answer */

bool gh_frm_route_fits(gh_probe *p, const gh_probe_route *route)
{
    return route->proxied && strcmp(route->method, "GET") == 0 && (p->selftest || route->safe);
}

const gh_probe_route *gh_frm_aim(gh_probe *p, gh_probe_result *r)
{
    const gh_probe_route *route = gh_probe_find_route(p, gh_frm_route_fits);
    if (!route) {
        gh_probe_skip(r, "no route takes GET to an upstream: framing attacks need one to reach");
        return NULL;
    }
    gh_probe_aim(p, r, route->conf);
    return gh_probe_baseline(p, r, route) ? route : NULL;
}

/* The status a request of route with method and a small valid body gets (chunked or by
 * Content-Length), -1 when the caps stop it; what the upstream received is not the case's. */
static int body_status(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                       const char *method, bool chunked)
{
    const char *bytes = gh_arena_printf(&p->arena, "%s %s HTTP/1.1\r\n%sContent-Type: application/json\r\n%s",
                                        method, route->path, gh_frm_fields(p, route),
                                        chunked ? "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                                                : "Content-Length: 2\r\n\r\n{}");
    gh_probe_exchange x;
    if (gh_probe_send(p, r, route->target, bytes, strlen(bytes), &(gh_probe_opts){.responses = 1}, &x) != 0)
        return -1;
    if (p->server) {
        gh_probe_upreq *v = NULL;
        gh_probe_upreqs_free(v, gh_probe_upstream_take(p->server, &v));
    }
    return x.nresponses ? x.r[0].status : 0;
}

const char *gh_frm_body_method(gh_probe *p, gh_probe_result *r, const gh_probe_route *route)
{
    int cl = body_status(p, r, route, "GET", false), te = cl < 0 ? -1 : body_status(p, r, route, "GET", true);
    if (cl < 0 || te < 0)
        return NULL;
    if (cl > 0 && cl < 400 && te > 0 && te < 400)
        return "GET";
    bool writes = p->selftest || p->profile == GH_PROFILE_FULL;
    unsigned methods = route->conf ? route->conf->methods : 0;
    if (!writes || (methods && !(methods & GH_M_POST))) {
        gh_probe_skip(r, "the gateway refuses a GET with a valid body (%d by Content-Length, %d chunked), "
                         "so a GET proves nothing here; the attack needs POST%s", cl, te,
                      writes ? ", which the route does not take" : ": --profile full");
        return NULL;
    }
    int post = body_status(p, r, route, "POST", false);
    if (post < 0)
        return NULL;
    if (post == 0 || post >= 400) {
        gh_probe_skip(r, "a valid POST with a body to %s is refused too (%d): the attempt would prove nothing",
                      route->path, post);
        return NULL;
    }
    return "POST";
}

const char *gh_frm_fields(gh_probe *p, const gh_probe_route *route)
{
    size_t len;
    const char *valid = gh_probe_valid_request(p, route, NULL, &len);
    const char *first = strstr(valid, "\r\n");
    if (!first || len < 4)
        return "";
    first += 2;
    return gh_arena_strndup(&p->arena, first, (size_t)(valid + len - 2 - first));
}

const char *gh_frm_smuggled(gh_probe *p, const gh_probe_route *route, const char *extra)
{
    return gh_arena_printf(&p->arena,
                           "GET " GH_FRM_SMUGGLED_PATH " HTTP/1.1\r\nHost: %s\r\nUser-Agent: " GH_PROBE_UA
                           "\r\n%s\r\n",
                           route->host, extra ? extra : "");
}

const char *gh_frm_show(gh_probe *p, const char *bytes, size_t len)
{
    char *s = (char *)gh_probe_escape(p, bytes, len), *w = s;
    for (const char *c = s; *c; c++)
        if (*c != '\n') /* the escape keeps a head's lines as lines: one line here */
            *w++ = *c;
    *w = '\0';
    size_t n = (size_t)(w - s);
    if (n >= 4 && strcmp(s + n - 4, "\\r\\n") == 0)
        s[n - 4] = '\0';
    else if (n >= 2 && strcmp(s + n - 2, "\\n") == 0)
        s[n - 2] = '\0';
    return s;
}

/* Refusals that say the request's framing or syntax was not taken: after them the connection's
 * next bytes cannot be trusted to start a request. Others (401, 404, 405...) judge a request
 * that was read whole, on a connection that may go on. */
static bool framing_refusal(int status)
{
    return status == 400 || status == 411 || status == 413 || status == 414 || status == 431 ||
           status == 501 || status == 505;
}

bool gh_frm_more(const gh_probe_result *r)
{
    /* Before the first exchange the verdict is the run's placeholder error (nothing sent yet). */
    return r->verdict == GH_PV_PASS || (r->verdict == GH_PV_ERROR && !r->sent);
}

/* Whether a head line names a field (case-insensitive), its name ending at the colon. */
static bool names(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* What is wrong with one head the upstream received, or NULL: the smuggled request, both
 * framings, an upgrade passed on, a line a strict reader would not take (fold, blank before the
 * colon, bare CR, NUL),
 * a request line that is not "METHOD origin-form HTTP/1.1". */
static const char *bad_head(const char *head, size_t len)
{
    const char *eol = memchr(head, '\n', len);
    size_t ll = eol ? (size_t)(eol - head) : len;
    if (memmem(head, ll, GH_FRM_SMUGGLED_PATH, strlen(GH_FRM_SMUGGLED_PATH)))
        return "the smuggled request (GET " GH_FRM_SMUGGLED_PATH ")";
    const char *sp1 = memchr(head, ' ', ll);
    if (!sp1 || memchr(head, '\t', ll) || sp1 + 1 >= head + ll || sp1[1] != '/' ||
        memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - head)) != memrchr(head, ' ', ll))
        return "a request line that is not METHOD /origin-form HTTP/1.1";
    if (memchr(head, '\0', len))
        return "a NUL byte in the head";
    bool cl = false, te = false;
    for (const char *s = eol ? eol + 1 : head + len; s < head + len;) {
        const char *e = memchr(s, '\n', (size_t)(head + len - s));
        size_t n = e ? (size_t)(e - s) : (size_t)(head + len - s);
        size_t body = n && s[n - 1] == '\r' ? n - 1 : n;
        if (body == 0)
            break;
        if (memchr(s, '\r', body))
            return "a bare CR in a field line";
        if (s[0] == ' ' || s[0] == '\t')
            return "a folded continuation line";
        const char *colon = memchr(s, ':', body);
        if (colon && colon > s && (colon[-1] == ' ' || colon[-1] == '\t'))
            return "a field name with blanks before its colon";
        if (names(s, body, "Upgrade") || names(s, body, "HTTP2-Settings"))
            return "an Upgrade the gateway passed on (the upstream may switch protocols past it)";
        cl |= names(s, body, "Content-Length");
        te |= names(s, body, "Transfer-Encoding");
        s = e ? e + 1 : head + len;
    }
    return cl && te ? "a head with both Content-Length and Transfer-Encoding" : NULL;
}

const char *gh_frm_upstream_fault(gh_probe *p, gh_probe_result *r, int *count)
{
    gh_probe_upreq *v = NULL;
    *count = gh_probe_upstream_note(p, r, &v);
    const char *bad = NULL;
    for (int i = 0; i < *count && !bad; i++)
        bad = bad_head(v[i].head, v[i].head_len);
    if (*count > 0)
        gh_probe_upreqs_free(v, (size_t)*count);
    return bad;
}

/* The final answers' statuses (1xx other than 101 left out), how many came before the
 * follow-up was sent. */
static int finals(const gh_probe_exchange *x, int *status, int *before)
{
    int n = 0;
    *before = 0;
    for (int i = 0; i < x->nresponses; i++) {
        if (x->r[i].status >= 100 && x->r[i].status < 200 && x->r[i].status != 101)
            continue;
        status[n++] = x->r[i].status;
        if (i < x->before_last)
            (*before)++;
    }
    return n;
}

static void judge_refused(gh_probe_result *r, const gh_probe_exchange *x, const int *st, int n,
                          const char *what)
{
    if (n > 1)
        gh_probe_fail(r, "%s was refused with %d, yet the connection went on: the next bytes were "
                         "answered %d (a connection whose framing was refused must close)",
                      what, st[0], st[1]);
    else if (!x->closed)
        gh_probe_fail(r, "%s was refused with %d, but the connection stayed open (a connection "
                         "whose framing was refused must close)", what, st[0]);
    else
        gh_probe_pass(r, "%s was refused with %d and the connection closed; the follow-up was not "
                         "answered", what, st[0]);
}

static void judge_accepted(gh_probe_result *r, const gh_probe_route *route,
                           const gh_probe_exchange *x, const int *st, int n, int before,
                           bool follow_refused, const char *what)
{
    if (before > 1)
        gh_probe_fail(r, "%s alone drew %d answers: bytes of its body were answered as a request "
                         "of their own", what, before);
    else if (n > 2)
        gh_probe_fail(r, "%s and one follow-up drew %d answers: a request hidden in the attack's "
                         "body was answered", what, n);
    else if (n == 2 && follow_refused && st[1] < 400)
        gh_probe_fail(r, "after %s the follow-up, which has no credentials, was answered %d: it "
                         "went past the gateway's checks", what, st[1]);
    else if (n == 2 && !follow_refused && st[1] >= 400 && st[1] != st[0] && st[1] != 429 && route->baseline < 400)
        gh_probe_fail(r, "after %s the follow-up, a valid request, was answered %d (a valid "
                         "request gets %d): it was read as part of something else", what, st[1],
                      route->baseline);
    else if (n == 2)
        gh_probe_pass(r, "%s was answered %d%s; the follow-up got its own answer (%d) and "
                         "nothing more came", what, st[0], st[0] >= 400 ? " (not a framing refusal)" : "",
                      st[1]);
    else if (x->closed)
        gh_probe_pass(r, "%s was answered %d and the connection closed; nothing more came",
                      what, st[0]);
    else
        gh_probe_fail(r, "%s was answered %d, but the follow-up got no answer on the open "
                         "connection: the gateway took it as part of the attack", what, st[0]);
}

/* The attack, then follow (NULL: a valid request of the route) on the same connection: the
 * exchange noted as evidence, the upstream's fault (or NULL), the final answers' statuses. -1
 * when the caps stopped it (r says so). */
typedef struct attempt {
    gh_probe_exchange x;
    const char *bad;
    int st[GH_PROBE_MAX_RESPONSES], n, before;
} attempt;

static int attack_and_follow(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                             const char *attack, size_t len, const char *follow, attempt *a)
{
    size_t flen = follow ? strlen(follow) : 0;
    if (!follow)
        follow = gh_probe_valid_request(p, route, NULL, &flen);
    const char *parts[2] = {attack, follow};
    size_t lens[2] = {len, flen};
    gh_probe_opts o = {.parts = parts, .part_lens = lens, .nparts = 2, .pause_ms = PAUSE_MS,
                       .wait_ms = QUIET_MS};
    if (gh_probe_send(p, r, route->target, NULL, 0, &o, &a->x) != 0)
        return -1;
    gh_probe_note(p, r, &a->x);
    int forwarded;
    a->bad = gh_frm_upstream_fault(p, r, &forwarded);
    a->n = finals(&a->x, a->st, &a->before);
    return 0;
}

void gh_frm_judge(gh_probe *p, gh_probe_result *r, const gh_probe_route *route, const char *attack,
                  size_t len, const char *follow, bool follow_refused, const char *what)
{
    attempt a;
    if (attack_and_follow(p, r, route, attack, len, follow, &a) != 0)
        return;
    const gh_probe_exchange x = a.x;
    const char *bad = a.bad;
    const int *st = a.st, n = a.n, before = a.before;
    if (x.connect_failed || x.tls_error)
        gh_probe_error(r, "cannot reach %s:%d%s%s", route->target->host, route->target->port,
                       x.tls_error ? ": " : "", x.tls_error ? x.tls_error : "");
    else if (bad)
        gh_probe_fail(r, "after %s the upstream received %s", what, bad);
    else if (n == 0 && x.closed)
        gh_probe_pass(r, "%s was not answered: the connection closed", what);
    else if (n == 0 && x.cut)
        gh_probe_error(r, "%s got answers past what the probe keeps, none of them final: "
                          "nothing to judge", what);
    else if (n == 0)
        gh_probe_fail(r, "%s was neither answered nor closed within %llu ms: the gateway waits for "
                         "bytes another reading of the framing would not", what,
                      (unsigned long long)p->caps.exchange_ms);
    else if (st[0] == 101)
        gh_probe_fail(r, "%s switched protocols (101): the connection is a tunnel now", what);
    else if (st[0] == 502 || st[0] == 504)
        gh_probe_fail(r, "%s was answered %d: it reached the upstream, which could not read it",
                      what, st[0]);
    else if (framing_refusal(st[0]))
        judge_refused(r, &x, st, n, what);
    else
        judge_accepted(r, route, &x, st, n, before, follow_refused, what);
}

void gh_frm_judge_swallowed(gh_probe *p, gh_probe_result *r, const gh_probe_route *route,
                            const char *attack, size_t len, const char *what)
{
    attempt a;
    if (attack_and_follow(p, r, route, attack, len, NULL, &a) != 0)
        return;
    const gh_probe_exchange x = a.x;
    const char *bad = a.bad;
    const int *st = a.st, n = a.n;
    if (x.connect_failed || x.tls_error)
        gh_probe_error(r, "cannot reach %s:%d", route->target->host, route->target->port);
    else if (bad)
        gh_probe_fail(r, "after %s the upstream received %s", what, bad);
    else if (n > 1)
        gh_probe_fail(r, "%s was answered %d, and the lines after it, which stand where its trailers do, "
                         "were answered %d as a request of their own", what, st[0], st[1]);
    else if (n == 1 && (st[0] == 502 || st[0] == 504))
        gh_probe_fail(r, "%s was answered %d: it reached the upstream, which could not read it", what, st[0]);
    else if (n == 1)
        gh_probe_pass(r, "%s was answered %d once: what followed was %s", what, st[0],
                      st[0] >= 400 ? "refused with it" : "read as its trailers");
    else
        gh_probe_pass(r, "%s was not answered (%s)", what, x.closed ? "the connection closed" : "it waits for the trailers' end");
}
