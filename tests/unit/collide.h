/* Keys that all share the low bits of their 64-bit FNV-1a hash: the layout an attacker sends to
 * a table indexed by an unkeyed hash (every key on one probe chain). Each key is a distinct
 * prefix ("k" and six digits) and a three-character suffix chosen so that the hash's low bits
 * come out equal: FNV-1a's low bits depend only on the low bits before each step, so the
 * suffixes can be found by running the steps backwards from the target. */
#ifndef GH_TEST_COLLIDE_H
#define GH_TEST_COLLIDE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLIDE_BITS 16
#define COLLIDE_KEY_LEN 10 /* "k" 6 digits, 3 suffix characters */

static const char collide_alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* Writes n keys of COLLIDE_KEY_LEN characters (each NUL-terminated, COLLIDE_KEY_LEN + 1 apart)
 * into out; returns how many it made (prefixes without a suffix are skipped). */
static size_t collide_keys(char *out, size_t n)
{
    const uint32_t mask = (1u << COLLIDE_BITS) - 1, prime = (uint32_t)(1099511628211ull & mask);
    uint32_t inv = prime; /* Newton's iteration: the inverse of an odd number mod 2^16 */
    for (int i = 0; i < 5; i++)
        inv = (inv * (2 - prime * inv)) & mask;
    int32_t *suffix = malloc(sizeof(int32_t) << COLLIDE_BITS);
    memset(suffix, 0xff, sizeof(int32_t) << COLLIDE_BITS);
    const uint32_t target = 0x1234 & mask, na = (uint32_t)strlen(collide_alphabet);
    for (uint32_t c = 0; c < na * na * na; c++) {
        uint32_t s = target;
        for (int k = 2; k >= 0; k--) {
            uint32_t idx = k == 2 ? c % na : k == 1 ? c / na % na : c / na / na;
            s = ((s * inv) & mask) ^ (unsigned char)collide_alphabet[idx];
        }
        suffix[s] = (int32_t)c;
    }
    size_t made = 0;
    for (size_t i = 0; made < n && i < 1000000; i++) {
        char *k = out + made * (COLLIDE_KEY_LEN + 1);
        snprintf(k, COLLIDE_KEY_LEN + 1, "k%06zu", i);
        uint64_t h = 1469598103934665603ull;
        for (int j = 0; j < 7; j++)
            h = (h ^ (unsigned char)k[j]) * 1099511628211ull;
        int32_t c = suffix[h & mask];
        if (c < 0)
            continue;
        k[7] = collide_alphabet[c / na / na];
        k[8] = collide_alphabet[c / na % na];
        k[9] = collide_alphabet[c % na];
        k[10] = '\0';
        made++;
    }
    free(suffix);
    return made;
}

/* Keys of the same shape with random suffixes: the baseline. */
static size_t random_keys(char *out, size_t n)
{
    srand(11);
    for (size_t i = 0; i < n; i++) {
        char *k = out + i * (COLLIDE_KEY_LEN + 1);
        snprintf(k, COLLIDE_KEY_LEN + 1, "k%06zu", i);
        for (int j = 7; j < 10; j++)
            k[j] = collide_alphabet[rand() % 62];
        k[10] = '\0';
    }
    return n;
}

#endif
