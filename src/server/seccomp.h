/* The workers' system call allow-list (seccomp: true). */
#ifndef GH_SERVER_SECCOMP_H
#define GH_SERVER_SECCOMP_H

#include <stddef.h>

/* Confines the calling thread, and any thread it starts later, to the system calls a worker
 * serves with. Other threads are untouched: the control thread keeps exec and fork for binary
 * upgrades. Needs no_new_privs (set here too, for the thread). 0, or -1 with why in err. */
int gh_seccomp_confine_worker(char *err, size_t cap);

#endif
