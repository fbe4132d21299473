/* no_new_privs and the switch to user: and group:. glibc applies setgroups, setresgid and
 * setresuid to every thread of the process, so the workers, already listening, change too. */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "server/privileges.h"

/* Supplementary groups kept from the user's database entry (a `gatehouse` group that may read
 * the keys, say): bounded, like NGROUPS_MAX on small systems. */
#define GH_MAX_GROUPS 64

int gh_no_new_privs(char *err, size_t cap)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, cap, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The user's supplementary groups with gid first; only gid when the user has no entry. */
static int user_groups(uid_t uid, gid_t gid, gid_t *groups)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    int n = GH_MAX_GROUPS;
    groups[0] = gid;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found ||
        getgrouplist(pw.pw_name, gid, groups, &n) < 0)
        return 1; /* none, or more than we keep: only the group itself */
    return n;
}

/* After the switch, root must be out of reach: a process that could set its ids back to 0 has
 * dropped nothing (a saved set-user-id left at 0, capabilities kept). */
static int verify_dropped(uid_t uid, gid_t gid, char *err, size_t cap)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != uid ||
        eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
        snprintf(err, cap, "the switch to uid %u gid %u did not take on every id", uid, gid);
        return -1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, cap, "after the switch to uid %u the process could become root again", uid);
        return -1;
    }
    return 0;
}

/* Whether p asks for ids the process does not run as already. */
static bool switch_needed(const gh_process_conf *p)
{
    if (!p->user && !p->group)
        return false;
    uid_t uid = p->user ? p->uid : geteuid();
    return !(geteuid() == uid && getuid() == uid && getegid() == p->gid && getgid() == p->gid);
}

int gh_privileges_check(const gh_process_conf *p, char *err, size_t cap)
{
    if (!switch_needed(p) || geteuid() == 0)
        return 0;
    snprintf(err, cap, "%s%s%s%s%s: the gateway was started as uid %u, not root, so it cannot "
             "switch to uid %u gid %u: start it as root, or as that user and group without "
             "user: and group:", p->user ? "user: " : "", p->user ? p->user : "",
             p->user && p->group ? ", " : "", p->group ? "group: " : "",
             p->group ? p->group : "", geteuid(), p->user ? p->uid : geteuid(), p->gid);
    return -1;
}

int gh_privileges_drop(const gh_process_conf *p, char *err, size_t cap)
{
    if (!switch_needed(p))
        return 0; /* started as them already (systemd's User= and Group=) */
    if (gh_privileges_check(p, err, cap) != 0)
        return -1;
    uid_t uid = p->user ? p->uid : geteuid();
    gid_t gid = p->gid;
    gid_t groups[GH_MAX_GROUPS];
    int n = p->user ? user_groups(uid, gid, groups) : (groups[0] = gid, 1);
    const char *step = setgroups((size_t)n, groups) != 0 ? "setgroups"
                       : setresgid(gid, gid, gid) != 0   ? "setresgid"
                       : setresuid(uid, uid, uid) != 0   ? "setresuid"
                                                         : NULL;
    if (step) {
        snprintf(err, cap, "cannot switch to uid %u gid %u: %s: %s", uid, gid, step,
                 strerror(errno));
        return -1;
    }
    if (verify_dropped(uid, gid, err, cap) != 0)
        return -1;
#ifdef __SANITIZE_ADDRESS__
    /* The change of ids made the process undumpable, and LeakSanitizer reads its threads with
     * ptrace at exit, which that refuses: the sanitized test build only stays dumpable. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return 0;
}

bool gh_privileges_changed(const gh_process_conf *rp, const gh_process_conf *p)
{
    bool had_user = rp->user != NULL, has_user = p->user != NULL;
    bool had_group = rp->user || rp->group, has_group = p->user || p->group;
    return had_user != has_user || had_group != has_group || (has_user && rp->uid != p->uid) ||
           (has_group && rp->gid != p->gid);
}

const char *gh_privileged_port_why(const gh_sockaddr *addr, int err)
{
    if (err != -EACCES || geteuid() == 0)
        return NULL;
    in_port_t port = addr->ss.ss_family == AF_INET6
                         ? ((const struct sockaddr_in6 *)&addr->ss)->sin6_port
                         : ((const struct sockaddr_in *)&addr->ss)->sin_port;
    if (ntohs(port) >= 1024)
        return NULL;
    return "a port below 1024 needs root or CAP_NET_BIND_SERVICE, which this process does not "
           "have (started as root, the gateway gives them up once its ports are bound: see "
           "user:): add the port with a restart, or grant CAP_NET_BIND_SERVICE";
}
