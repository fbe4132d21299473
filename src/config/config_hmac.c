/* identity.hmac.<name>: webhook signatures. A scheme (github, stripe, slack, or generic with its
 * own header names), one or more secrets by reference (a rotation keeps the old one listed until
 * senders moved), and the tolerance for signed timestamps and remembered signatures. */
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "identity/token_cache.h"

#define GH_HMAC_SEEN 100000 /* signatures remembered per provider against replay */

static const char *const schemes[] = {"github", "stripe", "slack", "generic", NULL};

/* The header of the scheme, unless generic names its own. */
static void load_header(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const headers[] = {"X-Hub-Signature-256", "Stripe-Signature",
                                          "X-Slack-Signature", "X-Signature"};
    gh_hmac_provider *p = call->target;
    p->header = headers[p->scheme];
    p->timestamp_header = p->scheme == GH_HMAC_SLACK ? "X-Slack-Request-Timestamp" : NULL;
    if (!v)
        return;
    if (p->scheme != GH_HMAC_GENERIC)
        gh__walk_error(w, v, "the %s scheme has its own header (%s): header is for generic", schemes[p->scheme], p->header);
    else if (gh__walk_str(w, v, &p->header) && !gh__cfg_plain_header_ok(p->header))
        gh__walk_error(w, v, "'%s': a header name other than Authorization and Cookie", p->header);
}

static bool generic_only(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    const gh_hmac_provider *p = call->target;
    if (p->scheme != GH_HMAC_GENERIC)
        gh__walk_error(w, v, "timestamp_header is for the generic scheme");
    return p->scheme == GH_HMAC_GENERIC;
}

static void load_secrets(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_hmac_provider *p = call->target;
    size_t count = 0;
    yaml_node_item_t *items = gh__walk_items_within(
        w, v, 8, "secrets (the current one, and those being retired)", &count);
    if (!items)
        return;
    p->secrets = gh_arena_zalloc(w->arena, count * sizeof(*p->secrets));
    p->secret_lens = gh_arena_zalloc(w->arena, count * sizeof(*p->secret_lens));
    for (size_t i = 0; p->secrets && p->secret_lens && i < count; i++) {
        size_t at = gh__walk_push_index(w, i);
        char *secret = gh__walk_secret(w, gh__walk_node(w, items[i]), &p->secret_lens[i]);
        if (secret && !gh__cfg_keep_secret(w, secret, p->secret_lens[i]))
            secret = NULL;
        p->secrets[i] = secret;
        if (p->secrets[i] && p->secret_lens[i] < 16)
            gh__walk_error(w, gh__walk_node(w, items[i]), "a secret of at least 16 bytes");
        p->nsecrets += p->secrets[i] != NULL;
        gh__walk_pop(w, at);
    }
}

static const gh_keyword hmac_keys[] = {
    {"scheme", GH_KW_ENUM, GH_KW_REQUIRED, GH_KW_AT(gh_hmac_provider, scheme), .choices = schemes},
    {"tolerance", GH_KW_DURATION, GH_KW_AT(gh_hmac_provider, tolerance_s), .min = 1000,
     .max = 86400000, .unit = 1000, .def = "5m"},
    {"header", GH_KW_CUSTOM, GH_KW_ALWAYS, .load = load_header},
    {"timestamp_header", GH_KW_STRING, GH_KW_AT(gh_hmac_provider, timestamp_header),
     .guard = generic_only, .valid = gh__cfg_plain_header_ok,
     .invalid = "'%s': a header name other than Authorization and Cookie"},
    {"secrets", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_secrets},
    GH_KW_END,
};

void gh__cfg_load_hmac_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    (void)ctx;
    gh_hmac_provider *p = prov;
    if (!gh__cfg_apply(w, n, hmac_keys, p, NULL))
        return;
    if (!(p->seen = gh_token_cache_new(GH_HMAC_SEEN)) || !gh__cfg_keep_cache(w, p->seen)) {
        p->seen = NULL;
        gh__walk_error(w, n, "out of memory");
    }
}
