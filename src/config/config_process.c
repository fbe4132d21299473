/* user: and group: at the top level: whom the process runs as once its sockets are bound. The
 * names are resolved at load, so that a name the system does not know fails `check` at its
 * file:line:col rather than the start after the ports are taken. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* A number written for an id: decimal, below the (id_t)-1 that means "unchanged" to the kernel. */
static bool numeric_id(const char *s, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno || *end || n >= (unsigned long)(id_t)-1)
        return false;
    *out = n;
    return true;
}

void gh__cfg_load_user(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    unsigned long n;
    bool number = numeric_id(s, &n);
    struct passwd pw, *found = NULL;
    char buf[4096];
    int r = number ? getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &found)
                   : getpwnam_r(s, &pw, buf, sizeof(buf), &found);
    if (found) {
        c->process.uid = pw.pw_uid;
        c->process.user_gid = pw.pw_gid;
    } else if (number) {
        /* An id with no entry has no primary group to fall back on: group: says it. */
        c->process.uid = (uid_t)n;
        c->process.user_gid = (gid_t)-1;
    } else {
        gh__walk_error(w, v, "unknown user '%s'%s%s", s, r ? ": " : "", r ? strerror(r) : "");
        return;
    }
    c->process.user = s;
}

void gh__cfg_load_group(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    const char *s;
    if (!gh__walk_str(w, v, &s))
        return;
    unsigned long n;
    bool number = numeric_id(s, &n);
    struct group gr, *found = NULL;
    char buf[16384]; /* a group's entry lists its members */
    int r = number ? getgrgid_r((gid_t)n, &gr, buf, sizeof(buf), &found)
                   : getgrnam_r(s, &gr, buf, sizeof(buf), &found);
    if (found)
        c->process.gid = gr.gr_gid;
    else if (number)
        c->process.gid = (gid_t)n;
    else {
        gh__walk_error(w, v, "unknown group '%s'%s%s", s, r ? ": " : "", r ? strerror(r) : "");
        return;
    }
    c->process.group = s;
}

void gh__cfg_process_finish(gh_walk *w, yaml_node_t *root, gh_config *c)
{
    if (!c->process.user || c->process.group)
        return;
    if (c->process.user_gid == (gid_t)-1) {
        size_t saved = gh__walk_push_key(w, "user");
        gh__walk_error(w, gh__walk_get(w, root, "user"),
                       "user %s has no entry in the user database, so no primary group: write "
                       "group: too", c->process.user);
        gh__walk_pop(w, saved);
        return;
    }
    c->process.gid = c->process.user_gid;
}
