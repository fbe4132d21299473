/* http1:, http2: and limits: how strictly requests are read, and how much one client may send
 * and hold, with the defaults every gateway starts from. */
#include "config/config_internal.h"

#define GH_BLOCK_LIMIT (32u << 10) /* max_head_bytes cannot exceed an input block */

static const char *const strictness[] = {"strict", "defensive", NULL};

const gh_keyword gh__cfg_http1_keys[] = {
    {"strictness", GH_KW_ENUM, GH_KW_AT(gh_config, defensive), .choices = strictness},
    GH_KW_END,
};

const gh_keyword gh__cfg_http2_keys[] = {
    {"max_concurrent_streams", GH_KW_UINT, GH_KW_AT(gh_http2_conf, max_streams), .min = 1,
     .max = 1000, .def = "100"},
    {"initial_window_size", GH_KW_SIZE, GH_KW_AT(gh_http2_conf, window), .min = 65535,
     .max = 16u << 20, .def = "65535"},
    {"header_table_size", GH_KW_SIZE, GH_KW_AT(gh_http2_conf, table_size), .max = 65536,
     .def = "4096"},
    /* Unset (0): limits.max_head_bytes. */
    {"max_header_list_size", GH_KW_SIZE, GH_KW_AT(gh_http2_conf, max_header_list), .min = 1024,
     .max = 1u << 20},
    GH_KW_END,
};

const gh_keyword gh__cfg_limits_keys[] = {
    {"max_head_bytes", GH_KW_SIZE, GH_KW_AT(gh_limits_conf, max_head_bytes), .min = 1024,
     .max = GH_BLOCK_LIMIT, .def = "16k"},
    {"max_headers", GH_KW_UINT, GH_KW_AT(gh_limits_conf, max_headers), .min = 1, .max = 1000,
     .def = "100"},
    {"max_target_bytes", GH_KW_SIZE, GH_KW_AT(gh_limits_conf, max_target_bytes), .min = 64,
     .max = GH_BLOCK_LIMIT, .def = "8k"},
    {"head_timeout", GH_KW_DURATION, GH_KW_AT(gh_limits_conf, head_timeout_ms), .min = 100,
     .max = 3600000, .def = "10s"},
    {"idle_timeout", GH_KW_DURATION, GH_KW_AT(gh_limits_conf, idle_timeout_ms), .min = 100,
     .max = 86400000, .def = "60s"},
    {"body_timeout", GH_KW_DURATION, GH_KW_AT(gh_limits_conf, body_timeout_ms), .min = 100,
     .max = 3600000, .def = "30s"},
    /* A body must keep coming at 1 KiB/s (judged over 5 s windows after the first) and arrive
     * whole within 60 s: a client trickling bytes cannot hold an upstream slot. */
    {"body_deadline", GH_KW_DURATION, GH_KW_AT(gh_limits_conf, body_deadline_ms), .min = 100,
     .max = 86400000, .def = "60s"},
    {"body_min_rate", GH_KW_SIZE, GH_KW_AT(gh_limits_conf, body_min_rate), .max = 1ull << 30,
     .def = "1k"},
    {"body_rate_window", GH_KW_DURATION, GH_KW_AT(gh_limits_conf, body_rate_window_ms),
     .min = 100, .max = 3600000, .def = "5s"},
    {"body_buffer_before_upstream", GH_KW_SIZE, GH_KW_AT(gh_limits_conf, body_buffer_bytes),
     .max = 1ull << 30},
    {"max_body_bytes", GH_KW_SIZE, GH_KW_AT(gh_limits_conf, max_body_bytes), .max = 1ull << 40,
     .def = "10m"},
    {"max_connections", GH_KW_UINT, GH_KW_AT(gh_limits_conf, max_connections), .min = 1,
     .max = 1000000, .def = "16384"},
    GH_KW_END,
};

void gh__cfg_load_limits(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_limits_conf *l = &((gh_config *)call->target)->limits;
    if (gh__cfg_apply(w, n, gh__cfg_limits_keys, l, NULL) && l->max_target_bytes > l->max_head_bytes)
        gh__walk_error(w, n, "max_target_bytes (%zu) exceeds max_head_bytes (%zu)",
                       l->max_target_bytes, l->max_head_bytes);
}
