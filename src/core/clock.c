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

void gh_format_rfc3339_ms(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
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
