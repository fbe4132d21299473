/* The admin API's bans (server/admin_bans.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/reason.h"
#include "gate/client_key.h"
#include "server/admin_bans.h"

static gh_admin_answer json_answer(int status, json_t *doc)
{
    gh_admin_answer a = {status, "application/json", NULL, 0};
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text) {
        a.len = strlen(text) + 1;
        a.body = realloc(text, a.len + 1);
        if (!a.body) {
            free(text);
            a.len = 0;
        } else {
            a.body[a.len - 1] = '\n';
            a.body[a.len] = '\0';
        }
    }
    return a;
}

static gh_admin_answer problem(int status, const char *title, const char *detail)
{
    /* The detail may quote the parser's message, cut inside a character: jansson takes UTF-8 */
    char text[512];
    gh_ban_text_copy(text, sizeof(text), detail, strlen(detail));
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", GH_PROBLEM_TYPE_PREFIX "admin-bans",
                            "title", title, "status", status, "detail", text);
    gh_admin_answer a = json_answer(status, doc);
    a.type = "application/problem+json";
    return a;
}

static void stamp(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        out[0] = '\0'; /* a time no calendar holds (the table bounds its times) */
}

static json_t *ban_json(const gh_ban *b, int64_t now)
{
    char since[32], until[32];
    stamp(b->since, since);
    stamp(b->until, until);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:s}", "key", b->key, "kind",
                     gh_ban_key_kind(b->key), "detector", b->detector, "reason", b->reason,
                     "since", since, "until", until, "remaining_seconds",
                     (json_int_t)(b->until - now), "strikes", (int)b->strikes, "origin",
                     b->remote ? "shared" : "local");
}

gh_admin_answer gh_admin_bans_list(gh_ban_table *t)
{
    int64_t now = (int64_t)time(NULL);
    size_t total = gh_bans_list(t, now, NULL, 0);
    size_t cap = total < GH_ADMIN_BANS_LISTED ? total : GH_ADMIN_BANS_LISTED;
    gh_ban *bans = malloc((cap ? cap : 1) * sizeof(*bans));
    if (!bans)
        return (gh_admin_answer){500, "text/plain", NULL, 0};
    size_t n = gh_bans_list(t, now, bans, cap);
    n = n < cap ? n : cap; /* bans imposed meanwhile are left for the next look */
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, ban_json(&bans[i], now));
    free(bans);
    json_t *doc = json_pack("{s:I, s:b, s:o, s:I, s:I}", "active", (json_int_t)total, "truncated",
                            total > n, "bans", list ? list : json_array(), "refusals",
                            (json_int_t)atomic_load(&t->refusals), "not_recorded",
                            (json_int_t)atomic_load(&t->full));
    return json_answer(200, doc);
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s into out (cap bytes); the length, or -1 when malformed or too long. */
static long decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1, lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return (long)n;
}

gh_admin_answer gh_admin_bans_lift(gh_ban_table *t, gh_admin_ban_prefixes p, const char *key,
                                   size_t len)
{
    char k[GH_BAN_KEY_MAX], canon[GH_BAN_KEY_MAX];
    long n = decode(key, len, k, sizeof(k));
    if (n <= 0 || !gh_ban_key_ok(k, (size_t)n))
        return problem(400, "Malformed ban key",
                       "expected /bans/{key}, the key percent-encoded UTF-8");
    int64_t now = (int64_t)time(NULL);
    /* The key as listed first (a reload may have changed the prefixes since), then as a client
     * at that address is keyed now. */
    long c = gh_client_address_key_canon(k, (size_t)n, p.ipv4, p.ipv6, canon, sizeof(canon));
    const char *lifted = k;
    if (!gh_bans_lift(t, k, (size_t)n, now)) {
        if (c <= 0 || !gh_bans_lift(t, canon, (size_t)c, now))
            return problem(404, "No such ban", "no active ban has this key (see GET /bans)");
        lifted = canon;
    }
    return json_answer(200, json_pack("{s:s, s:s}", "lifted", lifted, "kind",
                                      gh_ban_key_kind(lifted)));
}

gh_admin_answer gh_admin_bans_impose(gh_ban_table *t, gh_admin_ban_prefixes p, const char *body,
                                     size_t len)
{
    json_error_t err;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    const char *key = NULL, *reason = "imposed through the admin API", *detector = "admin";
    json_int_t duration = 0;
    if (!doc || json_unpack_ex(doc, &err, JSON_STRICT, "{s:s, s?:s, s?:s, s?:I}", "key", &key,
                               "reason", &reason, "detector", &detector, "duration",
                               &duration) != 0) {
        json_decref(doc);
        char detail[256];
        snprintf(detail, sizeof(detail),
                 "expected {\"key\": ..., \"reason\": ..., \"duration\": seconds, \"detector\": ...}:"
                 " %s", err.text);
        return problem(400, "Malformed ban", detail);
    }
    gh_admin_answer a;
    int64_t now = (int64_t)time(NULL);
    char canon[GH_BAN_KEY_MAX];
    long c = gh_client_address_key_canon(key, strlen(key), p.ipv4, p.ipv6, canon, sizeof(canon));
    if (c > 0)
        key = canon; /* "ip:2001:db8::1" bans what a request from it is keyed: its /64 */
    if (duration < 0 || strlen(detector) >= GH_BAN_NAME_MAX || !strchr(key, ':')) {
        a = problem(400, "Malformed ban",
                    "the key is a client key (ip:ADDRESS, sub:SUBJECT, key:CLIENT), the duration "
                    "a positive number of seconds, the detector a short name");
    } else if (c < 0) {
        a = problem(400, "Malformed ban",
                    "an address range is banned as wide as a client's at most "
                    "(bans.ipv4_prefix, bans.ipv6_prefix)");
    } else {
        int64_t d = gh_bans_impose_for(t, key, strlen(key), detector, reason, now, duration);
        if (d == 0)
            a = problem(409, "Client on the allow-list", "bans.allow spares this key: not banned");
        else if (d < 0)
            a = problem(503, "Ban not recorded",
                        "the key is too long, or the table is full of active bans "
                        "(bans.max_entries)");
        else
            a = json_answer(201, json_pack("{s:s, s:s, s:I}", "banned", key, "kind",
                                           gh_ban_key_kind(key), "seconds", (json_int_t)d));
    }
    json_decref(doc);
    return a;
}
