/* The security events of requests: a refusal that is one (observe/security_events.h's table),
 * or any request on a critical route, as one ECS line on the worker's security stream. */
#ifndef GH_GATE_SECURITY_EVENT_H
#define GH_GATE_SECURITY_EVENT_H

#include "gate/exchange.h"
#include "gate/services.h"

/* Whether the configuration sends the stream anywhere and the worker has its producer side. */
bool gh_security_stream_on(const gh_services *svc, const gh_config *cfg);
/* Writes the request's event when it has one (folded when its key is over max_per_second). */
void gh_security_event_request(gh_services *svc, const gh_request *req);
/* A TLS handshake on listener (its id) failed for why (core/tls.c's names): a client
 * certificate missing where one is required, or one that failed verification, is a
 * client-certificate-refused event (folded per address); other failures are no event. */
void gh_security_event_handshake(gh_services *svc, const char *client_ip, uint64_t listener,
                                 const char *why);
/* Writes the folded events of the seconds that ended; the worker calls it every second. */
void gh_security_event_flush(gh_services *svc);
/* The request's event line in line[cap]: whole, else without the path, else with every
 * free-text field cut (*cut); its length, 0 when not even that fit. */
size_t gh_security_event_format(char *line, size_t cap, const gh_request *req, gh_sec_action a,
                                bool *cut);
/* The event a request is, or GH_SEC_NONE. */
gh_sec_action gh_security_event_of(const gh_request *req);

#endif
