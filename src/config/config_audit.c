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

static void load_accepts(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_audit_conf *out = call->target;
    size_t count = v->type == YAML_MAPPING_NODE
                       ? (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start)
                       : 0;
    if (v->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, v, "expected a mapping of check ids to the reason the risk is accepted");
        return;
    }
    if (count > GH_MAX_ACCEPTS) {
        gh__walk_error(w, v, "at most %d accepted checks", GH_MAX_ACCEPTS);
        return;
    }
    out->accepts = count ? gh_arena_zalloc(w->arena, count * sizeof(*out->accepts)) : NULL;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; count && p < v->data.mapping.pairs.top;
         p++) {
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

const gh_keyword gh__cfg_audit_keys[] = {
    {"accept", GH_KW_CUSTOM, .load = load_accepts},
    GH_KW_END,
};

void gh__cfg_load_tags(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_route_conf *r = call->target;
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

/* critical: true marks the route whatever its tags; false leaves what its tags say. */
void gh__cfg_load_critical(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    static const char *const no_yes[] = {"false", "true", NULL};
    gh_route_conf *r = call->target;
    r->critical |= gh__walk_enum(w, v, no_yes) == 1;
}
