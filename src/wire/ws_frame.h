/* WebSocket frames (RFC 6455 section 5): an incremental reader that judges each frame's head
 * before any of its bytes go on, and the few frames the gateway writes itself. Pure functions:
 * no allocation, no I/O. The tunnel (upstream/ws_tunnel.c) relays the bytes as they came (a
 * client's frames stay masked with the client's key), so the reader only says which bytes
 * belong to frames that passed. */
#ifndef GH_WIRE_WS_FRAME_H
#define GH_WIRE_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Close codes the gateway sends or records (RFC 6455 7.4.1). */
enum {
    GH_WS_NORMAL = 1000,
    GH_WS_GOING_AWAY = 1001,
    GH_WS_PROTOCOL_ERROR = 1002,
    GH_WS_NO_STATUS = 1005, /* a close frame without a code */
    GH_WS_ABNORMAL = 1006,  /* never sent: the connection ended without a close frame */
    GH_WS_TOO_BIG = 1009,
};

#define GH_WS_CONTROL_MAX 125
#define GH_WS_HEAD_MAX 14

typedef enum {
    GH_WS_NEED,  /* every byte given was used: more are needed */
    GH_WS_HEAD,  /* a frame's head passed: its bytes are r->head[0..head_len) */
    GH_WS_DATA,  /* payload: the bytes used, as they came (still masked) */
    GH_WS_END,   /* the frame ended (a close frame's code is in r->close_code) */
    GH_WS_ERROR, /* the frame is refused: r->error_code and r->error say why */
} gh_ws_event;

typedef struct gh_ws_reader {
    /* settings */
    bool masked; /* frames must be masked (a client's) or must not be (a server's) */
    uint64_t max_frame, max_message;
    /* the frame being read */
    uint8_t head[GH_WS_HEAD_MAX];
    uint8_t head_len, head_need;
    bool in_frame, fin;
    uint8_t opcode;
    uint8_t mask[4];
    uint64_t frame_len, left;
    uint8_t ctrl[GH_WS_CONTROL_MAX]; /* a control frame's payload, unmasked */
    uint8_t ctrl_len;
    /* the message being read: a data frame without FIN leaves it open */
    bool in_message;
    uint64_t message_bytes;
    /* what was read */
    uint64_t frames;
    uint16_t close_code; /* of the last close frame that ended; 0: none */
    uint16_t error_code; /* GH_WS_PROTOCOL_ERROR or GH_WS_TOO_BIG after GH_WS_ERROR */
    const char *error;
} gh_ws_reader;

void gh_ws_reader_init(gh_ws_reader *r, bool masked, uint64_t max_frame, uint64_t max_message);

/* Reads from p[0..len): the next event and, in *used, the bytes of p it took (for GH_WS_DATA,
 * those bytes are the payload to pass on). Call again with what is left, also when nothing is
 * left: a frame whose payload is complete gives GH_WS_END without more input. After GH_WS_ERROR
 * the reader stays failed. */
gh_ws_event gh_ws_read(gh_ws_reader *r, const uint8_t *p, size_t len, size_t *used);

/* Whether the reader is between frames (a frame of the gateway's own may be put in). */
bool gh_ws_at_boundary(const gh_ws_reader *r);

/* A close frame with code (and no reason) into out (at least 8 bytes): masked with mask when
 * it is not NULL (the gateway speaking as a client). Returns its length. */
size_t gh_ws_close_frame(uint8_t *out, uint16_t code, const uint8_t *mask);

/* Whether a close code may be sent in a close frame (RFC 6455 7.4). */
bool gh_ws_close_code_ok(unsigned code);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2): 28 characters and a NUL into
 * out. */
void gh_ws_accept(const char *key, size_t key_len, char out[29]);

/* Whether a Sec-WebSocket-Key is the base64 of 16 bytes (RFC 6455 4.1). */
bool gh_ws_key_ok(const char *key, size_t len);

#endif
