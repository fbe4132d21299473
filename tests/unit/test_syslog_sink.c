/* The syslog sink's messages: RFC 5424's header from the event line (PRI from the facility and
 * the event's severity, TIMESTAMP its @timestamp, MSGID its action), the JSON as the message,
 * and a line longer than the bound cut with the cut said in the structured data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "observe/syslog_sink.h"

static const char alert[] =
    "{\"@timestamp\":\"2026-12-02T19:47:54.466Z\",\"event.kind\":\"alert\",\"event.action\":"
    "\"request-refused\",\"event.outcome\":\"failure\"}";
static const char failure[] =
    "{\"@timestamp\":\"2026-12-02T19:47:54.466Z\",\"event.kind\":\"event\",\"event.action\":"
    "\"authentication-failure\",\"event.outcome\":\"failure\"}";
static const char success[] =
    "{\"@timestamp\":\"2026-12-02T19:47:54.466Z\",\"event.kind\":\"event\",\"event.action\":"
    "\"configuration-reloaded\",\"event.outcome\":\"success\"}";

static size_t format(char *out, size_t cap, unsigned facility, const char *line, size_t len,
                     bool *cut)
{
    return gh_syslog_format(out, cap, facility, "host", "gatehouse", "42", line, len, cut);
}

static void the_header_comes_from_the_event(void **state)
{
    (void)state;
    char out[2048];
    bool cut = true;
    size_t n = format(out, sizeof(out), 4, alert, strlen(alert), &cut);
    char want[512];
    snprintf(want, sizeof(want),
             "<36>1 2026-12-02T19:47:54.466Z host gatehouse 42 request-refused - %s", alert);
    assert_false(cut);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    n = format(out, sizeof(out), 4, failure, strlen(failure), &cut);
    assert_memory_equal(out, "<37>1 ", 6); /* notice */
    n = format(out, sizeof(out), 16, success, strlen(success), &cut);
    assert_memory_equal(out, "<134>1 ", 7); /* local0, informational */
}

static void a_long_line_is_cut_and_says_so(void **state)
{
    (void)state;
    char line[5000], out[GH_SYSLOG_UDP_MAX];
    memcpy(line, alert, strlen(alert) - 1);
    size_t len = strlen(alert) - 1;
    memset(line + len, 'a', sizeof(line) - len);
    bool cut = false;
    size_t n = format(out, sizeof(out), 4, line, sizeof(line), &cut);
    assert_true(cut);
    assert_int_equal(n, GH_SYSLOG_UDP_MAX);
    assert_non_null(memmem(out, n, "request-refused [gatehouse@32473 cut=\"5000\"] {", 46));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_header_comes_from_the_event),
        cmocka_unit_test(a_long_line_is_cut_and_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
