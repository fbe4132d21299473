/* Checks of the process itself (PROC): whom it runs as and how its workers are confined. */
#include <netinet/in.h>
#include <unistd.h>

#include "audit/audit_internal.h"

static unsigned port_of(const gh_sockaddr *a)
{
    return ntohs(a->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
                                             : ((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* Without user:, the gateway serves as whoever starts it: root when the audit itself runs as
 * root (the account that usually starts it here), or when a port below 1024 needs it. */
static void check_user(gh_audit *a)
{
    const gh_config *c = a->c;
    if (c->process.user)
        return;
    for (size_t i = 0; i < c->nlisteners; i++)
        if (port_of(&c->listeners[i].addr) < 1024) {
            gh__audit_find(a, "GH-PROC-001", GH_SEV_NONE, -1,
                           gh__audit_fmt(a, "listeners[%zu].address", i), "process",
                           "listener %s needs root to bind, and no user: is written: the "
                           "gateway serves as root", c->listeners[i].address);
            return;
        }
    if (geteuid() == 0)
        gh__audit_find(a, "GH-PROC-001", GH_SEV_NONE, -1, "user", "process",
                       "no user: is written: started as root (as this audit runs), the gateway "
                       "serves as root");
}

void gh__audit_check_process(gh_audit *a)
{
    check_user(a);
    if (!a->c->process.seccomp)
        gh__audit_find(a, "GH-PROC-002", GH_SEV_NONE, -1, "seccomp", "process",
                       "seccomp: false: the workers may make any system call");
}
