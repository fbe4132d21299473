/* What the report renderers (report_*.c) share: the groups with their counts, the run's
 * description, and text made safe to write (report_common.c). */
#ifndef GH_PROBE_REPORT_INTERNAL_H
#define GH_PROBE_REPORT_INTERNAL_H

#include "probe/probe.h"

/* One group that had cases, with its counts (seconds: the sum of its cases'). */
typedef struct gh_probe_group_row {
    const char *group;
    gh_probe_summary sum;
} gh_probe_group_row;

/* The groups of results[0..n), in report order: those of gh_probe_groups first, then any
 * other in the order it first appears. Free with free(); NULL when out of memory. */
gh_probe_group_row *gh__probe_group_rows(const gh_probe_result *results, size_t n, size_t *count);
/* A result's group ("other" when its case has none) and title. */
const char *gh__probe_group_of(const gh_probe_result *r);

/* The skipped cases by reason, as the text and Markdown reports list them: a skip's reason
 * ("(no reason given)" when it has none); whether r is a skip for why; whether results[i] is
 * the first skip of its reason (the list's entry for that reason). */
const char *gh__probe_skip_why(const gh_probe_result *r);
bool gh__probe_skipped_for(const gh_probe_result *r, const char *why);
bool gh__probe_first_of_reason(const gh_probe_result *results, size_t i);

/* "self-test" or "live"; "safe" or "full". */
const char *gh__probe_mode_name(const gh_probe *p);
const char *gh__probe_profile_name(const gh_probe *p);
/* The first target as a URL ("https://127.0.0.1:8443", "http://[::1]:80"), or "none". */
void gh__probe_target_text(const gh_probe *p, char *buf, size_t cap);

/* sum, or the counts of results when the caller gave none (into local). */
const gh_probe_summary *gh__probe_sum(const gh_probe_result *results, size_t n,
                                      const gh_probe_summary *sum, gh_probe_summary *local);

/* The length of the well-formed UTF-8 sequence of a character above U+007F at s (no
 * overlong forms, no surrogates), or 0. */
size_t gh__probe_utf8_len(const unsigned char *s);
/* s with every byte that is not printable ASCII (or, with utf8, part of a well-formed UTF-8
 * character) written as the text \xHH: a report never carries a terminal's control sequences
 * or bytes its format cannot hold. NULL in gives "". malloc'd; NULL when out of memory. */
char *gh__probe_clean(const char *s, bool utf8);

#endif
