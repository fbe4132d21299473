/* String length in characters, and the formats the gateway asserts when format_assertion is on. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "schema/schema_internal.h"

size_t gh__schema_utf8_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* RFC 3339 full-date: YYYY-MM-DD, the day existing in that month. */
static bool full_date(const char *s, size_t len)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) ||
        !digits(s + 8, 2))
        return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

/* RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM); a leap second only at 23:59 UTC. */
static bool full_time(const char *s, size_t len)
{
    if (len < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2) || !digits(s + 3, 2) || !digits(s + 6, 2))
        return false;
    int h = num(s, 2), mi = num(s + 3, 2), sec = num(s + 6, 2);
    size_t i = 8;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i == start)
            return false;
    }
    int oh = 0, om = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        /* UTC */
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
               digits(s + i + 1, 2) && digits(s + i + 4, 2)) {
        oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh > 23 || om > 59)
            return false;
        if (s[i] == '+')
            oh = -oh, om = -om;
    } else {
        return false;
    }
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    if (sec == 60) {
        int utc = ((h + oh) * 60 + mi + om + 24 * 60) % (24 * 60);
        return utc == 23 * 60 + 59;
    }
    return true;
}

static bool ipv4(const char *s, size_t len)
{
    int parts = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        size_t n = i - start;
        if (n == 0 || n > 3 || (n > 1 && s[start] == '0') || num(s + start, n) > 255)
            return false;
        parts++;
        if (i < len && (s[i] != '.' || ++i == len))
            return false;
    }
    return parts == 4;
}

/* RFC 4291 text, without a zone; an embedded IPv4 part is held to the ipv4 format (no
 * leading zeros), which inet_pton does not check. */
static bool ipv6(const char *s, size_t len)
{
    char buf[64];
    struct in6_addr a;
    if (len >= sizeof(buf) || memchr(s, '%', len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *colon = strrchr(buf, ':');
    if (colon && strchr(colon, '.') && !ipv4(colon + 1, strlen(colon + 1)))
        return false;
    return inet_pton(AF_INET6, buf, &a) == 1;
}

static bool hostname(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            const char *l = s + i - label;
            if (label == 0 || label > 63 || s[i - 1] == '-' || l[0] == '-')
                return false;
            if (label > 4 && strncasecmp(l, "xn--", 4) == 0 && !gh__schema_a_label_ok(l, label))
                return false;
            label = 0;
        } else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

/* Characters of RFC 3986: unreserved and sub-delims (a percent sign is checked apart). */
static bool uri_char(unsigned char c, const char *also)
{
    return isalnum(c) || strchr("-._~!$&'()*+,;=", c) || (c && strchr(also, c));
}

/* s[0..len) made of uri_char(also) and whole percent-encodings. */
static bool uri_run(const char *s, size_t len, const char *also)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len + 0 || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
                return false;
            i += 2;
        } else if (!uri_char((unsigned char)s[i], also)) {
            return false;
        }
    }
    return true;
}

/* RFC 3986 authority: [userinfo "@"] host [":" port], the host a reg-name or an IP literal. */
static bool authority(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (at) {
        if (!uri_run(s, (size_t)(at - s), ":"))
            return false;
        len -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    const char *end = s + len, *host_end;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || !(ipv6(s + 1, (size_t)(close - s - 1)) ||
                        (close - s > 2 && (s[1] == 'v' || s[1] == 'V') && uri_run(s + 2, (size_t)(close - s - 2), ":"))))
            return false;
        host_end = close + 1;
    } else {
        host_end = memchr(s, ':', len);
        host_end = host_end ? host_end : end;
        if (!uri_run(s, (size_t)(host_end - s), ""))
            return false;
    }
    if (host_end == end)
        return true;
    return *host_end == ':' && digits(host_end + 1, (size_t)(end - host_end - 1));
}

static bool uri(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !isalpha((unsigned char)s[0]))
        return false;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i == len || s[i] != ':')
        return false;
    i++;
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t a = i + 2, e = a;
        while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#')
            e++;
        if (!authority(s + a, e - a))
            return false;
        i = e;
    }
    const char *hash = memchr(s + i, '#', len - i);
    size_t rest = hash ? (size_t)(hash - s) : len;
    return uri_run(s + i, rest - i, ":@/?") && (!hash || uri_run(hash + 1, (size_t)(s + len - hash - 1), ":@/?"));
}

/* The local part of an address: a dot-atom, or a quoted string (RFC 5321 4.1.2). */
static bool local_part(const char *s, size_t local)
{
    if (s[0] == '"') {
        if (local < 2 || s[local - 1] != '"')
            return false;
        for (size_t i = 1; i + 1 < local; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\' && i + 2 < local)
                i++;
            else if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
                return false;
        }
        return true;
    }
    if (s[0] == '.' || s[local - 1] == '.' || memmem(s, local, "..", 2))
        return false;
    for (size_t i = 0; i < local; i++)
        if ((unsigned char)s[i] <= 0x20 || strchr("()<>[]:;,@\\\"", s[i]))
            return false;
    return true;
}

static bool email(const char *s, size_t len)
{
    const char *at = memrchr(s, '@', len); /* a quoted local part may hold an @ */
    if (!at || at == s || at == s + len - 1)
        return false;
    const char *domain = at + 1;
    size_t dlen = (size_t)(s + len - domain);
    if (!local_part(s, (size_t)(at - s)))
        return false;
    if (domain[0] == '[') { /* an address literal: [IPv4] or [IPv6:...] */
        if (domain[dlen - 1] != ']')
            return false;
        if (dlen > 7 && strncasecmp(domain + 1, "IPv6:", 5) == 0)
            return ipv6(domain + 6, dlen - 7);
        return ipv4(domain + 1, dlen - 2);
    }
    return hostname(domain, dlen);
}

static bool uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool gh__schema_format_ok(const char *format, const char *s, size_t len)
{
    if (strcmp(format, "date") == 0)
        return full_date(s, len);
    if (strcmp(format, "date-time") == 0) {
        const char *t = len > 10 ? s + 10 : NULL;
        return t && (*t == 'T' || *t == 't') && full_date(s, 10) && full_time(t + 1, len - 11);
    }
    if (strcmp(format, "ipv4") == 0)
        return ipv4(s, len);
    if (strcmp(format, "ipv6") == 0)
        return ipv6(s, len);
    if (strcmp(format, "hostname") == 0)
        return hostname(s, len);
    if (strcmp(format, "email") == 0)
        return email(s, len);
    if (strcmp(format, "uuid") == 0)
        return uuid(s, len);
    if (strcmp(format, "uri") == 0)
        return uri(s, len);
    return true;
}
