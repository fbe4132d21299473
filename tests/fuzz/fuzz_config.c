/* Fuzzes the configuration loader: any file either loads or fails with diagnostics, never a
 * crash or a leak. A file that loads is audited too, every report rendered, and its effective
 * configuration printed: with no key material redacted, the printed one loads again, to the
 * same hash and the same print. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "config/config.h"
#include "stages/registry.h"

static void audit(const gh_config *c, const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    gh_audit a;
    gh__audit_init(&a, c, "fuzz.yaml");
    gh_locator_open_string(&a.loc, (const char *)data, size);
    gh__audit_run(&a);
    int (*const renders[])(gh_audit *, FILE *) = {gh__render_text, gh__render_markdown,
                                                  gh__render_json, gh__render_sarif,
                                                  gh__render_dot};
    for (size_t i = 0; i < sizeof(renders) / sizeof(renders[0]); i++)
        if (renders[i](&a, sink) != 0)
            abort();
    gh__audit_free(&a);
}

static void reload_printed(const gh_config *c)
{
    if (c->effective_redacted)
        return; /* redacted keys do not load as keys */
    gh_diag d = {0};
    gh_config *again = gh_config_load_string("fuzz.yaml", c->effective, c->effective_len, NULL, &d);
    if (!again || strcmp(again->hash, c->hash) != 0 || again->effective_len != c->effective_len ||
        memcmp(again->effective, c->effective, c->effective_len) != 0) {
        fprintf(stderr, "printed:\n%.*s\n", (int)c->effective_len, c->effective);
        gh_diag_print(&d, stderr);
        abort();
    }
    gh_config_release(again);
    gh_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("fuzz.yaml", (const char *)data, size, NULL, &d);
    if (!c && d.errors == 0)
        abort(); /* a refusal always says why */
    if (c) {
        audit(c, data, size);
        reload_printed(c);
    }
    gh_config_release(c);
    gh_diag_free(&d);
    return 0;
}
