/* The OTLP/JSON encoding on any bytes: the input cut at 0xff bytes into the span's texts (its
 * name, tracestate, status message, an event's name, the attributes' values). Whatever they
 * hold, the span is one line (no newline), valid JSON that jansson reads back, and each text
 * reads back as its bytes (one code point each, as written); gzip packs it within its bound. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gzip.h"
#include "observe/otlp_json.h"

#define TEXTS 8
#define LINE_MAX (1u << 20)

/* The text as JSON reads it back: each byte the code point of its value, in UTF-8. */
static size_t as_read(const char *s, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[len++] = (char)c;
        } else {
            out[len++] = (char)(0xc0 | c >> 6);
            out[len++] = (char)(0x80 | (c & 0x3f));
        }
    }
    return len;
}

static void check_text(json_t *v, const char *s, size_t n)
{
    char *want = malloc(2 * n + 1);
    size_t len = as_read(s, n, want);
    if (!json_is_string(v) || json_string_length(v) != len ||
        memcmp(json_string_value(v), want, len) != 0)
        abort();
    free(want);
}

static void check(const char *line, size_t len, const char *const *t, const size_t *tl)
{
    if (memchr(line, '\n', len))
        abort();
    json_error_t err;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (!j)
        abort();
    check_text(json_object_get(j, "name"), t[0], tl[0]);
    if (tl[1])
        check_text(json_object_get(j, "traceState"), t[1], tl[1]);
    if (tl[2] && !memchr(t[2], 0, tl[2]))
        check_text(json_object_get(json_object_get(j, "status"), "message"), t[2], tl[2]);
    json_t *attrs = json_object_get(j, "attributes");
    for (size_t i = 4; i < TEXTS; i++)
        check_text(json_object_get(json_object_get(json_array_get(attrs, i - 4), "value"),
                                   "stringValue"),
                   t[i], tl[i]);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly the input's size, so that a read past its end is seen. */
    char *v = malloc(size ? size : 1);
    memcpy(v, data, size);
    const char *t[TEXTS];
    size_t tl[TEXTS];
    const char *p = v, *end = v + size;
    for (size_t i = 0; i < TEXTS; i++) {
        const char *cut = memchr(p, 0xff, (size_t)(end - p));
        t[i] = p;
        tl[i] = cut ? (size_t)(cut - p) : (size_t)(end - p);
        p = cut ? cut + 1 : end;
    }
    /* the status message and an event's name are C strings */
    char *message = strndup(t[2], tl[2]), *event = strndup(t[3], tl[3]);
    gh_otlp_attr attrs[TEXTS - 4];
    for (size_t i = 4; i < TEXTS; i++)
        attrs[i - 4] = (gh_otlp_attr){"k", t[i], tl[i], 0};
    gh_otlp_attr num = {"n", NULL, 0, INT64_MIN};
    gh_otlp_event ev = {event, UINT64_MAX, &num, 1};
    gh_otlp_span s = {
        .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", .span_id = "00f067aa0ba902b7",
        .trace_state = t[1], .trace_state_len = tl[1], .name = t[0], .name_len = tl[0],
        .kind = GH_OTLP_KIND_SERVER, .start_ns = UINT64_MAX, .end_ns = 0, .flags = UINT32_MAX,
        .attrs = attrs, .nattrs = TEXTS - 4, .events = &ev, .nevents = 1,
        .status = GH_OTLP_STATUS_ERROR, .status_message = message,
    };
    char *line = malloc(LINE_MAX);
    gh_sbuf b = gh_sbuf_make(line, LINE_MAX);
    gh_otlp_span_json(&b, &s);
    if (b.overflow)
        abort(); /* at most 6 bytes a byte and a bounded frame: cannot happen */
    check(line, b.len, t, tl);
    unsigned char *packed = malloc(gh_gzip_bound(b.len));
    if (gh_gzip(line, b.len, packed) > gh_gzip_bound(b.len))
        abort();
    free(packed);
    free(line);
    free(message);
    free(event);
    free(v);
    return 0;
}
