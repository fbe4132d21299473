/* The trace context parsers on any bytes: what passes has ids of lowercase hex of their exact
 * length, never all zeros, and written again as version 00 parses to the same context; a
 * tracestate that passes is within its 512 bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/trace_context.h"

static void check_id(const char *id, size_t len)
{
    if (strlen(id) != len || strspn(id, "0123456789abcdef") != len || strspn(id, "0") == len)
        abort();
}

static void check_context(const gh_trace_parent *p)
{
    check_id(p->trace_id, GH_TRACE_ID_HEX);
    check_id(p->parent_id, GH_SPAN_ID_HEX);
    char again[GH_TRACEPARENT_LEN + 1];
    gh_trace_parent q;
    snprintf(again, sizeof(again), "00-%s-%s-%02x", p->trace_id, p->parent_id, p->flags);
    if (!gh_traceparent_parse(again, GH_TRACEPARENT_LEN, &q) || memcmp(p, &q, sizeof(q)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly the input's size, so that a read past its end is seen. */
    char *v = malloc(size ? size : 1);
    memcpy(v, data, size);
    gh_trace_parent p;
    memset(&p, 0, sizeof(p));
    if (gh_traceparent_parse(v, size, &p))
        check_context(&p);
    memset(&p, 0, sizeof(p));
    if (gh_b3_parse(v, size, &p))
        check_context(&p);
    if (gh_tracestate_ok(v, size) && size > GH_TRACESTATE_MAX_BYTES)
        abort();
    free(v);
    return 0;
}
