/* The fake gate (fake_gate.h): real services, a recording downstream, no sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#include "core/b64url.h"
#include "fake_gate.h"
#include "gate/pipeline.h"
#include "gate/request.h"
#include "gate/trace.h"
#include "stages/key_wait.h"
#include "stages/pending_call.h"
#include "stages/registry.h"
#include "store/redis.h"
#include "upstream/proxy.h"

static fake_gate *gate_of(const gh_request *req)
{
    return (fake_gate *)req->downstream;
}

static void record_bytes(fake_gate *g, const char *p, size_t n)
{
    fg_record *r = &g->rec;
    r->sent = realloc(r->sent, r->sent_len + n + 1);
    assert_non_null(r->sent);
    memcpy(r->sent + r->sent_len, p, n);
    r->sent_len += n;
    r->sent[r->sent_len] = '\0';
}

static bool ds_takes_fields(const gh_request *req)
{
    return gate_of(req)->takes_fields;
}

static int ds_send_fields(gh_request *req, int status, const gh_h1_header *fields, size_t n,
                          int body, uint64_t length)
{
    (void)body, (void)length;
    fake_gate *g = gate_of(req);
    req->resp_started = true;
    g->rec.field_status = status;
    for (size_t i = 0; i < n; i++) {
        record_bytes(g, fields[i].name, fields[i].name_len);
        record_bytes(g, ": ", 2);
        record_bytes(g, fields[i].value, fields[i].value_len);
        record_bytes(g, "\r\n", 2);
    }
    return 0;
}

static int ds_send(gh_request *req, const uv_buf_t *bufs, unsigned n)
{
    fake_gate *g = gate_of(req);
    req->resp_started = true;
    g->rec.sends++;
    for (unsigned i = 0; i < n; i++) {
        req->bytes_out += bufs[i].len;
        record_bytes(g, bufs[i].base, bufs[i].len);
    }
    if (g->full_after && g->rec.sent_len >= g->full_after)
        g->full = true; /* the client stopped reading here */
    return 0;
}

static bool ds_output_full(const gh_request *req)
{
    return gate_of(req)->full;
}

/* The request ends as the connection ends it: logged, counted, freed. */
static void end_request(fake_gate *g)
{
    gh_request *req = g->req;
    g->req = NULL;
    gh_request_end(req);
}

static void ds_finish(gh_request *req)
{
    fake_gate *g = gate_of(req);
    g->rec.finishes++;
    req->resp_done = true;
    end_request(g);
}

static void ds_cut(gh_request *req)
{
    fake_gate *g = gate_of(req);
    g->rec.cuts++;
    end_request(g);
}

static void ds_read_body(gh_request *req)
{
    gate_of(req)->rec.read_bodies++;
}

static void ds_collect_body(gh_request *req, uint64_t max, void (*then)(gh_request *req))
{
    fake_gate *g = gate_of(req);
    g->rec.collects++;
    g->rec.collect_max = max;
    req->collect_body = true;
    req->collect_max = max;
    g->then = then; /* the body comes later, after the stage returned */
}

static void ds_resume_input(void *downstream)
{
    ((fake_gate *)downstream)->rec.resumes++;
}

static void ds_body_drained(gh_request *req)
{
    gate_of(req)->rec.drains++;
}

static void ds_want_body(gh_request *req)
{
    gate_of(req)->rec.want_bodies++;
}

static const struct gh_client_cert *ds_client_cert(const gh_request *req)
{
    return gate_of(req)->cert;
}

static const gh_downstream_ops fake_downstream = {
    .takes_fields = ds_takes_fields,
    .send_fields = ds_send_fields,
    .send = ds_send,
    .output_full = ds_output_full,
    .finish = ds_finish,
    .cut = ds_cut,
    .read_body = ds_read_body,
    .collect_body = ds_collect_body,
    .resume_input = ds_resume_input,
    .body_drained = ds_body_drained,
    .want_body = ds_want_body,
    .client_cert = ds_client_cert,
};

const char *fg_file(fake_gate *g, const char *name, const char *content)
{
    if (!g->dir[0]) {
        strcpy(g->dir, "/tmp/gh-unit-XXXXXX");
        assert_non_null(mkdtemp(g->dir));
    }
    static char path[160];
    snprintf(path, sizeof(path), "%s/%s", g->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

void fg_open(fake_gate *g, const char *yaml)
{
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    assert_int_equal(gh_shared_init(&g->shared), 0);
    gh_diag d = {0};
    gh_config *cfg = gh_config_load_string("unit.yaml", yaml, strlen(yaml), &g->shared, &d);
    if (!cfg)
        gh_diag_print(&d, stderr);
    gh_diag_free(&d);
    assert_non_null(cfg);
    assert_int_equal(uv_loop_init(&g->loop), 0);
    assert_int_equal(gh_services_init(&g->svc, 0, &g->loop, &g->shared, cfg), 0);
    assert_int_equal(gh_proxy_worker_init(&g->svc), 0);
    assert_int_equal(gh_key_waits_init(&g->svc), 0);
    assert_int_equal(gh_pending_worker_init(&g->svc), 0);
    g->log = calloc(1, sizeof(*g->log));
    assert_non_null(g->log);
    g->svc.log = g->log;
}

void fg_close(fake_gate *g)
{
    if (g->req)
        fg_client_gone(g);
    gh_pools_close(&g->svc);
    gh_pending_worker_stop(&g->svc);
    gh_redis_worker_stop(&g->svc.redis);
    gh_key_waits_close(&g->svc);
    gh_services_close(&g->svc);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g->loop), 0);
    gh_services_free(&g->svc);
    gh_shared_free(&g->shared);
    free(g->log);
    free(g->rec.sent);
    if (g->dir[0]) {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
        assert_int_equal(system(cmd), 0);
    }
    curl_global_cleanup();
    memset(g, 0, sizeof(*g));
}

