#include <string.h>
#include <strings.h>

#include "identity/remote_url.h"

/* Whether the authority of an http URL (after "http://") is a loopback host. */
static bool loopback_authority(const char *a)
{
    static const char *const hosts[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    for (size_t i = 0; hosts[i]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncasecmp(a, hosts[i], n) == 0 && (a[n] == ':' || a[n] == '/' || a[n] == '\0'))
            return true;
    }
    return false;
}

bool gh_remote_url_allowed(const char *url)
{
    if (strchr(url, ' ') || strchr(url, '@'))
        return false; /* no credentials in the URL, no ambiguity about the host */
    if (strncasecmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/';
    return strncasecmp(url, "http://", 7) == 0 && loopback_authority(url + 7);
}
