/* The workers' seccomp filter and the switch of ids, each tried in a forked child (a filter
 * cannot be removed, nor root taken back): a forbidden call kills with SIGSYS or fails with
 * EPERM, what serving needs still works, and a process that left root cannot return. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/privileges.h"
#include "server/seccomp.h"

/* Runs body in a child confined by the workers' filter; the child's wait status. */
static int confined(int (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        if (gh_seccomp_confine_worker(err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            _exit(100);
        }
        _exit(body());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_killed_by_sigsys(int status)
{
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void assert_exit(int status, int code)
{
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), code);
}

static int run_execve(void)
{
    char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    return 1; /* refused without a kill: the test fails */
}

static int run_ptrace(void)
{
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return 1;
}

static int run_fork(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return 1;
}

static int run_setuid(void)
{
    if (setuid(0) != 0)
        return 1;
    return 1;
}

/* 0 when an unlisted call (mkdir, a packet socket) fails with EPERM. */
static int run_unlisted(void)
{
    if (mkdir("/tmp/gh-seccomp-test-dir", 0700) == 0 || errno != EPERM)
        return 2;
    if (socket(AF_PACKET, SOCK_RAW, 0) >= 0 || errno != EPERM)
        return 3;
    return 0;
}

static void *thread_body(void *arg)
{
    return arg;
}

/* 0 when what a worker does still works: a TCP socket, a thread (clone3 falls back to clone). */
static int run_serving(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 2;
    close(fd);
    static int marker;
    pthread_t t;
    void *out = NULL;
    if (pthread_create(&t, NULL, thread_body, &marker) != 0 || pthread_join(t, &out) != 0 ||
        out != &marker)
        return 3;
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 4;
}

static void seccomp_kills_exploit_calls(void **state)
{
    (void)state;
    assert_killed_by_sigsys(confined(run_execve));
    assert_killed_by_sigsys(confined(run_ptrace));
    assert_killed_by_sigsys(confined(run_fork));
    assert_killed_by_sigsys(confined(run_setuid));
}

static void seccomp_refuses_unlisted_calls(void **state)
{
    (void)state;
    assert_exit(confined(run_unlisted), 0);
}

static void seccomp_keeps_serving_calls(void **state)
{
    (void)state;
    assert_exit(confined(run_serving), 0);
}

static void no_new_privs_is_set(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[128];
        _exit(gh_no_new_privs(err, sizeof(err)) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1
                  ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_exit(status, 0);
}

/* As root: the switch to nobody takes every id and root is out of reach; not as root: the
 * check names the user and why. */
static void drop_cannot_return_to_root(void **state)
{
    (void)state;
    gh_process_conf p = {.user = "nobody", .uid = 65534, .group = "nogroup", .gid = 65534};
    char err[512] = "";
    if (geteuid() != 0) {
        assert_int_equal(gh_privileges_check(&p, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "user: nobody"));
        assert_non_null(strstr(err, "not root"));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (gh_privileges_drop(&p, err, sizeof(err)) != 0)
            _exit(2);
        gid_t groups[8];
        int n = getgroups(8, groups);
        if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || n != 1 ||
            groups[0] != 65534)
            _exit(3);
        /* Now not root: a second switch elsewhere is refused by the check, with why. */
        gh_process_conf root = {.user = "root", .uid = 0, .gid = 0};
        if (setuid(0) == 0 || gh_privileges_check(&root, err, sizeof(err)) == 0 ||
            !strstr(err, "not root"))
            _exit(4);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_exit(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(seccomp_kills_exploit_calls),
                                       cmocka_unit_test(seccomp_refuses_unlisted_calls),
                                       cmocka_unit_test(seccomp_keeps_serving_calls),
                                       cmocka_unit_test(no_new_privs_is_set),
                                       cmocka_unit_test(drop_cannot_return_to_root)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
