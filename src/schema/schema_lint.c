/* A look at a pattern's shape for the one that backtracks without bound: a group that repeats
 * and holds a repetition itself ((a+)+, (.*)*) or alternatives that can start alike ((a|aa)+).
 * Such a pattern can take exponential time on a string that almost matches; the matching
 * budget bounds the cost at run time, and `check` warns so that it is rewritten. A heuristic:
 * it sees the source text, not the compiled program, and errs towards warning. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema_internal.h"

#define MAX_GROUPS 64
#define MAX_ALTS 32

typedef struct frame {
    bool repeats_inside; /* holds a repeated atom or a repeated group */
    bool alts_overlap;   /* two alternatives can start with the same character */
    int firsts[MAX_ALTS]; /* the first character of each alternative; -1: any, -2: none yet */
    int nalts;
} frame;

/* Skips a quantifier at p, if any: *repeats tells whether it can repeat (more than once). */
static const char *quantifier(const char *p, bool *repeats)
{
    *repeats = false;
    if (*p == '*' || *p == '+') {
        *repeats = true;
        p++;
    } else if (*p == '?') {
        p++;
    } else if (*p == '{') {
        const char *close = strchr(p, '}'), *comma = close ? memchr(p, ',', (size_t)(close - p)) : NULL;
        if (!close || strspn(p + 1, "0123456789,") != (size_t)(close - p - 1) || close == p + 1)
            return p; /* a literal brace */
        *repeats = comma ? comma[1] == '}' || strtol(comma + 1, NULL, 10) > 1 : strtol(p + 1, NULL, 10) > 1;
        p = close + 1;
    } else {
        return p;
    }
    if (*p == '+') /* possessive: gives nothing back, so it cannot backtrack */
        *repeats = false, p++;
    else if (*p == '?')
        p++;
    return p;
}

static void first_char(frame *f, int c)
{
    if (f->firsts[f->nalts] != -2)
        return;
    f->firsts[f->nalts] = c;
    for (int i = 0; i < f->nalts; i++)
        if (f->firsts[i] == c || f->firsts[i] == -1 || c == -1)
            f->alts_overlap = true;
}

/* An atom at p (not a group): its end; *literal is its character, or -1 for a class. */
static const char *atom(const char *p, int *literal)
{
    *literal = -1;
    if (*p == '\\') {
        if ((p[1] == 'p' || p[1] == 'P') && p[2] == '{') {
            const char *close = strchr(p, '}');
            return close ? close + 1 : p + strlen(p);
        }
        if (p[1] && !strchr("dDwWsSbBpPxu0123456789", p[1]))
            *literal = (unsigned char)p[1];
        return p[1] ? p + 2 : p + 1;
    }
    if (*p == '[') {
        const char *q = p + 1;
        if (*q == '^')
            q++;
        if (*q == ']')
            q++;
        while (*q && *q != ']')
            q += *q == '\\' && q[1] ? 2 : 1;
        return *q ? q + 1 : q;
    }
    if (*p != '.')
        *literal = (unsigned char)*p;
    return p + 1;
}

const char *gh__schema_regex_risk(const char *src)
{
    frame st[MAX_GROUPS + 1];
    int top = 0;
    memset(&st[0], 0, sizeof(st[0]));
    st[0].firsts[0] = -2;
    for (const char *p = src; *p;) {
        frame *f = &st[top];
        if (*p == '(') {
            if (top == MAX_GROUPS)
                return "groups nested too deep to judge";
            first_char(f, -1);
            p++;
            if (*p == '?') /* (?:, (?=, (?!, (?<=, (?<!, (?<name> */
                p += p[1] == '<' && (p[2] == '=' || p[2] == '!') ? 3 : p[1] == '<' ? strcspn(p, ">") + 1 : 2;
            f = &st[++top];
            memset(f, 0, sizeof(*f));
            f->firsts[0] = -2;
            continue;
        }
        if (*p == ')' && top > 0) {
            frame inner = st[top--];
            bool repeats;
            p = quantifier(p + 1, &repeats);
            if (repeats && inner.repeats_inside)
                return "a repeated group that holds a repetition, such as (a+)+ or (.*)*";
            if (repeats && inner.alts_overlap)
                return "a repeated group whose alternatives can match alike, such as (a|aa)+";
            st[top].repeats_inside |= repeats || inner.repeats_inside;
            continue;
        }
        if (*p == '|') {
            if (f->nalts + 1 < MAX_ALTS)
                f->firsts[++f->nalts] = -2;
            p++;
            continue;
        }
        if (*p == '^' || *p == '$') {
            p++;
            continue;
        }
        int literal;
        p = atom(p, &literal);
        first_char(f, literal);
        bool repeats;
        p = quantifier(p, &repeats);
        f->repeats_inside |= repeats;
    }
    return NULL;
}
