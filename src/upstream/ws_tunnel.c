/* A WebSocket session through the gateway: once the upstream accepted the handshake (101 with
 * the right Sec-WebSocket-Accept), the client's connection and the upstream's carry frames.
 * Each direction has its reader (wire/ws_frame.c) that judges every frame's head before any of
 * its bytes go on: a client's frames must be masked, a server's must not; control frames are
 * short and whole; no RSV bit is set (no extension is ever negotiated: the gateway strips
 * Sec-WebSocket-Extensions from the handshake); frames and messages stay under the route's
 * bounds. The bytes themselves go on as they came, in runs, with backpressure both ways: the
 * client's input waits while the upstream's output is above its high mark, and the upstream is
 * read while the client keeps up.
 *
 * The session ends with the close handshake (a close frame each way, then both connections
 * close), when either side goes away, when a frame breaks the rules (the side that sent it gets
 * a close frame with 1002 or 1009, the other 1001), when no frame moved for idle_timeout, or
 * when the gateway drains (1001 both ways). A close frame is put in a direction only between
 * frames. The request lives as long as the session: its log line says how it went. */
#include <openssl/rand.h>
#include <string.h>

#include "core/clock.h"
#include "gate/respond.h"
#include "upstream/upconn.h"
#include "wire/ws_frame.h"

typedef struct gh_ws_tunnel {
    gh_ws_reader from_client, from_upstream;
    bool client_closed, upstream_closed; /* a close frame passed from that side */
    bool client_read;                    /* the client's input was offered since the 101 */
} gh_ws_tunnel;

static const gh_websocket_conf *conf_of(const gh_request *req)
{
    return req->match.route->websocket;
}

/* No frame moved for idle_timeout: the timer ends the session (gh__ws_idle). */
static void touch(gh_upconn *up)
{
    gh_deadline_set(&up->timer, conf_of(up->req)->idle_timeout_ms);
}

/* Ends the session: the upstream connection closes, the client's once its output is out. */
static void end_session(gh_upconn *up)
{
    gh_request *req = up->req;
    req->close_after = true;
    gh__upconn_close(up);
    req->ds->finish(req);
}

static void note_close(gh_request *req, uint16_t code, const char *by)
{
    if (req->ws.close_code)
        return;
    req->ws.close_code = code;
    req->ws.closed_by = by;
}

/* Close frames of the gateway's own, to each side that can take one now (between frames, and
 * not after its peer's close went to it), then the end. */
static void gateway_close(gh_upconn *up, uint16_t to_client, uint16_t to_upstream, const char *why)
{
    gh_request *req = up->req;
    gh_ws_tunnel *t = up->ws;
    note_close(req, to_client == GH_WS_GOING_AWAY ? to_upstream : to_client, "gateway");
    req->ws.error = why;
    uint8_t frame[8], mask[4];
    if (!t->upstream_closed && !t->from_upstream.in_frame) {
        uv_buf_t b =
            uv_buf_init((char *)frame, (unsigned)gh_ws_close_frame(frame, to_client, NULL));
        req->ds->send(req, &b, 1);
    }
    if (!t->client_closed && !t->from_client.in_frame && RAND_bytes(mask, 4) == 1) {
        uv_buf_t b =
            uv_buf_init((char *)frame, (unsigned)gh_ws_close_frame(frame, to_upstream, mask));
        gh__up_write(up, &b, 1);
    }
    end_session(up);
}

/* One direction's bytes on: 0, or the write's error. */
static int pass(gh_upconn *up, bool from_client, const char *p, size_t n)
{
    if (!n)
        return 0;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    if (from_client) {
        up->req->ws.bytes_in += n;
        return gh__up_write(up, &b, 1);
    }
    up->req->ws.bytes_out += n;
    return up->req->ds->send(up->req, &b, 1);
}

/* A side went away or could not be written to: the other is told 1001 where it can be. */
static void side_gone(gh_upconn *up, bool client)
{
    gh_request *req = up->req;
    if (client) {
        note_close(req, GH_WS_ABNORMAL, "client");
        req->ds->cut(req); /* the request ends; its abort closes the upstream */
        return;
    }
    note_close(req, GH_WS_ABNORMAL, "upstream");
    up->ws->client_closed = true; /* nothing more goes to the upstream */
    gateway_close(up, GH_WS_GOING_AWAY, GH_WS_GOING_AWAY, NULL);
}

/* A close frame ended: the handshake is complete once each side sent one. */
static bool close_seen(gh_upconn *up, bool from_client, uint16_t code)
{
    gh_ws_tunnel *t = up->ws;
    note_close(up->req, code, from_client ? "client" : "upstream");
    if (from_client)
        t->client_closed = true;
    else
        t->upstream_closed = true;
    if (!(t->client_closed && t->upstream_closed))
        return false;
    end_session(up);
    return true;
}

/* Relays p[0..len) from one side to the other through that side's reader, in runs of
 * contiguous bytes. *taken: the bytes used. False when the session ended (the request may be
 * gone). */
