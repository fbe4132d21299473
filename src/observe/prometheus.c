#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "observe/prometheus.h"

typedef struct {
    gh_bytes out;
    int failed;
} dbuf;

static void emit(dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(dbuf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->out.p + b->out.len, b->out.cap - b->out.len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->out.cap - b->out.len) {
            b->out.len += (size_t)n;
            return;
        }
        /* vsnprintf writes its NUL too; the page has no bound of its own */
        if (gh_bytes_reserve(&b->out, (size_t)n + 1, SIZE_MAX) != 0) {
            b->failed = 1;
            return;
        }
    }
}

/* NAME{a="x",b="y"} VALUE, or NAME VALUE without labels. */
static void emit_sample(dbuf *b, const char *name, const char *suffix, const gh_prom_label *labels,
                        size_t nlabels, gh_prom_value v)
{
    emit(b, "%s%s", name, suffix);
    for (size_t i = 0; i < nlabels; i++)
        emit(b, "%s%s=\"%s\"", i ? "," : "{", labels[i].name, labels[i].value);
    if (nlabels)
        emit(b, "}");
    switch (v.format) {
    case GH_PROM_UINT:
        emit(b, " %llu\n", v.u);
        break;
    case GH_PROM_INT:
        emit(b, " %lld\n", v.i);
        break;
    case GH_PROM_FIXED:
        emit(b, " %.*f\n", v.decimals, v.d);
        break;
    }
}

typedef struct {
    const char *key;
    int code;
    unsigned long long count, sum_us, hist[GH_HIST_BUCKETS];
} merged;

/* Sums one series table across workers, by (key, code) in the order the series first appear.
 * Each table is read up to the count its writer has published, so a scrape never waits on a
 * worker; a series published while the scrape runs may not fit, and waits for the next one. */
static merged *merge(const gh_metrics *const *workers, size_t nworkers, gh_metrics_table table,
                     size_t *n)
{
    size_t cap = 0;
    for (size_t i = 0; i < nworkers; i++)
        cap +=
            atomic_load_explicit(&gh_metrics_table_of(workers[i], table)->n, memory_order_acquire);
    merged *out = calloc(cap ? cap : 1, sizeof(*out));
    *n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < nworkers; i++) {
        const gh_series_table *t = gh_metrics_table_of(workers[i], table);
        size_t count = atomic_load_explicit(&t->n, memory_order_acquire);
        for (size_t s = 0; s < count; s++) {
            const gh_series *se = &t->items[s];
            merged *mg = NULL;
            for (size_t k = 0; k < *n && !mg; k++)
                if (out[k].code == se->code && strcmp(out[k].key, se->key) == 0)
                    mg = &out[k];
            if (!mg) {
                if (*n == cap) /* published after cap was counted: next scrape */
                    continue;
                mg = &out[(*n)++];
                mg->key = se->key;
                mg->code = se->code;
            }
            mg->count += atomic_load_explicit(&se->count, memory_order_relaxed);
            mg->sum_us += atomic_load_explicit(&se->sum_us, memory_order_relaxed);
            for (int h = 0; h < GH_HIST_BUCKETS; h++)
                mg->hist[h] += atomic_load_explicit(&se->hist[h], memory_order_relaxed);
        }
    }
    return out;
}

/* The histogram of the key of m[i], folding the codes of that key that s keeps; written once,
 * where the key first appears. */
static void render_histogram(dbuf *b, const char *name, const gh_prom_series *s, const merged *m,
                             size_t n, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(m[j].key, m[i].key) == 0)
            return;
    unsigned long long hist[GH_HIST_BUCKETS] = {0}, count = 0, sum = 0;
    for (size_t j = i; j < n; j++) {
        if (strcmp(m[j].key, m[i].key) != 0 || (s->max_code >= 0 && m[j].code >= s->max_code))
            continue;
        for (int h = 0; h < GH_HIST_BUCKETS; h++)
            hist[h] += m[j].hist[h];
        count += m[j].count;
        sum += m[j].sum_us;
    }
    char le[GH_PROM_LABEL_BUF];
    gh_prom_label labels[2] = {{s->key_label, m[i].key}, {"le", le}};
    unsigned long long cum = 0;
    for (int h = 0; h < GH_HIST_BUCKETS - 1; h++) {
        cum += hist[h];
        snprintf(le, sizeof(le), "%g", gh_hist_bounds[h]);
        emit_sample(b, name, "_bucket", labels, 2, gh_prom_uint(cum));
    }
    labels[1].value = "+Inf";
    emit_sample(b, name, "_bucket", labels, 2, gh_prom_uint(count));
    emit_sample(b, name, "_sum", labels, 1, gh_prom_fixed((double)sum / 1e6, 6));
    emit_sample(b, name, "_count", labels, 1, gh_prom_uint(count));
}

static void render_series(dbuf *b, const gh_prom_family *f, const gh_metrics *const *workers,
                          size_t nworkers)
{
    size_t n;
    merged *m = merge(workers, nworkers, f->series->table, &n);
    if (!m) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (f->type == GH_PROM_HISTOGRAM) {
            render_histogram(b, f->name, f->series, m, n, i);
            continue;
        }
        gh_prom_labels labels;
        int nlabels = f->series->labeller(m[i].key, m[i].code, &labels);
        if (nlabels >= 0)
            emit_sample(b, f->name, "", labels.l, (size_t)nlabels, gh_prom_uint(m[i].count));
    }
    free(m);
}

static const char *type_name(gh_prom_type t)
{
    static const char *const names[] = {"counter", "gauge", "histogram", "summary"};
    return names[t];
}

char *gh_prometheus_render(const gh_prom_family *families, size_t nfamilies,
                           const gh_metrics *const *workers, size_t nworkers, size_t *len)
{
    dbuf b = {{0}, 0};
    if (gh_bytes_reserve(&b.out, 16384, SIZE_MAX) != 0)
        return NULL;
    for (size_t i = 0; i < nfamilies && !b.failed; i++) {
        const gh_prom_family *f = &families[i];
        emit(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_name(f->type));
        if (f->series)
            render_series(&b, f, workers, nworkers);
        for (size_t s = 0; s < f->nsamples; s++)
            emit_sample(&b, f->name, f->samples[s].suffix ? f->samples[s].suffix : "",
                        f->samples[s].labels, f->samples[s].nlabels,
                        f->samples[s].value);
    }
    if (b.failed) {
        gh_bytes_free(&b.out);
        return NULL;
    }
    *len = b.out.len;
    return b.out.p;
}
