/* `gatehouse version [--verbose]`. The short form is the release; the verbose form adds what an
 * operator or a supply-chain review needs to tell two builds apart: the build date (from
 * SOURCE_DATE_EPOCH, so a rebuild of the same commit prints the same date), the compiler, and
 * the versions of the libraries as loaded at run time, which may be newer than the headers the
 * binary was compiled against when the system's packages were upgraded since. */
#include "tools/version.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include <yaml.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#ifndef GH_VERSION
#define GH_VERSION "0.0.0"
#endif
/* Seconds since the epoch the build stands for (SOURCE_DATE_EPOCH, Makefile); 0 when unknown. */
#ifndef GH_BUILD_EPOCH
#define GH_BUILD_EPOCH 0
#endif

static void print_build_date(FILE *out)
{
    time_t t = (time_t)GH_BUILD_EPOCH;
    struct tm tm;
    char when[32];
    if (t > 0 && gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        fprintf(out, "built:     %s (SOURCE_DATE_EPOCH=%lld)\n", when, (long long)t);
    else
        fprintf(out, "built:     unknown\n");
}

static void print_libraries(FILE *out)
{
    char pcre2[64] = "unknown";
    if (pcre2_config(PCRE2_CONFIG_VERSION, NULL) > 0 &&
        (size_t)pcre2_config(PCRE2_CONFIG_VERSION, NULL) <= sizeof pcre2)
        pcre2_config(PCRE2_CONFIG_VERSION, pcre2);
    const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    const nghttp2_info *h2 = nghttp2_version(0);
    fprintf(out, "libraries (run time):\n");
    fprintf(out, "  openssl   %s\n", OpenSSL_version(OPENSSL_VERSION));
    fprintf(out, "  libuv     %s\n", uv_version_string());
    fprintf(out, "  nghttp2   %s\n", h2 ? h2->version_str : "unknown");
    fprintf(out, "  libcurl   %s\n", curl ? curl->version : "unknown");
    fprintf(out, "  jansson   %s\n", jansson_version_str());
    fprintf(out, "  libyaml   %s\n", yaml_get_version_string());
    fprintf(out, "  pcre2     %s\n", pcre2);
    /* hiredis has no run-time version call: these are the headers it was built against. */
    fprintf(out, "  hiredis   %d.%d.%d (headers)\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
}

int gh_version_main(int argc, char **argv)
{
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gatehouse version [--verbose]\n");
            return 0;
        } else {
            fprintf(stderr, "gatehouse version: unexpected argument '%s'\n"
                            "usage: gatehouse version [--verbose]\n", argv[i]);
            return 2;
        }
    }
    printf("gatehouse %s\n", GH_VERSION);
    if (!verbose)
        return 0;
    print_build_date(stdout);
#if defined(__clang__)
    printf("compiler:  clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("compiler:  gcc %s\n", __VERSION__);
#endif
    print_libraries(stdout);
    return 0;
}
