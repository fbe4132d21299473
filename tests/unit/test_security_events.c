/* The security events' reason table and folding: every reason of core/reason.h says which
 * event it is (a reason added without a line fails here), the refusals that are attacks are
 * events, and folding writes at most max_per_second lines per key and second, then one with
 * the count, in a table of fixed size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <time.h>

#include "core/tls.h"
#include "gate/security_event.h"
#include "observe/security_events.h"
#include "tls/cert_info.h"

static void every_reason_has_its_event(void **state)
{
    (void)state;
    for (int r = 0; r < GH_R__COUNT; r++)
        if (!gh_sec_reason_mapped((gh_reason)r))
            fail_msg("reason %s has no line in the security event table", gh_reason_slug(r));
}

static void the_refusals_that_are_attacks_are_events(void **state)
{
    (void)state;
    assert_int_equal(gh_sec_reason_action(GH_R_INVALID_TOKEN), GH_SEC_AUTHN_FAILURE);
    assert_int_equal(gh_sec_reason_action(GH_R_MISSING_API_KEY), GH_SEC_AUTHN_FAILURE);
    assert_int_equal(gh_sec_reason_action(GH_R_INSUFFICIENT_SCOPE), GH_SEC_AUTHZ_DENIED);
    assert_int_equal(gh_sec_reason_action(GH_R_RATE_LIMITED), GH_SEC_RATE_LIMITED);
    assert_int_equal(gh_sec_reason_action(GH_R_TE_WITH_CL), GH_SEC_REQUEST_REFUSED);
    assert_int_equal(gh_sec_reason_action(GH_R_INVALID_SIGNATURE), GH_SEC_WEBHOOK_SIGNATURE);
    assert_int_equal(gh_sec_reason_action(GH_R_CLIENT_CERT_MISMATCH), GH_SEC_CLIENT_CERT);
    assert_int_equal(gh_sec_reason_action(GH_R_UPSTREAM_TIMEOUT), GH_SEC_NONE);
    /* Every 401 and 403 is someone refused an identity or a permission: an event. */
    for (int r = GH_R_AGAIN + 1; r < GH_R__COUNT; r++) {
        int status = gh_reason_status((gh_reason)r);
        if ((status == 401 || status == 403) && gh_sec_reason_action((gh_reason)r) == GH_SEC_NONE)
            fail_msg("%s (%d) is no security event", gh_reason_slug(r), status);
    }
    assert_string_equal(gh_sec_action_name(GH_SEC_CONFIG_RELOADED), "configuration-reloaded");
}

static void unusual_methods(void **state)
{
    (void)state;
    assert_true(gh_sec_method_unusual("TRACE", 5));
    assert_true(gh_sec_method_unusual("PROPFIND", 8));
    assert_true(gh_sec_method_unusual("GE", 2));
    assert_false(gh_sec_method_unusual("GET", 3));
    assert_false(gh_sec_method_unusual("OPTIONS", 7));
}

typedef struct seen {
    int n;
    uint32_t count;
    char source[48];
} seen;

static void note(void *arg, const gh_sec_fold_slot *s)
{
    seen *w = arg;
    w->n++;
    w->count = s->ended_folded;
    snprintf(w->source, sizeof(w->source), "%s", s->source);
}

static void folding_keeps_max_per_second_and_counts_the_rest(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    int written = 0;
    for (int i = 0; i < 25; i++)
        written +=
            gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.1", "invalid-token", "r", 100, 10);
    assert_int_equal(written, 10);
    /* Another source and another action have their own allowance. */
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.2", "invalid-token", "r", 100, 10));
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 100, 10));
    seen w = {0};
    gh_sec_fold_flush(&f, 100, note, &w); /* the second has not ended */
    assert_int_equal(w.n, 0);
    gh_sec_fold_flush(&f, 101, note, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.count, 15);
    assert_string_equal(w.source, "10.0.0.1");
    /* The next second starts afresh. */
    assert_true(
        gh_sec_fold_admit(&f, GH_SEC_AUTHN_FAILURE, "10.0.0.1", "invalid-token", "r", 101, 10));
}

