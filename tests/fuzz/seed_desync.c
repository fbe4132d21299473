/* Writes every case of the desync corpus as one raw request per file, for fuzz_h1 to start from:
 * seed_desync <corpus folder> <output folder>. The cases are rendered by the same loader the unit
 * test uses (tests/unit/desync_corpus.c), so the fuzzer starts from exactly what test_desync
 * checks. Prints the number of seeds written; exits 2 when the corpus is absent. */
#include <stdio.h>

#include "desync_corpus.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: seed_desync <corpus folder> <output folder>\n");
        return 1;
    }
    desync_case *cases;
    size_t n = desync_load(argv[1], &cases);
    if (n == 0) {
        fprintf(stderr, "seed_desync: no cases in %s\n", argv[1]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/desync-%03zu", argv[2], i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(cases[i].raw, 1, cases[i].raw_len, f) != cases[i].raw_len) {
            perror(path);
            return 1;
        }
        fclose(f);
    }
    desync_free(cases, n);
    printf("%zu\n", n);
    return 0;
}
