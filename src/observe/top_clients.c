#include <string.h>

#include "observe/top_clients.h"

int gh_top_clients_init(gh_top_clients *t)
{
    memset(t, 0, sizeof(*t));
    return pthread_mutex_init(&t->lock, NULL) == 0 ? 0 : -1;
}

void gh_top_clients_free(gh_top_clients *t)
{
    pthread_mutex_destroy(&t->lock);
}

static uint64_t hash_client(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Every count halves, and a slot whose count reaches 0 is let go: old bursts fade. */
static void halve(gh_top_clients *t)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < t->used; i++) {
        gh_top_client c = t->slot[i];
        c.count /= 2;
        c.refused /= 2;
        c.error /= 2;
        if (c.count > 0)
            t->slot[kept++] = c;
    }
    t->used = kept;
}

/* The slot for key: its own, a free one, or the least counted one's (space saving). */
static gh_top_client *slot_for(gh_top_clients *t, const char *key, size_t len, uint64_t h)
{
    gh_top_client *least = NULL;
    for (unsigned i = 0; i < t->used; i++) {
        gh_top_client *c = &t->slot[i];
        if (c->hash == h && strncmp(c->key, key, GH_TOP_CLIENT_KEY - 1) == 0)
            return c;
        if (!least || c->count < least->count)
            least = c;
    }
    gh_top_client *c = t->used < GH_TOP_CLIENTS ? &t->slot[t->used++] : least;
    uint64_t inherited = c == least ? least->count : 0;
    memset(c, 0, sizeof(*c));
    memcpy(c->key, key, len);
    c->hash = h;
    c->count = c->error = inherited;
    return c;
}

void gh_top_clients_add(gh_top_clients *t, const char *client, bool refused, uint64_t now_us)
{
    size_t len = strnlen(client, GH_TOP_CLIENT_KEY - 1);
    if (len == 0)
        return;
    uint64_t h = hash_client(client, len);
    pthread_mutex_lock(&t->lock);
    if (t->halved_at_us == 0)
        t->halved_at_us = now_us;
    else if (now_us - t->halved_at_us >= GH_TOP_CLIENTS_HALVING_US) {
        halve(t);
        t->halved_at_us = now_us;
    }
    gh_top_client *c = slot_for(t, client, len, h);
    c->count++;
    c->refused += refused;
    pthread_mutex_unlock(&t->lock);
}

unsigned gh_top_clients_copy(gh_top_clients *t, gh_top_client *out)
{
    pthread_mutex_lock(&t->lock);
    unsigned n = t->used;
    memcpy(out, t->slot, n * sizeof(*out));
    pthread_mutex_unlock(&t->lock);
    return n;
}
