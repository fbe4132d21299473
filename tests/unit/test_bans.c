/* The ban table: durations that double per strike up to the maximum, strikes forgotten after a
 * quiet time, expiry and lifting with their changes queued, bounded memory, the allow-list, and
 * bans learnt from the shared store. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gate/client_key.h"
#include "store/bans.h"

#define K(s) (s), strlen(s)

static void setup_table(gh_ban_table *t, size_t max_entries, const gh_ban_allow *allow,
                        size_t nallow)
{
    assert_int_equal(gh_bans_init(t), 0);
    gh_ban_settings s = {60, 600, 3600, max_entries, allow, nallow};
    assert_int_equal(gh_bans_configure(t, &s), 0);
}

static void doubling_up_to_max(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 100, NULL, 0);
    assert_false(gh_bans_any(&t));
    int64_t now = 1000000;
    int64_t want[] = {60, 120, 240, 480, 600, 600};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(gh_bans_impose(&t, K("ip:192.0.2.7"), "bola", "walked ids", now), want[i]);
        assert_true(gh_bans_any(&t));
        gh_ban b;
        assert_true(gh_bans_find(&t, K("ip:192.0.2.7"), now + want[i] - 1, &b));
        assert_false(gh_bans_find(&t, K("ip:192.0.2.7"), now + want[i], NULL));
        assert_int_equal(b.strikes, i + 1);
        assert_string_equal(b.detector, "bola");
        now += want[i] + 10; /* the ban ended; the next strike comes within forget_after */
        gh_bans_sweep(&t, now);
        assert_false(gh_bans_any(&t));
    }
    /* a quiet hour and more: the next strike starts over */
    now += 3601;
    assert_int_equal(gh_bans_impose(&t, K("ip:192.0.2.7"), "bola", "again", now), 60);
    gh_bans_free(&t);
}

static void expiry_and_lift_are_queued(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 100, NULL, 0);
    int64_t now = 5000;
    assert_int_equal(gh_bans_impose(&t, K("sub:alice"), "stuffing", "r", now), 60);
    assert_int_equal(gh_bans_impose(&t, K("key:ci"), "admin", "manual", now), 60);
    gh_ban list[4];
    assert_int_equal(gh_bans_list(&t, now, list, 4), 2);
    assert_true(gh_bans_lift(&t, K("sub:alice"), now));
    assert_false(gh_bans_lift(&t, K("sub:alice"), now)); /* none left: the admin's 404 */
    assert_false(gh_bans_find(&t, K("sub:alice"), now, NULL));
    gh_bans_sweep(&t, now + 59);
    assert_true(gh_bans_any(&t));
    gh_bans_sweep(&t, now + 60);
    assert_false(gh_bans_any(&t));
    gh_ban_change ch[8];
    size_t n = gh_bans_take_changes(&t, ch, 8);
    assert_int_equal(n, 4);
    assert_int_equal(ch[0].kind, GH_BAN_IMPOSED);
    assert_int_equal(ch[2].kind, GH_BAN_LIFTED);
    assert_string_equal(ch[2].ban.key, "sub:alice");
    assert_int_equal(ch[3].kind, GH_BAN_EXPIRED);
    assert_string_equal(ch[3].ban.key, "key:ci");
    assert_int_equal(gh_bans_take_changes(&t, ch, 8), 0);
    /* forgotten once quiet for forget_after */
    gh_bans_sweep(&t, now + 3601);
    assert_int_equal(t.count, 0); /* nothing left of either key: memory back */
    assert_int_equal(gh_bans_impose(&t, K("key:ci"), "admin", "manual", now + 3602), 60);
    gh_bans_free(&t);
}

static void bounded(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 4, NULL, 0);
    char key[32];
    int64_t now = 100;
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "ip:10.0.0.%d", i);
        assert_int_equal(gh_bans_impose(&t, K(key), "d", "r", now), 60);
    }
    /* full of active bans: the fifth is not recorded, and counted */
    assert_int_equal(gh_bans_impose(&t, K("ip:10.0.0.9"), "d", "r", now), -1);
    assert_int_equal(atomic_load(&t.full), 1);
    assert_false(gh_bans_find(&t, K("ip:10.0.0.9"), now, NULL));
    /* once one ended, its remembered strikes give way to a new ban */
    gh_bans_lift(&t, K("ip:10.0.0.0"), now);
    assert_int_equal(gh_bans_impose_for(&t, K("ip:10.0.0.1"), "d", "r", now, 1), 60); /* longer kept */
    now += 61;
    gh_bans_sweep(&t, now);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.0.0.9"), "d", "r", now), 60);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.0.0.8"), "d", "r", now), 60);
    assert_true(t.count <= 4);
    /* a key too long is refused, not cut */
    char longkey[GH_BAN_KEY_MAX + 8];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(gh_bans_impose(&t, K(longkey), "d", "r", now), -1);
    gh_bans_free(&t);
}

