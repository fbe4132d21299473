/* Fuzzes everything that reads client or upstream bytes: the request head parser in both
 * modes (fed whole and in two pieces), path normalization of what it accepts, the chunked
 * decoder and the response parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"
#include "http/normalize.h"

static gh_h1_header hdrs[100];

/* An accepted host's canonical form is no longer than the host, parses again, and is its own
 * canonical form: one spelling per host. */
static void host(const gh_h1_request *req)
{
    char once[512], twice[512];
    if (!req->host || req->host_len > sizeof(once))
        return;
    size_t n = gh_host_canon(req->host, &req->host_parts, once);
    gh_host again;
    if (n > req->host_len || gh_host_parse(once, n, &again) != NULL ||
        again.name_len != req->host_parts.name_len || again.port != req->host_parts.port)
        abort();
    if (gh_host_canon(once, &again, twice) != n || memcmp(once, twice, n) != 0)
        abort();
}

static void request(const uint8_t *data, size_t size, bool defensive)
{
    gh_h1_limits lim = {16384, 100, 8192, defensive};
    gh_h1_request req;
    size_t scanned = 0, split = size / 2;
    gh_reason r = gh_h1_parse_request((const char *)data, split, &scanned, &lim, hdrs, &req);
    if (r == GH_R_AGAIN)
        r = gh_h1_parse_request((const char *)data, size, &scanned, &lim, hdrs, &req);
    if (r != GH_R_OK)
        return;
    if (req.head_len > size || req.nheaders > 100)
        abort();
    char *path = malloc(GH_NORMALIZED_MAX(req.target_len));
    size_t len;
    const char *detail;
    const char *q = memchr(req.target, '?', req.target_len);
    size_t plen = q ? (size_t)(q - req.target) : req.target_len;
    const gh_path_rules rules = {0};
    if (gh_normalize_path(req.target, plen, &rules, path, &len, &detail) == GH_R_OK &&
        (len > plen + 1 || path[0] != '/' || strstr(path, "/../") || strstr(path, "//")))
        abort();
    free(path);
    host(&req);
}

static void chunked(const uint8_t *data, size_t size)
{
    gh_chunked c = {0};
    size_t off = 0, total = 0;
    while (off < size && !gh_chunked_done(&c)) {
        size_t consumed, n;
        const char *d;
        if (gh_chunked_step(&c, (const char *)data + off, size - off, &consumed, &d, &n) != GH_R_OK)
            return;
        if (consumed == 0 || consumed > size - off || n > consumed)
            abort();
        total += n;
        off += consumed;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request(data, size, false);
    request(data, size, true);
    chunked(data, size);
    gh_h1_response resp;
    gh_h1_parse_response((const char *)data, size, 32768, 100, size & 1, hdrs, &resp);
    return 0;
}
