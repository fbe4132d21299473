/* pid_file: its temporary file cannot be aimed at another file by whoever may write its folder. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/pid_file.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* In a folder others may write (/tmp, /run/user), a name they can foresee (the path and this
 * pid) could be a hard link to a file of this process's user, truncated and overwritten. */
static void temporary_file_is_never_one_that_existed(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-pid-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char victim[64], path[64], foreseen[96];
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    snprintf(path, sizeof(path), "%s/gatehouse.pid", dir);
    snprintf(foreseen, sizeof(foreseen), "%s.%ld.tmp", path, (long)getpid());
    write_text(victim, "precious\n");
    assert_int_equal(link(victim, foreseen), 0);
    gh_pid_file p;
    char err[256] = "";
    assert_int_equal(gh_pid_file_prepare(&p, path, err, sizeof(err)), 0);
    assert_int_equal(gh_pid_file_place(&p, err, sizeof(err)), 0);
    char text[64], want[32];
    read_text(victim, text, sizeof(text));
    assert_string_equal(text, "precious\n");
    read_text(path, text, sizeof(text));
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    assert_string_equal(text, want);
    gh_pid_file_release(&p);
    assert_int_equal(access(path, F_OK), -1);
    unlink(foreseen);
    unlink(victim);
    assert_int_equal(rmdir(dir), 0); /* nothing else was left behind */
}

/* Garbage, or another pid, in the file at exit: it is not this process's to remove. */
static void a_file_that_does_not_name_this_process_stays(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-pid-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/gatehouse.pid", dir);
    const char *texts[] = {"garbage\n", "", "1\n", "99999999999999999999999\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        gh_pid_file p;
        char err[256] = "";
        assert_int_equal(gh_pid_file_prepare(&p, path, err, sizeof(err)), 0);
        assert_int_equal(gh_pid_file_place(&p, err, sizeof(err)), 0);
        write_text(path, texts[i]);
        gh_pid_file_release(&p);
        assert_int_equal(access(path, F_OK), 0);
    }
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(temporary_file_is_never_one_that_existed),
        cmocka_unit_test(a_file_that_does_not_name_this_process_stays)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
