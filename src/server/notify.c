/* systemd notifications through libsystemd's sd_notify, which writes one datagram to the unix
 * socket named by NOTIFY_SOCKET. The environment is left as it is, so that the process a binary
 * upgrade starts can notify too. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "server/notify.h"

static void send_state(gh_notify *n, const char *state)
{
    if (n->enabled)
        sd_notify(0, state);
}

static void on_ping(uv_timer_t *t)
{
    send_state(t->data, "WATCHDOG=1");
}

void gh_notify_start(gh_notify *n, uv_loop_t *loop)
{
    const char *socket = getenv("NOTIFY_SOCKET");
    n->enabled = socket && *socket;
    uint64_t usec = 0;
    if (!n->enabled || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    /* Half the period, as sd_watchdog_enabled(3) advises: one late ping is not a restart. */
    uint64_t every_ms = usec / 2000;
    if (every_ms == 0)
        every_ms = 1;
    uv_timer_init(loop, &n->ping);
    n->ping.data = n;
    uv_timer_start(&n->ping, on_ping, every_ms, every_ms);
    n->watchdog = true;
}

void gh_notify_ready(gh_notify *n, const char *status)
{
    if (!n->enabled)
        return;
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
    send_state(n, msg);
}

void gh_notify_reloading(gh_notify *n)
{
    if (!n->enabled)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[96];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
             (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    send_state(n, msg);
}

static void stop_pings(gh_notify *n)
{
    if (n->watchdog) {
        n->watchdog = false;
        uv_close((uv_handle_t *)&n->ping, NULL);
    }
}

void gh_notify_handover(gh_notify *n, int pid)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "MAINPID=%d\nSTATUS=upgraded: serving from pid %d", pid, pid);
    send_state(n, msg);
    n->enabled = false;
    stop_pings(n);
}

void gh_notify_stopping(gh_notify *n)
{
    send_state(n, "STOPPING=1\nSTATUS=draining");
    stop_pings(n);
}
