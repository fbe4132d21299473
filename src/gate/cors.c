#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gate/cors.h"
#include "gate/pipeline.h"
#include "gate/respond.h"
#include "route/route.h"

static const gh_h1_header *field_of(const gh_request *req, const char *lower, size_t len)
{
    return gh_h1_find(req->h1.headers, req->h1.nheaders, lower, len);
}

#define FIELD_OF(req, lit) field_of((req), lit, sizeof(lit) - 1)

/* An origin against one pattern: exact ("https://app.example.com[:port]", scheme and host
 * without regard to case), or a wildcard host ("*." then a domain: one or more labels in
 * front of it). */
bool gh_cors_origin_matches(const char *pattern, const char *o, size_t len)
{
    const char *star = strstr(pattern, "://*.");
    if (!star) {
        size_t plen = strlen(pattern);
        return plen == len && strncasecmp(pattern, o, len) == 0;
    }
    size_t scheme = (size_t)(star - pattern) + 3, suffix = strlen(star + 4);
    if (len <= scheme + suffix || strncasecmp(pattern, o, scheme) != 0 ||
        strncasecmp(o + len - suffix, star + 4, suffix) != 0)
        return false;
    for (size_t i = scheme; i < len - suffix; i++)
        if (o[i] == '/' || o[i] == ':' || o[i] == '@')
            return false; /* the covered part is host labels only */
    return true;
}

static bool origin_allowed(const gh_cors_conf *c, const gh_h1_header *o)
{
    if (c->any_origin)
        return true;
    for (size_t i = 0; i < c->norigins; i++)
        if (gh_cors_origin_matches(c->origins[i], o->value, o->value_len))
            return true;
    return false;
}

/* Every name of Access-Control-Request-Headers is one the route lets pages send. */
static bool headers_allowed(const gh_cors_conf *c, const char *v, size_t len)
{
    const char *p = v, *end = v + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *e = comma ? comma : end;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        bool ok = t == p;
        for (size_t i = 0; !ok && i < c->nheaders; i++)
            ok = strlen(c->headers[i]) == (size_t)(t - p) && strncasecmp(c->headers[i], p, (size_t)(t - p)) == 0;
        if (!ok)
            return false;
        p = e + 1;
    }
    return true;
}

bool gh_cors_is_preflight(const gh_request *req, unsigned *method)
{
    if (req->h1.method_len != 7 || memcmp(req->h1.method, "OPTIONS", 7) != 0)
        return false;
    const gh_h1_header *m = FIELD_OF(req, "access-control-request-method");
    if (!m || !FIELD_OF(req, "origin"))
        return false;
    *method = gh_route_method_bit(m->value, m->value_len);
    return true;
}

static gh_h1_header make(const char *name, const char *value)
{
    return (gh_h1_header){.name = name, .name_len = (uint32_t)strlen(name), .value = value,
                          .value_len = (uint32_t)strlen(value)};
}

void gh_cors_answer_preflight(gh_request *req)
{
    const gh_cors_conf *c = req->match.route->cors;
    const gh_h1_header *o = FIELD_OF(req, "origin"), *m = FIELD_OF(req, "access-control-request-method");
    const gh_h1_header *h = FIELD_OF(req, "access-control-request-headers");
    const char *why = NULL;
    if (!origin_allowed(c, o))
        why = "the Origin is not in the route's cors.origins";
    else if (!(gh_route_method_bit(m->value, m->value_len) & c->methods))
        why = "the method asked for is not in the route's cors.methods";
    else if (h && !headers_allowed(c, h->value, h->value_len))
        why = "a header asked for is not in the route's cors.headers";
    if (why) {
        gh_request_refuse(req, GH_R_CORS_REFUSED, why);
        return;
    }
    req->cors_origin = o;
    char age[24];
    snprintf(age, sizeof(age), "%llu", (unsigned long long)c->max_age_s);
    gh_h1_header f[5];
    size_t n = 0;
    f[n++] = make("Access-Control-Allow-Methods", c->methods_text);
    if (c->headers_text[0])
        f[n++] = make("Access-Control-Allow-Headers", c->headers_text);
    f[n++] = make("Access-Control-Max-Age", age);
    f[n++] = make("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers");
    if (!req->body_done)
        req->close_after = true; /* a preflight has no body to read */
    gh_respond_empty(req, 204, f, n);
    req->ds->finish(req);
}

void gh_cors_note_origin(gh_request *req)
{
    const gh_cors_conf *c = req->match.route ? req->match.route->cors : NULL;
    const gh_h1_header *o = c ? FIELD_OF(req, "origin") : NULL;
    req->cors_origin = o && origin_allowed(c, o) ? o : NULL;
}

bool gh_cors_fields(const gh_request *req, gh_h1_header *out, size_t *n, size_t max)
{
    const gh_h1_header *o = req->cors_origin;
    if (!o)
        return true;
    const gh_cors_conf *c = req->match.route->cors;
    if (*n + 4 > max)
        return false;
    bool star = c->any_origin && !c->credentials;
    out[(*n)++] = star ? make("Access-Control-Allow-Origin", "*")
                       : (gh_h1_header){.name = "Access-Control-Allow-Origin", .name_len = 27,
                                        .value = o->value, .value_len = o->value_len};
    if (c->credentials)
        out[(*n)++] = make("Access-Control-Allow-Credentials", "true");
    if (c->expose_text[0])
        out[(*n)++] = make("Access-Control-Expose-Headers", c->expose_text);
    if (!star)
        out[(*n)++] = make("Vary", "Origin");
    return true;
}

bool gh_cors_field(const gh_h1_header *h)
{
    return h->name_len > 15 && strncasecmp(h->name, "access-control-", 15) == 0;
}
