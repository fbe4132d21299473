/* systemd's service notifications (Type=notify): READY, RELOADING, STOPPING and the watchdog's
 * pings. Nothing is sent when NOTIFY_SOCKET is not set (not started by systemd). */
#ifndef GH_SERVER_NOTIFY_H
#define GH_SERVER_NOTIFY_H

#include <stdbool.h>
#include <uv.h>

typedef struct gh_notify {
    bool enabled;        /* NOTIFY_SOCKET is set */
    bool watchdog;       /* the timer below runs */
    uv_timer_t ping;     /* WATCHDOG=1 every half of WATCHDOG_USEC */
} gh_notify;

/* Reads the environment; starts the watchdog's pings on loop when WATCHDOG_USEC asks for them,
 * so that a control loop that stops turning is restarted by systemd. */
void gh_notify_start(gh_notify *n, uv_loop_t *loop);
/* READY=1 with STATUS=status: at start, and after each reload, whether or not it took. */
void gh_notify_ready(gh_notify *n, const char *status);
/* RELOADING=1 with MONOTONIC_USEC (which systemd needs to tell this reload from an older one). */
void gh_notify_reloading(gh_notify *n);
/* A binary upgrade's new process (pid) took over: MAINPID=pid, sent by this process, which
 * systemd still hears from (NotifyAccess=main); then this process says nothing more (no
 * STOPPING: the service goes on) and its pings stop. */
void gh_notify_handover(gh_notify *n, int pid);
/* STOPPING=1 as the drain starts; the pings stop (the timer is closed). */
void gh_notify_stopping(gh_notify *n);

#endif
