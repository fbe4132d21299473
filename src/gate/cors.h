/* CORS at the edge (the Fetch standard's CORS protocol): preflights answered by the gateway
 * before any authentication (browsers send them without credentials), and the response fields
 * that let a page of an allowed origin read the answer. Disallowed origins get no CORS field. */
#ifndef GH_GATE_CORS_H
#define GH_GATE_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "gate/exchange.h"

/* Whether req is a preflight: OPTIONS with Origin and Access-Control-Request-Method; *method
 * is then the GH_M_* bit of the method the page asks for (0 for one no route serves). */
bool gh_cors_is_preflight(const gh_request *req, unsigned *method);
/* Answers a preflight for req's route (which has cors): 204 with the grants, or 403
 * cors-refused naming what is not allowed. */
void gh_cors_answer_preflight(gh_request *req);
/* An origin (len bytes) against one pattern: exact ("https://app.example.com[:port]", scheme
 * and host without regard to case), or a wildcard host ("*." then a domain: one or more
 * labels in front of the domain). */
bool gh_cors_origin_matches(const char *pattern, const char *o, size_t len);
/* After routing: remembers the request's Origin when the route's cors allows it. */
void gh_cors_note_origin(gh_request *req);
/* Appends the CORS fields of a response to req to out[*n..max): false when they do not fit. */
bool gh_cors_fields(const gh_request *req, gh_h1_header *out, size_t *n, size_t max);
/* Whether an upstream's response field is one of the CORS fields the gateway answers with on a
 * route that has cors (the upstream's own are dropped there). */
bool gh_cors_field(const gh_h1_header *h);

#endif
