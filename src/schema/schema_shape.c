/* What a compiled schema allows, asked of its shape rather than of an instance: the audit's
 * question whether a body's top-level object may carry properties the schema never names (the
 * way fields such as role or owner_id slip into a backend that binds bodies to its models). */
#include "schema/schema.h"
#include "schema/schema_internal.h"

/* $ref chains and nested applicators are followed this deep; deeper counts as open. */
#define GH_SCHEMA_SHAPE_DEPTH 16

/* The node itself refuses every property it does not name. */
static bool closes_itself(const gh_snode *n)
{
    const gh_snode *names = n->property_names;
    return (n->additional_properties && n->additional_properties->boolean == 0) ||
           (n->unevaluated_properties && n->unevaluated_properties->boolean == 0) ||
           (names && (names->boolean == 0 || names->enum_v || names->const_v)) ||
           (n->max_properties == 0);
}

static bool open_at(const gh_snode *n, int depth)
{
    if (!n || depth > GH_SCHEMA_SHAPE_DEPTH)
        return true;
    if (n->boolean >= 0)
        return n->boolean == 1; /* true takes anything, false nothing */
    if (n->types && !(n->types & GH_ST_OBJECT))
        return false; /* never an object */
    if (closes_itself(n))
        return false;
    if (n->ref && !open_at(n->ref, depth + 1))
        return false; /* the referenced schema applies as well */
    for (size_t i = 0; i < n->nall_of; i++)
        if (!open_at(n->all_of[i], depth + 1))
            return false; /* every member applies: one that closes closes */
    const struct {
        gh_snode **at;
        size_t n;
    } either[] = {{n->any_of, n->nany_of}, {n->one_of, n->none_of}};
    for (size_t k = 0; k < 2; k++) {
        if (!either[k].n)
            continue;
        bool any_open = false; /* closed only if every branch a body may take is */
        for (size_t i = 0; i < either[k].n && !any_open; i++)
            any_open = open_at(either[k].at[i], depth + 1);
        if (!any_open)
            return false;
    }
    return true;
}

bool gh_schema_open_object(const gh_schema *s)
{
    return s && open_at(s->root, 0);
}
