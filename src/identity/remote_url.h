/* Which URLs the gateway fetches keys from: https, or plain http to a loopback address (a
 * sidecar on the same host). Keys fetched in the clear from elsewhere could be anyone's. */
#ifndef GH_IDENTITY_REMOTE_URL_H
#define GH_IDENTITY_REMOTE_URL_H

#include <stdbool.h>

bool gh_remote_url_allowed(const char *url);

#endif
