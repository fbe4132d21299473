/* Gateway events (start, reload, drain, errors) as JSON lines on stderr, apart from the access
 * log. Written from the control thread, and by workers only for failures they rate-limit
 * (one line per second at most), never once per request. */
#ifndef GH_OBSERVE_EVENTS_H
#define GH_OBSERVE_EVENTS_H

/* level: "info", "warn" or "error". fields: extra JSON members starting with ',' or "". */
void gh_event(const char *level, const char *event, const char *message, const char *fields);

#endif
