/* The keys that seal TLS session tickets, shared by every worker and every configuration
 * snapshot of the process, so a ticket opens whichever worker accepts the connection and
 * survives a reload. The sealing key is replaced every period; the one before it still opens
 * tickets for one more period (and asks for them to be renewed), so a stolen key exposes at
 * most two periods of sessions. */
#ifndef GH_TLS_TICKET_KEYS_H
#define GH_TLS_TICKET_KEYS_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>

#define GH_TICKET_PERIOD_S 3600

typedef struct gh_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int64_t born; /* seconds */
} gh_ticket_key;

typedef struct gh_ticket_ring {
    pthread_mutex_t mu;
    gh_ticket_key keys[2]; /* [0] seals, [1] the one before it */
    int count;
    int64_t period_s;
} gh_ticket_ring;

void gh_ticket_ring_init(gh_ticket_ring *r, int64_t period_s);
void gh_ticket_ring_free(gh_ticket_ring *r);
/* The key that seals at now, a new one made when the period has passed. 0, or -1 when no
 * random bytes could be had. */
int gh_ticket_ring_current(gh_ticket_ring *r, int64_t now, gh_ticket_key *out);
/* The key named name: 1 the sealing key, 2 the one before (the ticket should be renewed), 0
 * none (gone, or never ours). */
int gh_ticket_ring_find(gh_ticket_ring *r, int64_t now, const unsigned char name[16], gh_ticket_key *out);

/* Makes ctx seal and open its tickets with ring's keys. */
void gh_ticket_ring_attach(gh_ticket_ring *r, SSL_CTX *ctx);

#endif
