/* The canonical path under every combination of rules: never more than GH_NORMALIZED_MAX, always
 * rooted, no dot segment left, and a fixed point (normalizing the result changes nothing). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    }
    gh_check_query(in, len, &detail);
    free(out);
    free(again);
    return 0;
}
