#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/yaml_walk.h"
#include "config/config_print.h"

size_t gh__walk_push_key(gh_walk *w, const char *key)
{
    size_t saved = w->path_len;
    int n = snprintf(w->path + w->path_len, sizeof(w->path) - w->path_len, "%s%s",
                     w->path_len ? "." : "", key);
    if (n > 0 && w->path_len + (size_t)n < sizeof(w->path))
        w->path_len += (size_t)n;
    return saved;
}

size_t gh__walk_push_index(gh_walk *w, size_t i)
{
    size_t saved = w->path_len;
    int n = snprintf(w->path + w->path_len, sizeof(w->path) - w->path_len, "[%zu]", i);
    if (n > 0 && w->path_len + (size_t)n < sizeof(w->path))
        w->path_len += (size_t)n;
    return saved;
}

void gh__walk_pop(gh_walk *w, size_t saved)
{
    w->path_len = saved;
    w->path[saved] = '\0';
}

static void report(gh_walk *w, bool error, const yaml_node_t *n, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t line = n ? n->start_mark.line + 1 : 1, col = n ? n->start_mark.column + 1 : 1;
    gh_diag_add(w->diag, error, "%s:%zu:%zu: %s%s: %s", w->file, line, col,
                error ? "" : "warning: ", w->path_len ? w->path : "(top level)", msg);
}

void gh__walk_error(gh_walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(w, true, n, fmt, ap);
    va_end(ap);
}

void gh__walk_warn(gh_walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(w, false, n, fmt, ap);
    va_end(ap);
}

yaml_node_t *gh__walk_node(gh_walk *w, int id)
{
    return yaml_document_get_node(w->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *gh__walk_get(gh_walk *w, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(gh__walk_node(w, p->key));
        if (k && strcmp(k, key) == 0)
            return gh__walk_node(w, p->value);
    }
    return NULL;
}

size_t gh_edit_distance(const char *a, const char *b, size_t max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return max + 1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best = row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
    }
    return row[lb] > max ? max + 1 : row[lb];
}

bool gh__walk_keys(gh_walk *w, yaml_node_t *map, const char *const *allowed)
{
    if (!map || map->type != YAML_MAPPING_NODE) {
        gh__walk_error(w, map, "expected a mapping (key: value)");
        return false;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = gh__walk_node(w, p->key);
        const char *k = scalar(kn);
        if (!k) {
            gh__walk_error(w, kn, "keys must be plain strings");
            continue;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *earlier = scalar(gh__walk_node(w, q->key));
            if (earlier && strcmp(earlier, k) == 0) {
                gh__walk_error(w, kn, "duplicate key '%s'", k);
                break;
            }
        }
        const char *best = NULL;
        size_t best_d = 3;
        bool known = false;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, k) == 0) {
                known = true;
                break;
            }
            size_t d = gh_edit_distance(k, *a, 2);
            if (d < best_d) {
                best_d = d;
                best = *a;
            }
        }
        if (known)
            continue;
        if (best)
            gh__walk_error(w, kn, "unknown key '%s'; did you mean '%s'?", k, best);
        else
            gh__walk_error(w, kn, "unknown key '%s'", k);
    }
    return true;
}

yaml_node_item_t *gh__walk_items(gh_walk *w, yaml_node_t *n, size_t *count)
{
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        gh__walk_error(w, n, "expected a list");
        *count = 0;
        return NULL;
    }
    *count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    return n->data.sequence.items.start;
}

yaml_node_item_t *gh__walk_items_within(gh_walk *w, yaml_node_t *n, size_t max, const char *what,
                                        size_t *count)
{
    yaml_node_item_t *items = gh__walk_items(w, n, count);
    if (items && (*count == 0 || *count > max)) {
        gh__walk_error(w, n, "between 1 and %zu %s", max, what);
        return NULL;
    }
    return items;
}

bool gh__walk_str(gh_walk *w, yaml_node_t *n, const char **out)
{
    const char *s = scalar(n);
    if (!s) {
        gh__walk_error(w, n, "expected a string");
        return false;
    }
    /* The document is freed after loading: the snapshot keeps its own copy. */
    *out = gh_arena_strdup(w->arena, s);
    return *out != NULL;
}

static int parse_uint(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 15)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

