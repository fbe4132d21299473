/* Every control the gateway has, one file each in stages/ (see gate/stage-t.h for what a
 * control gives the pipeline, and docs/architecture.md for how to add one). */
#ifndef GH_STAGES_REGISTRY_H
#define GH_STAGES_REGISTRY_H

#include "config/config.h"
#include "gate/stage-t.h"

/* Every stage, in phase order, NULL-terminated. */
extern const gh_stage *const gh_stage_registry[];

/* A configuration as the gateway serves it: parsed (config/config.h), then each route given the
 * stages of the registry it uses, in phase order. The arguments and the result are
 * gh_config_parse's. */
gh_config *gh_config_load(const char *path, gh_shared *shared, gh_diag *diag);
/* Same, from a string (tests, docs examples); name is used in diagnostics. */
gh_config *gh_config_load_string(const char *name, const char *yaml, size_t len,
                                 gh_shared *shared, gh_diag *diag);

#endif
