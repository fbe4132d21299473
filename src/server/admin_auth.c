#include "server/admin_auth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "core/b64url.h"
#include "wire/host.h"

/* Basic credentials longer than this are refused undecoded: a token is a secret of a few
 * dozen bytes, and the head's own limit already bounds the header. */
#define GH_ADMIN_BASIC_MAX 1024

static bool same_secret(const char *sent, size_t sent_len, const char *token)
{
    unsigned char a[32], b[32];
    unsigned int n = 0;
    EVP_Digest(sent, sent_len, a, &n, EVP_sha256(), NULL);
    EVP_Digest(token, strlen(token), b, &n, EVP_sha256(), NULL);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* The password of Basic credentials (RFC 7617: base64 of "user:password", the user ignored),
 * into out; its length, or -1 when the text is not such credentials: strict base64
 * (gh_b64_decode), one spelling per token, and a colon. */
static long basic_password(const char *b64, size_t n, char *out)
{
    unsigned char raw[GH_ADMIN_BASIC_MAX / 4 * 3];
    if (n > GH_ADMIN_BASIC_MAX)
        return -1;
    long got = gh_b64_decode(b64, n, raw);
    const unsigned char *colon = got > 0 ? memchr(raw, ':', (size_t)got) : NULL;
    long plen = -1;
    if (colon) {
        plen = got - (long)(colon + 1 - raw);
        memcpy(out, colon + 1, (size_t)plen);
    }
    OPENSSL_cleanse(raw, sizeof(raw)); /* the secret lives no longer than its check */
    return plen;
}

static bool is_safe_method(const gh_h1_request *r)
{
    return (r->method_len == 3 && memcmp(r->method, "GET", 3) == 0) ||
           (r->method_len == 4 && memcmp(r->method, "HEAD", 4) == 0);
}

static gh_admin_verdict verdict(gh_reason reason, const char *why)
{
    return (gh_admin_verdict){reason, why};
}

static bool has_field(const gh_h1_request *r, const char *name, size_t len)
{
    size_t count = 0;
    gh_h1_find_last(r->headers, r->nheaders, name, len, &count);
    return count > 0;
}

/* The dashboard's script adds its header, whatever the value: no other site's page can add
 * one (it is not CORS-safelisted, and this listener grants no preflight). */
static bool from_dashboard(const gh_h1_request *r)
{
    return has_field(r, GH_ADMIN_DASHBOARD_HEADER, sizeof(GH_ADMIN_DASHBOARD_HEADER) - 1);
}

/* Whether the one Host names this host's loopback: localhost, 127.0.0.0/8 or [::1]. */
static bool host_is_loopback(const gh_h1_request *r)
{
    size_t count = 0;
    const gh_h1_header *h = GH_H1_FIND_LAST(r->headers, r->nheaders, "host", &count);
    gh_host parsed;
    if (count != 1 || gh_host_parse(h->value, h->value_len, &parsed) != NULL)
        return false;
    char name[GH_HOST_CANON_MAX + 1];
    gh_host_canon(h->value, &parsed, name);
    name[parsed.name_len] = '\0'; /* the port, if any, cut */
    struct in_addr v4;
    if (inet_pton(AF_INET, name, &v4) == 1)
        return ntohl(v4.s_addr) >> 24 == 127;
    return strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0;
}

/* A listener without a token lets any request in, another site's form among them when the
 * operator's browser runs on this host: a change a browser page made (it sends Origin or
 * Sec-Fetch-Site, which no script can forge) must be the dashboard's. Tools send neither. A
 * page whose own name its owner's DNS turned to 127.0.0.1 (rebinding) is the listener's origin
 * to the browser, header and answers included, but its Host is that name: a browser's request
 * is let in only under a loopback name. */
static gh_admin_verdict tokenless(const gh_h1_request *r)
{
    bool from_page = has_field(r, "origin", 6) || has_field(r, "sec-fetch-site", 14);
    if (from_page && !host_is_loopback(r))
        return verdict(GH_R_CORS_REFUSED,
                       "a browser's page under a name other than localhost's (DNS rebinding?)");
    if (!is_safe_method(r) && from_page && !from_dashboard(r))
        return verdict(GH_R_CORS_REFUSED,
                       "a change made by a browser's page lacks X-Gatehouse-Dashboard");
    return verdict(GH_R_OK, NULL);
}

gh_admin_verdict gh_admin_authorize(const gh_h1_request *r, const char *token)
{
    if (!token)
        return tokenless(r);
    size_t count = 0;
    const gh_h1_header *h = GH_H1_FIND_LAST(r->headers, r->nheaders, "authorization", &count);
    if (count == 0)
        return verdict(GH_R_MISSING_TOKEN, "no Authorization header");
    if (count > 1)
        return verdict(GH_R_MISSING_TOKEN, "more than one Authorization header");
    if (h->value_len >= 7 && strncasecmp(h->value, "Bearer ", 7) == 0)
        return same_secret(h->value + 7, h->value_len - 7, token)
                   ? verdict(GH_R_OK, NULL)
                   : verdict(GH_R_INVALID_TOKEN, "wrong admin token");
    if (h->value_len < 6 || strncasecmp(h->value, "Basic ", 6) != 0)
        return verdict(GH_R_MISSING_TOKEN, "Authorization is neither Bearer nor Basic");
    char password[GH_ADMIN_BASIC_MAX];
    long plen = basic_password(h->value + 6, h->value_len - 6, password);
    if (plen < 0)
        return verdict(GH_R_MISSING_TOKEN, "malformed Basic credentials");
    bool good = same_secret(password, (size_t)plen, token);
    OPENSSL_cleanse(password, sizeof(password));
    if (!good)
        return verdict(GH_R_INVALID_TOKEN, "wrong admin token");
    if (!is_safe_method(r) && !from_dashboard(r))
        return verdict(GH_R_CORS_REFUSED,
                      "a change made with a browser's Basic credentials lacks "
                      "X-Gatehouse-Dashboard");
    return verdict(GH_R_OK, NULL);
}
