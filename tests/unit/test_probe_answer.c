/* The probe's reading of a target's answers: chunk sizes are hex digits at the start of their
 * line, so a size line with blanks, a sign or an empty line before its digits does not frame a
 * body (the answer stays incomplete) and never borrows the next line's size; a flood of interim
 * (1xx) answers keeps one of them and leaves the slots to the final answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe/probe_internal.h"

static int parse(const char *text, gh_probe_exchange *x, gh_probe *p)
{
    *x = (gh_probe_exchange){0};
    gh_probe_parse_answers(p, x, text, strlen(text), true, false, true);
    return x->nresponses;
}

static void chunked_body_is_read(void **state)
{
    (void)state;
    gh_probe p = {0};
    gh_arena_init(&p.arena, 4096, 0);
    gh_probe_exchange x;
    const char *ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    assert_int_equal(parse(ok, &x, &p), 1);
    assert_int_equal(x.r[0].body_len, 5);
    assert_string_equal(x.r[0].body, "hello");
    gh_arena_free(&p.arena);
}

static void size_lines_with_junk_before_the_digits_do_not_frame(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_probe p = {0};
        gh_arena_init(&p.arena, 4096, 0);
        gh_probe_exchange x;
        assert_int_equal(parse(bad[i], &x, &p), 1);
        assert_int_equal(x.r[0].body_len, 0); /* incomplete: no body taken */
        gh_arena_free(&p.arena);
    }
}

static void an_interim_flood_leaves_room_for_the_final_answers(void **state)
{
    (void)state;
    gh_probe p = {0};
    gh_arena_init(&p.arena, 4096, 0);
    char text[2048] = "";
    for (int i = 0; i < 20; i++)
        strcat(text, "HTTP/1.1 100 Continue\r\n\r\n");
    strcat(text, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    gh_probe_exchange x;
    assert_int_equal(parse(text, &x, &p), 3);
    assert_int_equal(x.r[0].status, 100); /* the first interim answer stays evidence */
    assert_int_equal(x.r[1].status, 400);
    assert_int_equal(x.r[2].status, 404);
    gh_arena_free(&p.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunked_body_is_read),
        cmocka_unit_test(size_lines_with_junk_before_the_digits_do_not_frame),
        cmocka_unit_test(an_interim_flood_leaves_room_for_the_final_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
