/* pid_file: the process id where service managers and scripts look for it. Written through a
 * temporary file that is renamed into place, so a reader never sees half of it; removed at exit
 * only while it still names this process, so a process that took it over keeps it. */
#ifndef GH_SERVER_PID_FILE_H
#define GH_SERVER_PID_FILE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gh_pid_file {
    char *path; /* NULL: none configured */
    char *tmp;  /* the temporary file until it is renamed */
    bool placed;
} gh_pid_file;

/* Writes the pid into a temporary file beside path, before anything starts, so that a path
 * that cannot take it stops the start. Returns 0, or -1 with the reason in err. */
int gh_pid_file_prepare(gh_pid_file *p, const char *path, char *err, size_t errlen);
/* Renames it into place, once everything is bound. Returns 0, or -1 with the reason in err. */
int gh_pid_file_place(gh_pid_file *p, char *err, size_t errlen);
/* At exit: the temporary file goes; the placed one too if it still holds this process's id. */
void gh_pid_file_release(gh_pid_file *p);

#endif
