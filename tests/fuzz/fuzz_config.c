/* Fuzzes the configuration loader: any file either loads or fails with diagnostics, never a
 * crash or a leak. */
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load_string("fuzz.yaml", (const char *)data, size, NULL, &d);
    if (!c && d.errors == 0)
        abort(); /* a refusal always says why */
    gh_config_release(c);
    gh_diag_free(&d);
    return 0;
}
