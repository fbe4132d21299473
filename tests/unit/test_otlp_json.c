/* The OTLP/JSON encoding of spans: ids as lowercase hex, a root without parentSpanId, times and
 * 64-bit integers as strings, kind and status code as numbers, events, escaped free text, and
 * a batch that is one ExportTraceServiceRequest; gzip's frame around what it packs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/gzip.h"
#include "observe/otlp_json.h"

static const char trace_id[] = "4bf92f3577b34da6a3ce929d0e0e4736";

static json_t *encode(const gh_otlp_span *s)
{
    char buf[4096];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    gh_otlp_span_json(&b, s);
    assert_false(b.overflow);
    assert_null(memchr(buf, '\n', b.len)); /* one line in the exporter's ring */
    json_error_t err;
    json_t *j = json_loadb(buf, b.len, 0, &err);
    if (!j)
        fail_msg("not JSON: %s: %.*s", err.text, (int)b.len, buf);
    return j;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static json_t *attr(json_t *span, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(span, "attributes"), i, a)
        if (strcmp(str(a, "key"), key) == 0)
            return json_object_get(a, "value");
    fail_msg("no attribute %s", key);
    return NULL;
}

static void a_server_span_in_the_otlp_json_form(void **state)
{
    (void)state;
    const char agent[] = "curl \"7\"\n\x01";
    const gh_otlp_attr attrs[] = {
        {"http.request.method", "GET", 3, 0},
        {"http.response.status_code", NULL, 0, 401},
        {"user_agent.original", agent, sizeof(agent) - 1, 0},
    };
    const gh_otlp_attr event_attrs[] = {{"gatehouse.refusal.reason", "token-expired", 13, 0}};
    const gh_otlp_event event = {"gatehouse.refusal", 1700000000500000000ull, event_attrs, 1};
    gh_otlp_span s = {
        .trace_id = trace_id, .span_id = "00f067aa0ba902b7", .parent_id = "",
        .name = "GET /items/{id}", .name_len = 15, .kind = GH_OTLP_KIND_SERVER,
        .start_ns = 1700000000000000000ull, .end_ns = 1700000000900000000ull, .flags = 0x101,
        .attrs = attrs, .nattrs = 3, .events = &event, .nevents = 1,
        .status = GH_OTLP_STATUS_ERROR, .status_message = "token-expired",
    };
    json_t *j = encode(&s);
    assert_string_equal(str(j, "traceId"), trace_id);
    assert_string_equal(str(j, "spanId"), "00f067aa0ba902b7");
    assert_null(json_object_get(j, "parentSpanId")); /* a root has none */
    assert_string_equal(str(j, "name"), "GET /items/{id}");
    assert_int_equal(json_integer_value(json_object_get(j, "kind")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "flags")), 0x101);
    assert_string_equal(str(j, "startTimeUnixNano"), "1700000000000000000");
    assert_string_equal(str(j, "endTimeUnixNano"), "1700000000900000000");
    assert_string_equal(str(attr(j, "http.request.method"), "stringValue"), "GET");
    assert_string_equal(str(attr(j, "http.response.status_code"), "intValue"), "401");
    assert_string_equal(str(attr(j, "user_agent.original"), "stringValue"), agent);
    json_t *status = json_object_get(j, "status");
    assert_int_equal(json_integer_value(json_object_get(status, "code")), 2);
    assert_string_equal(str(status, "message"), "token-expired");
    json_t *e = json_array_get(json_object_get(j, "events"), 0);
    assert_string_equal(str(e, "name"), "gatehouse.refusal");
    assert_string_equal(str(e, "timeUnixNano"), "1700000000500000000");
    assert_string_equal(str(attr(e, "gatehouse.refusal.reason"), "stringValue"), "token-expired");
    json_decref(j);
}

static void a_child_span_names_its_parent(void **state)
{
    (void)state;
    gh_otlp_span s = {
        .trace_id = trace_id, .span_id = "b7ad6b7169203331", .parent_id = "00f067aa0ba902b7",
        .name = "upstream", .name_len = 8, .kind = GH_OTLP_KIND_CLIENT, .start_ns = 5,
        .end_ns = 3, /* a clock step back: never an end before the start */
    };
    json_t *j = encode(&s);
    assert_string_equal(str(j, "parentSpanId"), "00f067aa0ba902b7");
    assert_int_equal(json_integer_value(json_object_get(j, "kind")), 3);
    assert_string_equal(str(j, "endTimeUnixNano"), "5");
    assert_null(json_object_get(json_object_get(j, "status"), "message"));
    assert_null(json_object_get(j, "events"));
    json_decref(j);
}