bool gh__walk_uint(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = scalar(n);
    uint64_t v;
    if (!s || parse_uint(s, strlen(s), &v) != 0) {
        gh__walk_error(w, n, "expected a whole number");
        return false;
    }
    if (v < min || v > max) {
        gh__walk_error(w, n, "%llu is out of range [%llu, %llu]", (unsigned long long)v,
                       (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

int gh_parse_duration_ms(const char *s, uint64_t *out)
{
    size_t digits = 0;
    while (s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (parse_uint(s, digits, &v) != 0)
        return -1;
    const char *u = s + digits;
    uint64_t mult;
    if (strcmp(u, "ms") == 0)
        mult = 1;
    else if (strcmp(u, "s") == 0)
        mult = 1000;
    else if (strcmp(u, "m") == 0)
        mult = 60000;
    else if (strcmp(u, "h") == 0)
        mult = 3600000;
    else if (strcmp(u, "d") == 0)
        mult = 86400000;
    else
        return -1;
    if (v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int gh_parse_size(const char *s, uint64_t *out)
{
    size_t digits = 0;
    while (s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (parse_uint(s, digits, &v) != 0)
        return -1;
    const char *u = s + digits;
    uint64_t mult;
    if (*u == '\0')
        mult = 1;
    else if (strcasecmp(u, "k") == 0)
        mult = 1024;
    else if (strcasecmp(u, "m") == 0)
        mult = 1024 * 1024;
    else if (strcasecmp(u, "g") == 0)
        mult = 1024ull * 1024 * 1024;
    else
        return -1;
    *out = v * mult;
    return 0;
}

bool gh__walk_duration_ms(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = scalar(n);
    uint64_t v;
    if (!s || gh_parse_duration_ms(s, &v) != 0) {
        gh__walk_error(w, n, "expected a duration such as 250ms, 5s, 1m, 2h or 14d");
        return false;
    }
    if (v < min || v > max) {
        gh__walk_error(w, n, "%s is out of range [%llums, %llums]", s, (unsigned long long)min,
                       (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool gh__walk_size(gh_walk *w, yaml_node_t *n, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = scalar(n);
    uint64_t v;
    if (!s || gh_parse_size(s, &v) != 0) {
        gh__walk_error(w, n, "expected a size such as 512, 16k, 1m or 1g");
        return false;
    }
    if (v < min || v > max) {
        gh__walk_error(w, n, "%s is out of range [%llu, %llu] bytes", s, (unsigned long long)min,
                       (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

int gh__walk_enum(gh_walk *w, yaml_node_t *n, const char *const *choices)
{
    const char *s = scalar(n);
    if (s)
        for (int i = 0; choices[i]; i++)
            if (strcmp(s, choices[i]) == 0)
                return i;
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
    }
    gh__walk_error(w, n, "expected one of: %s", list);
    return -1;
}

/* Reads a whole file of at most max bytes into a malloc'd buffer. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *gh__walk_path(gh_walk *w, const char *path)
{
    if (path[0] == '/')
        return path;
    const char *slash = strrchr(w->file, '/');
    int dir = slash ? (int)(slash - w->file) : 1;
    /* Sized to fit: a path cut short would name another file. */
    size_t len = (size_t)dir + 1 + strlen(path) + 1;
    char *full = gh_arena_alloc(w->arena, len);
    if (!full)
        return path;
    snprintf(full, len, "%.*s/%s", dir, slash ? w->file : ".", path);
    return full;
}

const char *gh__walk_readable_path(gh_walk *w, yaml_node_t *n, size_t max)
{
    const char *path;
    size_t len;
    char *text = gh__walk_str(w, n, &path) ? gh__walk_file(w, n, path, max, &len) : NULL;
    bool readable = text != NULL;
    free(text);
    return readable ? gh__walk_path(w, path) : NULL;
}

static char *read_named(gh_walk *w, yaml_node_t *n, const char *path, size_t max, size_t *len)
{
    char *buf = slurp(path, max, len);
    if (!buf)
        gh__walk_error(w, n, "cannot read %s (missing, unreadable or larger than %zu bytes)", path,
                       max);
    return buf;
}

char *gh__walk_file(gh_walk *w, yaml_node_t *n, const char *path, size_t max, size_t *len)
{
    path = gh__walk_path(w, path);
    gh__cfg_note_path(w, n, path);
    return read_named(w, n, path, max, len);
}

/* A secret is never written in the file: "${env:NAME}" or "${file:/path}" (trailing newlines
 * of a file are dropped). Returns a malloc'd value (wipe it after use) or NULL after reporting. */
char *gh__walk_secret(gh_walk *w, yaml_node_t *n, size_t *len)
{
    const char *s;
    if (!gh__walk_str(w, n, &s))
        return NULL;
    size_t sl = strlen(s);
    if (sl < 4 || strncmp(s, "${", 2) != 0 || s[sl - 1] != '}') {
        gh__walk_error(w, n, "secrets are references, ${env:NAME} or ${file:/path}, never inline");
        return NULL;
    }
    char ref[1024];
    if (sl - 3 >= sizeof(ref)) { /* cut short, it would name another file or variable */
        gh__walk_error(w, n, "a reference longer than %zu characters", sizeof(ref) - 1);
        return NULL;
    }
    snprintf(ref, sizeof(ref), "%.*s", (int)(sl - 3), s + 2);
    if (strncmp(ref, "env:", 4) == 0) {
        const char *v = getenv(ref + 4);
        if (!v) {
            gh__walk_error(w, n, "environment variable %s is not set", ref + 4);
            return NULL;
        }
        *len = strlen(v);
        return strdup(v);
    }
    if (strncmp(ref, "file:", 5) == 0) {
        const char *path = gh__walk_path(w, ref + 5);
        gh__cfg_note_secret_file(w, n, path);
        char *v = read_named(w, n, path, 65536, len);
        while (v && *len && (v[*len - 1] == '\n' || v[*len - 1] == '\r'))
            v[--*len] = '\0';
        return v;
    }
    gh__walk_error(w, n, "unknown secret reference '%s': use env: or file:", ref);
    return NULL;
}
