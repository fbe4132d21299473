#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/pid_file.h"

/* The longest pid line, "4194304\n" and then some. */
#define GH_PID_TEXT_MAX 32

static int fail(char *err, size_t errlen, const char *path, int e)
{
    snprintf(err, errlen, "pid_file: cannot write %s: %s", path, strerror(e));
    return -1;
}

int gh_pid_file_prepare(gh_pid_file *p, const char *path, char *err, size_t errlen)
{
    *p = (gh_pid_file){0};
    if (!path)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return fail(err, errlen, path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    char text[GH_PID_TEXT_MAX];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    p->path = strdup(path);
    if (!p->path || asprintf(&p->tmp, "%s.XXXXXX", path) < 0) {
        p->tmp = NULL;
        gh_pid_file_release(p);
        return fail(err, errlen, path, ENOMEM);
    }
    /* A new file of a name nobody could foresee: in a folder others may write, a foreseeable
     * name could already be a link to a file of this user's, which writing would overwrite. */
    int fd = mkostemp(p->tmp, O_CLOEXEC);
    int e = errno;
    bool ok = fd >= 0 && fchmod(fd, 0644) == 0 && write(fd, text, (size_t)n) == n;
    e = fd < 0 ? e : errno;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok) {
        if (fd >= 0)
            unlink(p->tmp);
        free(p->tmp);
        p->tmp = NULL;
        gh_pid_file_release(p);
        return fail(err, errlen, path, e ? e : EIO);
    }
    return 0;
}

int gh_pid_file_place(gh_pid_file *p, char *err, size_t errlen)
{
    if (!p->tmp)
        return 0;
    if (rename(p->tmp, p->path) != 0)
        return fail(err, errlen, p->path, errno);
    free(p->tmp);
    p->tmp = NULL;
    p->placed = true;
    return 0;
}

/* Whether the file at path names this process. */
static bool holds_our_pid(const char *path)
{
    char text[GH_PID_TEXT_MAX] = "";
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    long pid = strtol(text, &end, 10);
    return end != text && (*end == '\n' || *end == '\0') && pid == (long)getpid();
}

void gh_pid_file_release(gh_pid_file *p)
{
    if (p->tmp)
        unlink(p->tmp);
    if (p->placed && holds_our_pid(p->path))
        unlink(p->path);
    free(p->tmp);
    free(p->path);
    *p = (gh_pid_file){0};
}