static void the_next_second_is_limited_before_the_flush(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    for (int i = 0; i < 5; i++)
        gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 200, 2);
    /* Second 201 begins before the timer flushed 200: its own allowance, no more. */
    int written = 0;
    for (int i = 0; i < 5; i++)
        written +=
            gh_sec_fold_admit(&f, GH_SEC_RATE_LIMITED, "10.0.0.1", "rate-limited", "r", 201, 2);
    assert_int_equal(written, 2);
    seen w = {0};
    gh_sec_fold_flush(&f, 201, note, &w); /* 200's three, 201 still counting */
    assert_int_equal(w.n, 1);
    assert_int_equal(w.count, 3);
    gh_sec_fold_flush(&f, 202, note, &w);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.count, 3);
    gh_sec_fold_flush(&f, 203, note, &w); /* nothing left */
    assert_int_equal(w.n, 2);
}

static void the_table_stays_its_size_under_many_sources(void **state)
{
    (void)state;
    static gh_sec_fold f;
    memset(&f, 0, sizeof(f));
    char ip[48];
    for (int i = 0; i < 10 * GH_SEC_FOLD_SLOTS; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
        assert_true(gh_sec_fold_admit(&f, GH_SEC_REQUEST_REFUSED, ip, "bad-host", NULL, 7, 1));
    }
    assert_int_equal(sizeof(f.slots) / sizeof(f.slots[0]), GH_SEC_FOLD_SLOTS);
}

/* A request whose every free-text field is kilobytes: the line is still written, valid JSON
 * within the 4 KiB, each such field cut with its mark, the line marked as cut. */
static void a_line_too_long_even_without_the_path_is_cut_not_lost(void **state)
{
    (void)state;
    enum { BIG = 20000 };
    char *big = malloc(BIG + 1), *path = malloc(BIG + 1);
    assert_non_null(big);
    assert_non_null(path);
    memset(big, '"', BIG); /* escapes to 2 bytes each: the worst a quote can do */
    big[BIG] = '\0';
    memset(path, 'p', BIG);
    path[BIG] = '\0';
    gh_request *req = calloc(1, sizeof(*req));
    assert_non_null(req);
    memcpy(req->id, "test-1", 6);
    req->id_len = 6;
    req->reason = GH_R_INSUFFICIENT_SCOPE;
    req->detail = big;
    req->auth_ok = true;
    req->auth_sub = big;
    req->h1.method = "GET";
    req->h1.method_len = 3;
    req->path = path;
    req->path_len = BIG;
    req->status = 403;
    strcpy(req->client_ip, "192.0.2.7");
    char line[GH_SEC_LINE_MAX];
    bool cut = false;
    size_t len = gh_security_event_format(line, sizeof(line), req, GH_SEC_AUTHZ_DENIED, &cut);
    assert_true(len > 0 && len <= sizeof(line));
    assert_true(cut);
    assert_int_equal(line[len - 1], '\n');
    json_error_t err;
    json_t *doc = json_loadb(line, len, 0, &err);
    if (!doc)
        fail_msg("not JSON: %s", err.text);
    const char *user = json_string_value(json_object_get(doc, "user.id"));
    assert_non_null(user);
    assert_int_equal(strlen(user), 128 + strlen(GH_SEC_CUT_MARK));
    assert_string_equal(user + 128, GH_SEC_CUT_MARK);
    const char *why = json_string_value(json_object_get(doc, "event.reason"));
    assert_non_null(why);
    assert_string_equal(why + strlen(why) - strlen(GH_SEC_CUT_MARK), GH_SEC_CUT_MARK);
    assert_true(json_is_null(json_object_get(doc, "url.path")));
    assert_true(json_is_true(json_object_get(doc, "gatehouse.event.cut")));
    assert_string_equal(json_string_value(json_object_get(doc, "source.ip")), "192.0.2.7");
    json_decref(doc);
    /* An ordinary request is whole and not marked. */
    req->detail = "scope orders:write";
    req->auth_sub = "alice";
    req->path = "/orders/1";
    req->path_len = 9;
    len = gh_security_event_format(line, sizeof(line), req, GH_SEC_AUTHZ_DENIED, &cut);
    assert_false(cut);
    assert_non_null(memmem(line, len, "\"url.path\":\"/orders/1\"", 22));
    assert_null(memmem(line, len, "gatehouse.event.cut", 19));
    free(req);
    free(big);
    free(path);
}

