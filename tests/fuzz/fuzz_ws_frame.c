/* The WebSocket frame reader on any bytes, in pieces the input chooses: it never reads outside
 * what it is given, takes every byte once, and reads the same whole as in pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ws_frame.h"

typedef struct seen {
    uint64_t frames, taken;
    uint16_t error, close;
} seen;

static seen run(const uint8_t *p, size_t len, bool masked, size_t step)
{
    gh_ws_reader r;
    gh_ws_reader_init(&r, masked, 300, 700);
    seen s = {0};
    size_t off = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t give = len - off < step ? len - off : step, used;
        gh_ws_event ev = gh_ws_read(&r, p + off, give, &used);
        if (used > give)
            abort();
        off += used;
        s.taken += used;
        if (ev == GH_WS_ERROR) {
            if (!r.error || !r.error_code)
                abort();
            s.error = r.error_code;
            break;
        }
        if (ev == GH_WS_HEAD && (r.head_len < 2 || r.head_len > GH_WS_HEAD_MAX))
            abort();
        if (ev == GH_WS_NEED && off == len)
            break;
    }
    s.frames = r.frames;
    s.close = r.close_code;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool masked = data[0] & 1;
    size_t step = (data[0] >> 1) + 1;
    seen whole = run(data + 1, size - 1, masked, size);
    seen pieces = run(data + 1, size - 1, masked, step);
    if (whole.frames != pieces.frames || whole.error != pieces.error ||
        whole.close != pieces.close || whole.taken != pieces.taken)
        abort();
    uint8_t out[8], mask[4] = {1, 2, 3, 4};
    if (gh_ws_close_frame(out, 1000, masked ? mask : NULL) > sizeof(out))
        abort();
    return 0;
}
