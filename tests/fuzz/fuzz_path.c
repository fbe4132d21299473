/* The canonical path under every combination of rules: never more than GH_NORMALIZED_MAX, always
 * rooted, no dot segment left, and a fixed point (normalizing the result changes nothing). Then
 * the routes' rewrites of it (route/rewrite.h): within gh_route_rewrite_max, under the rewrite's
 * own prefix, canonical under the same rules, and no escaped separator copied from the client. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "route/rewrite.h"
#include "wire/normalize.h"

static int has_dot_segment(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '/')
            continue;
        size_t e = i + 1;
        while (e < len && p[e] != '/')
            e++;
        size_t s = e - i - 1;
        if ((s == 1 && p[i + 1] == '.') || (s == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
            return 1;
    }
    return 0;
}

static int has_escaped_separator(const char *p, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++)
        if (p[i] == '%' &&
            (strncasecmp(p + i + 1, "2F", 2) == 0 || strncasecmp(p + i + 1, "5C", 2) == 0))
            return 1;
    return 0;
}

/* Rewrites the canonical path by whichever of a prefix route and a template route matches. */
static void check_rewrite(const char *path, size_t len, const gh_path_rules *rules)
{
    gh_route_conf routes[2] = {
        {.name = "t", .path_kind = GH_PATH_TEMPLATE, .path = "/u/{id}/o/{o}", .path_len = 13,
         .methods = GH_M_ALL,
         .rewrite = {GH_REWRITE_PATH, "/in/{o}/x/{id}/{o}", 18, 3, {0, NULL}}},
        {.name = "p", .path_kind = GH_PATH_PREFIX, .path = "/", .path_len = 1,
         .methods = GH_M_ALL, .rewrite = {GH_REWRITE_PREFIX, "/v2/", 4, 0, {0, NULL}}},
    };
    gh_config c = {.routes = routes, .nroutes = 2};
    gh_route_match m;
    if (gh_route_find(&c, 0, NULL, 0, path, len, GH_M_GET, &m) != GH_R_OK)
        abort();
    size_t max = gh_route_rewrite_max(m.route, len), out_len, again_len;
    char *out = malloc(max), *again = malloc(GH_NORMALIZED_MAX(max));
    const char *detail = NULL, *fixed = m.route == &routes[0] ? "/in/" : "/v2";
    gh_reason r = gh_route_rewrite(&m, path, len, out, &out_len, &detail);
    if (r != GH_R_OK) {
        if (!detail || (r != GH_R_ENCODED_SLASH && r != GH_R_BACKSLASH) ||
            !has_escaped_separator(path, len))
            abort();
    } else {
        if (out_len + 1 > max || strlen(out) != out_len ||
            strncmp(out, fixed, strlen(fixed)) != 0 || has_dot_segment(out, out_len) ||
            has_escaped_separator(out, out_len))
            abort();
        /* Canonical under the same rules: a fixed point, unless the rewrite's own segments took
         * it past the count a client's path may have (the gateway does not normalize again). */
        gh_reason again_r = gh_normalize_path(out, out_len, rules, again, &again_len, &detail);
        bool too_many =
            again_r == GH_R_BAD_PATH && strcmp(detail, "more than 256 path segments") == 0;
        if (!too_many &&
            (again_r != GH_R_OK || again_len != out_len || memcmp(again, out, out_len) != 0))
            abort();
    }
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gh_path_rules rules = {.encoded_slash = data[0] % 3, .backslash = (data[0] / 3) % 3,
                           .parameters = (data[0] / 9) % 2, .invalid_utf8 = (data[0] / 18) % 2,
                           .keep_slashes = (data[0] / 36) % 2};
    const char *in = (const char *)data + 1;
    size_t len = size - 1, out_len, again_len;
    const char *detail = NULL;
    char *out = malloc(GH_NORMALIZED_MAX(len)), *again = NULL;
    gh_reason r = gh_normalize_path(in, len, &rules, out, &out_len, &detail);
    if (r != GH_R_OK) {
        if (!detail)
            abort();
    } else {
        if (out_len + 1 > GH_NORMALIZED_MAX(len) || out[0] != '/' || strlen(out) != out_len ||
            has_dot_segment(out, out_len) || (!rules.keep_slashes && strstr(out, "//")))
            abort();
        again = malloc(GH_NORMALIZED_MAX(out_len));
        if (gh_normalize_path(out, out_len, &rules, again, &again_len, &detail) != GH_R_OK ||
            again_len != out_len || memcmp(again, out, out_len) != 0)
            abort();
        check_rewrite(out, out_len, &rules);
    }
    gh_check_query(in, len, &detail);
    free(out);
    free(again);
    return 0;
}
