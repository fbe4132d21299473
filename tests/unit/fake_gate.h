/* A gate for unit tests, without sockets: the worker's real services on a private loop, a
 * configuration from a YAML string, and a fake downstream that records everything the pipeline,
 * the stages and the actions ask of the connection a request arrived on. A request is a head
 * string parsed as the connection would parse it; the test plays the client (its body, its
 * leaving) and the connection's back-pressure. */
#ifndef GH_TESTS_FAKE_GATE_H
#define GH_TESTS_FAKE_GATE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "gate/exchange.h"
#include "observe/log.h"

/* The trace id of every request fg_request makes (its id is "test-1"): answers are compared whole. */
#define FG_TRACE_ID "0af7651916cd43dd8448eb211c80319c"

/* What the fake downstream was asked, since the gate opened or fg_forget. */
typedef struct fg_record {
    char *sent; /* every byte sent (send), NUL-terminated; NULL when none */
    size_t sent_len;
    unsigned sends, finishes, cuts, read_bodies, collects, want_bodies, resumes, drains;
    int field_status; /* send_fields: the status, and the fields' "name: value\r\n" in sent */
    uint64_t collect_max;
} fg_record;

typedef struct fake_gate {
    uv_loop_t loop;
    gh_shared shared;
    gh_services svc;
    gh_log_ring *log; /* the worker's access-log ring: the test reads its lines */
    size_t log_read;  /* ...from here */
    char dir[64];     /* files the configuration names (fg_file) */
    gh_request *req;  /* the request on the fake connection; NULL once it ended */
    fg_record rec;
    /* what the test makes the connection do */
    bool full;          /* output_full: the client is behind */
    size_t full_after;  /* when not 0: full turns true once this many bytes were sent */
    bool takes_fields;  /* an HTTP/2 stream's: the response head comes as fields */
    const struct gh_client_cert *cert;
    void (*then)(gh_request *req); /* a collect_body's continuation, until the body comes */
} fake_gate;

/* A file in the gate's own temporary directory (keys, secrets, schemas), removed by fg_close:
 * its path, in storage the next call reuses. Call before fg_open when the configuration names
 * it. */
const char *fg_file(fake_gate *g, const char *name, const char *content);
/* Loads yaml (the test fails with its diagnostics when it does not load) and sets up the
 * services on a private loop, the proxy as their action. g must be zeroed, or fg_file'd. */
void fg_open(fake_gate *g, const char *yaml);
/* Ends a request still open (as a client leaving), closes every handle, runs the loop until
 * they are closed and frees it all. */
void fg_close(fake_gate *g);

/* Parses head (a whole HTTP/1.1 request head) as the connection does, makes it a request on
 * the fake connection and starts the pipeline. Its id is "test-1", so answers are exact. The
 * request, or NULL once it ended (answered). */
gh_request *fg_request(fake_gate *g, const char *head);
/* The client sends the body: delivered whole to a collect_body's continuation, else streamed
 * to the action that asked for it (read_body). */
void fg_body(fake_gate *g, const char *body, size_t len);
/* The client goes away: the request ends as the connection ends it. */
void fg_client_gone(fake_gate *g);
/* The client took what was queued: the action may produce more. */
void fg_drained(fake_gate *g);
/* Runs the loop without waiting, n times. */
void fg_spin(fake_gate *g, int n);
/* Forgets what was recorded (the next request's answer alone). */
void fg_forget(fake_gate *g);
/* The access-log lines written since the last call, NUL-terminated (static storage). */
const char *fg_log(fake_gate *g);

/* A P-256 key for ES256 tokens, its public JWK set as JSON into jwks (kid named). */
EVP_PKEY *fg_es256_key(const char *kid, char jwks[512]);
/* header.payload signed with ES256 (P1363), as an identity provider would (static storage). */
char *fg_mint(EVP_PKEY *pkey, const char *header, const char *payload);

#endif
