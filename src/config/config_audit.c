/* What a route serves (tags, critical) and the risks an operator accepted (audit.accept): read
 * by `gatehouse audit`, which ranks findings on critical routes higher and reports accepted ones
 * without failing on them. The gateway itself only carries them. */
#include <string.h>

#include "config/config_internal.h"

#define GH_MAX_ACCEPTS 64

/* The tags that mark a critical asset (or critical: true). */
static const char *const critical_tags[] = {"money", "pii", "auth", "admin", NULL};

static bool tag_ok(const char *t)
{
    size_t len = strlen(t);
    if (len == 0 || len > 32)
        return false;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* "GH-AREA-123": the shape of a check's id (the audit itself says whether it names a check). */
static bool check_id_ok(const char *s)
{
    if (strncmp(s, "GH-", 3) != 0)
        return false;
    const char *p = s + 3, *area = p;
    while (*p >= 'A' && *p <= 'Z')
        p++;
    if (p == area || *p != '-')
        return false;
    p++;
    for (int i = 0; i < 3; i++, p++)
        if (*p < '0' || *p > '9')
            return false;
    return *p == '\0';
}

void gh__cfg_load_audit(gh_walk *w, yaml_node_t *n, gh_config *c, gh_audit_conf *out)
{
    static const char *const keys[] = {"accept", NULL};
    if (!gh__walk_keys(w, n, keys))
        return;
    yaml_node_t *v = gh__walk_get(w, n, "accept");
    if (!v)
        return;
    size_t saved = gh__walk_push_key(w, "accept");
    size_t count = v->type == YAML_MAPPING_NODE
                       ? (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start)
                       : 0;
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of check ids to the reason the risk is accepted");
    } else if (count > GH_MAX_ACCEPTS) {
        gh__walk_error(w, v, "at most %d accepted checks", GH_MAX_ACCEPTS);
    } else if (count) {
        out->accepts = gh_arena_zalloc(&c->arena, count * sizeof(*out->accepts));
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = gh__walk_node(w, p->key), *vn = gh__walk_node(w, p->value);
            gh_audit_accept *a = &out->accepts[out->naccepts];
            if (!gh__walk_str(w, kn, &a->check) || !gh__walk_str(w, vn, &a->reason))
                continue;
            if (!check_id_ok(a->check))
                gh__walk_error(w, kn, "'%s' is not a check id (GH-AREA-123)", a->check);
            else if (strlen(a->reason) < 8)
                gh__walk_error(w, vn, "say why the risk of %s is accepted (8 characters at least)",
                               a->check);
            else
                out->naccepts++;
        }
    }
    gh__walk_pop(w, saved);
}

static void load_tags(gh_walk *w, yaml_node_t *v, gh_route_conf *r)
{
    r->tags = gh__cfg_string_list(w, v, &r->ntags);
    if (r->ntags > GH_MAX_ROUTE_TAGS)
        gh__walk_error(w, v, "at most %d tags", GH_MAX_ROUTE_TAGS);
    for (size_t i = 0; r->tags && i < r->ntags; i++) {
        if (!tag_ok(r->tags[i]))
            gh__walk_error(w, v, "tag '%s': lower-case letters, digits, '-' and '_', at most 32",
                           r->tags[i]);
        for (const char *const *t = critical_tags; *t; t++)
            r->critical |= strcmp(*t, r->tags[i]) == 0;
    }
}

void gh__cfg_load_route_meta(gh_walk *w, yaml_node_t *n, gh_config *c, gh_route_conf *r)
{
    static const char *const no_yes[] = {"false", "true", NULL};
    yaml_node_t *v;
    size_t saved;
    GH_CFG_FIELD(w, n, "tags", false, load_tags(w, v, r))
    GH_CFG_FIELD(w, n, "critical", false, r->critical |= gh__walk_enum(w, v, no_yes) == 1)
    GH_CFG_FIELD(w, n, "audit", false, gh__cfg_load_audit(w, v, c, &r->audit))
}
