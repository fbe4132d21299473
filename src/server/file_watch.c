#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "server/file_watch.h"

typedef struct watched_dir {
    uv_fs_event_t ev;
    struct gh_file_watch *fw;
    struct watched_dir *next;
    char *dir;
    char **names; /* the files of interest in it */
    size_t nnames;
} watched_dir;

struct gh_file_watch {
    uv_timer_t settle;
    uv_loop_t *loop;
    watched_dir *dirs;
    void (*changed)(void *ctx);
    void *ctx;
};

static void free_dir(uv_handle_t *h)
{
    watched_dir *d = h->data;
    for (size_t i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    free(d->dir);
    free(d);
}

static void on_settled(uv_timer_t *t)
{
    gh_file_watch *fw = t->data;
    fw->changed(fw->ctx);
}

static void on_event(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    (void)events;
    watched_dir *d = ev->data;
    bool ours = status < 0 || !filename || strncmp(filename, "..", 2) == 0; /* k8s swaps "..data" */
    for (size_t i = 0; !ours && i < d->nnames; i++)
        ours = strcmp(filename, d->names[i]) == 0;
    if (ours)
        uv_timer_start(&d->fw->settle, on_settled, GH_FILE_WATCH_SETTLE_MS, 0);
}

gh_file_watch *gh_file_watch_start(uv_loop_t *loop, void (*changed)(void *ctx), void *ctx)
{
    gh_file_watch *fw = calloc(1, sizeof(*fw));
    if (!fw)
        return NULL;
    fw->loop = loop;
    fw->changed = changed;
    fw->ctx = ctx;
    uv_timer_init(loop, &fw->settle);
    fw->settle.data = fw;
    return fw;
}

static void clear(gh_file_watch *fw)
{
    while (fw->dirs) {
        watched_dir *d = fw->dirs;
        fw->dirs = d->next;
        uv_close((uv_handle_t *)&d->ev, free_dir);
    }
}

/* The folder's entry, made and started on first use. */
static watched_dir *dir_for(gh_file_watch *fw, const char *dir)
{
    for (watched_dir *d = fw->dirs; d; d = d->next)
        if (strcmp(d->dir, dir) == 0)
            return d;
    watched_dir *d = calloc(1, sizeof(*d));
    if (!d || !(d->dir = strdup(dir))) {
        free(d);
        return NULL;
    }
    d->fw = fw;
    uv_fs_event_init(fw->loop, &d->ev);
    d->ev.data = d;
    d->next = fw->dirs;
    fw->dirs = d;
    uv_fs_event_start(&d->ev, on_event, dir, 0); /* a folder that cannot be watched is skipped */
    return d;
}

void gh_file_watch_set(gh_file_watch *fw, const gh_config *cfg)
{
    clear(fw);
    for (const gh_watched_file *f = cfg->watched_files; f; f = f->next) {
        char *a = strdup(f->path), *b = strdup(f->path);
        watched_dir *d = a && b ? dir_for(fw, dirname(a)) : NULL;
        char **grown = d ? realloc(d->names, (d->nnames + 1) * sizeof(*grown)) : NULL;
        if (grown) {
            d->names = grown;
            if ((d->names[d->nnames] = strdup(basename(b))))
                d->nnames++;
        }
        free(a);
        free(b);
    }
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

void gh_file_watch_stop(gh_file_watch *fw)
{
    if (!fw)
        return;
    clear(fw);
    uv_close((uv_handle_t *)&fw->settle, free_watch);
}