/* The listener the request arrived on: the configuration's first. */
static gh_peer first_listener(const gh_config *cfg)
{
    const gh_listener_conf *lc = &cfg->listeners[0];
    gh_peer peer = {.listener = lc->id, .methods = lc->methods, .underscores = lc->underscores,
                    .family = 4, .port = 40000, .addr = {192, 0, 2, 1}};
    return peer;
}

gh_request *fg_request(fake_gate *g, const char *head)
{
    assert_null(g->req);
    const gh_config *cfg = g->svc.snapshots.config;
    const gh_limits_conf *lim = &cfg->limits;
    gh_h1_limits hl = {lim->max_head_bytes, lim->max_headers, lim->max_target_bytes, cfg->defensive};
    gh_h1_request h1;
    gh_h1_header *scratch = calloc(lim->max_headers, sizeof(*scratch)); /* the connection's, else */
    size_t scanned = 0;
    assert_non_null(scratch);
    assert_int_equal(gh_h1_parse_request(head, strlen(head), &scanned, &hl, scratch, &h1),
                     GH_R_OK);
    gh_peer peer = first_listener(cfg);
    gh_request *req = gh_request_new(&g->svc, &fake_downstream, g, &peer);
    assert_non_null(req);
    g->req = req;
    assert_true(gh_request_adopt_head(req, head, &h1, scratch));
    free(scratch);
    gh_request_adopt_id(req);
    gh_trace_extract(req);
    strcpy(req->id, "test-1");
    req->id_len = 6;
    strcpy(req->trace.trace_id, FG_TRACE_ID); /* a fixed trace, as the id is */
    /* As the connection's request_begin does. */
    req->body_left = req->h1.body == GH_BODY_LENGTH ? req->h1.content_length : 0;
    req->body_done = req->h1.body == GH_BODY_NONE;
    if (req->h1.ambiguous)
        req->close_after = true;
    gh_pipeline_start(req);
    return g->req;
}

void fg_body(fake_gate *g, const char *body, size_t len)
{
    gh_request *req = g->req;
    assert_non_null(req);
    req->bytes_in += len;
    req->body_left = 0;
    req->body_done = true;
    if (g->then) { /* read whole: the stage that asked goes on, as the connection's pump does */
        void (*then)(gh_request *) = g->then;
        g->then = NULL;
        assert_int_equal(gh_bytes_add(&req->body, body, len, (size_t)-1), 0);
        req->collect_body = false;
        req->h1.body = GH_BODY_LENGTH;
        req->h1.content_length = req->body.len;
        then(req);
        return;
    }
    assert_non_null(req->action);
    if (len)
        assert_int_equal(req->action->body(req, body, len), 0);
    req->action->body_end(req);
}

void fg_client_gone(fake_gate *g)
{
    assert_non_null(g->req);
    g->then = NULL;
    end_request(g);
}

void fg_drained(fake_gate *g)
{
    g->full = false;
    g->full_after = 0;
    if (g->req && g->req->action)
        g->req->action->client_drained(g->req);
}

void fg_spin(fake_gate *g, int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&g->loop, UV_RUN_NOWAIT);
}

void fg_forget(fake_gate *g)
{
    free(g->rec.sent);
    memset(&g->rec, 0, sizeof(g->rec));
}

const char *fg_log(fake_gate *g)
{
    static char out[GH_LOG_RING_BYTES / 16];
    size_t head = atomic_load(&g->log->head), n = 0;
    for (; g->log_read < head && n + 1 < sizeof(out); g->log_read++)
        out[n++] = g->log->data[g->log_read % GH_LOG_RING_BYTES];
    out[n] = '\0';
    atomic_store(&g->log->tail, g->log_read);
    return out;
}

EVP_PKEY *fg_es256_key(const char *kid, char jwks[512])
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(pkey);
    unsigned char pub[65];
    size_t len = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len), 1);
    char x[64], y[64];
    gh_b64url_encode(pub + 1, 32, x);
    gh_b64url_encode(pub + 33, 32, y);
    snprintf(jwks, 512,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             kid, x, y);
    return pkey;
}

char *fg_mint(EVP_PKEY *pkey, const char *header, const char *payload)
{
    static char token[4096];
    char h[1024], p[1024], sig[128];
    gh_b64url_encode((const unsigned char *)header, strlen(header), h);
    gh_b64url_encode((const unsigned char *)payload, strlen(payload), p);
    snprintf(token, sizeof(token), "%s.%s", h, p);
    unsigned char der[128], raw[64] = {0};
    size_t der_len = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &der_len, (unsigned char *)token, strlen(token)), 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char *dp = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    gh_b64url_encode(raw, 64, sig);
    strcat(token, ".");
    strcat(token, sig);
    return token;
}