static void a_batch_is_one_export_request(void **state)
{
    (void)state;
    char buf[8192];
    gh_sbuf b = gh_sbuf_make(buf, sizeof(buf));
    gh_otlp_batch_head(&b, "edge \"gw\"", "1.2.3");
    gh_otlp_span s = {.trace_id = trace_id, .span_id = "00f067aa0ba902b7", .name = "x",
                      .name_len = 1, .kind = GH_OTLP_KIND_SERVER};
    gh_otlp_span_json(&b, &s);
    gh_sbuf_adds(&b, ",");
    gh_otlp_span_json(&b, &s);
    gh_sbuf_adds(&b, GH_OTLP_BATCH_TAIL);
    assert_false(b.overflow);
    json_t *j = json_loadb(buf, b.len, 0, NULL);
    assert_non_null(j);
    json_t *rs = json_array_get(json_object_get(j, "resourceSpans"), 0);
    json_t *res = json_object_get(json_object_get(rs, "resource"), "attributes");
    assert_string_equal(str(json_array_get(res, 0), "key"), "service.name");
    assert_string_equal(str(json_object_get(json_array_get(res, 0), "value"), "stringValue"),
                        "edge \"gw\"");
    json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
    assert_string_equal(str(json_object_get(ss, "scope"), "name"), "gatehouse");
    assert_int_equal(json_array_size(json_object_get(ss, "spans")), 2);
    json_decref(j);
}

static void gzip_frames_what_it_packs(void **state)
{
    (void)state;
    char in[3000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = "{\"spanId\":\"00f067aa\"},"[i % 22];
    unsigned char out[4000];
    assert_true(gh_gzip_bound(sizeof(in)) <= sizeof(out));
    size_t n = gh_gzip(in, sizeof(in), out);
    assert_true(n < sizeof(in) / 4); /* repetitions become matches */
    assert_int_equal(out[0], 0x1f);
    assert_int_equal(out[1], 0x8b);
    assert_int_equal(out[2], 8);
    uint32_t size = out[n - 4] | out[n - 3] << 8 | out[n - 2] << 16 | (uint32_t)out[n - 1] << 24;
    assert_int_equal(size, sizeof(in));
}

/* Inputs that reach gzip's edges: no repetition at all (literals only, the bound), one byte
 * repeated (matches of 258), a repetition exactly 32768 bytes back and one just past it, the
 * 9-bit literals (bytes 144-255), a batch-sized body. Each is packed within gh_gzip_bound; with
 * GH_GZIP_OUT set to a directory, the input and its packing go there as N.in and N.gz for
 * tests/integration/test_gzip_inflate.py to inflate with zlib. */
static size_t gzip_case(unsigned c, unsigned char *in, size_t cap)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (c + 1);
    size_t n = c == 0 ? 0 : c == 1 ? 1 : c == 5 ? cap : 70000;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        switch (c) {
        case 3: /* random, then the same 40 bytes 32768 and 32769 bytes later */
            in[i] = i >= 32768 && (i % 32768) < 40 ? in[i - 32768 - (i >= 65536)]
                                                  : (unsigned char)x;
            break;
        case 4: in[i] = 'a'; break;
        case 6: in[i] = (unsigned char)(144 + x % 112); break;
        case 5: in[i] = (unsigned char)("{\"spanId\":\"00f0\"},"[i % 18] ^ (x % 7 == 0)); break;
        default: in[i] = (unsigned char)x;
        }
    }
    return n;
}

static void gzip_within_its_bound_at_the_edges(void **state)
{
    (void)state;
    size_t cap = 1u << 20;
    unsigned char *in = malloc(cap), *out = malloc(gh_gzip_bound(cap));
    assert_non_null(in);
    assert_non_null(out);
    const char *dir = getenv("GH_GZIP_OUT");
    for (unsigned c = 0; c < 7; c++) {
        size_t n = gzip_case(c, in, cap);
        size_t packed = gh_gzip(in, n, out);
        assert_true(packed <= gh_gzip_bound(n));
        for (int k = 0; dir && k < 2; k++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%u.%s", dir, c, k ? "gz" : "in");
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(k ? out : in, 1, k ? packed : n, f), k ? packed : n);
            fclose(f);
        }
    }
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_server_span_in_the_otlp_json_form),
        cmocka_unit_test(a_child_span_names_its_parent),
        cmocka_unit_test(a_batch_is_one_export_request),
        cmocka_unit_test(gzip_frames_what_it_packs),
        cmocka_unit_test(gzip_within_its_bound_at_the_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
