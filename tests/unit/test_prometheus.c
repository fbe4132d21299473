/* The Prometheus renderer writes exactly the families it is handed: HELP and TYPE lines, labels
 * in the order given, values as their format says, series summed across workers in the order
 * they first appear, histograms with cumulative buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "observe/prometheus.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static void expect_text(const gh_prom_family *f, size_t nf, const gh_metrics *const *workers,
                        size_t nworkers, const char *want)
{
    size_t len = 0;
    char *got = gh_prometheus_render(f, nf, workers, nworkers, &len);
    assert_non_null(got);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        fail_msg("rendered:\n%.*s\nwanted:\n%s", (int)len, got, want);
    free(got);
}

static void plain_samples(void **state)
{
    (void)state;
    static const gh_prom_sample up[] = {{.value = {GH_PROM_UINT, 0, .u = 1}}};
    static const gh_prom_sample temps[] = {
        {{{"room", "a"}, {"probe", "1"}}, 2, {GH_PROM_FIXED, 2, .d = 21.456}},
        {{{"room", "b"}, {"probe", "2"}}, 2, {GH_PROM_INT, 0, .i = -3}},
    };
    static const gh_prom_sample total[] = {
        {{{"kind", "x"}}, 1, {GH_PROM_UINT, 0, .u = 18446744073709551615ull}},
    };
    const gh_prom_family f[] = {
        {"demo_up", "Whether it runs.", GH_PROM_GAUGE, NULL, up, COUNT_OF(up)},
        {"demo_temperature", "Degrees, by room and probe.", GH_PROM_GAUGE, NULL, temps,
         COUNT_OF(temps)},
        {"demo_none_total", "A family with no samples yet.", GH_PROM_COUNTER, NULL, NULL, 0},
        {"demo_total", "Things.", GH_PROM_COUNTER, NULL, total, COUNT_OF(total)},
    };
    expect_text(f, COUNT_OF(f), NULL, 0,
                "# HELP demo_up Whether it runs.\n"
                "# TYPE demo_up gauge\n"
                "demo_up 1\n"
                "# HELP demo_temperature Degrees, by room and probe.\n"
                "# TYPE demo_temperature gauge\n"
                "demo_temperature{room=\"a\",probe=\"1\"} 21.46\n"
                "demo_temperature{room=\"b\",probe=\"2\"} -3\n"
                "# HELP demo_none_total A family with no samples yet.\n"
                "# TYPE demo_none_total counter\n"
                "# HELP demo_total Things.\n"
                "# TYPE demo_total counter\n"
                "demo_total{kind=\"x\"} 18446744073709551615\n");
    expect_text(NULL, 0, NULL, 0, "");
}

/* Codes 1 and 2 are named; any other code is not shown. */
static int named_codes(const char *key, int code, gh_prom_labels *out)
{
    static const char *const names[] = {NULL, "one", "two"};
    if (code < 1 || code > 2)
        return -1;
    snprintf(out->buf, sizeof(out->buf), "%d", code * 10);
    out->l[0] = (gh_prom_label){"thing", key};
    out->l[1] = (gh_prom_label){"result", names[code]};
    out->l[2] = (gh_prom_label){"tens", out->buf};
    return 3;
}

/* The counters of two workers, for the series tests. */
static int two_workers(void **state)
{
    gh_metrics *m = calloc(2, sizeof(*m));
    if (!m || gh_metrics_init(&m[0]) != 0 || gh_metrics_init(&m[1]) != 0)
        return -1;
    *state = m;
    return 0;
}

/* A summary's samples carry their part's suffix. */
static void summary_parts(void **state)
{
    (void)state;
    static const gh_prom_sample parts[] = {
        {{{"peer", "a"}}, 1, {GH_PROM_FIXED, 3, .d = 0.25}, "_sum"},
        {{{"peer", "a"}}, 1, {GH_PROM_UINT, 0, .u = 4}, "_count"},
    };
    const gh_prom_family f[] = {
        {"demo_seconds", "Time taken.", GH_PROM_SUMMARY, NULL, parts, COUNT_OF(parts)},
    };
    expect_text(f, COUNT_OF(f), NULL, 0,
                "# HELP demo_seconds Time taken.\n"
                "# TYPE demo_seconds summary\n"
                "demo_seconds_sum{peer=\"a\"} 0.250\n"
                "demo_seconds_count{peer=\"a\"} 4\n");
}

