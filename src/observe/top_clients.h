/* The busiest clients of one worker, kept in bounded memory by the space-saving algorithm
 * (Metwally, Agrawal, El Abbadi 2005): GH_TOP_CLIENTS slots; a client not held takes the slot
 * of the least counted one and inherits its count as its possible error. Any client with more
 * than 1/GH_TOP_CLIENTS of the requests counted is held, and a count overstates by at most its
 * error. Counts halve every GH_TOP_CLIENTS_HALVING_US so the list follows who is busy now.
 * The worker writes at each request's end; the admin thread reads through gh_top_clients_copy.
 * A mutex guards the slots: uncontended but for the admin's rare reads. */
#ifndef GH_OBSERVE_TOP_CLIENTS_H
#define GH_OBSERVE_TOP_CLIENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define GH_TOP_CLIENTS 32
#define GH_TOP_CLIENT_KEY 64 /* an IPv6 address in text fits */
#define GH_TOP_CLIENTS_HALVING_US (60ull * 1000000)

typedef struct gh_top_client {
    char key[GH_TOP_CLIENT_KEY];
    uint64_t hash;
    uint64_t count, refused, error; /* refused: of count; error: count may overstate by this */
} gh_top_client;

typedef struct gh_top_clients {
    pthread_mutex_t lock;
    gh_top_client slot[GH_TOP_CLIENTS];
    unsigned used;
    uint64_t halved_at_us;
} gh_top_clients;

int gh_top_clients_init(gh_top_clients *t);
void gh_top_clients_free(gh_top_clients *t);
/* One request of client (its address or name; "" is not counted) ended, refused or not. */
void gh_top_clients_add(gh_top_clients *t, const char *client, bool refused, uint64_t now_us);
/* The slots in use, copied into out (room for GH_TOP_CLIENTS); returns how many. */
unsigned gh_top_clients_copy(gh_top_clients *t, gh_top_client *out);

#endif
