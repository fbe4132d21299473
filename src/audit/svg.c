/* Runs dot -Tsvg as a child: the DOT source through a pipe, its SVG straight into the output. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/svg.h"

extern char **environ;

bool gh_svg_available(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char dir[4096];
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && len < sizeof(dir) - 5) {
            memcpy(dir, p, len);
            memcpy(dir + len, "/dot", 5);
            if (access(dir, X_OK) == 0)
                return true;
        }
        p += len + (end ? 1 : 0);
    }
    return false;
}

int gh_svg_render(gh_audit *a, int (*dot_fn)(gh_audit *, FILE *), FILE *out)
{
    int fds[2];
    if (fflush(out) != 0 || pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_adddup2(&fa, fileno(out), 1);
    char *args[] = {"dot", "-Tsvg", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "dot", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        return -1;
    }
    /* dot may exit early on an error: a write to its closed pipe must fail, not kill us. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    FILE *to = fdopen(fds[1], "w");
    int wrote = to ? dot_fn(a, to) : -1;
    if (to ? fclose(to) != 0 : close(fds[1]) != 0)
        wrote = -1;
    sigaction(SIGPIPE, &old, NULL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return wrote == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
