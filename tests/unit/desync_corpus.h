/* Loads ../shared/testdata/http-desync-guardian/tests/ (every .yaml) into rendered raw requests. */
#ifndef GH_TEST_DESYNC_CORPUS_H
#define GH_TEST_DESYNC_CORPUS_H

#include <stddef.h>

typedef struct desync_case {
    char id[200]; /* "severe.yaml: Multiple Content-Length" */
    char file[64];
    char name[128];
    char tier[16]; /* Compliant, Acceptable, Ambiguous, Severe */
    char *raw;     /* the request rendered to bytes */
    size_t raw_len;
} desync_case;

/* Returns the number of cases loaded into *out (malloc'd), 0 when the folder is absent. */
size_t desync_load(const char *dir, desync_case **out);
void desync_free(desync_case *cases, size_t n);

#endif
