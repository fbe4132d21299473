/* `gatehouse version [--verbose]`: what was built, when, with what, and what runs. */
#ifndef GH_TOOLS_VERSION_H
#define GH_TOOLS_VERSION_H

/* argv[0] is "version" (or --version, -V). Returns the process exit code. */
int gh_version_main(int argc, char **argv);

#endif
