/* gatehouse: verbs and flags only. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "config/config.h"
#include "probe/probe.h"
#include "server/control.h"
#include "stages/registry.h"
#include "tools/ctl.h"
#include "tools/token.h"
#include "tools/version.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: gatehouse run [-c] FILE     start the gateway\n"
                 "       gatehouse check [-c] FILE   validate a configuration (exit 0 or 1)\n"
                 "       gatehouse check [-c] FILE --print   ... and print it as loaded\n"
                 "       gatehouse audit -c FILE     threat-model report (audit --help)\n"
                 "       gatehouse probe -c FILE | --target URL   attack a gateway to prove its\n"
                 "                                    controls hold (probe --help)\n"
                 "       gatehouse reload|stop|status [-c FILE | --admin HOST:PORT]\n"
                 "                                    ask a running gateway (VERB --help)\n"
                 "       gatehouse bans list|lift KEY [-c FILE | --admin HOST:PORT]\n"
                 "                                    the banned clients; lift one's ban\n"
                 "       gatehouse token ...          development keys and tokens (token help)\n"
                 "       gatehouse version [--verbose]  (also --version, -V)\n");
    return out == stderr ? 2 : 0;
}

/* The file of `run` and `check`: -c FILE, --config FILE or FILE alone. NULL with *bad the
 * argument it could not take, or *help when asked for usage. print: where --print is
 * allowed (check), and whether it was given. */
static const char *config_file(int argc, char **argv, const char **bad, bool *help, bool *print)
{
    const char *path = NULL;
    *bad = NULL;
    *help = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            return NULL;
        }
        if (print && strcmp(a, "--print") == 0) {
            *print = true;
            continue;
        }
        bool flag = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0;
        if (flag && i + 1 < argc && !path)
            path = argv[++i];
        else if (!flag && a[0] != '-' && !path)
            path = a;
        else {
            *bad = a;
            return NULL;
        }
    }
    return path;
}

/* print: the effective configuration on stdout, alone there (it loads again as it is), the
 * verdict on stderr. */
static int check(const char *path, bool print)
{
    gh_diag d = {0};
    gh_config *c = gh_config_load(path, NULL, &d);
    gh_diag_print(&d, stderr);
    if (c && print)
        fwrite(c->effective, 1, c->effective_len, stdout);
    if (c)
        fprintf(print ? stderr : stdout, "%s: ok (%zu listeners, %zu upstreams, %zu routes, %zu warnings)\n", path,
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
    if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0 ||
        strcmp(verb, "-V") == 0)
        return gh_version_main(argc - 1, argv + 1);
    if (strcmp(verb, "token") == 0)
        return gh_token_main(argc - 1, argv + 1);
    if (strcmp(verb, "audit") == 0)
        return gh_audit_main(argc - 1, argv + 1);
    if (strcmp(verb, "probe") == 0)
        return gh_probe_main(argc - 1, argv + 1);
    if (gh_ctl_is_verb(verb))
        return gh_ctl_main(argc - 1, argv + 1);
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        return usage(stdout);
    if (strcmp(verb, "check") != 0 && strcmp(verb, "run") != 0) {
        fprintf(stderr, "gatehouse: unknown verb '%s'\n", verb);
        return usage(stderr);
    }
    const char *bad;
    bool help, print = false;
    bool checking = strcmp(verb, "check") == 0;
    const char *path = config_file(argc, argv, &bad, &help, checking ? &print : NULL);
    if (help)
        return usage(stdout);
    if (!path) {
        if (bad)
            fprintf(stderr, "gatehouse %s: unexpected argument '%s'\n", verb, bad);
        else
            fprintf(stderr, "gatehouse %s: -c FILE is required\n", verb);
        return usage(stderr);
    }
    return checking ? check(path, print) : gh_control_run(path);
}
