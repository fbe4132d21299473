/* What the ban table takes from outside. The first byte picks the mode. 0: the rest is a field of
 * the shared hash (gatehouse:bans, which anyone with access to the store may write), key and
 * value split at the first newline: when it parses, the ban is one this gateway could have
 * written (a listable key, UTF-8 reason, a label for a name, times in order and in range), and
 * the table learns, lists and sweeps it. 1: the rest is an "ip:" key as an operator writes it:
 * when read as a client's key, the result is a fixed point under the same prefixes and listable.
 * Neither may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/client_key.h"
#include "store/bans.h"

#define NOW 1700000000

static void check_ban(const gh_ban *b)
{
    size_t klen = strnlen(b->key, GH_BAN_KEY_MAX), rlen = strnlen(b->reason, GH_BAN_REASON_MAX);
    if (!gh_ban_key_ok(b->key, klen) || rlen == GH_BAN_REASON_MAX ||
        (rlen && !gh_ban_key_ok(b->reason, rlen)))
        abort();
    for (const char *d = b->detector; *d; d++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *d))
            abort();
    if (b->since < 0 || b->since > b->until || b->until > NOW + GH_BAN_MAX_SECONDS + 86400 ||
        b->strikes > GH_BAN_MAX_STRIKES)
        abort();
}

static void shared_field(const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    if (!nl)
        return;
    gh_ban b;
    if (!gh_ban_parse_shared(p, (size_t)(nl - p), nl + 1, len - (size_t)(nl - p) - 1, NOW, &b))
        return;
    check_ban(&b);
    gh_ban_table t;
    if (gh_bans_init(&t) != 0)
        return;
    gh_bans_learn(&t, &b, NOW);
    gh_ban out[2];
    size_t n = gh_bans_list(&t, NOW, out, 2);
    if (n > 1 || (n == 1 && b.until <= NOW))
        abort();
    for (size_t i = 0; i < n; i++)
        check_ban(&out[i]);
    gh_bans_impose(&t, b.key, strlen(b.key), b.detector, b.reason, NOW);
    gh_bans_sweep(&t, NOW + 2 * GH_BAN_MAX_SECONDS);
    gh_bans_free(&t);
}

static void operator_key(const char *p, size_t len)
{
    static const int prefixes[][2] = {{32, 128}, {24, 64}, {8, 16}};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        char out[GH_BAN_KEY_MAX], again[GH_BAN_KEY_MAX];
        long n = gh_client_address_key_canon(p, len, prefixes[i][0], prefixes[i][1], out,
                                             sizeof(out));
        if (n <= 0)
            continue;
        if ((size_t)n != strlen(out) || !gh_ban_key_ok(out, (size_t)n))
            abort();
        long m = gh_client_address_key_canon(out, (size_t)n, prefixes[i][0], prefixes[i][1],
                                             again, sizeof(again));
        if (m != n || strcmp(out, again) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    if (data[0] & 1)
        operator_key(p, size - 1);
    else
        shared_field(p, size - 1);
    return 0;
}
