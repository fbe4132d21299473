/* Stage body: a route's request body rules. Size (413) and content type (415; with a schema, also
 * a charset other than UTF-8) are judged from the head; a route with a schema reads the JSON body
 * whole, parses it within the JSON limits (nesting depth, string size, duplicate keys), validates
 * it, and forwards it only when it matches (else 400 with the schema errors). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/jv.h"
#include "gate/exchange.h"
#include "gate/request.h"
#include "schema/schema.h"
#include "gate/stage.h"
#include "gate/stage_facts.h"
#include "stages/registry.h"

#define GH_BODY_ERRORS 10

static const gh_h1_header *content_type(const gh_request *req)
{
    return GH_H1_FIND(req->h1.headers, req->h1.nheaders, "content-type");
}

/* The media type of a Content-Type value: "type/subtype" before parameters, trimmed. */
static size_t media_type(const gh_h1_header *ct, const char **out)
{
    const char *v = ct ? ct->value : "", *end = v + (ct ? ct->value_len : 0);
    const char *semi = memchr(v, ';', (size_t)(end - v));
    if (semi)
        end = semi;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *out = v;
    return (size_t)(end - v);
}

static bool type_allowed(const gh_body_conf *b, const char *t, size_t len)
{
    for (size_t i = 0; i < b->ncontent_types; i++) {
        const char *allowed = b->content_types[i];
        size_t alen = strlen(allowed);
        if (alen > 2 && strcmp(allowed + alen - 2, "/*") == 0) {
            if (len > alen - 1 && strncasecmp(t, allowed, alen - 1) == 0)
                return true;
        } else if (alen == len && strncasecmp(t, allowed, len) == 0) {
            return true;
        }
    }
    return false;
}

/* application/json, or a structured +json type (application/problem+json, ...). */
static bool is_json_type(const char *t, size_t len)
{
    return (len == 16 && strncasecmp(t, "application/json", 16) == 0) ||
           (len > 17 && strncasecmp(t, "application/", 12) == 0 && strncasecmp(t + len - 5, "+json", 5) == 0);
}

/* Whether the Content-Type's parameters leave the text UTF-8: no charset, or charset=utf-8
 * (quoted or not). A validated JSON body is parsed as UTF-8 (RFC 8259 8.1); an upstream told
 * another charset would read other members out of the same bytes (UTF-7's "+ACI-" is a quote). */
static bool charset_utf8(const gh_h1_header *ct)
{
    const char *p = ct ? memchr(ct->value, ';', ct->value_len) : NULL;
    const char *end = p ? ct->value + ct->value_len : NULL;
    while (p && p < end) {
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *semi = memchr(p, ';', (size_t)(end - p)), *e = semi ? semi : end;
        if (e - p > 8 && strncasecmp(p, "charset=", 8) == 0) {
            const char *v = p + 8, *ve = e;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve - v >= 2 && *v == '"' && ve[-1] == '"')
                v++, ve--;
            if (ve - v != 5 || strncasecmp(v, "utf-8", 5) != 0)
                return false;
        }
        p = e;
    }
    return true;
}

static bool has_body(const gh_request *req)
{
    return req->h1.body == GH_BODY_CHUNKED ||
           (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > 0);
}

static gh_verdict judge(gh_request *req);
static void collected(gh_request *req);

static gh_verdict run(gh_request *req, const void *conf)
{
    const gh_body_conf *b = conf;
    if (req->h1.body == GH_BODY_LENGTH && req->h1.content_length > gh_request_max_body(req)) {
        return gh_stage_refuse(req, GH_R_BODY_TOO_LARGE,
                               "Content-Length exceeds the route's body.max_bytes");
    }
    if (!has_body(req))
        return GH_NEXT;
    const char *t;
    size_t tlen = media_type(content_type(req), &t);
    if (b->ncontent_types && !type_allowed(b, t, tlen)) {
        return gh_stage_refuse(
            req, GH_R_UNSUPPORTED_MEDIA_TYPE,
            tlen ? "the Content-Type is not one of the route's body.content_types"
                 : "a body without a Content-Type, and the route names the types it takes");
    }
    if (!b->schema)
        return GH_NEXT;
    if (!is_json_type(t, tlen)) {
        return gh_stage_refuse(
            req, GH_R_UNSUPPORTED_MEDIA_TYPE,
            "the route validates JSON bodies: send Content-Type: application/json");
    }
    if (!charset_utf8(content_type(req))) {
        return gh_stage_refuse(req, GH_R_UNSUPPORTED_MEDIA_TYPE,
                               "the route validates JSON bodies as UTF-8: the Content-Type names "
                               "another charset");
    }
    if (req->body.p && req->body_done) /* read whole already (a signature was checked over it) */
        return judge(req);
    req->ds->collect_body(req, UINT64_MAX, collected);
    return GH_WAIT;
}

