/* JSON bodies and schemas: the first byte picks the mode. 0: the rest is a request body, parsed
 * within the JSON limits and validated against a schema using most keywords. 1: the rest is a
 * schema, compiled (every $ref kept inside it) and, when it compiles, used on a few instances.
 * Neither may crash, leak or report an error without a location. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema.h"

static const char order_schema[] =
    "{\"$defs\":{\"sku\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}-[0-9]{4}$\"}},"
    "\"type\":\"object\",\"required\":[\"id\"],\"additionalProperties\":false,"
    "\"properties\":{\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
    "\"note\":{\"type\":\"string\",\"maxLength\":20},\"at\":{\"format\":\"date-time\"},"
    "\"n\":{\"type\":\"number\",\"multipleOf\":0.5,\"exclusiveMaximum\":100},"
    "\"tags\":{\"type\":\"array\",\"uniqueItems\":true,\"contains\":{\"const\":\"x\"},\"maxContains\":2},"
    "\"items\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"}],"
    "\"items\":{\"$ref\":\"#/$defs/sku\"},\"unevaluatedItems\":false},"
    "\"more\":{\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}],"
    "\"if\":{\"properties\":{\"a\":{\"const\":1}}},\"then\":{\"minProperties\":2},"
    "\"dependentRequired\":{\"a\":[\"c\"]},\"propertyNames\":{\"maxLength\":3},"
    "\"unevaluatedProperties\":{\"type\":\"boolean\"}}}}";

static void check_errors(const gh_schema *s, const gh_jv *inst)
{
    gh_schema_error errs[10];
    size_t n = gh_schema_validate(s, inst, errs, 10);
    for (size_t i = 0; i < n && i < 10; i++)
        if (errs[i].schema_path[0] != '#' || !errs[i].message[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    char err[300];
    gh_schema_options o = {.format_assertion = true};
    if (data[0] % 2 == 0) {
        static gh_schema *order;
        if (!order) {
            json_t *doc = json_loads(order_schema, 0, NULL);
            order = gh_schema_compile(doc, &o, err, sizeof(err));
            json_decref(doc);
            if (!order)
                abort();
        }
        gh_arena a;
        gh_arena_init(&a, 4096, GH_JV_TREE_BOUND(len));
        gh_jv_limits lim = {64, 1u << 20};
        const char *why;
        size_t at;
        const gh_jv *inst = gh_jv_parse(p, len, &lim, &a, &why, &at);
        if (inst)
            check_errors(order, inst);
        else if (!why || at > len)
            abort();
        gh_arena_free(&a);
        return 0;
    }
    json_t *doc = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
    if (!doc)
        return 0;
    gh_schema *s = gh_schema_compile(doc, &o, err, sizeof(err));
    if (!s && err[0] != '#')
        abort(); /* every refusal names where */
    if (s) {
        const char *instances[] = {"null", "1", "1.5", "\"abc\"", "[1,2,2]", "{\"a\":[{}]}", "true"};
        gh_arena a;
        gh_arena_init(&a, 4096, 1u << 20);
        gh_jv_limits lim = {64, 4096};
        for (size_t i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
            const char *why;
            size_t at;
            const gh_jv *inst = gh_jv_parse(instances[i], strlen(instances[i]), &lim, &a, &why, &at);
            if (!inst)
                abort();
            check_errors(s, inst);
        }
        gh_arena_free(&a);
        gh_schema_free(s);
    }
    json_decref(doc);
    return 0;
}
