/* `gatehouse token`: development tokens and key sets from a local key. */
#ifndef GH_TOOLS_TOKEN_H
#define GH_TOOLS_TOKEN_H

/* argv[0] is "token". Returns the process exit code. */
int gh_token_main(int argc, char **argv);

#endif
