/* `gatehouse run`: the control thread. It loads the configuration, starts the log thread and
 * the workers, serves the admin listener, and turns signals into reload, log reopen and drain. */
#ifndef GH_SERVER_CONTROL_H
#define GH_SERVER_CONTROL_H

/* Runs until SIGTERM/SIGINT has drained the workers. Returns the process exit code. */
int gh_control_run(const char *config_path);

#endif