static void allow_list(void **state)
{
    (void)state;
    gh_ban_allow allow[3];
    assert_true(gh_ban_allow_parse("10.1.0.0/16", &allow[0]));
    assert_true(gh_ban_allow_parse("2001:db8::1", &allow[1]));
    assert_true(gh_ban_allow_parse("sub:monitoring", &allow[2]));
    gh_ban_allow bad;
    assert_false(gh_ban_allow_parse("10.1.0.0/33", &bad));
    assert_false(gh_ban_allow_parse("monitoring", &bad));
    gh_ban_table t;
    setup_table(&t, 100, allow, 3);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.1.2.3"), "d", "r", 1), 0);
    /* a range that holds an allowed address is spared too */
    assert_int_equal(gh_bans_impose(&t, K("ip:2001:db8::/64"), "d", "r", 1), 0);
    assert_int_equal(gh_bans_impose(&t, K("sub:monitoring"), "d", "r", 1), 0);
    assert_false(gh_bans_any(&t));
    assert_int_equal(gh_bans_impose(&t, K("ip:10.2.2.3"), "d", "r", 1), 60);
    assert_int_equal(gh_bans_impose(&t, K("sub:monitoring2"), "d", "r", 1), 60);
    /* a detector's name is a metrics label: nothing in it can break the exposition format */
    gh_bans_impose(&t, K("sub:x"), "a\"b}\nc", "r", 1);
    gh_ban b;
    assert_true(gh_bans_find(&t, K("sub:x"), 1, &b));
    assert_string_equal(b.detector, "a_b__c");
    /* a reload that allows a banned key lifts its ban */
    gh_ban_allow more[4];
    memcpy(more, allow, sizeof(allow));
    assert_true(gh_ban_allow_parse("10.2.0.0/16", &more[3]));
    gh_ban_settings s = {60, 600, 3600, 100, more, 4};
    assert_int_equal(gh_bans_configure(&t, &s), 0);
    assert_false(gh_bans_find(&t, K("ip:10.2.2.3"), 1, NULL));
    assert_true(gh_bans_find(&t, K("sub:x"), 1, NULL));
    gh_bans_free(&t);
}

static bool keep_none(void *ctx, const char *key)
{
    (void)ctx, (void)key;
    return false;
}

static void learnt_from_store(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 100, NULL, 0);
    gh_ban b = {.since = 10, .until = 100, .strikes = 2};
    snprintf(b.key, sizeof(b.key), "ip:198.51.100.1");
    snprintf(b.detector, sizeof(b.detector), "tokens");
    assert_true(gh_bans_learn(&t, &b, 20));
    assert_false(gh_bans_learn(&t, &b, 20)); /* already held as long */
    gh_ban got;
    assert_true(gh_bans_find(&t, K("ip:198.51.100.1"), 50, &got));
    assert_true(got.remote);
    gh_bans_unlearn(&t, keep_none, NULL, 50); /* lifted elsewhere */
    assert_false(gh_bans_find(&t, K("ip:198.51.100.1"), 50, NULL));
    assert_false(gh_bans_any(&t));
    gh_bans_free(&t);
}

/* The keys a ban names a client by: its identity when verified, else its address cut to the
 * prefix (an IPv4-mapped address as IPv4), in the text GET /bans lists. */
