/* What `gatehouse probe` makes of a target's answers: any bytes a gateway of any brand (or an
 * attacker posing as one) sends back are parsed into at most GH_PROBE_MAX_RESPONSES answers whose
 * heads and bodies lie within what was received, whatever the framing, and the evidence made of
 * them stays printable and bounded. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "probe/probe_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_probe p = {0};
    gh_arena_init(&p.arena, 4096, 0);
    for (int mode = 0; mode < 4; mode++) {
        gh_probe_exchange x = {0};
        bool at_eof = mode & 1, is_head = mode & 2;
        gh_probe_parse_answers(&p, &x, (const char *)data, size, at_eof, is_head, false);
        int counted = x.nresponses;
        gh_probe_parse_answers(&p, &x, (const char *)data, size, at_eof, is_head, true);
        assert(x.nresponses >= 0 && x.nresponses <= GH_PROBE_MAX_RESPONSES);
        assert(counted <= x.nresponses + 1);
        size_t total = 0;
        for (int i = 0; i < x.nresponses; i++) {
            const gh_probe_response *r = &x.r[i];
            assert(r->status >= 0 && r->status <= 999);
            assert(r->head && strlen(r->head) <= r->head_len && r->head_len <= size);
            assert(r->body && r->body_len <= size);
            total += r->head_len;
            (void)gh_probe_field(&p, r, "Content-Type");
        }
        assert(total <= size);
        const char *e = gh_probe_escape(&p, (const char *)data, size);
        for (const char *c = e; *c; c++)
            assert(*c >= 0x20 && *c < 0x7f);
        assert(strlen(e) <= GH_PROBE_EVIDENCE_MAX + 64);
    }
    gh_arena_free(&p.arena);
    return 0;
}
