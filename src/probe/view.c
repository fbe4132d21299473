/* The upstream's view of one exchange, for the cases that judge what the upstream received
 * rather than what the gateway answered. In self-test it is the recording upstream's heads, byte
 * for byte. Live, the probe cannot see the upstream; but many test upstreams (and httpbin-like
 * services) echo the request they got, and then the answer's body is that view: a request
 * carries a marker header of the probe's, and a body that holds the marker is taken as the
 * upstream's echo. Without either, the case cannot judge and says so. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

const char *gh_probe_echo_marker(gh_probe *p)
{
    return gh_arena_printf(&p->arena, "gh-probe-echo-%08x%08x", (unsigned)rand(), (unsigned)rand());
}

const char *gh_probe_echo_line(gh_probe *p, const char *marker)
{
    return gh_arena_printf(&p->arena, "X-Probe-Echo: %s\r\n", marker);
}

/* Case-insensitive search of needle in hay[0..len). */
static const char *find_nocase(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

bool gh_probe_view_of(gh_probe *p, gh_probe_result *r, const gh_probe_exchange *x,
                      const char *marker, gh_probe_view *v)
{
    *v = (gh_probe_view){.text = "", .forwarded = -1};
    gh_probe_upreq *reqs = NULL;
    int n = gh_probe_upstream_note(p, r, &reqs);
    if (n >= 0) {
        const char *text = "";
        for (int i = 0; i < n; i++)
            text = gh_arena_printf(&p->arena, "%s%.*s", text, (int)reqs[i].head_len, reqs[i].head);
        gh_probe_upreqs_free(reqs, (size_t)n);
        *v = (gh_probe_view){.text = text, .len = strlen(text), .forwarded = n};
        return true;
    }
    const gh_probe_response *res = x->nresponses ? &x->r[0] : NULL;
    if (!res || !res->body || !find_nocase(res->body, res->body_len, marker))
        return false;
    *v = (gh_probe_view){.text = res->body, .len = res->body_len, .forwarded = 1, .echoed = true};
    r->upstream = gh_arena_printf(&p->arena, "(as the upstream echoed it) %s",
                                  gh_probe_escape(p, res->body, res->body_len));
    return true;
}

bool gh_probe_view_has(const gh_probe_view *v, const char *needle)
{
    return find_nocase(v->text, v->len, needle) != NULL;
}
