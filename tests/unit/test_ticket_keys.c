/* The TLS session ticket key ring: one sealing key per period, the previous one still opening
 * tickets (asking for renewal) for one more period, nothing older. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tls/ticket_keys.h"

static void keys_rotate_and_expire(void **state)
{
    (void)state;
    gh_ticket_ring r;
    gh_ticket_ring_init(&r, 100);
    gh_ticket_key a, b, c, found;
    int64_t t0 = 1000000;
    assert_int_equal(gh_ticket_ring_current(&r, t0, &a), 0);
    assert_int_equal(gh_ticket_ring_current(&r, t0 + 99, &found), 0);
    assert_memory_equal(found.name, a.name, 16); /* the same key through its period */
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 99, a.name, &found), 1);
    assert_memory_equal(found.aes, a.aes, 32);

    assert_int_equal(gh_ticket_ring_current(&r, t0 + 100, &b), 0);
    assert_memory_not_equal(b.name, a.name, 16); /* a new key seals */
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 150, a.name, &found), 2); /* opens, renew */
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 150, b.name, &found), 1);
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 200, a.name, &found), 0); /* two periods: gone */

    assert_int_equal(gh_ticket_ring_current(&r, t0 + 200, &c), 0);
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 200, a.name, &found), 0);
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 250, b.name, &found), 2);
    /* A long quiet spell: the old sealing key stops opening even before the next rotation. */
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 400, c.name, &found), 0);
    unsigned char stranger[16] = {0};
    assert_int_equal(gh_ticket_ring_find(&r, t0 + 200, stranger, &found), 0);
    gh_ticket_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_rotate_and_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
