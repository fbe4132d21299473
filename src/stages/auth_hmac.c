/* Stage: webhook signatures with identity.hmac.<name>. The body is read whole first (the
 * signature covers its raw bytes), then HMAC-SHA256 over the scheme's signed string is computed
 * with each configured secret and compared in constant time with each signature sent; a signed
 * timestamp must be within the tolerance, and a signature already accepted within it is refused
 * (replay). github: X-Hub-Signature-256: sha256=HEX over the body. stripe: Stripe-Signature:
 * t=TS,v1=HEX[,v1=HEX] over "TS.body". slack: X-Slack-Signature: v0=HEX with
 * X-Slack-Request-Timestamp: TS over "v0:TS:body". generic: its header, sha256=HEX or HEX, over
 * "TS.body" with its timestamp header, else the body. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gate/exchange.h"
#include "gate/request.h"
#include "identity/hmac.h"
#include "identity/token_cache.h"
#include "gate/access_log.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

#define GH_HMAC_MAX_SIGS 8

typedef struct signed_by {
    unsigned char sigs[GH_HMAC_MAX_SIGS][32];
    size_t nsigs;
    char prefix[64]; /* what precedes the body in the signed string */
    size_t prefix_len;
    const char *ts;
    size_t ts_len;
} signed_by;

static const gh_h1_header *field(const gh_request *req, const char *name)
{
    return gh_h1_find(req->h1.headers, req->h1.nheaders, name, strlen(name));
}

static gh_verdict refuse(gh_request *req, gh_reason reason, const char *why)
{
    req->auth_failed = true;
    req->auth_reason = why;
    return gh_stage_refuse(req, reason, why);
}

static bool hex32(const char *p, size_t len, unsigned char out[32])
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = OPENSSL_hexchar2int((unsigned char)p[2 * i]), lo = OPENSSL_hexchar2int((unsigned char)p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* One signature value, with an optional "label=" in front (sha256=, v0=). */
static bool add_sig(signed_by *s, const char *v, size_t len, const char *label)
{
    size_t ll = label ? strlen(label) : 0;
    if (label && len >= ll && strncmp(v, label, ll) == 0)
        v += ll, len -= ll;
    else if (label && strcmp(label, "sha256=") != 0)
        return false; /* slack's v0= is not optional */
    if (s->nsigs == GH_HMAC_MAX_SIGS || !hex32(v, len, s->sigs[s->nsigs]))
        return false;
    s->nsigs++;
    return true;
}

/* Stripe-Signature: t=TS,v1=HEX,... (other schemes' entries such as v0 are ignored). */
static bool parse_stripe(signed_by *s, const char *v, size_t len)
{
    const char *end = v + len;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v)), *e = comma ? comma : end;
        while (v < e && *v == ' ')
            v++;
        if (e - v > 2 && strncmp(v, "t=", 2) == 0)
            s->ts = v + 2, s->ts_len = (size_t)(e - v - 2);
        else if (e - v > 3 && strncmp(v, "v1=", 3) == 0 && !add_sig(s, v + 3, (size_t)(e - v - 3), NULL))
            return false;
        v = e + 1;
    }
    return s->ts && s->nsigs;
}

/* The signature(s) and the signed string's prefix for the provider's scheme; the reason when
 * the request does not carry them. */
static const char *read_signature(const gh_request *req, const gh_hmac_provider *p, signed_by *s,
                                  gh_reason *reason)
{
    *reason = GH_R_MISSING_SIGNATURE;
    const gh_h1_header *h = field(req, p->header);
    if (!h)
        return "no signature header";
    const gh_h1_header *t = p->timestamp_header ? field(req, p->timestamp_header) : NULL;
    if (p->timestamp_header && !t)
        return "no signed timestamp header";
    *reason = GH_R_INVALID_SIGNATURE;
    bool ok;
    switch (p->scheme) {
    case GH_HMAC_STRIPE:
        ok = parse_stripe(s, h->value, h->value_len);
        break;
    case GH_HMAC_SLACK:
        ok = add_sig(s, h->value, h->value_len, "v0=");
        break;
    default:
        ok = add_sig(s, h->value, h->value_len, "sha256=");
        break;
    }
    if (!ok)
        return "a malformed signature header";
    if (t)
        s->ts = t->value, s->ts_len = t->value_len;
    if (s->ts && (s->ts_len == 0 || s->ts_len > 12 || strspn(s->ts, "0123456789") < s->ts_len))
        return "a malformed signed timestamp";
    if (s->ts) {
        int64_t ts = strtoll(s->ts, NULL, 10), now = (int64_t)time(NULL);
        if (ts < now - (int64_t)p->tolerance_s || ts > now + (int64_t)p->tolerance_s)
            return "the signed timestamp is outside the tolerance";
        int n = snprintf(s->prefix, sizeof(s->prefix), p->scheme == GH_HMAC_SLACK ? "v0:%.*s:" : "%.*s.",
                         (int)s->ts_len, s->ts);
        s->prefix_len = (size_t)n;
    }
    return NULL;
}