/* After authentication and rate limits: nothing is read for a caller refused anyway. */
static const void *conf_of(const gh_route_conf *r)
{
    return r->body;
}

/* The size a body may have (0: the global limit), the content types it may be, its schema. */
static void facts(gh_stage_facts *out, const void *conf)
{
    const gh_body_conf *b = conf;
    gh_stage_fact *f = gh_stage_fact_add(out, GH_FACT_BODY, "body", "body");
    f->max_bytes = b->max_bytes;
    f->any = (gh_fact_names){b->content_types, b->ncontent_types};
    f->validates = b->schema != NULL;
    f->open_object = gh_schema_open_object(b->schema);
}

const gh_stage gh_stage_body = {
    .name = "body",
    .phase = GH_PHASE_BODY,
    .bind = conf_of,
    .run = run,
    .abort = NULL,
    .log = NULL,
    .facts = facts,
};

/* The schema errors as the problem document's "errors" member. */
static const char *errors_member(gh_request *req, const gh_schema_error *errs, size_t n)
{
    size_t cap = 32 + n * (sizeof(errs[0]) * 2 + 64);
    char *buf = gh_arena_alloc(&req->arena, cap);
    if (!buf)
        return NULL;
    gh_sbuf b = gh_sbuf_make(buf, cap);
    gh_sbuf_adds(&b, "\"errors\":[");
    for (size_t i = 0; i < n; i++) {
        gh_sbuf_adds(&b, i ? ",{\"instance_path\":" : "{\"instance_path\":");
        gh_sbuf_json_str(&b, errs[i].instance_path, strlen(errs[i].instance_path));
        gh_sbuf_adds(&b, ",\"schema_path\":");
        gh_sbuf_json_str(&b, errs[i].schema_path, strlen(errs[i].schema_path));
        gh_sbuf_adds(&b, ",\"message\":");
        gh_sbuf_json_str(&b, errs[i].message, strlen(errs[i].message));
        gh_sbuf_adds(&b, "}");
    }
    gh_sbuf_adds(&b, "]");
    if (b.overflow)
        return NULL;
    buf[b.len] = '\0';
    return buf;
}

/* The body read whole, judged against the schema: GH_NEXT, or GH_DONE with the refusal. */
static gh_verdict judge(gh_request *req)
{
    const gh_body_conf *b = req->match.route->body;
    /* The document lives in an arena of its own, freed once it is judged: a body's tree can be
     * several times its size, more than a request's arena is for. */
    gh_arena doc_arena;
    gh_arena_init(&doc_arena, 16384, GH_JV_TREE_BOUND(req->body.len));
    gh_jv_limits lim = {b->max_depth, b->max_string};
    const char *why = NULL;
    size_t at = 0;
    const gh_jv *doc = gh_jv_parse(req->body.p, req->body.len, &lim, &doc_arena, &why, &at);
    if (!doc) {
        gh_arena_free(&doc_arena);
        char *detail = gh_arena_alloc(&req->arena, 160);
        if (detail)
            snprintf(detail, 160, "the body is not JSON within the route's limits: %s (at byte %zu)", why, at);
        return gh_stage_refuse(req, GH_R_INVALID_JSON, detail ? detail : why);
    }
    gh_schema_error errs[GH_BODY_ERRORS];
    size_t n = gh_schema_validate(b->schema, doc, errs, GH_BODY_ERRORS);
    gh_arena_free(&doc_arena);
    if (!n)
        return GH_NEXT;
    req->problem_extra = errors_member(req, errs, n < GH_BODY_ERRORS ? n : GH_BODY_ERRORS);
    size_t cap = 64 + sizeof(errs[0].instance_path) + sizeof(errs[0].message);
    char *detail = gh_arena_alloc(&req->arena, cap);
    if (detail)
        snprintf(detail, cap, "the body does not match the route's schema: %s: %s",
                 errs[0].instance_path[0] ? errs[0].instance_path : "(the body)", errs[0].message);
    return gh_stage_refuse(req, GH_R_SCHEMA_MISMATCH,
                           detail ? detail : "the body does not match the route's schema");
}

static gh_verdict judge_step(gh_request *req, const void *arg)
{
    (void)arg;
    return judge(req);
}

static void collected(gh_request *req)
{
    gh_request_resume(req, judge_step, NULL);
}
