/* The WebSocket frame reader: what passes, what is refused with which close code, and that
 * reading byte by byte gives the same events as reading whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/ws_frame.h"

static const uint8_t MASK[4] = {0x11, 0x22, 0x33, 0x44};

/* A frame: first byte b0, payload of len bytes (each 'a'), masked when asked. */
static size_t frame(uint8_t *out, uint8_t b0, uint64_t len, bool masked)
{
    size_t n = 0;
    out[n++] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, MASK, 4);
        n += 4;
    }
    for (uint64_t i = 0; i < len; i++, n++)
        out[n] = (uint8_t)('a' ^ (masked ? MASK[i & 3] : 0));
    return n;
}

typedef struct outcome {
    uint64_t frames, payload, head_bytes;
    uint16_t error, close;
    bool ended_at_boundary;
} outcome;

/* Reads p[0..len) in pieces of step bytes until it is used or refused. */
static outcome read_all(gh_ws_reader *r, const uint8_t *p, size_t len, size_t step)
{
    outcome o = {0};
    size_t off = 0;
    for (;;) {
        size_t give = len - off < step ? len - off : step, used;
        gh_ws_event ev = gh_ws_read(r, p + off, give, &used);
        off += used;
        if (ev == GH_WS_ERROR) {
            o.error = r->error_code;
            break;
        }
        if (ev == GH_WS_HEAD)
            o.head_bytes += r->head_len;
        if (ev == GH_WS_DATA)
            o.payload += used;
        if (ev == GH_WS_NEED && off == len)
            break;
    }
    o.frames = r->frames;
    o.close = r->close_code;
    o.ended_at_boundary = gh_ws_at_boundary(r);
    return o;
}

static outcome read_one(bool masked, const uint8_t *p, size_t len, size_t step)
{
    gh_ws_reader r;
    gh_ws_reader_init(&r, masked, 1000, 2500);
    return read_all(&r, p, len, step);
}

static void passes_frames_whole_and_bytewise(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t n = 0;
    n += frame(buf + n, 0x81, 5, true);   /* text, not fragmented */
    n += frame(buf + n, 0x82, 0, true);   /* empty binary */
    n += frame(buf + n, 0x82, 300, true); /* 16-bit length */
    n += frame(buf + n, 0x89, 125, true); /* ping at the limit */
    n += frame(buf + n, 0x01, 900, true); /* a message in three fragments, a pong between */
    n += frame(buf + n, 0x8a, 3, true);
    n += frame(buf + n, 0x00, 900, true);
    n += frame(buf + n, 0x80, 600, true);
    for (size_t step = 1; step <= n; step = step * 3 + 1) {
        outcome o = read_one(true, buf, n, step);
        assert_int_equal(o.error, 0);
        assert_int_equal(o.frames, 8);
        assert_int_equal(o.payload, 5 + 300 + 125 + 900 + 3 + 900 + 600);
        assert_int_equal(o.payload + o.head_bytes, n);
        assert_true(o.ended_at_boundary);
    }
    /* A server's frames are not masked. */
    n = frame(buf, 0x82, 700, false);
    assert_int_equal(read_one(false, buf, n, 7).error, 0);
}

static void close_codes(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = gh_ws_close_frame(buf, 1000, MASK);
    outcome o = read_one(true, buf, n, 1);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.close, 1000);
    n = gh_ws_close_frame(buf, 4001, NULL);
    assert_int_equal(read_one(false, buf, n, 100).close, 4001);
    /* An empty close frame: no status. */
    buf[0] = 0x88, buf[1] = 0;
    assert_int_equal(read_one(false, buf, 2, 100).close, GH_WS_NO_STATUS);
    /* 1005 and 1006 are never sent; nor a one-byte payload. */
    n = gh_ws_close_frame(buf, 1006, NULL);
    assert_int_equal(read_one(false, buf, n, 100).error, GH_WS_PROTOCOL_ERROR);
    buf[0] = 0x88, buf[1] = 1, buf[2] = 3;
    assert_int_equal(read_one(false, buf, 3, 100).error, GH_WS_PROTOCOL_ERROR);
    /* A side's close frame is its last (RFC 6455 5.5.1): a frame after it, even after an empty
     * close, is refused whole or byte by byte. */
    uint8_t two[8] = {0x88, 0, 0x81, 1, 'x'};
    for (size_t step = 1; step <= 5; step += 4) {
        outcome after = read_one(false, two, 5, step);
        assert_int_equal(after.error, GH_WS_PROTOCOL_ERROR);
        assert_int_equal(after.payload, 0);
    }
}