static void client_keys(void **state)
{
    (void)state;
    static gh_request req;
    char key[GH_BAN_KEY_MAX];
    static const struct {
        const char *addr;
        int v4, v6;
        const char *want;
    } cases[] = {
        {"198.51.100.7", 32, 64, "ip:198.51.100.7"},
        {"198.51.100.7", 24, 64, "ip:198.51.100.0/24"},
        {"::ffff:198.51.100.7", 32, 64, "ip:198.51.100.7"},
        {"2001:db8:1:2:3:4:5:6", 32, 64, "ip:2001:db8:1:2::/64"},
        {"2001:db8:1:2:3:4:5:6", 32, 128, "ip:2001:db8:1:2:3:4:5:6"},
        {"unknown", 32, 64, "ip:unknown"},
        {"unknown\xff\xc3", 32, 64, "ip:unknown??"}, /* a key lists as it is */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(req.client_ip, sizeof(req.client_ip), "%s", cases[i].addr);
        size_t n = gh_client_key(&req, cases[i].v4, cases[i].v6, key, sizeof(key));
        assert_int_equal(n, strlen(cases[i].want));
        assert_string_equal(key, cases[i].want);
    }
    assert_int_equal(gh_client_identity_key(&req, key, sizeof(key)), 0);
    req.api_client = "acme";
    assert_int_equal(gh_client_key(&req, 32, 64, key, sizeof(key)), 8);
    assert_string_equal(key, "key:acme");
    req.auth_ok = true;
    req.auth_sub = "alice";
    gh_client_key(&req, 32, 64, key, sizeof(key));
    assert_string_equal(key, "sub:alice"); /* a verified subject names the client first */
    assert_int_equal(gh_client_key(&req, 32, 64, key, 6), 0); /* never cut */
}

/* The shared hash is written by anyone with access to the store: a field that is not a ban
 * this gateway could have written is refused, and what is kept is safe to list. */
static void shared_entries_checked(void **state)
{
    (void)state;
    gh_ban b;
    int64_t now = 1000000;
#define P(k, v) gh_ban_parse_shared(K(k), K(v), now, &b)
    assert_true(P("ip:192.0.2.1", "1000600|1000000|2|tokens|too many"));
    assert_int_equal(b.until, 1000600);
    assert_int_equal(b.since, 1000000);
    assert_int_equal(b.strikes, 2);
    assert_string_equal(b.detector, "tokens");
    assert_string_equal(b.reason, "too many");
    assert_string_equal(b.key, "ip:192.0.2.1");
    assert_true(P("sub:a", "1000600|1000000|1|a\"b\n|r|with|bars"));
    assert_string_equal(b.detector, "a_b_"); /* a metrics label, whoever wrote it */
    assert_string_equal(b.reason, "r|with|bars");
    assert_true(P("sub:a", "1000600|1000000|99999999|d|r"));
    assert_int_equal(b.strikes, GH_BAN_MAX_STRIKES);
    static const char *const bad_values[] = {
        "", "x", "1000600", "1000600|1000000|2", "1000600|1000000|2|d", /* missing parts */
        "99999999999999999999|1|1|d|r",     /* beyond int64 */
        "9223372036854775807|1|1|d|r",      /* a ban for ever: beyond any bans.max */
        "1000600|-5|1|d|r", "-1|-5|1|d|r",  /* before the epoch */
        "1000600|1000700|1|d|r",            /* since after until */
        "1000600|1000000|-1|d|r", "1000600|1000000|4294967296|d|r", /* strikes */
        "1000600 |1000000|1|d|r", "+1000600|1000000|1|d|r", "0x10|0|1|d|r", "1e9|0|1|d|r",
    };
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
        if (P("ip:192.0.2.1", bad_values[i]))
            fail_msg("accepted %s", bad_values[i]);
    /* keys: empty, too long, a NUL inside (a C string would name another key), not UTF-8 */
    char longkey[GH_BAN_KEY_MAX + 1];
    memset(longkey, 'a', GH_BAN_KEY_MAX);
    memcpy(longkey, "sub:", 4);
    longkey[GH_BAN_KEY_MAX] = '\0';
    assert_false(P("", "1000600|1000000|1|d|r"));
    assert_false(P(longkey, "1000600|1000000|1|d|r"));
    longkey[GH_BAN_KEY_MAX - 1] = '\0';
    assert_true(P(longkey, "1000600|1000000|1|d|r"));
    assert_false(gh_ban_parse_shared("ip:192.0.2.1\0x", 14, K("1000600|1000000|1|d|r"), now, &b));
    assert_false(P("sub:\xff\xfe", "1000600|1000000|1|d|r"));
    assert_false(P("sub:\xc0\xaf", "1000600|1000000|1|d|r")); /* overlong '/' */
    assert_false(P("sub:\xed\xa0\x80", "1000600|1000000|1|d|r")); /* a surrogate */
    assert_true(P("sub:\xc3\xa9l\xc3\xa8ve", "1000600|1000000|1|d|r\xff\xc3"));
    assert_string_equal(b.reason, "r??"); /* bytes that are no text are replaced */
#undef P
}

