/* The admin API's bans (server/admin_bans.h). */
#include <arpa/inet.h>
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
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", GH_PROBLEM_TYPE_PREFIX "admin-bans",
                            "title", title, "status", status, "detail", detail);
    gh_admin_answer a = json_answer(status, doc);
    a.type = "application/problem+json";
    return a;
}

static void stamp(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

/* Latest end first: what an operator looks for is at the top. */
static int by_until(const void *a, const void *b)
{
    int64_t x = ((const gh_ban *)a)->until, y = ((const gh_ban *)b)->until;
    return x < y ? 1 : x > y ? -1 : 0;
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
    qsort(bans, n, sizeof(*bans), by_until);
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

/* An "ip:" key as the door checks it (gate/client_key.h): the address, or a range no wider
 * than the client prefix, cut to bans.ipv4_prefix or ipv6_prefix bits, so that a ban by hand
 * names the key a request from that address is looked up by. 1 when out holds it; 0 when key
 * is no "ip:" key (out holds it as written); -1 when it is one that names no client (*why). */
static int address_key(const char *key, const gh_bans_conf *bc, char *out, size_t cap,
                       const char **why)
{
    size_t len = strlen(key);
    if (len >= cap)
        return *why = "the key is too long", -1;
    memcpy(out, key, len + 1);
    if (strncmp(key, "ip:", 3) != 0)
        return 0;
    char text[INET6_ADDRSTRLEN + 8];
    if (len - 3 >= sizeof(text))
        return *why = "expected ip:ADDRESS or ip:ADDRESS/BITS", -1;
    memcpy(text, key + 3, len - 2);
    char *slash = strchr(text, '/');
    int bits = -1;
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > 128)
            return *why = "expected ip:ADDRESS or ip:ADDRESS/BITS", -1;
        bits = (int)b;
    }
    unsigned char addr[16] = {0};
    int family = inet_pton(AF_INET, text, addr) == 1    ? AF_INET
                 : inet_pton(AF_INET6, text, addr) == 1 ? AF_INET6
                                                        : 0;
    if (!family)
        return *why = "expected ip:ADDRESS or ip:ADDRESS/BITS", -1;
    int prefix = family == AF_INET ? bc->ipv4_prefix : bc->ipv6_prefix;
    if (bits >= 0 && bits < prefix)
        return *why = "the range is wider than a client (bans.ipv4_prefix, bans.ipv6_prefix): "
                      "ban its addresses, or lower the prefix",
               -1;
    if (!gh_client_address_key_of(family, addr, bc->ipv4_prefix, bc->ipv6_prefix, out, cap))
        return *why = "the key is too long", -1;
    return 1;
}

gh_admin_answer gh_admin_bans_lift(gh_ban_table *t, const gh_bans_conf *bc, const char *key,
                                   size_t len)
{
    char raw[GH_BAN_KEY_MAX], k[GH_BAN_KEY_MAX];
    long n = decode(key, len, raw, sizeof(raw));
    if (n <= 0)
        return problem(400, "Malformed ban key", "expected /bans/{key}, the key percent-encoded");
    const char *why = NULL;
    if (address_key(raw, bc, k, sizeof(k), &why) < 0) /* lifted as written: a key learnt from */
        memcpy(k, raw, (size_t)n + 1);                /* another gateway may be any text */
    n = (long)strlen(k);
    if (!gh_bans_lift(t, k, (size_t)n, (int64_t)time(NULL)))
        return problem(404, "No such ban", "no active ban has this key (see GET /bans)");
    return json_answer(200, json_pack("{s:s, s:s}", "lifted", k, "kind", gh_ban_key_kind(k)));
}

gh_admin_answer gh_admin_bans_impose(gh_ban_table *t, const gh_bans_conf *bc, const char *body,
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
    char canonical[GH_BAN_KEY_MAX];
    const char *why = NULL;
    if (duration < 0 || strlen(detector) >= GH_BAN_NAME_MAX || !strchr(key, ':')) {
        a = problem(400, "Malformed ban",
                    "the key is a client key (ip:ADDRESS, sub:SUBJECT, key:CLIENT), the duration "
                    "a positive number of seconds, the detector a short name");
    } else if (address_key(key, bc, canonical, sizeof(canonical), &why) < 0) {
        a = problem(400, "Malformed ban", why);
    } else {
        key = canonical;
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
