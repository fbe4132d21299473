/* The effective configuration (config/config_print.h): notes taken while the keyword tables read
 * the document, then the document printed back through them with libyaml's emitter. */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config_print.h"
#include "core/arena.h"

#define GH_NOTE_TABLES 8 /* the most tables one mapping is read with (a route: 2, a JWT: 5) */
#define GH_NOTE_KNOWN 4  /* the most checks of the keys of one mapping (the admin: 2) */
#define GH_PRINT_DEPTH 64

/* What the tables made of a mapping. */
typedef struct map_note {
    const gh_keyword *tables[GH_NOTE_TABLES]; /* in the order they were applied */
    /* Each check of which keys the mapping may hold: the tables it allowed. A table's default
     * is shown only for a key every check allows (the admin listener is read with the
     * listeners' table but allows only their address). */
    const gh_keyword *known[GH_NOTE_KNOWN][GH_NOTE_TABLES];
} map_note;

/* Small, one per node of the document: the mappings' notes are made when first needed. */
typedef struct node_note {
    map_note *map;     /* NULL: no table read it */
    const char *shown; /* printed in place of the scalar, or NULL */
} node_note;

struct gh_cfg_notes {
    yaml_document_t *doc;
    size_t nnodes;
    node_note *notes; /* one per node of the document, by index */
    gh_arena arena;   /* the shown texts */
};

gh_cfg_notes *gh__cfg_notes_new(yaml_document_t *doc)
{
    gh_cfg_notes *n = calloc(1, sizeof(*n));
    size_t count = (size_t)(doc->nodes.top - doc->nodes.start);
    if (!n || !(n->notes = calloc(count ? count : 1, sizeof(node_note)))) {
        free(n);
        return NULL;
    }
    n->doc = doc;
    n->nnodes = count;
    gh_arena_init(&n->arena, 4096, 0);
    return n;
}

void gh__cfg_notes_free(gh_cfg_notes *notes)
{
    if (!notes)
        return;
    gh_arena_free(&notes->arena);
    free(notes->notes);
    free(notes);
}

/* The note of a node of the document; NULL for nodes made up by the loader (a default is read
 * as a node of its own) or when nothing is noted. */
static node_note *note_of(const gh_cfg_notes *notes, const yaml_node_t *n)
{
    if (!notes || !n)
        return NULL;
    uintptr_t at = (uintptr_t)n, start = (uintptr_t)notes->doc->nodes.start;
    if (at < start || at >= start + notes->nnodes * sizeof(yaml_node_t))
        return NULL;
    return &notes->notes[(at - start) / sizeof(yaml_node_t)];
}

/* The note of a mapping of the document, made now if there was none; NULL for anything else
 * or when out of memory (the mapping then prints as written). */
static map_note *map_note_of(gh_walk *w, yaml_node_t *map)
{
    node_note *n = map && map->type == YAML_MAPPING_NODE ? note_of(w->notes, map) : NULL;
    if (n && !n->map)
        n->map = gh_arena_zalloc(&w->notes->arena, sizeof(map_note));
    return n ? n->map : NULL;
}

void gh__cfg_note_table(gh_walk *w, yaml_node_t *map, const gh_keyword *table)
{
    map_note *note = map_note_of(w, map);
    for (size_t i = 0; note && i < GH_NOTE_TABLES; i++) {
        if (note->tables[i] == table)
            return;
        if (!note->tables[i]) {
            note->tables[i] = table;
            return;
        }
    }
}

void gh__cfg_note_known(gh_walk *w, yaml_node_t *map, const gh_keyword *const *tables)
{
    map_note *note = map_note_of(w, map);
    for (size_t i = 0; note && i < GH_NOTE_KNOWN; i++) {
        if (note->known[i][0])
            continue;
        for (size_t j = 0; tables[j] && j < GH_NOTE_TABLES; j++)
            note->known[i][j] = tables[j];
        return;
    }
}

