/* `gatehouse reload|stop|status|bans`: a running gateway, asked through its admin listener. */
#ifndef GH_TOOLS_CTL_H
#define GH_TOOLS_CTL_H

#include <stdbool.h>

/* Whether verb is one of them. */
bool gh_ctl_is_verb(const char *verb);
/* argv[0] is the verb. Returns the process exit code: 0 done (status: ready), 1 refused or
 * failed (status: not ready or draining), 2 not reached or wrong usage. */
int gh_ctl_main(int argc, char **argv);

#endif