/* Each refusal comes with the head, before any payload byte passes. */
static void refusals(void **state)
{
    (void)state;
    uint8_t buf[8192];
    struct {
        uint8_t b0;
        uint64_t len;
        bool masked;
        uint16_t want;
    } cases[] = {
        {0x81, 5, false, GH_WS_PROTOCOL_ERROR},  /* a client's frame unmasked */
        {0xc1, 5, true, GH_WS_PROTOCOL_ERROR},   /* RSV1: no extension negotiated */
        {0xa1, 5, true, GH_WS_PROTOCOL_ERROR},   /* RSV2 */
        {0x83, 5, true, GH_WS_PROTOCOL_ERROR},   /* reserved data opcode */
        {0x8b, 5, true, GH_WS_PROTOCOL_ERROR},   /* reserved control opcode */
        {0x09, 5, true, GH_WS_PROTOCOL_ERROR},   /* fragmented ping */
        {0x89, 126, true, GH_WS_PROTOCOL_ERROR}, /* ping over 125 bytes */
        {0x80, 5, true, GH_WS_PROTOCOL_ERROR},   /* continuation with no message */
        {0x82, 1001, true, GH_WS_TOO_BIG},       /* over max_frame */
        {0x82, 70000, true, GH_WS_TOO_BIG},      /* 64-bit length, over max_frame */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t len = cases[i].len > 2000 ? 0 : cases[i].len;
        size_t n = frame(buf, cases[i].b0, len, cases[i].masked);
        if (cases[i].len > 2000) { /* the head alone says it */
            n = 2 + 8 + 4;
            buf[1] = 0x80 | 127;
            for (int k = 0; k < 8; k++)
                buf[2 + k] = (uint8_t)(cases[i].len >> (8 * (7 - k)));
        }
        outcome o = read_one(true, buf, n, 1);
        if (o.error != cases[i].want)
            fail_msg("case %zu: error %u, want %u", i, o.error, cases[i].want);
        assert_int_equal(o.payload, 0);
    }
    /* Lengths not in their shortest form, and with the top bit set. */
    uint8_t longer[] = {0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4};
    assert_int_equal(read_one(true, longer, sizeof(longer), 1).error, GH_WS_PROTOCOL_ERROR);
    uint8_t top[] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    assert_int_equal(read_one(true, top, sizeof(top), 1).error, GH_WS_PROTOCOL_ERROR);
    /* A server's frame masked. */
    size_t n = frame(buf, 0x81, 3, true);
    assert_int_equal(read_one(false, buf, n, 100).error, GH_WS_PROTOCOL_ERROR);
    /* A new message before the last one ended. */
    n = frame(buf, 0x01, 3, true);
    n += frame(buf + n, 0x81, 3, true);
    assert_int_equal(read_one(true, buf, n, 100).error, GH_WS_PROTOCOL_ERROR);
}

/* The message's fragments count together; a new message starts from zero. */
static void message_limit(void **state)
{
    (void)state;
    uint8_t buf[8192];
    size_t n = frame(buf, 0x01, 1000, true);
    n += frame(buf + n, 0x00, 1000, true);
    n += frame(buf + n, 0x80, 500, true); /* 2500: the limit exactly */
    n += frame(buf + n, 0x81, 1000, true);
    outcome o = read_one(true, buf, n, 64);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.frames, 4);
    n = frame(buf, 0x01, 1000, true);
    n += frame(buf + n, 0x00, 1000, true);
    n += frame(buf + n, 0x80, 501, true);
    o = read_one(true, buf, n, 64);
    assert_int_equal(o.error, GH_WS_TOO_BIG);
    assert_int_equal(o.payload, 2000);
}

static void handshake(void **state)
{
    (void)state;
    char out[29];
    /* RFC 6455 1.3's example. */
    gh_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(gh_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ==", 24));
    assert_false(gh_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ=", 23));
    assert_false(gh_ws_key_ok("dGhlIHNhbXBsZSBub25jZR==", 24)); /* padding bits set */
    assert_false(gh_ws_key_ok("dGhlIHNhbXBsZSBub25j*Q==", 24));
    assert_false(gh_ws_key_ok("dGhlIHNhbXBsZSBub25jZQ=A", 24));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passes_frames_whole_and_bytewise),
        cmocka_unit_test(close_codes),
        cmocka_unit_test(refusals),
        cmocka_unit_test(message_limit),
        cmocka_unit_test(handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