static bool mac(const char *key, size_t klen, const signed_by *s, const char *body, size_t len,
                unsigned char out[32])
{
    return gh_hmac_sha256(key, klen, s->prefix, s->prefix_len, body, len, out);
}

/* A signature accepted within the tolerance is not accepted again. */
static bool replayed(gh_request *req, const gh_hmac_provider *p, const unsigned char sig[32])
{
    unsigned char key[32];
    gh_token_hash(req->svc->stage_tools.md_ctx, req->svc->stage_tools.sha256, (const char *)sig, 32,
                  key);
    int64_t now = (int64_t)time(NULL);
    gh_token_entry e;
    if (gh_token_cache_get(p->seen, key, now, &req->arena, &e))
        return true;
    gh_token_entry put = {.exp = now + (int64_t)p->tolerance_s + 1, .payload = (char *)"", .payload_len = 0};
    memcpy(put.hash, key, 32);
    gh_token_cache_put(p->seen, &put);
    return false;
}

static gh_verdict verify(gh_request *req, const gh_hmac_provider *p)
{
    signed_by s = {0};
    gh_reason reason;
    const char *why = read_signature(req, p, &s, &reason);
    if (why)
        return refuse(req, reason, why);
    const char *body = req->body.p ? req->body.p : "";
    const unsigned char *matched = NULL;
    for (size_t k = 0; k < p->nsecrets; k++) {
        unsigned char want[32];
        if (!mac(p->secrets[k], p->secret_lens[k], &s, body, req->body.len, want))
            return refuse(req, GH_R_INTERNAL, "the signature could not be computed");
        for (size_t i = 0; i < s.nsigs; i++)
            if (CRYPTO_memcmp(want, s.sigs[i], 32) == 0)
                matched = s.sigs[i];
    }
    if (!matched)
        return refuse(req, GH_R_INVALID_SIGNATURE, "the signature does not match");
    if (replayed(req, p, matched))
        return refuse(req, GH_R_INVALID_SIGNATURE, "a signature already used (a replay)");
    if (!req->auth_client_id)
        req->auth_client_id = p->name;
    if (!req->auth_failed)
        req->auth_ok = true;
    return GH_NEXT;
}

static gh_verdict verify_step(gh_request *req, const void *provider)
{
    return verify(req, provider);
}

static void collected(gh_request *req)
{
    gh_request_resume(req, verify_step, req->match.route->auth_hmac);
}

static gh_verdict run(gh_request *req, const void *conf)
{
    bool has_body = req->h1.body == GH_BODY_CHUNKED ||
                    (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > 0);
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > gh_request_max_body(req)) {
        return gh_stage_refuse(req, GH_R_BODY_TOO_LARGE,
                               "Content-Length exceeds the route's body limit");
    }
    if (has_body && !(req->body.p && req->body_done)) {
        req->ds->collect_body(req, UINT64_MAX, collected);
        return GH_WAIT;
    }
    return verify(req, conf);
}

static const void *conf_of(const gh_route_conf *r)
{
    return r->auth_hmac;
}

/* One sender holds the webhook's secret: the signature says who calls, and that they may. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_hmac_provider *h = conf;
    gh_stage_fact_proof(out, GH_PROOF_SIGNATURE, "hmac", h->name, "auth.hmac")->narrows = true;
}

const gh_stage gh_stage_auth_hmac = {
    .name = "auth_hmac",
    .phase = GH_PHASE_SIGNATURE,
    .bind = conf_of,
    .run = run,
    .abort = NULL,
    .log = gh_log_principal,
    .facts = facts,
};
