/* A timeout that is re-armed lazily. Setting a deadline later than the armed one, or clearing
 * it, touches no timer: the timer fires at the earlier time, sees the deadline moved, and arms
 * itself for the rest. A keep-alive connection thus costs no timer operation per request. */
#ifndef GH_CORE_DEADLINE_H
#define GH_CORE_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct gh_deadline {
    uv_timer_t timer;
    uint64_t at; /* loop time in ms when it is due; 0: cleared */
    uv_timer_cb cb;
} gh_deadline;

/* timer.data is set to data. */
void gh_deadline_init(uv_loop_t *loop, gh_deadline *d, uv_timer_cb cb, void *data);
void gh_deadline_set(gh_deadline *d, uint64_t ms);
static inline void gh_deadline_clear(gh_deadline *d)
{
    d->at = 0;
}
/* Called first in the timer callback: true when the deadline has passed (handle it); false when
 * it was cleared or moved later (the timer is re-armed as needed). */
bool gh_deadline_due(gh_deadline *d);

#endif
