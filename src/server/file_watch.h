/* Watches the files a configuration names for TLS (certificates, keys, CAs, CRLs) and reports
 * when they change, so renewed certificates are taken without a signal. The folders are
 * watched, not the files: certificate tools and Kubernetes replace files by rename (or swap a
 * symlinked folder), which a watch on the old file would miss. Changes settle for a moment
 * before they are reported, so a certificate and its key written one after the other make one
 * reload. Runs on the control loop. */
#ifndef GH_SERVER_FILE_WATCH_H
#define GH_SERVER_FILE_WATCH_H

#include <uv.h>

#include "config/config-t.h"

#define GH_FILE_WATCH_SETTLE_MS 300

typedef struct gh_file_watch gh_file_watch;

gh_file_watch *gh_file_watch_start(uv_loop_t *loop, void (*changed)(void *ctx), void *ctx);
/* Watches the files cfg names (replacing what was watched before). */
void gh_file_watch_set(gh_file_watch *fw, const gh_config *cfg);
void gh_file_watch_stop(gh_file_watch *fw);

#endif
