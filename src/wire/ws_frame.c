/* WebSocket frames: the incremental reader and the frames the gateway writes (ws_frame.h). */
#include <openssl/evp.h>
#include <string.h>

#include "core/b64url.h"
#include "wire/ws_frame.h"

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

void gh_ws_reader_init(gh_ws_reader *r, bool masked, uint64_t max_frame, uint64_t max_message)
{
    memset(r, 0, sizeof(*r));
    r->masked = masked;
    r->max_frame = max_frame;
    r->max_message = max_message;
    r->head_need = 2;
}

static gh_ws_event fail(gh_ws_reader *r, uint16_t code, const char *why)
{
    r->error_code = code;
    r->error = why;
    return GH_WS_ERROR;
}

/* The bytes the head takes once its first two are known. */
static uint8_t head_size(const uint8_t *h)
{
    uint8_t n = 2, len7 = h[1] & 0x7f;
    n += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    return (uint8_t)(n + ((h[1] & 0x80) ? 4 : 0));
}

static uint64_t payload_length(const uint8_t *h)
{
    uint8_t len7 = h[1] & 0x7f;
    if (len7 < 126)
        return len7;
    uint64_t v = 0;
    for (int i = 0, n = len7 == 126 ? 2 : 8; i < n; i++)
        v = v << 8 | h[2 + i];
    return v;
}

/* The head's fields against RFC 6455 5.2-5.5 and the limits. */
static gh_ws_event judge_head(gh_ws_reader *r)
{
    const uint8_t *h = r->head;
    uint8_t op = h[0] & 0x0f, len7 = h[1] & 0x7f;
    bool fin = (h[0] & 0x80) != 0, masked = (h[1] & 0x80) != 0;
    uint64_t len = payload_length(h);
    if (r->close_code) /* RFC 6455 5.5.1: a side's close frame is its last */
        return fail(r, GH_WS_PROTOCOL_ERROR, "a frame after the close frame");
    if (h[0] & 0x70)
        return fail(r, GH_WS_PROTOCOL_ERROR, "RSV bits set: no extension was negotiated");
    if (op > OP_BINARY && op != OP_CLOSE && op != OP_PING && op != OP_PONG)
        return fail(r, GH_WS_PROTOCOL_ERROR, "reserved opcode");
    if (masked != r->masked)
        return fail(r, GH_WS_PROTOCOL_ERROR,
                    r->masked ? "client frame not masked" : "server frame masked");
    if ((len7 == 126 && len < 126) || (len7 == 127 && len <= 0xffff))
        return fail(r, GH_WS_PROTOCOL_ERROR, "payload length not in its shortest form");
    if (len7 == 127 && (len >> 63))
        return fail(r, GH_WS_PROTOCOL_ERROR, "payload length with its top bit set");
    if (op & 0x8) {
        if (!fin)
            return fail(r, GH_WS_PROTOCOL_ERROR, "fragmented control frame");
        if (len > GH_WS_CONTROL_MAX)
            return fail(r, GH_WS_PROTOCOL_ERROR, "control frame longer than 125 bytes");
        if (op == OP_CLOSE && len == 1)
            return fail(r, GH_WS_PROTOCOL_ERROR, "close frame with a one-byte payload");
    } else {
        if (op == OP_CONT && !r->in_message)
            return fail(r, GH_WS_PROTOCOL_ERROR, "continuation frame outside a message");
        if (op != OP_CONT && r->in_message)
            return fail(r, GH_WS_PROTOCOL_ERROR, "new message before the last one ended");
        if (len > r->max_frame)
            return fail(r, GH_WS_TOO_BIG, "frame longer than websocket.max_frame_bytes");
        if (len > r->max_message - r->message_bytes)
            return fail(r, GH_WS_TOO_BIG, "message longer than websocket.max_message_bytes");
        r->message_bytes += len;
        r->in_message = !fin;
    }
    r->opcode = op;
    r->fin = fin;
    r->frame_len = r->left = len;
    if (masked)
        memcpy(r->mask, h + r->head_len - 4, 4);
    r->ctrl_len = 0;
    r->in_frame = true;
    r->frames++;
    return GH_WS_HEAD;
}

