/* identity.hmac.<name>: webhook signatures. A scheme (github, stripe, slack, or generic with its
 * own header names), one or more secrets by reference (a rotation keeps the old one listed until
 * senders moved), and the tolerance for signed timestamps and remembered signatures. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "identity/token_cache.h"

#define GH_HMAC_SEEN 100000 /* signatures remembered per provider against replay */

static bool header_ok(const char *h)
{
    return gh__cfg_header_name_ok(h) && strcasecmp(h, "authorization") != 0 &&
           strcasecmp(h, "cookie") != 0;
}

void gh__cfg_load_hmac_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    (void)ctx;
    gh_hmac_provider *p = prov;
    static const char *const keys[] = {"scheme", "secrets", "tolerance", "header",
                                       "timestamp_header", NULL};
    static const char *const schemes[] = {"github", "stripe", "slack", "generic", NULL};
    static const char *const headers[] = {"X-Hub-Signature-256", "Stripe-Signature",
                                          "X-Slack-Signature", "X-Signature"};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v;
    size_t saved;
    uint64_t ms = 300000;
    GH_CFG_FIELD(w, n, "scheme", true, {
        int s = gh__walk_enum(w, v, schemes);
        if (s >= 0)
            p->scheme = (gh_hmac_scheme)s;
    })
    p->header = headers[p->scheme];
    p->timestamp_header = p->scheme == GH_HMAC_SLACK ? "X-Slack-Request-Timestamp" : NULL;
    GH_CFG_FIELD(w, n, "tolerance", false, gh__walk_duration_ms(w, v, 1000, 86400000, &ms))
    p->tolerance_s = ms / 1000;
    bool generic = p->scheme == GH_HMAC_GENERIC;
    GH_CFG_FIELD(w, n, "header", false, {
        if (!generic)
            gh__walk_error(w, v, "the %s scheme has its own header (%s): header is for generic", schemes[p->scheme], p->header);
        else if (gh__walk_str(w, v, &p->header) && !header_ok(p->header))
            gh__walk_error(w, v, "'%s': a header name other than Authorization and Cookie", p->header);
    })
    GH_CFG_FIELD(w, n, "timestamp_header", false, {
        if (!generic)
            gh__walk_error(w, v, "timestamp_header is for the generic scheme");
        else if (gh__walk_str(w, v, &p->timestamp_header) && !header_ok(p->timestamp_header))
            gh__walk_error(w, v, "'%s': a header name other than Authorization and Cookie", p->timestamp_header);
    })
    GH_CFG_FIELD(w, n, "secrets", true, {
        size_t count = 0;
        yaml_node_item_t *items = gh__walk_items(w, v, &count);
        if (items && (count == 0 || count > 8))
            gh__walk_error(w, v, "between 1 and 8 secrets (the current one, and those being retired)");
        p->secrets = count && count <= 8 ? calloc(count, sizeof(*p->secrets)) : NULL;
        p->secret_lens = p->secrets ? calloc(count, sizeof(*p->secret_lens)) : NULL;
        for (size_t i = 0; p->secrets && p->secret_lens && i < count; i++) {
            size_t at = gh__walk_push_index(w, i);
            p->secrets[i] = gh__walk_secret(w, gh__walk_node(w, items[i]), &p->secret_lens[i]);
            if (p->secrets[i] && p->secret_lens[i] < 16)
                gh__walk_error(w, gh__walk_node(w, items[i]), "a secret of at least 16 bytes");
            p->nsecrets += p->secrets[i] != NULL;
            gh__walk_pop(w, at);
        }
    })
    p->seen = gh_token_cache_new(GH_HMAC_SEEN);
    if (!p->seen)
        gh__walk_error(w, n, "out of memory");
}
