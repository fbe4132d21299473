/* Client keys (gate/client_key.h), shared by the rate limiter and the bans. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "gate/client_key.h"
#include "gate/request.h"

const char *gh_client_address_bits(const gh_request *req, int ipv4_prefix, int ipv6_prefix,
                                   unsigned char buf[17], size_t *len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const char *text = gh_request_client_address(req, len);
    unsigned char addr[16];
    int fam = gh_request_parse_addr(text, *len, addr);
    if (!fam)
        return text;
    const unsigned char *a = addr;
    if (fam == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
        fam = AF_INET;
        a = addr + 12;
    }
    int bytes = fam == AF_INET ? 4 : 16, bits = fam == AF_INET ? ipv4_prefix : ipv6_prefix;
    buf[0] = (unsigned char)bytes; /* never a text key's first byte */
    for (int i = 0; i < bytes; i++) {
        int keep = bits - 8 * i;
        buf[1 + i] = keep >= 8 ? a[i] : keep <= 0 ? 0 : (unsigned char)(a[i] & (0xff << (8 - keep)));
    }
    *len = 1 + (size_t)bytes;
    return (const char *)buf;
}

size_t gh_client_address_key_of(int family, const unsigned char addr[16], int ipv4_prefix,
                                int ipv6_prefix, char *out, size_t cap)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *a = addr;
    if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
        family = AF_INET;
        a = addr + 12;
    }
    bool v4 = family == AF_INET;
    int bytes = v4 ? 4 : 16, prefix = v4 ? ipv4_prefix : ipv6_prefix, full = v4 ? 32 : 128;
    unsigned char cut[16] = {0};
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i;
        cut[i] = keep >= 8 ? a[i] : keep <= 0 ? 0 : (unsigned char)(a[i] & (0xff << (8 - keep)));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, cut, text, sizeof(text));
    int n = prefix < full ? snprintf(out, cap, "ip:%s/%d", text, prefix)
                          : snprintf(out, cap, "ip:%s", text);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t gh_client_address_key(const gh_request *req, int ipv4_prefix, int ipv6_prefix, char *out,
                             size_t cap)
{
    unsigned char buf[17];
    size_t len = 0;
    const char *k = gh_client_address_bits(req, ipv4_prefix, ipv6_prefix, buf, &len);
    if (k == (const char *)buf) {
        unsigned char addr[16] = {0};
        memcpy(addr, buf + 1, buf[0]);
        return gh_client_address_key_of(buf[0] == 4 ? AF_INET : AF_INET6, addr, ipv4_prefix,
                                        ipv6_prefix, out, cap);
    }
    int n = snprintf(out, cap, "ip:%.*s", (int)len, k);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t gh_client_identity_key(const gh_request *req, char *out, size_t cap)
{
    int n = 0;
    if (req->auth_ok && req->auth_sub && req->auth_sub[0])
        n = snprintf(out, cap, "sub:%s", req->auth_sub);
    else if (req->api_client && req->api_client[0])
        n = snprintf(out, cap, "key:%s", req->api_client);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t gh_client_key(const gh_request *req, int ipv4_prefix, int ipv6_prefix, char *out,
                     size_t cap)
{
    size_t n = gh_client_identity_key(req, out, cap);
    return n ? n : gh_client_address_key(req, ipv4_prefix, ipv6_prefix, out, cap);
}
