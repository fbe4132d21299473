/* The probe's servers: what a complete request gets. The upstream records it and answers a
 * small JSON body (or opens a WebSocket echo); the identity provider's side serves the key sets
 * of the probe's keys, introspection answers, policy answers, and counts any other fetch as a
 * bait URL followed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity/jws_sign.h"
#include "probe/server_int.h"
#include "wire/ws_frame.h"

void gh_psrv_respond(gh_psrv_conn *c, int status, const char *reason, const char *body,
                     size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%s\r\n",
                     status, reason, len, c->req.close ? "Connection: close\r\n" : "");
    gh_psrv_out(c, head, (size_t)n);
    if (!c->req.is_head)
        gh_psrv_out(c, body, len);
    if (c->req.close)
        c->state = GH_PSRV_CLOSING;
}

/* A JSON document as the answer (taken: freed here); 500 when it cannot be written. */
static void respond_json(gh_psrv_conn *c, int status, const char *reason, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        gh_psrv_respond(c, 500, "Internal Server Error", GH_PSRV_LIT("{}"));
        return;
    }
    gh_psrv_respond(c, status, reason, text, strlen(text));
    free(text);
}

void gh_psrv_record(gh_probe_server *s, gh_psrv_conn *c, bool complete)
{
    gh_psrv_req *q = &c->req;
    gh_probe_upreq r = {.head = q->head, .head_len = q->head_len, .body = q->body,
                        .body_len = q->body_len, .port = c->port, .body_total = q->body_total,
                        .body_cut = q->body_total > q->body_len, .complete = complete};
    if (!r.body) {
        r.body = calloc(1, 1);
        if (!r.body)
            return; /* the request stays with the connection and goes with it */
    }
    q->head = NULL;
    q->body = NULL;
    q->head_len = q->body_len = q->body_cap = 0;
    pthread_mutex_lock(&s->mu);
    if (s->count == GH_PSRV_RECORDS) { /* the oldest goes */
        gh_psrv_upreq_clear(&s->records[s->first]);
        s->first = (s->first + 1) % GH_PSRV_RECORDS;
        s->count--;
    }
    s->records[(s->first + s->count) % GH_PSRV_RECORDS] = r;
    s->count++;
    pthread_mutex_unlock(&s->mu);
}

/* 101 and the tunnel, for a valid WebSocket handshake (RFC 6455 4.2.2). */
static bool websocket(gh_psrv_conn *c)
{
    gh_psrv_req *q = &c->req;
    size_t klen = strlen(q->ws_key);
    if (!q->websocket || q->bad || q->http10 || strcmp(q->method, "GET") != 0 ||
        !gh_ws_key_ok(q->ws_key, klen))
        return false;
    char accept[29], head[256];
    gh_ws_accept(q->ws_key, klen, accept);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    gh_psrv_out(c, head, (size_t)n);
    c->state = GH_PSRV_TUNNEL;
    return true;
}

static void upstream(gh_probe_server *s, gh_psrv_conn *c)
{
    bool bad = c->req.bad;
    gh_psrv_record(s, c, !bad);
    if (bad) {
        c->req.close = true;
        gh_psrv_respond(c, 400, "Bad Request", GH_PSRV_LIT("{\"probe\":\"bad request\"}"));
    } else if (!websocket(c)) {
        gh_psrv_respond(c, 200, "OK", GH_PSRV_LIT("{\"probe\":\"upstream\"}"));
    }
}

/* Counts a key-set fetch for a provider the probe holds keys of. */
static void count_jwks(gh_probe_server *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    while (i < s->njwks && strcmp(s->jwks[i].name, name) != 0)
        i++;
    if (i == s->njwks) {
        gh_psrv_count *grown = realloc(s->jwks, (s->njwks + 1) * sizeof(*grown));
        char *copy = grown ? strdup(name) : NULL;
        if (grown)
            s->jwks = grown;
        if (copy)
            s->jwks[s->njwks++] = (gh_psrv_count){.name = copy, .n = 0};
    }
    if (i < s->njwks)
        s->jwks[i].n++;
    pthread_mutex_unlock(&s->mu);
}

