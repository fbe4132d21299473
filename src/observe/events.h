/* Gateway events (start, reload, drain, errors) as JSON lines on stderr, apart from the access
 * log. Written from the control thread, and by workers only for failures they rate-limit
 * (one line per second at most), never once per request. */
#ifndef GH_OBSERVE_EVENTS_H
#define GH_OBSERVE_EVENTS_H

#include "core/json.h"

/* level: "info", "warn" or "error". fields: extra JSON members starting with ',' or "". */
void gh_event(const char *level, const char *event, const char *message, const char *fields);
/* The same with fields built in a gh_sbuf: fields that overflowed it (client or environment text
 * longer than its room) are not written cut in the middle of a string, which would leave the
 * line invalid JSON, but replaced by "fields_cut":true. */
void gh_event_built(const char *level, const char *event, const char *message,
                    const gh_sbuf *fields);

#endif