/* A reason longer than the table keeps is cut at a character's end, never inside one: every
 * listing of it (jansson's GET /bans among them) needs UTF-8. Keys that are no UTF-8 name no
 * client and are refused; strikes stop counting before they could wrap. */
static void text_kept_listable(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 100, NULL, 0);
    char reason[400] = "";
    for (int i = 0; i < 150; i++)
        strcat(reason, "\xc3\xa9"); /* 300 bytes of 'é' */
    assert_int_equal(gh_bans_impose(&t, K("sub:a"), "d", reason, 1), 60);
    gh_ban b;
    assert_true(gh_bans_find(&t, K("sub:a"), 1, &b));
    assert_int_equal(strlen(b.reason), GH_BAN_REASON_MAX - 2); /* 95 whole characters */
    assert_true(gh_ban_key_ok(b.reason, strlen(b.reason)));
    assert_int_equal(gh_bans_impose(&t, K("sub:\xff"), "d", "r", 1), -1);
    assert_int_equal(gh_bans_impose(&t, K("sub:\xe9t\xe9"), "d", "r", 1), -1); /* Latin-1 */
    assert_true(gh_ban_key_ok(K("sub:\x01\x1b[2J")));  /* controls are text: escaped when listed */
    gh_ban big = {.since = 1, .until = 100, .strikes = UINT32_MAX};
    snprintf(big.key, sizeof(big.key), "sub:b");
    assert_true(gh_bans_learn(&t, &big, 2));
    assert_true(gh_bans_find(&t, K("sub:b"), 2, &b));
    assert_int_equal(b.strikes, GH_BAN_MAX_STRIKES);
    gh_bans_impose(&t, K("sub:b"), "d", "r", 3);
    assert_true(gh_bans_find(&t, K("sub:b"), 3, &b));
    assert_int_equal(b.strikes, GH_BAN_MAX_STRIKES);
    gh_bans_free(&t);
}

/* The allow-list spares an IPv4 client written as an IPv4-mapped address, and the other way. */
static void allow_list_mapped(void **state)
{
    (void)state;
    gh_ban_allow allow[1];
    assert_true(gh_ban_allow_parse("::ffff:10.1.0.0/112", &allow[0]));
    gh_ban_table t;
    setup_table(&t, 100, allow, 1);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.1.2.3"), "d", "r", 1), 0);
    assert_int_equal(gh_bans_impose(&t, K("ip:::ffff:10.1.2.3"), "d", "r", 1), 0);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.2.2.3"), "d", "r", 1), 60);
    gh_bans_free(&t);
    /* an address written as a key, as listed, is the address: any key cut around it is spared */
    assert_true(gh_ban_allow_parse("ip:10.3.0.7", &allow[0]));
    setup_table(&t, 100, allow, 1);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.3.0.0/24"), "d", "r", 1), 0);
    assert_int_equal(gh_bans_impose(&t, K("ip:::ffff:10.3.0.7"), "d", "r", 1), 0);
    assert_int_equal(gh_bans_impose(&t, K("ip:10.3.1.0/24"), "d", "r", 1), 60);
    gh_bans_free(&t);
}

/* An "ip:" key an operator writes is the key a request from that address gets. */
static void operator_address_keys(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int v4, v6;
        long rc;
        const char *want;
    } cases[] = {
        {"ip:198.51.100.7", 32, 64, 15, "ip:198.51.100.7"},
        {"ip:::ffff:198.51.100.7", 32, 64, 15, "ip:198.51.100.7"},
        {"ip:198.51.100.7", 24, 64, 18, "ip:198.51.100.0/24"},
        {"ip:198.51.100.0/24", 24, 64, 18, "ip:198.51.100.0/24"},
        {"ip:198.51.100.0/28", 24, 64, 18, "ip:198.51.100.0/24"},
        {"ip:198.51.100.0/16", 24, 64, -1, ""}, /* wider than a client */
        {"ip:::ffff:198.51.100.0/120", 24, 64, 18, "ip:198.51.100.0/24"},
        {"ip:::ffff:198.51.100.0/112", 24, 64, -1, ""},
        {"ip:2001:db8:1:2:3:4:5:6", 32, 64, 20, "ip:2001:db8:1:2::/64"},
        {"ip:2001:db8:1:2::/64", 32, 64, 20, "ip:2001:db8:1:2::/64"},
        {"ip:2001:db8:1:2::/48", 32, 64, -1, ""},
        {"ip:2001:db8::/x", 32, 64, -1, ""}, {"ip:2001:db8::/", 32, 64, -1, ""},
        {"ip:2001:db8::/1280", 32, 64, -1, ""}, {"ip:10.0.0.1/33", 32, 64, -1, ""},
        {"ip:unknown", 32, 64, 0, ""}, {"sub:1.2.3.4", 32, 64, 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[GH_BAN_KEY_MAX] = "";
        long rc = gh_client_address_key_canon(K(cases[i].in), cases[i].v4, cases[i].v6, out,
                                              sizeof(out));
        if (rc != cases[i].rc || (rc > 0 && strcmp(out, cases[i].want) != 0))
            fail_msg("%s: %ld '%s'", cases[i].in, rc, out);
    }
}

