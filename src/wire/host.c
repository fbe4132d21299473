#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "wire/host.h"

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* LDH labels (and '_', found in internal service names), each 1..63 bytes. A name whose last
 * label is numeric must be a strict dotted quad: "127.1", "0x7f.0.0.1" or "2130706433" are
 * addresses to some resolvers and names to others. */
static const char *check_name(const char *s, size_t len)
{
    if (len == 0)
        return "an empty host name";
    if (len > GH_HOST_NAME_MAX)
        return "a host name longer than 253 bytes";
    size_t label = 0, last_start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0)
                return "an empty label in the host name (a leading dot or two dots in a row)";
            label = 0;
            last_start = i + 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
              c == '_'))
            return c == '%' ? "a percent-encoded host name" : "a character not allowed in a host name";
        if (++label > 63)
            return "a host name label longer than 63 bytes";
    }
    if (label == 0)
        return "an empty label at the end of the host name (more than one trailing dot)";
    bool numeric = true;
    for (size_t i = last_start; i < len && numeric; i++)
        numeric = is_digit((unsigned char)s[i]);
    if (numeric) {
        char buf[16];
        struct in_addr a;
        if (len >= sizeof(buf))
            return "a numeric host that is not a dotted-quad IPv4 address";
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET, buf, &a) != 1)
            return "a numeric host that is not a dotted-quad IPv4 address";
    }
    return NULL;
}

static const char *check_ipv6(const char *s, size_t len)
{
    char buf[48];
    struct in6_addr a;
    if (len < 2 || len - 2 >= sizeof(buf))
        return "a malformed IPv6 address in the host";
    memcpy(buf, s + 1, len - 2);
    buf[len - 2] = '\0';
    if (inet_pton(AF_INET6, buf, &a) != 1)
        return "a malformed IPv6 address in the host (zone identifiers and IPvFuture are refused)";
    return NULL;
}

/* ":" 1*5DIGIT in 1..65535. */
static const char *check_port(const char *p, size_t len, int32_t *port)
{
    if (len == 0)
        return "an empty port in the host";
    if (memchr(p, ':', len))
        return "more than one port in the host";
    if (len > 5)
        return "a port out of range in the host";
    int32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit((unsigned char)p[i]))
            return "a port that is not a decimal number";
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return "a port out of range in the host";
    *port = v;
    return NULL;
}

const char *gh_host_parse(const char *s, size_t len, gh_host *out)
{
    out->port = -1;
    out->name_len = 0;
    if (len == 0)
        return "an empty host";
    size_t name_end;
    const char *err;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return "an IPv6 address without its closing bracket";
        name_end = (size_t)(close - s) + 1;
        err = check_ipv6(s, name_end);
    } else {
        const char *colon = memchr(s, ':', len);
        name_end = colon ? (size_t)(colon - s) : len;
        if (memchr(s, ']', name_end))
            return "a character not allowed in a host name";
        /* One trailing dot names the same host (a fully qualified name); it is dropped. */
        out->name_len = name_end > 1 && s[name_end - 1] == '.' ? name_end - 1 : name_end;
        err = check_name(s, out->name_len);
    }
    if (err)
        return err;
    if (s[0] == '[')
        out->name_len = name_end;
    if (name_end < len) {
        if (s[name_end] != ':')
            return "bytes after the IPv6 address that are not a port";
        return check_port(s + name_end + 1, len - name_end - 1, &out->port);
    }
    return NULL;
}

/* An IPv6 literal in its one text form (RFC 5952: lower case, zeros compressed), brackets
 * included: "[0::1]", "[::0001]" and "[0:0:0:0:0:0:0:1]" are all "[::1]". Returns its length. */
static size_t canon_ipv6(const char *s, size_t len, char *out)
{
    char buf[48]; /* as check_ipv6's: the text parsed there fits */
    struct in6_addr a;
    memcpy(buf, s + 1, len - 2); /* gh_host_parse checked it fits and parses */
    buf[len - 2] = '\0';
    if (inet_pton(AF_INET6, buf, &a) != 1 || !inet_ntop(AF_INET6, &a, buf, sizeof(buf)))
        return 0;
    size_t n = strlen(buf);
    out[0] = '[';
    memcpy(out + 1, buf, n);
    out[n + 1] = ']';
    return n + 2;
}

size_t gh_host_canon(const char *s, gh_host *h, char *out)
{
    size_t n = h->name_len && s[0] == '[' ? canon_ipv6(s, h->name_len, out) : 0;
    for (size_t i = 0; n == 0 && i < h->name_len; i++) {
        char c = s[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (n == 0)
        n = h->name_len;
    h->name_len = n;
    if (h->port >= 0) {
        char digits[5];
        size_t k = 0;
        for (int32_t v = h->port; v; v /= 10)
            digits[k++] = (char)('0' + v % 10);
        out[n++] = ':';
        while (k)
            out[n++] = digits[--k];
    }
    return n;
}
