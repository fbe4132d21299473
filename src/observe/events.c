#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "observe/events.h"

/* Fields that did not fit are replaced by this one: a reader still parses the line, and sees
 * that something was left out rather than a string cut in its middle. */
static const char fields_cut[] = ",\"fields_cut\":true";

static void write_event(const char *level, const char *event, const char *message,
                        const char *fields, size_t flen)
{
    char line[4096], ts[32];
    gh_format_rfc3339_ms(ts);
    gh_sbuf b = gh_sbuf_make(line, sizeof(line));
    for (int attempt = 0; attempt < 2; attempt++) {
        b = gh_sbuf_make(line, sizeof(line));
        gh_sbuf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\",\"message\":", ts,
                     level, event);
        gh_sbuf_json_str(&b, message, strlen(message));
        gh_sbuf_add(&b, fields, flen);
        gh_sbuf_adds(&b, "}\n");
        if (!b.overflow)
            break;
        fields = fields_cut;
        flen = sizeof(fields_cut) - 1;
    }
    fwrite(line, 1, b.len, stderr);
    fflush(stderr);
}

void gh_event(const char *level, const char *event, const char *message, const char *fields)
{
    write_event(level, event, message, fields ? fields : "", fields ? strlen(fields) : 0);
}

void gh_event_built(const char *level, const char *event, const char *message,
                    const gh_sbuf *fields)
{
    if (fields->overflow)
        write_event(level, event, message, fields_cut, sizeof(fields_cut) - 1);
    else
        write_event(level, event, message, fields->p, fields->len);
}
