/* tracing: whose trace context a request continues (extract) and the formats read and written
 * (propagation). Every request has a context whatever is written here (gate/trace.c). */
#include <string.h>

#include "config/config_internal.h"

static const char *const extract_choices[] = {"always", "trusted", "never", NULL};

/* One format's bit, or 0 when the name is none. */
static uint8_t format_bit(const char *name)
{
    if (strcmp(name, "w3c") == 0)
        return GH_TRACE_W3C;
    if (strcmp(name, "b3") == 0)
        return GH_TRACE_B3;
    return 0;
}

/* Adds the format n names; false when it reported why it cannot. */
static bool add_format(gh_walk *w, yaml_node_t *n, gh_tracing_conf *t)
{
    const char *name;
    if (!gh__walk_str(w, n, &name))
        return false;
    uint8_t bit = format_bit(name);
    if (!bit)
        gh__walk_error(w, n, "unknown format \"%s\": expected w3c or b3", name);
    else if (t->propagation & bit)
        gh__walk_error(w, n, "%s is listed twice", name);
    t->propagation |= bit;
    return bit != 0;
}

/* A list of formats ([w3c] or [w3c, b3]); one name alone stands for a list of it (the default,
 * w3c, is written so). W3C Trace Context is always read and written: b3 only adds to it. */
static void load_propagation(gh_walk *w, yaml_node_t *v, const gh_kw_call *call)
{
    gh_tracing_conf *t = call->target;
    t->propagation = 0;
    bool named = true;
    if (v->type == YAML_SCALAR_NODE) {
        named = add_format(w, v, t);
    } else {
        size_t count = 0;
        yaml_node_item_t *items = gh__walk_items(w, v, &count);
        if (!items)
            return; /* reported */
        for (size_t i = 0; i < count; i++) {
            size_t saved = gh__walk_push_index(w, i);
            named = add_format(w, gh__walk_node(w, items[i]), t) && named;
            gh__walk_pop(w, saved);
        }
    }
    if (named && !(t->propagation & GH_TRACE_W3C))
        gh__walk_error(w, v, "w3c is always propagated: list it (b3 only adds to it)");
}

const gh_keyword gh__cfg_tracing_keys[] = {
    {"extract", GH_KW_ENUM, GH_KW_AT(gh_tracing_conf, extract), .choices = extract_choices,
     .def = "trusted"},
    {"propagation", GH_KW_CUSTOM, .def = "w3c", .load = load_propagation},
    GH_KW_END,
};
