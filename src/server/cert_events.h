/* Certificate events on the security stream, from the control thread: each listener
 * certificate as it comes into force (at start, and after a reload when its fingerprint is new
 * on its listener), and the ones that expired or expire within
 * security_events.certificate_expiry_warning, at load and every certificate_check_interval. */
#ifndef GH_SERVER_CERT_EVENTS_H
#define GH_SERVER_CERT_EVENTS_H

#include <stdbool.h>
#include <uv.h>

#include "server/runtime.h"

typedef struct gh_cert_watch {
    uv_timer_t timer;
    gh_runtime *rt;
    uint64_t interval_ms; /* the check's period in force */
    bool started;
} gh_cert_watch;

/* The start: every certificate's certificate-loaded, the expiry check, the periodic timer. */
void gh_cert_watch_start(gh_cert_watch *w, uv_loop_t *loop, gh_runtime *rt);
/* A reload put the runtime's configuration in force over prev: the certificates new on their
 * listener, the expiry check, the timer on the new period. */
void gh_cert_watch_reloaded(gh_cert_watch *w, const gh_config *prev);
/* Closes the timer (the loop must run once more); nothing when never started. */
void gh_cert_watch_stop(gh_cert_watch *w);

#endif
