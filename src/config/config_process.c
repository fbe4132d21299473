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

/* The value of user: or group:, and its number when it is one. */
typedef struct id_value {
    const char *text;
    bool number;
    unsigned long n;
} id_value;

/* Looks id up in the user or group database: 0 with *found set or not, or an errno. */
typedef int id_lookup(const id_value *id, bool *found, id_t *out, gid_t *primary);

static int lookup_user(const id_value *id, bool *found, id_t *out, gid_t *primary)
{
    struct passwd pw, *entry = NULL;
    char buf[4096];
    int r = id->number ? getpwuid_r((uid_t)id->n, &pw, buf, sizeof(buf), &entry)
                       : getpwnam_r(id->text, &pw, buf, sizeof(buf), &entry);
    if ((*found = entry != NULL)) {
        *out = pw.pw_uid;
        *primary = pw.pw_gid;
    }
    return r;
}

static int lookup_group(const id_value *id, bool *found, id_t *out, gid_t *primary)
{
    struct group gr, *entry = NULL;
    char buf[16384]; /* a group's entry lists its members */
    int r = id->number ? getgrgid_r((gid_t)id->n, &gr, buf, sizeof(buf), &entry)
                       : getgrnam_r(id->text, &gr, buf, sizeof(buf), &entry);
    if ((*found = entry != NULL))
        *out = *primary = gr.gr_gid;
    return r;
}

/* Reads user: or group: into *id, *out and *primary (-1 for a number with no entry, which has
 * no primary group). An unknown name is an error at its line. */
static bool resolve(gh_walk *w, yaml_node_t *v, const char *what, id_lookup *lookup,
                    id_value *id, id_t *out, gid_t *primary)
{
    if (!gh__walk_str(w, v, &id->text))
        return false;
    id->number = numeric_id(id->text, &id->n);
    bool found = false;
    int r = lookup(id, &found, out, primary);
    if (found)
        return true;
    if (!id->number) {
        gh__walk_error(w, v, "unknown %s '%s'%s%s", what, id->text, r ? ": " : "",
                       r ? strerror(r) : "");
        return false;
    }
    *out = (id_t)id->n;
    *primary = (gid_t)-1;
    return true;
}

void gh__cfg_load_user(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    id_value id;
    id_t uid;
    if (resolve(w, v, "user", lookup_user, &id, &uid, &c->process.user_gid)) {
        c->process.uid = (uid_t)uid;
        c->process.user = id.text;
    }
}

void gh__cfg_load_group(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_config *c = call->target;
    id_value id;
    id_t gid;
    gid_t primary;
    if (resolve(w, v, "group", lookup_group, &id, &gid, &primary)) {
        c->process.gid = (gid_t)gid;
        c->process.group = id.text;
    }
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
