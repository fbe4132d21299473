#include "wire/header_ops.h"

/* '_' and '-' alike: what the operator removes or replaces goes in every spelling a CGI-style
 * backend would read as the same header. */
static bool same_name(const gh_h1_header *a, const gh_h1_header *b)
{
    return gh_h1_name_folds_to(b, a->name, a->name_len);
}

bool gh_header_ops_drops(const gh_header_ops *ops, const gh_h1_header *h)
{
    for (size_t i = 0; i < ops->ndrop; i++)
        if (same_name(&ops->drop[i], h))
            return true;
    return false;
}

bool gh_header_ops_put(const gh_header_ops *global, const gh_header_ops *route, gh_h1_header *out,
                       size_t *n, size_t max)
{
    for (size_t i = 0; i < global->nput; i++) {
        if (route && gh_header_ops_drops(route, &global->put[i]))
            continue;
        if (*n == max)
            return false;
        out[(*n)++] = global->put[i];
    }
    for (size_t i = 0; route && i < route->nput; i++) {
        if (*n == max)
            return false;
        out[(*n)++] = route->put[i];
    }
    return true;
}
