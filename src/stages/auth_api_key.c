/* Stage: authenticate with identity.api_keys.<name>. The key comes from the provider's header,
 * exactly once; it is hashed and looked up by digest, so neither the key nor anything that
 * depends on it is kept, logged or compared byte by byte. The header never goes upstream. */
#include <string.h>
#include <strings.h>

#include "gate/exchange.h"
#include "identity/api_keys.h"
#include "identity/token_cache.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

#define GH_API_KEY_MAX_BYTES 1024

static gh_verdict refuse(gh_request *req, const gh_api_key_provider *p, gh_jws_status st)
{
    req->auth_failed = true;
    req->auth_reason = gh_jws_status_slug(st);
    gh_metrics_auth(&req->svc->metrics, p->name, (int)st);
    if (st == GH_JWS_MISSING)
        return gh_stage_refuse(req, GH_R_MISSING_API_KEY, "this route requires an API key");
    return gh_stage_refuse(req, GH_R_INVALID_API_KEY, "the API key is not valid for this route");
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_api_key_provider *p = conf;
    size_t seen;
    const gh_h1_header *found =
        gh_h1_find_last(req->h1.headers, req->h1.nheaders, p->header, strlen(p->header), &seen);
    if (!found || found->value_len == 0)
        return refuse(req, p, seen > 1 ? GH_JWS_MALFORMED : GH_JWS_MISSING);
    if (seen > 1 || found->value_len > GH_API_KEY_MAX_BYTES)
        return refuse(req, p, GH_JWS_MALFORMED);
    unsigned char digest[32];
    gh_token_hash(req->svc->stage_tools.md_ctx, req->svc->stage_tools.sha256, found->value,
                  found->value_len, digest);
    const gh_api_key *k = gh_api_key_find(p, digest);
    if (!k)
        return refuse(req, p, GH_JWS_UNKNOWN_API_KEY);
    req->api_client = k->client_id;
    if (!req->auth_client_id)
        req->auth_client_id = k->client_id;
    if (!req->auth_failed)
        req->auth_ok = true;
    gh_metrics_auth(&req->svc->metrics, p->name, GH_JWS_OK);
    return GH_NEXT;
}

/* A 401 carries a challenge (RFC 9110 11.6.1); API keys have no registered scheme. */
static bool challenge(gh_sbuf *head, const gh_request *req, gh_reason reason, const void *conf,
                      bool own)
{
    (void)req, (void)own;
    const gh_api_key_provider *p = conf;
    if (reason != GH_R_MISSING_API_KEY && reason != GH_R_INVALID_API_KEY)
        return false;
    gh_sbuf_addf(head, "WWW-Authenticate: ApiKey realm=\"%s\", header=\"%s\"\r\n", p->realm,
                 p->header);
    return true;
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->auth_api_key;
}

static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_api_key_provider *p = conf;
    gh_stage_fact_proof(out, GH_PROOF_KEY, "api_key", p->name, "auth.api_key");
}

const gh_stage gh_stage_auth_api_key = {
    .name = "auth_api_key",
    .phase = GH_PHASE_KEY,
    .bind = conf_of,
    .run = run,
    .abort = NULL,
    .log = gh_log_principal,
    .challenge = challenge,
    .facts = facts,
};
