/* A route's websocket: the pages that may open sessions and the bounds of each session. */
#include "config/config_internal.h"
#include "route/route.h"

static void load_origins(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_websocket_conf *ws = call->target;
    ws->any_origin =
        gh__cfg_origin_list(w, v, &ws->origins, &ws->norigins,
                            "at least one origin (leave origins out for same-origin pages only)");
}

static const gh_keyword websocket_keys[] = {
    {"origins", GH_KW_CUSTOM, .load = load_origins},
    {"max_frame_bytes", GH_KW_SIZE, GH_KW_AT(gh_websocket_conf, max_frame_bytes), .min = 125,
     .max = 1ull << 30, .def = "1m"},
    {"max_message_bytes", GH_KW_SIZE, GH_KW_AT(gh_websocket_conf, max_message_bytes), .min = 125,
     .max = 1ull << 32, .def = "4m"},
    {"idle_timeout", GH_KW_DURATION, GH_KW_AT(gh_websocket_conf, idle_timeout_ms), .min = 1000,
     .max = 86400000, .def = "5m"},
    {"max_connections", GH_KW_UINT, GH_KW_AT(gh_websocket_conf, max_connections), .min = 1,
     .max = 1000000, .def = "1000"},
    GH_KW_END,
};

void gh__cfg_load_websocket(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
    gh_websocket_conf *ws = gh_arena_zalloc(w->arena, sizeof(*ws));
    if (!ws || !gh__cfg_apply(w, n, websocket_keys, ws, NULL))
        return;
    if (ws->max_message_bytes < ws->max_frame_bytes)
        gh__walk_error(w, n,
                       "max_message_bytes (%llu) is less than max_frame_bytes (%llu): a "
                       "message is one frame or more",
                       (unsigned long long)ws->max_message_bytes,
                       (unsigned long long)ws->max_frame_bytes);
    if (!r->upstream)
        gh__walk_error(w, n, "a session needs an upstream: not on a route that responds itself");
    if (!(r->methods & GH_M_GET))
        gh__walk_error(w, n, "the handshake is a GET: the route's methods must include GET");
    if (!(ws->sessions = gh_arena_zalloc(w->arena, sizeof(*ws->sessions))))
        return;
    atomic_init(ws->sessions, 0);
    r->websocket = ws;
}
