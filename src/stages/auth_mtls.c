/* Stage: authenticate by the client certificate the listener verified (auth.mtls). The route
 * may narrow which certificates it accepts: SPIFFE IDs (URI names), subjects, fingerprints. */
#include <string.h>

#include "tls/client_cert.h"
#include "gate/exchange.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

static gh_verdict refuse(gh_request *req, gh_jws_status st, const char *detail)
{
    req->auth_failed = true;
    req->auth_reason = gh_jws_status_slug(st);
    gh_metrics_auth(&req->svc->metrics, "mtls", (int)st);
    return gh_stage_refuse(
        req, st == GH_JWS_NO_CLIENT_CERT ? GH_R_CLIENT_CERT_REQUIRED : GH_R_CLIENT_CERT_MISMATCH,
        detail);
}

static bool one_of(const char *const *list, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], value) == 0)
            return true;
    return false;
}

static bool any_of(const char *const *list, size_t n, char *const *values, size_t nvalues)
{
    for (size_t i = 0; i < nvalues; i++)
        if (one_of(list, n, values[i]))
            return true;
    return false;
}

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_mtls_rule *r = conf;
    const gh_client_cert *cert = req->ds->client_cert(req);
    if (!cert)
        return refuse(req, GH_JWS_NO_CLIENT_CERT, "this route requires a client certificate");
    if (r->nspiffe_ids && !any_of(r->spiffe_ids, r->nspiffe_ids, cert->uris, cert->nuris))
        return refuse(req, GH_JWS_CLIENT_CERT_MISMATCH, "the certificate's URI names are not in spiffe_ids");
    if (r->nsubjects && !one_of(r->subjects, r->nsubjects, cert->subject))
        return refuse(req, GH_JWS_CLIENT_CERT_MISMATCH, "the certificate's subject is not in subjects");
    if (r->nfingerprints && !one_of(r->fingerprints, r->nfingerprints, cert->sha256))
        return refuse(req, GH_JWS_CLIENT_CERT_MISMATCH, "the certificate's fingerprint is not in fingerprints");
    if (!req->auth_failed)
        req->auth_ok = true;
    gh_metrics_auth(&req->svc->metrics, "mtls", GH_JWS_OK);
    return GH_NEXT;
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->auth_mtls;
}

/* Naming certificates narrows who may call; naming none lets in any the client CA signed. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_mtls_rule *r = conf;
    gh_stage_fact *f =
        gh_stage_fact_proof(out, GH_PROOF_CERTIFICATE, "client certificate", NULL, "auth.mtls");
    f->named = r->nspiffe_ids + r->nsubjects + r->nfingerprints;
    f->narrows = f->named > 0;
}

const gh_stage gh_stage_auth_mtls = {
    .name = "auth_mtls",
    .phase = GH_PHASE_CERTIFICATE,
    .bind = conf_of,
    .run = run,
    .abort = NULL,
    .log = gh_log_principal,
    .facts = facts,
};
