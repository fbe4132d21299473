/* Client keys (gate/client_key.h), shared by the rate limiter and the bans. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "gate/client_key.h"
#include "gate/request.h"
#include "store/bans.h"

/* addr (of family fam) cut to its prefix into buf: its length first, then the bytes. */
static void address_bits(int fam, const unsigned char addr[16], int ipv4_prefix, int ipv6_prefix,
                         unsigned char buf[17], size_t *len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
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
}

const char *gh_client_address_bits(const gh_request *req, int ipv4_prefix, int ipv6_prefix,
                                   unsigned char buf[17], size_t *len)
{
    const char *text = gh_request_client_address(req, len);
    unsigned char addr[16];
    int fam = gh_request_parse_addr(text, *len, addr);
    if (!fam)
        return text;
    address_bits(fam, addr, ipv4_prefix, ipv6_prefix, buf, len);
    return (const char *)buf;
}

/* "ip:..." for the bits in buf. */
/* Appends v (0..999) in decimal at p; returns the end. */
static char *put_decimal(char *p, unsigned v)
{
    if (v >= 100)
        *p++ = (char)('0' + v / 100);
    if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* "ip:..." for the bits in buf. Without printf: the anomaly detectors name every request's
 * client. */
static size_t format_bits(const unsigned char buf[17], int ipv4_prefix, int ipv6_prefix, char *out,
                          size_t cap)
{
    char text[3 + INET6_ADDRSTRLEN + 4] = "ip:", *p = text + 3;
    bool v4 = buf[0] == 4;
    int prefix = v4 ? ipv4_prefix : ipv6_prefix, full = v4 ? 32 : 128;
    if (v4) {
        for (int i = 0; i < 4; i++) {
            if (i)
                *p++ = '.';
            p = put_decimal(p, buf[1 + i]);
        }
    } else {
        inet_ntop(AF_INET6, buf + 1, p, INET6_ADDRSTRLEN);
        p += strlen(p);
    }
    if (prefix < full && prefix >= 0) {
        *p++ = '/';
        p = put_decimal(p, (unsigned)prefix);
    }
    size_t n = (size_t)(p - text);
    if (n >= cap)
        return 0;
    memcpy(out, text, n);
    out[n] = '\0';
    return n;
}

size_t gh_client_address_key(const gh_request *req, int ipv4_prefix, int ipv6_prefix, char *out,
                             size_t cap)
{
    unsigned char buf[17];
    size_t len = 0;
    const char *k = gh_client_address_bits(req, ipv4_prefix, ipv6_prefix, buf, &len);
    if (k == (const char *)buf)
        return format_bits(buf, ipv4_prefix, ipv6_prefix, out, cap);
    /* Text from a trusted proxy that is no address: as written, bytes that are no UTF-8 as '?'
     * (a ban keys only on text that lists as it is, store/bans.h). */
    if (cap < 4 || len > cap - 4)
        return 0;
    memcpy(out, "ip:", 3);
    gh_ban_text_copy(out + 3, cap - 3, k, len);
    size_t n = 3 + strlen(out + 3);
    return n == 3 + len ? n : 0; /* a NUL inside: no key */
}

long gh_client_address_key_canon(const char *key, size_t len, int ipv4_prefix, int ipv6_prefix,
                                 char *out, size_t cap)
{
    if (len < 3 || memcmp(key, "ip:", 3) != 0)
        return 0;
    const char *slash = memchr(key + 3, '/', len - 3);
    size_t addr_len = (slash ? (size_t)(slash - key) : len) - 3;
    unsigned char addr[16], buf[17];
    int fam = gh_request_parse_addr(key + 3, addr_len, addr);
    if (!fam)
        return 0;
    address_bits(fam, addr, ipv4_prefix, ipv6_prefix, buf, &addr_len);
    if (slash) { /* a range as wide as a client's at most: a wider one names no client */
        size_t nd = len - (size_t)(slash - key) - 1;
        int prefix = 0;
        if (nd == 0 || nd > 3)
            return -1;
        for (size_t i = 1; i <= nd; i++) {
            if (slash[i] < '0' || slash[i] > '9')
                return -1;
            prefix = prefix * 10 + (slash[i] - '0');
        }
        bool v4 = buf[0] == 4;
        prefix -= fam == AF_INET6 && v4 ? 96 : 0; /* mapped: the IPv4 bits */
        if (prefix > (v4 ? 32 : 128) || prefix < (v4 ? ipv4_prefix : ipv6_prefix))
            return -1;
    }
    size_t n = format_bits(buf, ipv4_prefix, ipv6_prefix, out, cap);
    return n ? (long)n : -1;
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
