/* Strict HTTP/1.1 message parsing (RFC 9110/9112), in place: every pointer in the parsed
 * structures points into the caller's buffer, nothing is copied. */
#ifndef GH_WIRE_H1_H
#define GH_WIRE_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reason.h"
#include "wire/host.h"

typedef struct gh_h1_header {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} gh_h1_header;

typedef enum {
    GH_BODY_NONE,
    GH_BODY_LENGTH,
    GH_BODY_CHUNKED,
    GH_BODY_UNTIL_CLOSE, /* responses only */
} gh_body_kind;

typedef struct gh_h1_limits {
    size_t max_head;    /* bytes of the whole head: 431 beyond */
    size_t max_headers; /* header fields: 431 beyond */
    size_t max_target;  /* bytes of the request target: 414 beyond */
    bool defensive;     /* accept ambiguous but well-formed requests (marked ambiguous) */
} gh_h1_limits;

typedef struct gh_h1_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor; /* HTTP/1.<minor>: 0 or 1 */
    gh_h1_header *headers;
    size_t nheaders;
    size_t head_len; /* bytes of the head including leading empty lines and the final CRLF */
    gh_body_kind body;
    uint64_t content_length;
    const char *host; /* the Host field as sent; canonical once the request adopts its head */
    size_t host_len;
    gh_host host_parts; /* where its name ends, and its port */
    bool keep_alive;
    bool expect_continue;
    bool ambiguous;     /* accepted in defensive mode only: close both sides afterwards */
    bool unframed;      /* HTTP/2: a body of unknown length follows in DATA frames */
    const char *detail; /* static text naming the rule that refused the request */
} gh_h1_request;

typedef struct gh_h1_response {
    int status;
    int minor;
    gh_h1_header *headers;
    size_t nheaders;
    size_t head_len;
    gh_body_kind body;
    uint64_t content_length;
    bool keep_alive; /* the upstream connection may be reused afterwards */
    const char *detail;
} gh_h1_response;

/* Parses a request head from buf[0..len). *scanned carries how far an earlier call looked for
 * the end of the head (start it at 0), so feeding a head byte by byte stays linear.
 * Returns GH_R_OK (req filled), GH_R_AGAIN (need more bytes) or the refusal reason.
 * hdrs must hold lim->max_headers entries. */
gh_reason gh_h1_parse_request(const char *buf, size_t len, size_t *scanned, const gh_h1_limits *lim,
                              gh_h1_header *hdrs, gh_h1_request *req);

/* Judges a request head that arrived as parts (an HTTP/2 stream's pseudo-header and header
 * fields) by the rules gh_h1_parse_request applies to a parsed head: the head's size
 * (req->head_len, as an HTTP/1.1 head would count it) and field count, the method and target,
 * each field's name and value, Host, Content-Length and the body's framing (req->unframed: the
 * body's length is not known ahead). req->method, target, headers, nheaders, minor, head_len and
 * unframed are set by the caller; the rest is filled as gh_h1_parse_request does. Returns
 * GH_R_OK or the refusal reason, with req->detail set. */
gh_reason gh_h1_check_request(const gh_h1_limits *lim, gh_h1_request *req);

/* Parses an upstream response head. req_method_head: the request was HEAD (no body follows).
 * Returns GH_R_OK, GH_R_AGAIN, or GH_R_UPSTREAM_BAD_RESPONSE with resp->detail set. */
gh_reason gh_h1_parse_response(const char *buf, size_t len, size_t max_head, size_t max_headers,
                               bool req_method_head, gh_h1_header *hdrs, gh_h1_response *resp);

/* Case-insensitive comparison of a header name with a lowercase literal. */
bool gh_h1_name_is(const gh_h1_header *h, const char *lower, size_t lower_len);
#define GH_H1_NAME_IS(h, lit) gh_h1_name_is((h), lit, sizeof(lit) - 1)

/* The first field of h[0..n) named name (case-insensitive on both sides: configured names keep
 * the case they were written in), or NULL. Every match in turn:
 *   for (p = h; (p = gh_h1_find(p, (size_t)(end - p), name, len)); p++) */
const gh_h1_header *gh_h1_find(const gh_h1_header *h, size_t n, const char *name, size_t len);
#define GH_H1_FIND(h, n, lit) gh_h1_find((h), (n), lit, sizeof(lit) - 1)
/* The last field of h[0..n) named name, or NULL, and in *count how many there are: for fields
 * that must come once, where a repeat is refused or taken as absent. */
const gh_h1_header *gh_h1_find_last(const gh_h1_header *h, size_t n, const char *name, size_t len,
                                    size_t *count);
#define GH_H1_FIND_LAST(h, n, lit, count) gh_h1_find_last((h), (n), lit, sizeof(lit) - 1, (count))
/* The value of the first cookie named name in the Cookie fields of h[0..n) (RFC 6265 5.4:
 * "name=value" pairs separated by "; "), its length in *len; NULL when none is. */
const char *gh_h1_cookie(const gh_h1_header *h, size_t n, const char *name, size_t *len);

/* Case-insensitive on both sides, with '_' taken for '-': CGI, WSGI and Rack backends read
 * X_User_Id as X-User-Id, so a name the gateway owns is owned in every such spelling. */
bool gh_h1_name_folds_to(const gh_h1_header *h, const char *lower, size_t lower_len);

/* Whether the comma-separated token list in v contains token (case-insensitive). */
bool gh_h1_list_has(const char *v, size_t len, const char *token);
/* The same for a token that is not NUL-terminated (a header name, of any length). */
bool gh_h1_list_has_n(const char *v, size_t len, const char *token, size_t token_len);

/* Whether name is a hop-by-hop header that a proxy never forwards (RFC 9110 7.6.1). */
bool gh_h1_is_hop_by_hop(const gh_h1_header *h);

/* Splits "Name: value\r\n" lines the gateway itself wrote (text may be NULL) into out; returns
 * how many fit, or SIZE_MAX when the text is not such lines. */
size_t gh_h1_split_fields(const char *text, gh_h1_header *out, size_t max);

/* Whether c is an RFC 9110 tchar. */
bool gh_h1_is_tchar(unsigned char c);
/* Whether s is a token (RFC 9110 5.6.2): a header name as it may be sent. */
bool gh_h1_is_token(const char *s);

/* Standard reason phrase of a status code ("Unknown" for unlisted codes). */
const char *gh_h1_status_text(int status);

/* Chunked transfer coding decoder (RFC 9112 7.1), incremental and strict. */
typedef struct gh_chunked {
    uint8_t state;
    uint8_t digits;
    uint16_t ext_len;
    uint32_t trailer_len;
    uint64_t remaining;
} gh_chunked;

/* Consumes bytes from in[0..len). Returns GH_R_OK with *consumed set and, when a run of chunk
 * data was reached, data and data_len pointing at it inside `in` (data_len 0 otherwise); the
 * caller calls again with the rest. Returns GH_R_BAD_CHUNK on malformed input. Stops right
 * after the final CRLF so pipelined bytes stay unconsumed. */
gh_reason gh_chunked_step(gh_chunked *c, const char *in, size_t len, size_t *consumed,
                          const char **data, size_t *data_len);
bool gh_chunked_done(const gh_chunked *c);

#endif