/* path, resolved against the configuration's folder, made absolute: its folder as the kernel
 * finds it (from the working folder, "..", "." and links resolved), its own name as written, so
 * a file that is a link (a certificate renewed by relinking) is shown as the link it is read
 * through. As written when its folder cannot be resolved. */
static const char *absolute(gh_arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == path ? gh_arena_strdup(a, "/")
                : slash       ? gh_arena_strndup(a, path, (size_t)(slash - path))
                              : gh_arena_strdup(a, ".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    const char *shown = real ? gh_arena_printf(a, "%s/%s", strcmp(real, "/") == 0 ? "" : real,
                                               slash ? slash + 1 : path)
                             : gh_arena_strdup(a, path);
    free(real);
    return shown;
}

void gh__cfg_note_path(gh_walk *w, yaml_node_t *n, const char *path)
{
    node_note *note = n && n->type == YAML_SCALAR_NODE ? note_of(w->notes, n) : NULL;
    if (note)
        note->shown = absolute(&w->notes->arena, path);
}

void gh__cfg_note_secret_file(gh_walk *w, yaml_node_t *n, const char *path)
{
    node_note *note = n && n->type == YAML_SCALAR_NODE ? note_of(w->notes, n) : NULL;
    const char *full = note ? absolute(&w->notes->arena, path) : NULL;
    if (full)
        note->shown = gh_arena_printf(&w->notes->arena, "${file:%s}", full);
}

/* ---- printing ---- */

typedef struct printer {
    gh_walk *w;
    yaml_emitter_t emitter;
    char *out;
    size_t len, cap;
    bool redact, redacted;
    const char *failed; /* why printing stopped, or NULL */
} printer;

static int write_out(void *data, unsigned char *bytes, size_t size)
{
    printer *p = data;
    if (size > GH_CFG_PRINT_MAX - p->len) {
        p->failed = "the effective configuration is larger than 16 MiB (aliases repeat it)";
        return 0;
    }
    if (p->len + size + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + size + 1)
            cap *= 2;
        char *grown = malloc(cap); /* not realloc: the old copy may hold key material */
        if (!grown) {
            p->failed = "out of memory";
            return 0;
        }
        if (p->out) {
            memcpy(grown, p->out, p->len);
            OPENSSL_cleanse(p->out, p->cap);
            free(p->out);
        }
        p->out = grown;
        p->cap = cap;
    }
    memcpy(p->out + p->len, bytes, size);
    p->len += size;
    p->out[p->len] = '\0';
    return 1;
}

static void emit(printer *p, yaml_event_t *ev, int made)
{
    if (!made && !p->failed)
        p->failed = "out of memory";
    if (!made || p->failed) {
        if (made)
            yaml_event_delete(ev);
        return;
    }
    if (!yaml_emitter_emit(&p->emitter, ev) && !p->failed)
        p->failed = p->emitter.problem ? p->emitter.problem : "cannot emit YAML";
}

static void scalar(printer *p, const char *text, size_t len, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (len == 0 && (style == YAML_ANY_SCALAR_STYLE || style == YAML_PLAIN_SCALAR_STYLE))
        style = YAML_SINGLE_QUOTED_SCALAR_STYLE; /* '', where a plain nothing would read as null */
    emit(p, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1,
                                              1, style));
}

static void mapping(printer *p, bool start)
{
    yaml_event_t ev;
    emit(p, &ev, start ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                             YAML_BLOCK_MAPPING_STYLE)
                       : yaml_mapping_end_event_initialize(&ev));
}

/* A key whose name says its value is a credential: a header such as Authorization or
 * X-Api-Key set on requests, or anything named like a secret where the name is the operator's. */
static bool secret_like(const char *name)
{
    static const char *const words[] = {"authorization", "cookie", "token",  "secret",
                                        "password",      "passwd", "api-key", "api_key",
                                        "apikey",        "credential", "private", NULL};
    for (size_t i = 0; name && words[i]; i++)
        if (strcasestr(name, words[i]))
            return true;
    return false;
}

