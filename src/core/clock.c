#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

uint64_t gh_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t gh_monotonic_ms(void)
{
    return (int64_t)(gh_now_us() / 1000u);
}

/* The civil date of day z since 1970-01-01, proleptic Gregorian (H. Hinnant's civil_from_days):
 * a few divisions instead of gmtime_r and strftime, for a line each request writes. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                               /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;      /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                    /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                         /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

void gh_format_rfc3339_ms_at(const struct timespec *ts, char out[32])
{
    int64_t days = ts->tv_sec / 86400, rem = ts->tv_sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* not four digits: RFC 3339 has no form for it */
        snprintf(out, 32, "%s", y < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
        return;
    }
    char *p = digits(out, (unsigned)y, 4);
    *p++ = '-';
    p = digits(p, m, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, (unsigned)(rem / 3600), 2);
    *p++ = ':';
    p = digits(p, (unsigned)(rem / 60 % 60), 2);
    *p++ = ':';
    p = digits(p, (unsigned)(rem % 60), 2);
    *p++ = '.';
    p = digits(p, (unsigned)(ts->tv_nsec / 1000000), 3);
    *p++ = 'Z';
    *p = '\0';
}

void gh_format_rfc3339_ms(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gh_format_rfc3339_ms_at(&ts, out);
}

const char *gh_http_date_now(gh_http_date *d)
{
    /* The coarse clock is read without a system call and is exact enough for a whole second. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != d->second || !d->text[0]) {
        static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(d->text, sizeof(d->text), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        d->second = ts.tv_sec;
    }
    return d->text;
}

void gh_id_gen_seed(gh_id_gen *g, uint64_t salt)
{
    if (getrandom(g->seed, sizeof(g->seed), 0) != sizeof(g->seed))
        g->seed[0] = gh_now_us() ^ (salt << 32), g->seed[1] = (uint64_t)getpid();
    if (!g->seed[0] && !g->seed[1])
        g->seed[1] = 1; /* xorshift's one fixed point */
}

uint64_t gh_id_gen_u64(gh_id_gen *g)
{
    uint64_t s1 = g->seed[0];
    const uint64_t s0 = g->seed[1];
    g->seed[0] = s0;
    s1 ^= s1 << 23;
    g->seed[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return g->seed[1] + s0;
}

void gh_id_gen_next(gh_id_gen *g, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int half = 0; half < 2; half++) {
        uint64_t v = gh_id_gen_u64(g);
        for (int i = 0; i < 16; i++)
            out[half * 16 + i] = hex[(v >> (60 - 4 * i)) & 15];
    }
    out[32] = '\0';
}
