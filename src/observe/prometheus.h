/* The Prometheus text exposition format. The renderer writes the families it is handed, in the
 * order handed: plain samples, or series drawn from the workers' counters (observe/metrics.h)
 * and summed across them. What the families are called, which series they show and how their
 * codes read as labels is the caller's: the renderer knows only the format. */
#ifndef GH_OBSERVE_PROMETHEUS_H
#define GH_OBSERVE_PROMETHEUS_H

#include <stddef.h>

#include "observe/metrics.h"

#define GH_PROM_LABELS 3     /* labels per sample, at most */
#define GH_PROM_LABEL_BUF 32 /* bytes for the label values a labeller formats */

/* A summary is plain samples whose suffix says which part each is ("_sum", "_count"). */
typedef enum { GH_PROM_COUNTER, GH_PROM_GAUGE, GH_PROM_HISTOGRAM, GH_PROM_SUMMARY } gh_prom_type;

typedef struct gh_prom_label {
    const char *name, *value;
} gh_prom_label;

/* A sample value and how it is written: an unsigned or signed integer, or fixed-point with the
 * given number of decimals. */
typedef enum { GH_PROM_UINT, GH_PROM_INT, GH_PROM_FIXED } gh_prom_format;

typedef struct gh_prom_value {
    gh_prom_format format;
    int decimals; /* GH_PROM_FIXED */
    union {
        unsigned long long u;
        long long i;
        double d;
    };
} gh_prom_value;

static inline gh_prom_value gh_prom_uint(unsigned long long v)
{
    return (gh_prom_value){GH_PROM_UINT, 0, .u = v};
}

static inline gh_prom_value gh_prom_int(long long v)
{
    return (gh_prom_value){GH_PROM_INT, 0, .i = v};
}

static inline gh_prom_value gh_prom_fixed(double v, int decimals)
{
    return (gh_prom_value){GH_PROM_FIXED, decimals, .d = v};
}

typedef struct gh_prom_sample {
    gh_prom_label labels[GH_PROM_LABELS];
    size_t nlabels;
    gh_prom_value value;
    const char *suffix; /* after the family's name ("_sum" of a summary); NULL: none */
} gh_prom_sample;

/* The labels of one sample, and room for the values a labeller has to format. */
typedef struct gh_prom_labels {
    gh_prom_label l[GH_PROM_LABELS];
    char buf[GH_PROM_LABEL_BUF];
} gh_prom_labels;

/* Labels one summed series (key, code) of a counter family: fills out->l (values may point
 * into out->buf) and returns how many labels, or -1 to leave the series out of the family. */
typedef int (*gh_prom_labeller)(const char *key, int code, gh_prom_labels *out);

/* A family drawn from one series table of every worker's counters, summed by (key, code) in
 * the order the series first appear. A counter shows each summed series that labeller keeps,
 * valued by its count. A histogram shows one latency histogram per key, labelled
 * key_label="key", folding together the codes below max_code (every code when max_code is
 * negative); its buckets are gh_hist_bounds. */
typedef struct gh_prom_series {
    gh_metrics_table table;
    gh_prom_labeller labeller; /* counter */
    const char *key_label;     /* histogram */
    int max_code;              /* histogram */
} gh_prom_series;

/* One family: its HELP and TYPE lines, then its samples (series NULL) or its series. */
typedef struct gh_prom_family {
    const char *name, *help;
    gh_prom_type type;
    const gh_prom_series *series;
    const gh_prom_sample *samples;
    size_t nsamples;
} gh_prom_family;

/* Writes families[0..nfamilies) in order; series are summed over workers[0..nworkers).
 * Returns a malloc'd text (caller frees) and its length, or NULL when out of memory. */
char *gh_prometheus_render(const gh_prom_family *families, size_t nfamilies,
                           const gh_metrics *const *workers, size_t nworkers, size_t *len);

#endif