/* Key material that may be written in the file whatever its key: PEM blocks. */
static bool key_material(const char *s)
{
    return strstr(s, "-----BEGIN") != NULL;
}

/* A secret reference is not the secret: it is shown. */
static bool reference(const char *s, size_t len)
{
    return len > 3 && strncmp(s, "${", 2) == 0 && s[len - 1] == '}';
}

static void emit_scalar(printer *p, yaml_node_t *n, bool secret)
{
    const char *text = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    const node_note *note = note_of(p->w->notes, n);
    if (note && note->shown) {
        scalar(p, note->shown, strlen(note->shown), YAML_ANY_SCALAR_STYLE);
        return;
    }
    if (p->redact && (secret || key_material(text)) && !reference(text, len)) {
        char shown[64];
        int sl = snprintf(shown, sizeof(shown), "<redacted %zu bytes>", len);
        p->redacted = true;
        scalar(p, shown, (size_t)sl, YAML_ANY_SCALAR_STYLE);
        return;
    }
    scalar(p, text, len, n->data.scalar.style);
}

static void emit_node(printer *p, yaml_node_t *n, bool secret, size_t depth);

static bool is_required(const gh_keyword *k)
{
    return k->flags & GH_KW_REQUIRED;
}

/* Whether the keys of table would print anything when none is written: a missing mapping is
 * shown with its defaults only when writing them means the same as leaving it out. */
static bool defaults_print(const gh_keyword *table, size_t depth)
{
    bool any = false;
    for (const gh_keyword *k = table; k->name; k++) {
        if (is_required(k))
            return false;
        if (k->guard)
            continue;
        any = any || k->def ||
              (k->table && depth < GH_PRINT_DEPTH &&
               defaults_print(k->table, depth + 1));
    }
    return any;
}

/* A key that was not written, as its default: its def, or the defaults of its table (a
 * mapping, or the keys a custom loader reads, which it reads the same from nothing as from
 * their defaults). Keys with a guard (acceptable only beside others) and custom keys with
 * neither (the loader derives them) are left out. */
static void emit_default(printer *p, const gh_keyword *k, size_t depth)
{
    if (k->guard || is_required(k))
        return;
    if (k->def) {
        scalar(p, k->name, strlen(k->name), YAML_ANY_SCALAR_STYLE);
        scalar(p, k->def, strlen(k->def), YAML_ANY_SCALAR_STYLE);
    } else if (k->table && depth < GH_PRINT_DEPTH && defaults_print(k->table, depth + 1)) {
        scalar(p, k->name, strlen(k->name), YAML_ANY_SCALAR_STYLE);
        mapping(p, true);
        for (const gh_keyword *d = k->table; d->name; d++)
            emit_default(p, d, depth + 1);
        mapping(p, false);
    }
}

static const char *key_text(printer *p, const yaml_node_pair_t *pair)
{
    yaml_node_t *k = gh__walk_node(p->w, pair->key);
    return k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
}

/* Whether one of the first n tables (fewer when NULL ends them) has a key called name. */
static bool in_tables(const gh_keyword *const *tables, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n && tables[i]; i++)
        for (const gh_keyword *k = tables[i]; k->name; k++)
            if (strcmp(k->name, name) == 0)
                return true;
    return false;
}

/* The pairs of n that no table describes, as written: names the operator chose (upstreams,
 * providers, header names), whose values are judged secret or not by their names. */
static void emit_pairs(printer *p, yaml_node_t *n, const map_note *note, size_t depth)
{
    for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
         pair < n->data.mapping.pairs.top && !p->failed; pair++) {
        const char *name = key_text(p, pair);
        if (note && in_tables(note->tables, GH_NOTE_TABLES, name))
            continue;
        emit_node(p, gh__walk_node(p->w, pair->key), false, depth);
        emit_node(p, gh__walk_node(p->w, pair->value), secret_like(name), depth);
    }
}

