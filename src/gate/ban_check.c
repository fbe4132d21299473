/* Bans at the door (gate/ban_check.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "gate/ban_check.h"
#include "gate/client_key.h"
#include "gate/pipeline.h"
#include "store/bans.h"

/* The refusal: the status bans.status names, Retry-After with the seconds left when 429, the
 * detector in the problem document and the log's detail. */
static void refuse(gh_request *req, const gh_ban *b, int64_t now)
{
    const gh_bans_conf *c = &req->config->bans;
    atomic_fetch_add_explicit(&c->table->refusals, 1, memory_order_relaxed);
    long long left = b->until - now > 0 ? (long long)(b->until - now) : 1;
    if (c->status == GH_BAN_STATUS_429) {
        req->refusal_status = 429;
        req->extra_headers = gh_arena_printf(&req->arena, "Retry-After: %lld\r\n", left);
    }
    char extra[2 * GH_BAN_NAME_MAX + 64];
    gh_sbuf x = gh_sbuf_make(extra, sizeof(extra) - 1);
    GH_SBUF_LIT(&x, "\"detector\":");
    gh_sbuf_json_str(&x, b->detector, strlen(b->detector));
    gh_sbuf_addf(&x, ",\"retry_after\":%lld", left);
    if (!x.overflow) {
        extra[x.len] = '\0';
        req->problem_extra = gh_arena_strdup(&req->arena, extra);
    }
    req->close_after = true;
    const char *detail = gh_arena_printf(&req->arena, "this client is banned (%s) for %lld more "
                                         "seconds", b->detector, left);
    gh_request_refuse(req, GH_R_CLIENT_BANNED, detail ? detail : "this client is banned");
}

static bool refuses(gh_request *req, const char *key, size_t len)
{
    gh_ban b;
    int64_t now = (int64_t)time(NULL);
    if (!len || !gh_bans_find(req->config->bans.table, key, len, now, &b))
        return false;
    refuse(req, &b, now);
    return true;
}

bool gh_ban_refuses_address(gh_request *req)
{
    const gh_bans_conf *c = &req->config->bans;
    if (!gh_bans_any(c->table))
        return false;
    char key[GH_BAN_KEY_MAX];
    return refuses(req, key, gh_client_address_key(req, c->ipv4_prefix, c->ipv6_prefix, key,
                                                   sizeof(key)));
}

bool gh_ban_refuses_identity(gh_request *req)
{
    if (!gh_bans_any(req->config->bans.table))
        return false;
    char key[GH_BAN_KEY_MAX];
    return refuses(req, key, gh_client_identity_key(req, key, sizeof(key)));
}