static gh_ws_event read_head(gh_ws_reader *r, const uint8_t *p, size_t len, size_t *used)
{
    size_t take = 0;
    while (take < len && r->head_len < r->head_need) {
        r->head[r->head_len++] = p[take++];
        if (r->head_len == 2)
            r->head_need = head_size(r->head);
    }
    *used = take;
    if (r->head_len < r->head_need)
        return GH_WS_NEED;
    return judge_head(r);
}

/* A close frame's payload, once whole: its code, checked (RFC 6455 7.4). */
static gh_ws_event end_frame(gh_ws_reader *r)
{
    r->in_frame = false;
    r->head_len = 0;
    r->head_need = 2;
    if (!(r->opcode & 0x8) && r->fin)
        r->message_bytes = 0;
    if (r->opcode != OP_CLOSE)
        return GH_WS_END;
    unsigned code = r->ctrl_len >= 2 ? (unsigned)(r->ctrl[0] << 8 | r->ctrl[1]) : GH_WS_NO_STATUS;
    if (r->ctrl_len >= 2 && !gh_ws_close_code_ok(code))
        return fail(r, GH_WS_PROTOCOL_ERROR, "close frame with an invalid code");
    r->close_code = (uint16_t)code;
    return GH_WS_END;
}

gh_ws_event gh_ws_read(gh_ws_reader *r, const uint8_t *p, size_t len, size_t *used)
{
    *used = 0;
    if (r->error_code)
        return GH_WS_ERROR;
    if (!r->in_frame)
        return len ? read_head(r, p, len, used) : GH_WS_NEED;
    if (r->left == 0)
        return end_frame(r);
    if (len == 0)
        return GH_WS_NEED;
    size_t n = len < r->left ? len : (size_t)r->left;
    if (r->opcode & 0x8) {
        uint64_t at = r->frame_len - r->left;
        for (size_t i = 0; i < n; i++, at++)
            r->ctrl[r->ctrl_len++] = (uint8_t)(p[i] ^ (r->masked ? r->mask[at & 3] : 0));
    }
    r->left -= n;
    *used = n;
    return GH_WS_DATA;
}

bool gh_ws_at_boundary(const gh_ws_reader *r)
{
    return !r->in_frame && r->head_len == 0;
}

bool gh_ws_close_code_ok(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

size_t gh_ws_close_frame(uint8_t *out, uint16_t code, const uint8_t *mask)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    out[0] = 0x80 | OP_CLOSE;
    out[1] = (uint8_t)(2 | (mask ? 0x80 : 0));
    size_t n = 2;
    if (mask) {
        memcpy(out + 2, mask, 4);
        n += 4;
    }
    for (int i = 0; i < 2; i++)
        out[n + (size_t)i] = (uint8_t)(payload[i] ^ (mask ? mask[i] : 0));
    return n + 2;
}

void gh_ws_accept(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE], in[64 + sizeof(guid)];
    unsigned mdlen = 0;
    if (key_len > 64) /* a key that passed gh_ws_key_ok has 24 */
        key_len = 64;
    memcpy(in, key, key_len);
    memcpy(in + key_len, guid, sizeof(guid) - 1);
    if (EVP_Digest(in, key_len + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL) != 1)
        mdlen = 0;
    if (mdlen != 20) {
        memset(out, 0, 29); /* matches no Sec-WebSocket-Accept */
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, md, 20);
}

bool gh_ws_key_ok(const char *key, size_t len)
{
    unsigned char raw[18];
    return len == 24 && gh_b64_decode(key, len, raw) == 16; /* strict: one spelling per key */
}
