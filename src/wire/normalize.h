/* The canonical path (docs/architecture.md, "The life of a request", step 4): computed once per
 * request and used by routing, authorization, rate limiting, logs and the upstream request, so
 * that no two components read the same target two ways. */
#ifndef GH_WIRE_NORMALIZE_H
#define GH_WIRE_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reason.h"

/* What to do with a construct backends read in different ways. */
typedef enum {
    GH_PATH_REJECT, /* 400 with the construct's reason */
    GH_PATH_KEEP,   /* passed on, escaped ("%2F", "%5C"), inside its segment */
    GH_PATH_DECODE, /* read as the separator '/' */
} gh_path_mode;

/* paths: the operator's choices; the zero value is the default (everything refused, repeated
 * slashes merged is set by gh_path_rules_default). */
typedef struct gh_path_rules {
    uint8_t encoded_slash; /* %2F: reject, keep or decode */
    uint8_t backslash;     /* raw '\' and %5C: reject, keep or decode */
    uint8_t parameters;    /* ';' in a segment (the "..;/" trick): reject or keep */
    uint8_t invalid_utf8;  /* escaped bytes that do not decode as UTF-8: reject or keep */
    bool keep_slashes;     /* empty segments kept ("//a") instead of merged */
} gh_path_rules;

/* How much room gh_normalize_path may need for a path of len bytes (a kept '\' grows to "%5C"). */
#define GH_NORMALIZED_MAX(len) (3 * (len) + 2)

/* Normalizes the path part of an origin-form target [path, path+len) into out (at least
 * GH_NORMALIZED_MAX(len) bytes, NUL-terminated): percent-encoded unreserved characters decoded
 * (%2e included, so encoded dot segments are dot segments), other escapes upper-cased, dot
 * segments removed (RFC 3986 5.2.4), repeated slashes merged. Always refused: a path not starting
 * with '/', malformed escapes, control characters and NUL (raw or encoded), '..' above the root,
 * a dot segment carrying parameters ("..;x"); the rest as rules say. Returns GH_R_OK with
 * *out_len set, or the reason with *detail naming what was found. */
gh_reason gh_normalize_path(const char *path, size_t len, const gh_path_rules *rules, char *out,
                            size_t *out_len, const char **detail);

/* The query string after '?' is passed on as sent, but only when well formed: every '%' starts
 * a two-digit escape, no control character or NUL (raw or encoded), no '#'. */
gh_reason gh_check_query(const char *query, size_t len, const char **detail);

#endif
