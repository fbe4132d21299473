/* The log thread's rings: a line the ring has no room for and a line the destination did not
 * take (a full disk: /dev/full) are both counted as dropped, never lost unseen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "observe/log.h"

static void lines_a_full_disk_refused_are_counted(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    gh_logger l = {0};
    assert_int_equal(gh_logger_start(&l, "/dev/full", 1), 0);
    gh_log_ring *r = l.rings[0];
    for (int i = 0; i < 5; i++)
        assert_true(gh_log_ring_put(r, "{\"n\":1}\n", 8));
    /* The log thread takes the lines within its next look; the count is set before it moves
     * the tail. */
    for (int i = 0; i < 200 && atomic_load(&r->tail) != atomic_load(&r->head); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&r->dropped), 5);
    gh_logger_stop(&l);
}

static void lines_written_are_not_counted(void **state)
{
    (void)state;
    char path[] = "/tmp/gh-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    gh_logger l = {0};
    assert_int_equal(gh_logger_start(&l, path, 1), 0);
    gh_log_ring *r = l.rings[0];
    for (int i = 0; i < 5; i++)
        assert_true(gh_log_ring_put(r, "{\"n\":1}\n", 8));
    for (int i = 0; i < 200 && atomic_load(&r->tail) != atomic_load(&r->head); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&r->dropped), 0);
    gh_logger_stop(&l);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[128];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(path);
    assert_int_equal(n, 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_a_full_disk_refused_are_counted),
        cmocka_unit_test(lines_written_are_not_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