static void a_cut_field_is_marked_and_a_short_one_whole(void **state)
{
    (void)state;
    char out[256];
    gh_sbuf b = gh_sbuf_make(out, sizeof(out));
    gh_sec_field_cut(&b, "a", "abcdef", 6, 3);
    gh_sec_field_cut(&b, "b", "abc", 3, 3);
    gh_sec_field_cut(&b, "c", NULL, 0, 3);
    out[b.len] = '\0';
    assert_string_equal(out, ",\"a\":\"abc" GH_SEC_CUT_MARK "\",\"b\":\"abc\",\"c\":null");
}

/* An upstream down is no event; one whose certificate did not verify is. */
static void an_untrusted_upstream_is_an_event_a_down_one_is_not(void **state)
{
    (void)state;
    gh_request *req = calloc(1, sizeof(*req));
    assert_non_null(req);
    req->reason = GH_R_UPSTREAM_TLS;
    req->detail = GH_TLS_UNTRUSTED_PEER ": unable to get local issuer certificate";
    assert_int_equal(gh_security_event_of(req), GH_SEC_UPSTREAM_CERT);
    req->detail = "TLS failed: wrong version number";
    assert_int_equal(gh_security_event_of(req), GH_SEC_NONE);
    req->reason = GH_R_UPSTREAM_CONNECT;
    req->detail = NULL;
    assert_int_equal(gh_security_event_of(req), GH_SEC_NONE);
    free(req);
}

static void certificate_states(void **state)
{
    (void)state;
    time_t now = 1700000000, day = 86400;
    assert_int_equal(gh_cert_state_at(now + 30 * day, now, 14 * day), GH_CERT_VALID);
    assert_int_equal(gh_cert_state_at(now + 14 * day, now, 14 * day), GH_CERT_EXPIRING);
    assert_int_equal(gh_cert_state_at(now + 1, now, 14 * day), GH_CERT_EXPIRING);
    assert_int_equal(gh_cert_state_at(now, now, 14 * day), GH_CERT_EXPIRED);
    assert_int_equal(gh_cert_state_at(now - day, now, 0), GH_CERT_EXPIRED);
    assert_int_equal(gh_cert_state_at(now + 1, now, 0), GH_CERT_VALID);
}

/* A certificate made here: its names, serial, fingerprint and validity as events write them. */
static void certificate_info(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x0102ABCD);
    ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
    ASN1_TIME_set(X509_getm_notAfter(x), 1700086400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Example, Inc", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"api.test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    gh_cert_info ci;
    assert_int_equal(gh_cert_info_of(x, &ci), 0);
    assert_string_equal(ci.subject, "CN=api.test,O=Example\\, Inc");
    assert_string_equal(ci.issuer, ci.subject);
    assert_string_equal(ci.serial, "0102ABCD");
    assert_string_equal(ci.not_before, "2023-11-14T22:13:20Z");
    assert_string_equal(ci.not_after, "2023-11-15T22:13:20Z");
    assert_int_equal(ci.not_after_t, 1700086400);
    unsigned char md[32];
    unsigned int md_len = 0;
    X509_digest(x, EVP_sha256(), md, &md_len);
    char hex[65];
    for (unsigned i = 0; i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02X", md[i]);
    assert_string_equal(ci.sha256, hex);
    assert_int_equal(gh_cert_info_of(NULL, &ci), -1);
    X509_free(x);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_reason_has_its_event),
        cmocka_unit_test(the_refusals_that_are_attacks_are_events),
        cmocka_unit_test(unusual_methods),
        cmocka_unit_test(folding_keeps_max_per_second_and_counts_the_rest),
        cmocka_unit_test(the_next_second_is_limited_before_the_flush),
        cmocka_unit_test(the_table_stays_its_size_under_many_sources),
        cmocka_unit_test(a_line_too_long_even_without_the_path_is_cut_not_lost),
        cmocka_unit_test(a_cut_field_is_marked_and_a_short_one_whole),
        cmocka_unit_test(an_untrusted_upstream_is_an_event_a_down_one_is_not),
        cmocka_unit_test(certificate_states),
        cmocka_unit_test(certificate_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