static void expect_two(const gh_prom_family *f, size_t nf, const gh_metrics *m, const char *want)
{
    const gh_metrics *workers[] = {&m[0], &m[1]};
    expect_text(f, nf, workers, 2, want);
}

static int free_workers(void **state)
{
    gh_metrics *m = *state;
    gh_metrics_free(&m[0]);
    gh_metrics_free(&m[1]);
    free(m);
    return 0;
}

static void series_summed_across_workers(void **state)
{
    gh_metrics *m = *state;
    gh_metrics_limit(&m[0], "b", 1);
    gh_metrics_limit(&m[0], "a", 2);
    gh_metrics_limit(&m[0], "a", 3); /* a code the labeller leaves out */
    gh_metrics_limit(&m[1], "a", 2);
    gh_metrics_limit(&m[1], "c", 1);
    gh_metrics_limit(&m[1], "b", 1);
    gh_metrics_limit(&m[1], "b", 1);
    static const gh_prom_series limits = {GH_MT_LIMITS, named_codes, NULL, 0};
    static const gh_prom_series nothing = {GH_MT_POLICY, named_codes, NULL, 0};
    const gh_prom_family f[] = {
        {"demo_things_total", "Things, by thing and result.", GH_PROM_COUNTER, &limits},
        {"demo_empty_total", "A table nobody wrote.", GH_PROM_COUNTER, &nothing},
    };
    expect_two(f, COUNT_OF(f), m,
               "# HELP demo_things_total Things, by thing and result.\n"
               "# TYPE demo_things_total counter\n"
               "demo_things_total{thing=\"b\",result=\"one\",tens=\"10\"} 3\n"
               "demo_things_total{thing=\"a\",result=\"two\",tens=\"20\"} 2\n"
               "demo_things_total{thing=\"c\",result=\"one\",tens=\"10\"} 1\n"
               "# HELP demo_empty_total A table nobody wrote.\n"
               "# TYPE demo_empty_total counter\n");
}

/* One histogram per key: the codes below max_code folded together, the buckets cumulative,
 * the sum in seconds. */
static void histograms_per_key(void **state)
{
    gh_metrics *m = *state;
    gh_metrics_request(&m[0], "r", 200, 700);      /* le 0.001 */
    gh_metrics_request(&m[1], "r", 204, 30000);    /* le 0.05 */
    gh_metrics_request(&m[1], "r", 503, 9000);     /* code at max_code: not folded in */
    gh_metrics_request(&m[0], "s", 500, 20000);    /* a key with no code below max_code */
    gh_metrics_request(&m[1], "r", 201, 20000000); /* beyond the last bound: +Inf only */
    static const gh_prom_series durations = {GH_MT_REQUESTS, NULL, "route", 500};
    const gh_prom_family f[] = {
        {"demo_seconds", "How long.", GH_PROM_HISTOGRAM, &durations},
    };
    expect_two(f, COUNT_OF(f), m,
               "# HELP demo_seconds How long.\n"
               "# TYPE demo_seconds histogram\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.0005\"} 0\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.001\"} 1\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.0025\"} 1\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.005\"} 1\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.01\"} 1\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.025\"} 1\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.05\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.25\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"0.5\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"1\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"2.5\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"10\"} 2\n"
               "demo_seconds_bucket{route=\"r\",le=\"+Inf\"} 3\n"
               "demo_seconds_sum{route=\"r\"} 20.030700\n"
               "demo_seconds_count{route=\"r\"} 3\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.0005\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.001\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.0025\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.005\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.01\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.025\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.05\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.1\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.25\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"0.5\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"1\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"2.5\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"10\"} 0\n"
               "demo_seconds_bucket{route=\"s\",le=\"+Inf\"} 0\n"
               "demo_seconds_sum{route=\"s\"} 0.000000\n"
               "demo_seconds_count{route=\"s\"} 0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_samples),
        cmocka_unit_test(summary_parts),
        cmocka_unit_test_setup_teardown(series_summed_across_workers, two_workers, free_workers),
        cmocka_unit_test_setup_teardown(histograms_per_key, two_workers, free_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
