#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "observe/events.h"

void gh_event(const char *level, const char *event, const char *message, const char *fields)
{
    char line[4096], ts[32];
    gh_format_rfc3339_ms(ts);
    gh_sbuf b = gh_sbuf_make(line, sizeof(line) - 2);
    gh_sbuf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\",\"message\":", ts, level,
                 event);
    gh_sbuf_json_str(&b, message, strlen(message));
    gh_sbuf_adds(&b, fields ? fields : "");
    gh_sbuf_adds(&b, "}\n");
    fwrite(line, 1, b.len, stderr);
    fflush(stderr);
}
