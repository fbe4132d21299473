/* gatehouse: verbs and flags only. */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "config/config.h"
#include "server/control.h"
#include "stages/registry.h"
#include "tools/token.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: gatehouse run -c FILE       start the gateway\n"
                 "       gatehouse check -c FILE     validate a configuration (exit 0 or 1)\n"
                 "       gatehouse audit -c FILE     threat-model report (audit --help)\n"
                 "       gatehouse token ...          development keys and tokens (token help)\n"
                 "       gatehouse version\n");
    return out == stderr ? 2 : 0;
}

static const char *config_flag(int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            return argv[i + 1];
    return NULL;
}

static int check(const char *path)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load(path, NULL, &d);
    gh_diag_print(&d, stderr);
    if (c)
        printf("%s: ok (%zu listeners, %zu upstreams, %zu routes, %zu warnings)\n", path,
               c->nlisteners, c->nupstreams, c->nroutes, d.warnings);
    else
        fprintf(stderr, "%s: %zu error%s\n", path, d.errors, d.errors == 1 ? "" : "s");
    gh_config_release(c);
    gh_diag_free(&d);
    return c ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    const char *verb = argv[1];
    if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0) {
        printf("gatehouse %s\n", GH_VERSION);
        return 0;
    }
    if (strcmp(verb, "token") == 0)
        return gh_token_main(argc - 1, argv + 1);
    if (strcmp(verb, "audit") == 0)
        return gh_audit_main(argc - 1, argv + 1);
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        return usage(stdout);
    const char *path = config_flag(argc, argv);
    if (!path) {
        fprintf(stderr, "gatehouse %s: -c FILE is required\n", verb);
        return usage(stderr);
    }
    if (strcmp(verb, "check") == 0)
        return check(path);
    if (strcmp(verb, "run") == 0)
        return gh_control_run(path);
    fprintf(stderr, "gatehouse: unknown verb '%s'\n", verb);
    return usage(stderr);
}