/* A listing cut to max holds the bans that end latest (what GET /bans and the dashboard show
 * first), whatever the table's order. */
static void listing_keeps_latest(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 1000, NULL, 0);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof(key), "sub:c%d", (i * 7919) % 200);
        gh_bans_impose_for(&t, K(key), "d", "r", 1000, 1 + (i * 7919) % 200);
    }
    gh_ban out[10];
    assert_int_equal(gh_bans_list(&t, 1000, out, 10), 200);
    int64_t seen = 0;
    for (size_t i = 0; i < 10; i++) {
        assert_true(out[i].until > 1000 + 190);
        seen += out[i].until - 1000;
    }
    assert_int_equal(seen, 191 + 192 + 193 + 194 + 195 + 196 + 197 + 198 + 199 + 200);
    assert_int_equal(gh_bans_list(&t, 1000, NULL, 0), 200);
    gh_bans_free(&t);
}

/* Workers checking and imposing while the control thread sweeps, lists, takes the changes and
 * reconfigures (a reload), and an operator lifts: no entry is used after it is freed and the
 * count of active bans returns to zero (under the sanitizers, a race shows). */
typedef struct racer {
    gh_ban_table *t;
    int id;
} racer;

static void *worker_side(void *arg)
{
    racer *r = arg;
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "ip:10.0.%d.%d", r->id, i % 50);
        gh_ban b;
        if (gh_bans_any(r->t))
            gh_bans_find(r->t, K(key), 1000 + i / 100, &b);
        if (i % 3 == 0)
            gh_bans_impose(r->t, K(key), "d", "r", 1000 + i / 100);
        if (i % 7 == 0)
            gh_bans_lift(r->t, K(key), 1000 + i / 100);
    }
    return NULL;
}

static void *control_side(void *arg)
{
    racer *r = arg;
    gh_ban list[16];
    gh_ban_change ch[64];
    for (int i = 0; i < 2000; i++) {
        gh_bans_sweep(r->t, 1000 + i / 10);
        gh_bans_list(r->t, 1000 + i / 10, list, 16);
        gh_bans_take_changes(r->t, ch, 64);
        if (i % 100 == 0) {
            gh_ban_settings s = {1, 2, 5, (size_t)(50 + i / 10), NULL, 0};
            gh_bans_configure(r->t, &s);
        }
    }
    return NULL;
}

static void concurrent_use(void **state)
{
    (void)state;
    gh_ban_table t;
    setup_table(&t, 100, NULL, 0);
    pthread_t th[4];
    racer r[4] = {{&t, 0}, {&t, 1}, {&t, 2}, {&t, 3}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_side, &r[i]), 0);
    assert_int_equal(pthread_create(&th[3], NULL, control_side, &r[3]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    gh_bans_sweep(&t, 1000000);
    assert_false(gh_bans_any(&t));
    gh_bans_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubling_up_to_max),
        cmocka_unit_test(expiry_and_lift_are_queued),
        cmocka_unit_test(bounded),
        cmocka_unit_test(allow_list),
        cmocka_unit_test(learnt_from_store),
        cmocka_unit_test(client_keys),
        cmocka_unit_test(shared_entries_checked),
        cmocka_unit_test(text_kept_listable),
        cmocka_unit_test(allow_list_mapped),
        cmocka_unit_test(operator_address_keys),
        cmocka_unit_test(listing_keeps_latest),
        cmocka_unit_test(concurrent_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