static bool relay(gh_upconn *up, bool from_client, const char *p, size_t len, size_t *taken)
{
    gh_ws_tunnel *t = up->ws;
    gh_ws_reader *r = from_client ? &t->from_client : &t->from_upstream;
    uint64_t *frames = from_client ? &up->req->ws.frames_in : &up->req->ws.frames_out;
    size_t off = 0, run = 0; /* p[off - run, off): judged bytes not yet passed on */
    for (;;) {
        size_t used;
        gh_ws_event ev = gh_ws_read(r, (const uint8_t *)p + off, len - off, &used);
        int err = 0;
        if (ev == GH_WS_HEAD) {
            (*frames)++;
            if (used == r->head_len) {
                run += used;
            } else { /* the head began in an earlier read: the reader holds it whole */
                err = pass(up, from_client, p + off - run, run);
                run = 0;
                err = err ? err : pass(up, from_client, (const char *)r->head, r->head_len);
            }
        } else if (ev == GH_WS_DATA) {
            run += used;
        }
        off += used;
        if (ev == GH_WS_NEED || ev == GH_WS_END || ev == GH_WS_ERROR) {
            err = pass(up, from_client, p + off - run, run);
            run = 0;
        }
        *taken = off;
        if (err) {
            side_gone(up, !from_client);
            return false;
        }
        if (ev == GH_WS_NEED)
            return true;
        if (ev == GH_WS_ERROR) {
            uint16_t code = r->error_code;
            gateway_close(up, from_client ? code : GH_WS_GOING_AWAY,
                          from_client ? GH_WS_GOING_AWAY : code, r->error);
            return false;
        }
        if (ev == GH_WS_END && r->opcode == 8 && close_seen(up, from_client, r->close_code))
            return false;
    }
}

const char *gh__ws_start(gh_upconn *up, bool *upstream_fault)
{
    gh_request *req = up->req;
    *upstream_fault = true;
    const gh_h1_response *r = &up->resp;
    const gh_h1_header *acc = GH_H1_FIND(r->headers, r->nheaders, "sec-websocket-accept");
    const gh_h1_header *upg = GH_H1_FIND(r->headers, r->nheaders, "upgrade");
    if (!acc || acc->value_len != 28 || memcmp(acc->value, req->ws.accept, 28) != 0)
        return "the upstream's 101 has no Sec-WebSocket-Accept matching the key";
    if (!upg || !gh_h1_list_has_n(upg->value, upg->value_len, "websocket", 9))
        return "the upstream's 101 does not switch to websocket";
    if (GH_H1_FIND(r->headers, r->nheaders, "sec-websocket-extensions"))
        return "the upstream's 101 names an extension the gateway did not offer";
    *upstream_fault = false; /* the handshake was right: what fails now is the gateway's side */
    gh_h1_header f[GH_UP_MAX_HEADERS + GH_ADDED_FIELDS_MAX];
    size_t n = gh__response_fields(req, r, f, sizeof(f) / sizeof(f[0]));
    size_t cap = 128;
    for (size_t i = 0; n != SIZE_MAX && i < n; i++)
        cap += f[i].name_len + f[i].value_len + 4;
    char *buf = n == SIZE_MAX ? NULL : gh_arena_alloc(&req->arena, cap);
    gh_ws_tunnel *t = gh_arena_zalloc(&req->arena, sizeof(*t));
    if (!buf || !t)
        return "out of request memory";
    gh_sbuf b = gh_sbuf_make(buf, cap);
    GH_SBUF_LIT(
        &b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
    gh_respond_format_fields(&b, f, n);
    GH_SBUF_LIT(&b, "\r\n");
    if (b.overflow || req->ds->tunnel(req) != 0)
        return "the response head did not fit, or the client's connection carries no tunnel";
    const gh_websocket_conf *ws = conf_of(req);
    gh_ws_reader_init(&t->from_client, true, ws->max_frame_bytes, ws->max_message_bytes);
    gh_ws_reader_init(&t->from_upstream, false, ws->max_frame_bytes, ws->max_message_bytes);
    up->ws = t;
    req->status = 101;
    req->ws.open = true;
    gh_metric_add(&req->svc->metrics.ws_open, 1);
    uv_buf_t head = uv_buf_init(b.p, (unsigned)b.len);
    if (req->ds->send(req, &head, 1) != 0)
        return "the client went away";
    touch(up);
    return NULL;
}

bool gh__ws_from_upstream(gh_upconn *up)
{
    gh_block *in = up->in;
    size_t taken;
    if (!relay(up, false, in->data + in->off, in->len - in->off, &taken))
        return false;
    gh_block_put(&up->svc->blocks, in); /* an idle session holds no block */
    up->in = NULL;
    touch(up);
    return true;
}

void gh__ws_settled(gh_upconn *up)
{
    gh_ws_tunnel *t = up->ws;
    if (t->client_read)
        return;
    /* Frames the client sent right behind its handshake wait in the connection's input, and
     * no read event would bring them: they are offered now, last, as the request may end. */
    t->client_read = true;
    up->req->ds->body_drained(up->req);
}

void gh__ws_upstream_ended(gh_upconn *up)
{
    if (up->ws->upstream_closed) { /* its close frame passed: the client's answer may not come */
        end_session(up);
        return;
    }
    side_gone(up, false);
}

void gh__ws_idle(gh_upconn *up)
{
    gateway_close(up, GH_WS_GOING_AWAY, GH_WS_GOING_AWAY,
                  "no frame either way within websocket.idle_timeout");
}

size_t gh__ws_tunnel_in(gh_request *req, const char *data, size_t len)
{
    gh_upconn *up = req->up;
    if (!up || !up->ws)
        return len; /* the session is over: what follows is dropped */
    if (len == 0) {
        note_close(req, GH_WS_ABNORMAL, "client");
        return 0;
    }
    if (up->out.pending >= GH_OUTQ_HIGH)
        return 0; /* the upstream is behind: on_up_drain resumes the client */
    size_t taken = 0;
    if (relay(up, true, data, len, &taken))
        touch(up);
    return taken;
}

void gh__ws_going_away(gh_request *req)
{
    if (req->up && req->up->ws)
        gateway_close(req->up, GH_WS_GOING_AWAY, GH_WS_GOING_AWAY, "the gateway is draining");
}
