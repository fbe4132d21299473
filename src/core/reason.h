/* Why a request was refused: one stable slug per reason, used in the problem+json `type`,
 * the access log's `reason` field and the refusals metric label. */
#ifndef GH_CORE_REASON_H
#define GH_CORE_REASON_H

/* X(name, status, slug, title) */
#define GH_REASONS(X)                                                                              \
    X(OK, 0, "ok", "OK")                                                                           \
    X(AGAIN, 0, "again", "Incomplete")                                                             \
    X(BAD_REQUEST_LINE, 400, "bad-request-line", "Malformed request line")                         \
    X(BAD_METHOD, 400, "bad-method", "Malformed method")                                           \
    X(BAD_TARGET, 400, "bad-target", "Malformed request target")                                   \
    X(ABSOLUTE_FORM, 400, "absolute-form-target", "Absolute-form request target refused")          \
    X(CONNECT_REFUSED, 400, "connect-refused", "CONNECT is not proxied")                           \
    X(BAD_VERSION, 400, "bad-version", "Malformed HTTP version")                                   \
    X(VERSION_NOT_SUPPORTED, 505, "version-not-supported", "HTTP version not supported")           \
    X(H2_PREFACE, 400, "http2-preface-on-http1", "HTTP/2 preface on an HTTP/1.1 listener")         \
    X(PLAIN_HTTP_ON_TLS, 400, "plain-http-on-tls-port", "Plain HTTP request on a TLS listener")     \
    X(H2_PROTOCOL, 400, "http2-protocol-error", "HTTP/2 protocol error")                            \
    X(H2_FLOOD, 429, "http2-flood", "HTTP/2 flood")                                                 \
    X(CLIENT_CERT_REQUIRED, 403, "client-certificate-required", "Client certificate required")     \
    X(CLIENT_CERT_MISMATCH, 403, "client-certificate-mismatch", "Client certificate not accepted") \
    X(BARE_CR, 400, "bare-cr", "Bare CR in request head")                                          \
    X(BARE_LF, 400, "bare-lf", "Bare LF in request head")                                          \
    X(BAD_HEADER_NAME, 400, "bad-header-name", "Malformed header name")                            \
    X(WS_BEFORE_COLON, 400, "whitespace-before-colon", "Whitespace between header name and colon") \
    X(OBS_FOLD, 400, "obs-fold", "Folded header line")                                             \
    X(LOOKALIKE_FRAMING_HEADER, 400, "lookalike-framing-header",                                   \
      "Header name that imitates Content-Length or Transfer-Encoding")                             \
    X(BAD_HEADER_VALUE, 400, "bad-header-value", "Control character in header value")              \
    X(MISSING_HOST, 400, "missing-host", "Host header missing")                                    \
    X(MULTIPLE_HOST, 400, "multiple-host", "More than one Host header")                            \
    X(BAD_HOST, 400, "bad-host", "Malformed Host header")                                          \
    X(DUPLICATE_FIELD, 400, "duplicate-singleton-field", "Singleton header field sent twice")       \
    X(UNDERSCORE_HEADER, 400, "underscore-in-header-name", "Header name with an underscore")       \
    X(BAD_CONTENT_LENGTH, 400, "bad-content-length", "Malformed Content-Length")                   \
    X(MULTIPLE_CONTENT_LENGTH, 400, "multiple-content-length", "More than one Content-Length")     \
    X(TE_WITH_CL, 400, "transfer-encoding-with-content-length",                                    \
      "Both Transfer-Encoding and Content-Length")                                                 \
    X(BAD_TRANSFER_ENCODING, 400, "bad-transfer-encoding", "Transfer-Encoding is not chunked")     \
    X(MULTIPLE_CHUNKED, 400, "multiple-chunked", "chunked applied more than once")                 \
    X(TE_IN_HTTP10, 400, "transfer-encoding-in-http10",                                            \
      "Transfer-Encoding in an HTTP/1.0 request")                                                  \
    X(AMBIGUOUS_BODY, 400, "body-on-bodiless-method", "Body on a GET or HEAD request")             \
    X(BAD_EXPECT, 417, "bad-expect", "Unsupported Expect")                                         \
    X(BAD_CHUNK, 400, "bad-chunk", "Malformed chunked body")                                       \
    X(HEAD_TOO_LARGE, 431, "head-too-large", "Request head too large")                             \
    X(TOO_MANY_HEADERS, 431, "too-many-headers", "Too many header fields")                         \
    X(TARGET_TOO_LONG, 414, "target-too-long", "Request target too long")                          \
    X(HEAD_TIMEOUT, 408, "head-timeout", "Request head not received in time")                      \
    X(BODY_TIMEOUT, 408, "body-timeout", "Request body not received in time")                      \
    X(BODY_TOO_SLOW, 408, "body-too-slow", "Request body slower than the minimum rate")            \
    X(BODY_DEADLINE, 408, "body-deadline", "Request body not complete within its deadline")        \
    X(BODY_TOO_LARGE, 413, "body-too-large", "Request body too large")                             \
    X(UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type", "Content type not accepted")         \
    X(INVALID_JSON, 400, "invalid-json", "Malformed JSON body")                                     \
    X(SCHEMA_MISMATCH, 400, "schema-validation-failed", "Body does not match the schema")          \
    X(MISSING_SIGNATURE, 401, "missing-signature", "Webhook signature missing")                   \
    X(INVALID_SIGNATURE, 401, "invalid-signature", "Webhook signature not accepted")              \
    X(BAD_PATH, 400, "bad-path", "Path refused by normalization")                                  \
    X(ENCODED_SLASH, 400, "encoded-slash-in-path", "Encoded slash in the path")                   \
    X(BACKSLASH, 400, "backslash-in-path", "Backslash in the path")                               \
    X(PATH_CONTROL, 400, "control-character-in-path", "Control character in the path")            \
    X(PATH_PARAMETERS, 400, "path-parameters", "Path segment parameters")                         \
    X(PATH_UTF8, 400, "invalid-utf8-in-path", "Escaped bytes in the path are not UTF-8")          \
    X(PATH_ABOVE_ROOT, 400, "path-above-root", "Dot segment above the root")                      \
    X(BAD_QUERY, 400, "bad-query", "Malformed query string")                                      \
    X(CORS_REFUSED, 403, "cors-refused", "Cross-origin request not allowed")                      \
    X(MISSING_REQUIRED_HEADER, 400, "missing-required-header", "A required header is missing")    \
    X(MISSING_TOKEN, 401, "missing-token", "Authentication required")                              \
    X(INVALID_TOKEN, 401, "invalid-token", "Invalid access token")                                 \
    X(MISSING_API_KEY, 401, "missing-api-key", "API key required")                                 \
    X(INVALID_API_KEY, 401, "invalid-api-key", "Invalid API key")                                  \
    X(INSUFFICIENT_SCOPE, 403, "insufficient-scope", "Insufficient scope")                       \
    X(CLAIM_MISMATCH, 403, "claim-mismatch", "Not allowed for this identity")                     \
    X(POLICY_DENIED, 403, "policy-denied", "Denied by policy")                                     \
    X(POLICY_UNAVAILABLE, 503, "policy-unavailable", "Policy decision unavailable")                \
    X(RATE_LIMITED, 429, "rate-limited", "Too many requests")                                      \
    X(QUOTA_EXCEEDED, 429, "quota-exceeded", "Quota exhausted for this window")                    \
    X(RATE_LIMIT_UNAVAILABLE, 503, "rate-limit-unavailable", "Rate-limit store unavailable")        \
    X(CLIENT_BANNED, 403, "client-banned", "Client banned")                                         \
    X(FAULT_INJECTED, 503, "fault-injected", "Fault injected for testing")                         \
    X(IDP_UNAVAILABLE, 503, "identity-provider-unavailable",                                       \
      "Identity provider keys unavailable")                                                        \
    X(MISDIRECTED, 421, "misdirected-request",                                                     \
      "Host not served on this TLS connection")                                                    \
    X(NOT_FOUND, 404, "no-route", "No route matches")                                              \
    X(METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed on this route")           \
    X(WS_NOT_ALLOWED, 400, "websocket-not-allowed", "WebSocket upgrade not allowed on this route") \
    X(WS_BAD_HANDSHAKE, 400, "bad-websocket-handshake", "Malformed WebSocket handshake")         \
    X(WS_VERSION, 426, "websocket-version-not-supported", "WebSocket version not supported")     \
    X(WS_ORIGIN, 403, "websocket-origin-refused", "Origin not allowed to open a WebSocket")      \
    X(WS_FULL, 503, "websocket-sessions-full", "Route at websocket.max_connections")             \
    X(UPSTREAM_FULL, 503, "upstream-at-capacity", "Upstream at max_concurrency")                   \
    X(UPSTREAM_UNAVAILABLE, 503, "upstream-unavailable", "No upstream endpoint available")         \
    X(UPSTREAM_CONNECT, 502, "upstream-connect-failed", "Upstream connection failed")              \
    X(UPSTREAM_RESET, 502, "upstream-reset", "Upstream closed the connection")                     \
    X(UPSTREAM_TLS, 502, "upstream-tls-failed", "TLS to the upstream failed")                       \
    X(UPSTREAM_TIMEOUT, 504, "upstream-timeout", "Upstream did not answer in time")                \
    X(UPSTREAM_BAD_RESPONSE, 502, "upstream-bad-response", "Malformed upstream response")          \
    X(CLIENT_CLOSED, 499, "client-closed", "Client closed the connection")                         \
    X(DRAINING, 503, "draining", "Gateway is shutting down")                                       \
    X(INTERNAL, 500, "internal", "Internal error")

typedef enum {
#define GH_REASON_ENUM(name, status, slug, title) GH_R_##name,
    GH_REASONS(GH_REASON_ENUM)
#undef GH_REASON_ENUM
        GH_R__COUNT
} gh_reason;

/* The HTTP status a refusal for this reason carries (0 for OK/AGAIN). */
int gh_reason_status(gh_reason r);
/* Stable slug, e.g. "head-too-large"; never NULL. */
const char *gh_reason_slug(gh_reason r);
/* Human title for problem+json. */
const char *gh_reason_title(gh_reason r);
/* A problem document's type: this prefix and the slug. */
#define GH_PROBLEM_TYPE_PREFIX "urn:gatehouse:problem:"

#endif