/* A mapping read with tables: their keys in table order, written or defaulted. */
/* Whether n holds a key of table. */
static bool any_written(printer *p, yaml_node_t *n, const gh_keyword *table)
{
    for (const gh_keyword *k = table; k->name; k++)
        if (gh__walk_get(p->w, n, k->name))
            return true;
    return false;
}

/* Whether every check of the keys of the mapping allows name. */
static bool allowed(const map_note *note, const char *name)
{
    for (size_t i = 0; i < GH_NOTE_KNOWN && note->known[i][0]; i++)
        if (!in_tables(note->known[i], GH_NOTE_TABLES, name))
            return false;
    return true;
}

static void emit_read_mapping(printer *p, yaml_node_t *n, const map_note *note, size_t depth)
{
    for (size_t i = 0; i < GH_NOTE_TABLES && note->tables[i]; i++)
        for (const gh_keyword *k = note->tables[i]; k->name && !p->failed; k++) {
            if (in_tables(note->tables, i, k->name))
                continue; /* a table read the key again (TLS files: one pair and a list) */
            yaml_node_t *v = gh__walk_get(p->w, n, k->name);
            if (!v) {
                if (allowed(note, k->name) &&
                    !((k->flags & GH_KW_ALONE) && any_written(p, n, note->tables[i])))
                    emit_default(p, k, depth);
                continue;
            }
            scalar(p, k->name, strlen(k->name), YAML_ANY_SCALAR_STYLE);
            emit_node(p, v, k->flags & GH_KW_KEY_MATERIAL, depth);
        }
}

static void emit_node(printer *p, yaml_node_t *n, bool secret, size_t depth)
{
    if (p->failed)
        return;
    if (!n || depth > GH_PRINT_DEPTH) {
        p->failed = "nested deeper than 64 levels";
        return;
    }
    yaml_event_t ev;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        emit_scalar(p, n, secret);
        break;
    case YAML_SEQUENCE_NODE:
        emit(p, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                          YAML_BLOCK_SEQUENCE_STYLE));
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            emit_node(p, gh__walk_node(p->w, *i), secret, depth + 1);
        emit(p, &ev, yaml_sequence_end_event_initialize(&ev));
        break;
    case YAML_MAPPING_NODE: {
        const node_note *nn = note_of(p->w->notes, n);
        const map_note *note = nn ? nn->map : NULL;
        bool read = note && note->tables[0];
        mapping(p, true);
        if (read)
            emit_read_mapping(p, n, note, depth + 1);
        emit_pairs(p, n, read ? note : NULL, depth + 1);
        mapping(p, false);
        break;
    }
    default:
        p->failed = "an empty node";
    }
}

char *gh__cfg_print(gh_walk *w, bool redact, size_t *len, bool *redacted)
{
    printer p = {.w = w, .redact = redact};
    if (!yaml_emitter_initialize(&p.emitter)) {
        gh__walk_error(w, NULL, "out of memory");
        return NULL;
    }
    yaml_emitter_set_output(&p.emitter, write_out, &p);
    yaml_emitter_set_unicode(&p.emitter, 1);
    yaml_emitter_set_width(&p.emitter, -1);
    yaml_event_t ev;
    emit(&p, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    emit(&p, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    emit_node(&p, yaml_document_get_root_node(w->doc), false, 0);
    emit(&p, &ev, yaml_document_end_event_initialize(&ev, 1));
    emit(&p, &ev, yaml_stream_end_event_initialize(&ev));
    if (!p.failed && !yaml_emitter_flush(&p.emitter))
        p.failed = "cannot emit YAML";
    yaml_emitter_delete(&p.emitter);
    if (p.failed || !p.out) {
        gh__walk_error(w, NULL, "cannot print the effective configuration: %s",
                       p.failed ? p.failed : "nothing printed");
        if (p.out)
            OPENSSL_cleanse(p.out, p.cap);
        free(p.out);
        return NULL;
    }
    *len = p.len;
    if (redacted)
        *redacted = p.redacted;
    return p.out;
}
