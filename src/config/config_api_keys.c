/* identity.api_keys.<name>: a header and a keys_file of "sha256:<hex> <client_id>" lines. The
 * keys themselves never enter the configuration, the process or the logs: only their digests. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "wire/h1.h"
#include "identity/api_keys.h"

#define GH_API_KEYS_FILE_MAX (16u << 20)
#define GH_API_KEYS_MAX 1000000

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One line: "sha256:<64 hex digits> <client_id>". Returns NULL or what is wrong. */
static const char *parse_line(const char *line, size_t len, gh_api_key *k, gh_arena *arena)
{
    if (len < 7 + 64 + 2 || strncmp(line, "sha256:", 7) != 0)
        return "expected sha256:<64 hex digits> <client_id>";
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_value(line[7 + 2 * i]), lo = hex_value(line[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return "the digest is not 64 hex digits";
        k->digest[i] = (unsigned char)(hi << 4 | lo);
    }
    if (line[71] != ' ' && line[71] != '\t')
        return "the digest is not 64 hex digits";
    const char *id = line + 72, *end = line + len;
    while (id < end && (*id == ' ' || *id == '\t'))
        id++;
    while (end > id && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    if (id == end)
        return "a client_id is required after the digest";
    for (const char *c = id; c < end; c++)
        if (!gh_h1_is_tchar((unsigned char)*c))
            return "a client_id is a token (letters, digits and !#$%&'*+-.^_`|~)";
    k->client_id = gh_arena_strndup(arena, id, (size_t)(end - id));
    return k->client_id ? NULL : "out of memory";
}

static void load_keys_file(gh_walk *w, yaml_node_t *n, const gh_kw_call *call)
{
    gh_api_key_provider *p = call->target;
    const char *path;
    size_t len = 0;
    char *text = gh__walk_str(w, n, &path) ? gh__walk_file(w, n, path, GH_API_KEYS_FILE_MAX, &len) : NULL;
    if (!text)
        return;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    p->keys = gh_arena_zalloc(w->arena, lines * sizeof(gh_api_key));
    const char *line = text, *end = text + len;
    for (size_t no = 1; p->keys && line < end; no++) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = (size_t)((nl ? nl : end) - line);
        const char *s = line;
        while (s < line + ll && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < line + ll && *s != '#') {
            gh_api_key *k = &p->keys[p->nkeys];
            const char *why = parse_line(s, ll - (size_t)(s - line), k, w->arena);
            if (why)
                gh__walk_error(w, n, "%s line %zu: %s", path, no, why);
            else if (++p->nkeys > GH_API_KEYS_MAX)
                gh__walk_error(w, n, "%s: more than %u keys", path, GH_API_KEYS_MAX);
        }
        line = nl ? nl + 1 : end;
    }
    free(text);
    if (p->nkeys == 0 && w->diag->errors == 0)
        gh__walk_error(w, n, "%s holds no keys", path);
    if (gh_api_keys_index(p, w->arena) != 0)
        gh__walk_error(w, n, "out of memory");
    for (size_t i = 0; i < p->nkeys; i++)
        if (gh_api_key_find(p, p->keys[i].digest) != &p->keys[i])
            gh__walk_error(w, n, "%s: the key of %s is listed twice", path, p->keys[i].client_id);
}

static bool realm_ok(const char *realm)
{
    return !strpbrk(realm, "\"\\\r\n");
}

static const gh_keyword api_key_keys[] = {
    {"header", GH_KW_STRING, GH_KW_AT(gh_api_key_provider, header), .def = "X-API-Key",
     .valid = gh__cfg_plain_header_ok, .invalid = "a header name other than Authorization and Cookie"},
    {"realm", GH_KW_STRING, GH_KW_AT(gh_api_key_provider, realm), .valid = realm_ok,
     .invalid = "no quotes, backslashes or line breaks"}, /* by default the name */
    {"keys_file", GH_KW_CUSTOM, GH_KW_REQUIRED, .load = load_keys_file,
     .required = "required: a file of 'sha256:<hex> <client_id>' lines"},
    GH_KW_END,
};

void gh__cfg_load_api_key_provider(gh_walk *w, yaml_node_t *n, void *prov, void *ctx)
{
    (void)ctx;
    gh_api_key_provider *p = prov;
    p->realm = p->name;
    gh__cfg_apply(w, n, api_key_keys, p, NULL);
}
