/* Stage: a route that only serves requests carrying certain headers (a tenant, a client
 * version, an idempotency key): require_header: {names: [X-Tenant-Id]}. A request without one
 * of them, or with it empty, is refused with 400 missing-required-header before anything else
 * on the route runs. */
#include <string.h>

#include "config/config.h"
#include "gate/exchange.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "wire/h1.h"

typedef struct require_header_conf {
    const char **names;
    size_t nnames;
} require_header_conf;

static const gh_keyword keys[] = {
    {"names", GH_KW_LIST, GH_KW_REQUIRED, GH_KW_LIST_AT(require_header_conf, names, nnames),
     .min = 1, .valid = gh_h1_is_token, .invalid = "'%s' is not a header name"},
    GH_KW_END,
};

static const gh_route_keys route_keys = {"require_header", keys, sizeof(require_header_conf)};

static const void *conf_of(const gh_route_conf *r)
{
    return gh_route_ext(r, &route_keys);
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const require_header_conf *c = conf;
    for (size_t i = 0; i < c->nnames; i++) {
        const gh_h1_header *h = gh_h1_find(req->h1.headers, req->h1.nheaders, c->names[i],
                                           strlen(c->names[i]));
        if (!h || !h->value_len)
            return gh_stage_refuse(req, GH_R_MISSING_REQUIRED_HEADER,
                                   "the route requires a header this request does not carry "
                                   "(require_header)");
    }
    return GH_NEXT;
}

/* Headers every request must carry. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const require_header_conf *c = conf;
    gh_stage_fact_add(out, GH_FACT_REQUEST, "required headers", "require_header")->all =
        (gh_fact_names){c->names, c->nnames};
}

const gh_stage gh_stage_require_header = {
    .name = "require_header",
    .phase = GH_PHASE_REQUEST,
    .keys = &route_keys,
    .bind = conf_of,
    .run = run,
    .facts = facts,
};
