/* The trust-boundary graph as Graphviz DOT and as Mermaid (for the Markdown report). Labels hold
 * "\n" as their line break. */
#include <string.h>

#include "audit/audit_internal.h"

static bool zone_used(const gh_graph *g, gh_zone z)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].zone == z)
            return true;
    return false;
}

/* A label inside DOT's double quotes: '"' and stray backslashes escaped, "\n" kept. */
static void dot_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            fputs("\\n", out);
            s++;
        } else if (*s == '"' || *s == '\\') {
            fputc('\\', out);
            fputc(*s, out);
        } else if ((unsigned char)*s >= 0x20) {
            fputc(*s, out);
        }
    }
}

int gh__render_dot(gh_audit *a, FILE *out)
{
    gh_graph g;
    gh__audit_graph(a, &g);
    fprintf(out, "digraph gatehouse {\n"
                 "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label=\"");
    dot_text(out, a->file);
    fprintf(out, ": trust boundaries\"];\n"
                 "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
                 "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    static const char *const colors[GH_NZONES] = {"red", "darkorange", "steelblue", "black",
                                                  "darkgreen", "gray40"};
    for (int z = 0; z < GH_NZONES; z++) {
        if (!zone_used(&g, (gh_zone)z))
            continue;
        fprintf(out, "  subgraph cluster_%d {\n    label=\"%s\"; style=dashed; color=%s;\n", z,
                gh__zone_label((gh_zone)z), colors[z]);
        for (size_t i = 0; i < g.nnodes; i++) {
            const gh_graph_node *n = &g.nodes[i];
            if (n->zone != (gh_zone)z)
                continue;
            fprintf(out, "    \"%s\" [label=\"", n->id);
            dot_text(out, n->label);
            fprintf(out, "\"%s%s];\n", n->critical ? ", color=red, penwidth=2, fontcolor=red" : "",
                    z <= GH_ZONE_INTERNAL ? ", shape=ellipse" : "");
        }
        fprintf(out, "  }\n");
    }
    for (size_t i = 0; i < g.nedges; i++) {
        const gh_graph_edge *e = &g.edges[i];
        fprintf(out, "  \"%s\" -> \"%s\" [label=\"", e->from, e->to);
        dot_text(out, e->label);
        fprintf(out, "\"%s%s];\n", e->critical ? ", color=red, penwidth=2" : "",
                e->dashed ? ", style=dashed" : "");
    }
    fprintf(out, "}\n");
    return ferror(out) ? -1 : 0;
}

/* A label inside Mermaid's double quotes: quotes as #quot;, "\n" as <br/>, markup neutralized. */
static void mermaid_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n') {
            fputs("<br/>", out);
            s++;
        } else if (*s == '"') {
            fputs("#quot;", out);
        } else if (*s == '<') {
            fputs("#lt;", out);
        } else if (*s == '>') {
            fputs("#gt;", out);
        } else if ((unsigned char)*s >= 0x20) {
            fputc(*s, out);
        }
    }
}

int gh__render_mermaid(gh_audit *a, FILE *out)
{
    gh_graph g;
    gh__audit_graph(a, &g);
    fprintf(out, "flowchart LR\n");
    for (int z = 0; z < GH_NZONES; z++) {
        if (!zone_used(&g, (gh_zone)z))
            continue;
        fprintf(out, "  subgraph zone_%d[\"%s\"]\n", z, gh__zone_label((gh_zone)z));
        for (size_t i = 0; i < g.nnodes; i++) {
            const gh_graph_node *n = &g.nodes[i];
            if (n->zone != (gh_zone)z)
                continue;
            fprintf(out, "    %s%s\"", n->id, z <= GH_ZONE_INTERNAL ? "([" : "[");
            mermaid_text(out, n->label);
            fprintf(out, "\"%s\n", z <= GH_ZONE_INTERNAL ? "])" : "]");
        }
        fprintf(out, "  end\n");
    }
    for (size_t i = 0; i < g.nedges; i++) {
        const gh_graph_edge *e = &g.edges[i];
        fprintf(out, "  %s %s", e->from, e->dashed ? "-.->" : e->critical ? "==>" : "-->");
        if (*e->label) {
            fputs("|\"", out);
            mermaid_text(out, e->label);
            fputs("\"|", out);
        }
        fprintf(out, " %s\n", e->to);
    }
    bool any_critical = false;
    for (size_t i = 0; i < g.nnodes; i++)
        if (g.nodes[i].critical) {
            if (!any_critical)
                fprintf(out, "  classDef critical stroke:#c00,stroke-width:3px,color:#c00\n");
            any_critical = true;
            fprintf(out, "  class %s critical\n", g.nodes[i].id);
        }
    return ferror(out) ? -1 : 0;
}
