/* Internal to src/http: the header-line grammar shared by request, response and trailer
 * parsing. */
#ifndef GH_WIRE_H1_LINES_H
#define GH_WIRE_H1_LINES_H

#include "wire/h1.h"

/* Returns the offset of the first "\r\n\r\n" at or after from_min, looking only at bytes
 * not seen by an earlier call (*scanned, updated); SIZE_MAX when there is none yet. */
size_t gh__h1_find_head_end(const char *buf, size_t len, size_t from_min, size_t *scanned);

/* Parses the header lines in [p, end); every line, the last included, ends with CRLF.
 * Fills hdrs (up to max) and *n. Returns GH_R_OK or the reason; *detail names the rule. */
gh_reason gh__h1_parse_fields(const char *p, const char *end, gh_h1_header *hdrs, size_t max,
                              size_t *n, const char **detail);

/* A field name (a token) and a field value (no control character but HTAB), each checked
 * alone: GH_R_OK or the reason, *detail naming the rule. */
gh_reason gh__h1_check_name(const char *name, size_t len, const char **detail);
gh_reason gh__h1_check_value(const char *v, size_t len, const char **detail);

/* Parses a Content-Length value strictly: 1*DIGIT, at most 18 digits. Returns 0 or -1. */
int gh__h1_parse_length(const char *v, size_t len, uint64_t *out);

/* Transfer-Encoding: 0 if the union of the values is exactly "chunked", else the reason. */
gh_reason gh__h1_check_te(const gh_h1_header *hdrs, size_t n, const char **detail);

#endif
