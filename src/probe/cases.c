/* The catalogue: each group's table of cases (cases_<group>.c), in report order. */
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"

static const gh_probe_case *const tables[] = {
    gh_probe_cases_tokens,
    gh_probe_cases_authz,
    gh_probe_cases_authz_exposed,
    gh_probe_cases_limits,
    gh_probe_cases_limits_request,
    gh_probe_cases_framing,
    gh_probe_cases_paths,
    gh_probe_cases_headers,
    gh_probe_cases_bodies,
    gh_probe_cases_cors,
    gh_probe_cases_tls,
    gh_probe_cases_information,
    gh_probe_cases_webhooks,
    NULL,
};

size_t gh_probe_ncases(void)
{
    size_t n = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const gh_probe_case *c = tables[t]; c->id; c++)
            n++;
    return n;
}

const gh_probe_case *gh_probe_case_at(size_t i)
{
    for (size_t t = 0; tables[t]; t++)
        for (const gh_probe_case *c = tables[t]; c->id; c++)
            if (i-- == 0)
                return c;
    return NULL;
}

const gh_probe_case *gh_probe_case_find(const char *id)
{
    for (size_t t = 0; tables[t]; t++)
        for (const gh_probe_case *c = tables[t]; c->id; c++)
            if (strcasecmp(c->id, id) == 0)
                return c;
    return NULL;
}