/* GET /jwks/<provider>: the public halves of the probe's keys for it; 404 for a provider the
 * probe holds no key of (an HMAC provider's set is empty: its secret is not published). */
static void jwks(gh_probe_server *s, gh_psrv_conn *c, const char *name)
{
    const gh_probe *p = s->p;
    json_t *keys = json_array();
    bool known = false;
    for (size_t i = 0; p && i < p->nkeys; i++) {
        const gh_probe_key *k = &p->keys[i];
        if (!k->provider || !k->provider->name || strcmp(k->provider->name, name) != 0)
            continue;
        known = true;
        if (k->key && keys)
            json_array_append_new(keys, gh_jwk_public(k->key, k->kid[0] ? k->kid : NULL, k->alg));
    }
    if (!known) {
        json_decref(keys);
        gh_psrv_respond(c, 404, "Not Found", GH_PSRV_LIT("{\"error\":\"no such provider\"}"));
        return;
    }
    count_jwks(s, name);
    respond_json(c, 200, "OK", keys ? json_pack("{s:o}", "keys", keys) : NULL);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The value of `token` in a form body, URL-decoded (malloc), or NULL. */
static char *form_token(const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        if (pend - p >= 6 && memcmp(p, "token=", 6) == 0) {
            const char *v = p + 6;
            char *out = malloc((size_t)(pend - v) + 1), *o = out;
            if (!out)
                return NULL;
            for (; v < pend; v++) {
                int hi, lo;
                if (*v == '+')
                    *o++ = ' ';
                else if (*v == '%' && pend - v >= 3 && (hi = hexval(v[1])) >= 0 &&
                         (lo = hexval(v[2])) >= 0) {
                    *o++ = (char)(hi * 16 + lo);
                    v += 2;
                } else
                    *o++ = *v;
            }
            *o = '\0';
            return out;
        }
        p = pend + 1;
    }
    return NULL;
}

/* POST /introspect/<provider>: RFC 7662 2.2, active with the claims of a token added active. */
static void introspect(gh_probe_server *s, gh_psrv_conn *c)
{
    char *token = form_token(c->req.body ? c->req.body : "", c->req.body_len);
    json_t *doc = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = s->nopaque; token && i-- > 0;) { /* the latest addition wins */
        const gh_psrv_opaque *o = &s->opaque[i];
        if (strcmp(o->token, token) != 0)
            continue;
        if (o->active)
            doc = o->claims ? json_deep_copy(o->claims) : json_object();
        break;
    }
    pthread_mutex_unlock(&s->mu);
    free(token);
    if (doc)
        json_object_set_new(doc, "active", json_true());
    else
        doc = json_pack("{s:b}", "active", 0);
    respond_json(c, 200, "OK", doc);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void idp(gh_probe_server *s, gh_psrv_conn *c)
{
    const gh_psrv_req *q = &c->req;
    if (q->bad) {
        c->req.close = true;
        gh_psrv_respond(c, 400, "Bad Request", GH_PSRV_LIT("{\"error\":\"bad request\"}"));
    } else if (strcmp(q->method, "GET") == 0 && starts(q->path, "/jwks/")) {
        jwks(s, c, q->path + 6);
    } else if (strcmp(q->method, "POST") == 0 && starts(q->path, "/introspect/")) {
        introspect(s, c);
    } else if (strcmp(q->method, "POST") == 0 && starts(q->path, "/policy/")) {
        gh_psrv_respond(c, 200, "OK", GH_PSRV_LIT("{\"result\":true}"));
    } else {
        /* A URL the probe put in a token (jku, x5u) or anything else: fetched, so counted. */
        pthread_mutex_lock(&s->mu);
        s->bait++;
        pthread_mutex_unlock(&s->mu);
        gh_psrv_respond(c, 404, "Not Found", GH_PSRV_LIT("{\"error\":\"not found\"}"));
    }
}

void gh_psrv_answer(gh_probe_server *s, gh_psrv_conn *c)
{
    if (c->role == GH_PROBE_UPSTREAM)
        upstream(s, c);
    else
        idp(s, c);
}
