/* The typed, immutable configuration snapshot. Built by config_load.c, shared read-only by
 * every worker, refcounted so a request finishes on the snapshot it started with. */
#ifndef GH_CONFIG_CONFIG_T_H
#define GH_CONFIG_CONFIG_T_H

#include <netinet/in.h>
#include <openssl/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "wire/h1.h"
#include "wire/normalize.h"
#include "identity/jwk.h"
#include "store/balance.h"
#include "store/endpoint_state.h"
#include "store/limit_table.h"
#include "store/anomaly_table.h"
#include "config/keyword-t.h"
#include "gate/stage-t.h"

typedef struct gh_upstream_state gh_upstream_state; /* lives across reloads, see store/upstream_state.h */
typedef struct gh_key_source gh_key_source;         /* lives across reloads, see identity/ */

typedef struct gh_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} gh_sockaddr;

typedef struct gh_listener_conf {
    const char *name;    /* what routes call it (listeners: [...]); the address by default */
    uint64_t id;         /* a hash of the name: the same listener across reloads */
    const char *address; /* as written: "127.0.0.1:8080" */
    gh_sockaddr addr;
    struct gh_tls_server *tls; /* tls: its certificates and settings; NULL for plain HTTP */
    bool http2;                /* HTTP/2 by ALPN on a TLS listener (default on) */
    bool h2c;                  /* HTTP/2 with prior knowledge on a plain listener (default off) */
    unsigned methods;          /* GH_M_* the listener accepts at all (default the seven) */
    int client_auth;           /* tls.client_auth: a gh_client_auth (0: none) */
    bool crl;                  /* tls.crl_file given: revoked client certificates refused */
    uint8_t underscores;       /* headers_with_underscores: a gh_underscores */
} gh_listener_conf;

/* listeners[].headers_with_underscores: what becomes of a header whose name holds '_', which
 * CGI, WSGI and Rack backends read as the same variable as the name with '-'. */
typedef enum { GH_US_DROP, GH_US_REFUSE, GH_US_ALLOW } gh_underscores;

typedef struct gh_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} gh_cidr;

/* One endpoint: a URL whose host is an IP literal, or one address of a URL whose host is a
 * name (each of the name's A and AAAA records is an endpoint of its own). */
typedef struct gh_endpoint_conf {
    const char *url;       /* "http://10.0.0.1:8080" or "https://api.internal:8443" */
    const char *authority; /* "api.internal:8443" as written: the Host and health checks' Host */
    /* "10.0.0.1:8080", or "api.internal:8443@10.0.0.7" for an address of a name: the
     * endpoint in logs, events and metrics. */
    const char *label;
    /* The url, or "url@address" for an address of a name: the state kept across reloads
     * and the endpoint's place on a hash ring. */
    const char *key;
    /* "upstream key", and for https:// "upstream key tls:ID" (ID: a digest of the TLS settings
     * and files): the keep-alive pool. Never the label alone: http:// and https:// at one
     * address, two upstreams with other TLS settings, or one whose TLS settings a reload
     * changed, must not share a connection. */
    const char *pool_key;
    const char *host;      /* the host as written: the TLS server name by default */
    bool tls;              /* https:// */
    bool named;            /* the host is a name: re-resolved every dns_refresh */
    uint32_t item;         /* its place in `endpoints` as written */
    uint32_t weight;       /* its share of the requests, against the others' (1..256) */
    gh_sockaddr addr;
    gh_endpoint_state *state; /* shared by the workers, kept across reloads */
} gh_endpoint_conf;

/* When a request is tried again on another endpoint (retry.on). Failing to connect sends
 * nothing, so it is retried for any method; the others happen after the request was sent and
 * are retried only for idempotent methods without a body, unless the route says otherwise. */
enum {
    GH_RETRY_CONNECT = 1 << 0, /* connect-failure: refused, unreachable, TLS handshake, timeout */
    GH_RETRY_RESET = 1 << 1,   /* reset: the connection ended before any byte of a response */
    GH_RETRY_TIMEOUT = 1 << 2, /* timeout: no response head within per_try_timeout */
    GH_RETRY_502 = 1 << 3,
    GH_RETRY_503 = 1 << 4,
    GH_RETRY_504 = 1 << 5,
};

typedef struct gh_retry_conf {
    uint32_t attempts;           /* tries in all, the first one included; 1: no retries */
    uint64_t per_try_timeout_ms; /* each try's wait for a response head; unset: timeout */
    unsigned on;                 /* GH_RETRY_* */
    uint32_t budget_percent;     /* retries in flight at most this percent of requests... */
    uint32_t budget_min;         /* ...or this many, whichever is more */
} gh_retry_conf;

/* routes[].retry: what this route's requests retry on, and whether methods that are not
 * idempotent may be sent again (still never with a body). */
typedef struct gh_route_retry {
    unsigned on; /* GH_RETRY_*; UINT_MAX: the upstream's */
    bool non_idempotent;
    bool replay_body; /* a body read whole before the upstream may be sent again */
} gh_route_retry;
/* The Host the upstream is sent (an upstream's host, a route's rewrite.host). UNSET on a route:
 * its upstream's; on an upstream: PRESERVE, what the gateway has always done. */
typedef enum { GH_UPHOST_UNSET, GH_UPHOST_PRESERVE, GH_UPHOST_ENDPOINT, GH_UPHOST_VALUE } gh_uphost_mode;
typedef struct gh_host_rule {
    gh_uphost_mode mode;
    const char *value; /* GH_UPHOST_VALUE: host[:port] as written, checked at load */
} gh_host_rule;

/* upstreams.<name>.balance: which endpoint takes each request. */
typedef enum { GH_LB_ROUND_ROBIN, GH_LB_LEAST_REQUEST, GH_LB_HASH } gh_lb_policy;
/* balance.key: what a request is hashed by (the same value goes to the same endpoint). */
typedef enum {
    GH_HKEY_NONE,
    GH_HKEY_CLIENT_IP, /* the client's address (behind trusted proxies, the forwarded one) */
    GH_HKEY_HEADER,    /* a header's value; sent more than once, no key */
    GH_HKEY_COOKIE,    /* a cookie's value */
    GH_HKEY_CLAIM,     /* a claim of a verified token; a request without one has no key */
} gh_hash_key_kind;

typedef struct gh_balance_conf {
    uint32_t policy;              /* gh_lb_policy */
    uint32_t key;                 /* gh_hash_key_kind */
    const char *key_arg;          /* the header, cookie or claim name */
    uint32_t hash_balance_factor; /* bounded load: percent of the average in flight an
                                   * endpoint may carry before a key walks on; 0: unbounded */
    uint64_t slow_start_ms;       /* the ramp of an endpoint back in rotation; 0: none */
    gh_balance_tables tables;     /* the weighted order and the ring (store/balance.h) */
} gh_balance_conf;
/* upstreams.<name>.health: active checks, made once per process from the control thread. */
typedef enum { GH_HC_NONE, GH_HC_HTTP, GH_HC_TCP } gh_hc_kind;

typedef struct gh_status_range {
    uint16_t lo, hi; /* both included */
} gh_status_range;

#define GH_HC_EXPECT_MAX 16

typedef struct gh_health_conf {
    gh_hc_kind kind;
    const char *path;     /* http: the request target, starting with '/' */
    const char *host;     /* http: the Host sent; NULL: the endpoint's host */
    gh_status_range expect[GH_HC_EXPECT_MAX]; /* http: the statuses that pass */
    size_t nexpect;
    uint64_t timeout_ms;  /* a check that has not passed by then fails */
    uint64_t interval_ms; /* from the end of one check to the start of the next... */
    uint64_t jitter_ms;   /* ...plus a random part up to this */
    uint32_t healthy_after;   /* passes in a row that make a down (or unknown) endpoint up */
    uint32_t unhealthy_after; /* failures in a row that make an up (or unknown) endpoint down */
} gh_health_conf;

typedef struct gh_upstream_conf {
    const char *name;
    gh_host_rule host;
    gh_endpoint_conf *endpoints;
    size_t nendpoints;
    uint32_t max_concurrency;
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    uint32_t keepalive_max_idle;
    uint64_t keepalive_idle_timeout_ms;
    uint64_t dns_refresh_ms; /* how often endpoints named by DNS are resolved again */
    gh_upstream_state *state;
    SSL_CTX *tls;            /* for its https:// endpoints: CAs, client certificate; NULL: none */
    const char *server_name; /* tls.server_name; NULL: each endpoint's host */
    bool insecure;           /* tls.insecure_skip_verify */
    /* The files tls named (NULL: none, the system's CAs): health checks load the same ones. */
    const char *tls_ca_file, *tls_cert_file, *tls_key_file;
    gh_endpoint_state **states; /* each endpoint's state, in order (ejection counts them all) */
    gh_outlier_conf outlier;
    uint32_t panic_percent; /* fewer endpoints available than this percent: use them all */
    gh_retry_conf retry;
    gh_balance_conf balance;
    gh_health_conf health;
} gh_upstream_conf;

/* identity.introspection.<name>: an OAuth2 token introspection endpoint (RFC 7662) for opaque
 * access tokens. */
typedef struct gh_introspection_conf {
    const char *url;
    const char *client_id;
    const char *ca_file;
    char *credentials; /* "client_id:client_secret", form-encoded (RFC 6749 2.3.1); wiped */
    uint64_t timeout_ms;
    uint64_t cache_ttl_s, negative_ttl_s;
    uint32_t max_in_flight; /* calls per worker */
} gh_introspection_conf;

/* identity.jwt.<name> and identity.introspection.<name>: who may issue tokens for these routes,
 * and how they are checked. */
typedef struct gh_jwt_provider {
    const char *name;
    const char *issuer;
    const char **audiences;
    size_t naudiences;
    unsigned algorithms; /* GH_ALG_* allowed */
    gh_jwks keys;        /* jwks_file, jwks or secret; owned by the snapshot */
    /* remote keys: jwks_uri, or discovery from the issuer */
    const char *jwks_uri;
    const char *discovery_url; /* {issuer}/.well-known/openid-configuration */
    const char *ca_file;       /* NULL: the system's CAs */
    uint64_t refresh_ms, min_refresh_ms, max_stale_ms, fetch_timeout_ms;
    gh_key_source *source; /* the remote keys in use (NULL for `check` and local keys) */
    struct gh_introspection_conf *introspect; /* set for identity.introspection providers */
    uint64_t clock_skew_s;
    uint64_t max_lifetime_s; /* 0: not limited */
    const char **required_claims;
    size_t nrequired_claims;
    const char *token_header; /* NULL with a cookie; "Authorization" means the Bearer scheme */
    const char *token_cookie;
    size_t max_token_bytes;
    const char *realm;
    const char *scope_claim; /* where scopes are: "scope" (space-separated) or "scp" (array) */
    size_t cache_entries;
    struct gh_token_cache *cache; /* shared by the workers; freed with the snapshot */
} gh_jwt_provider;

/* identity.api_keys.<name>: keys a client sends in a header, known to the gateway only by their
 * SHA-256, each naming the client it was issued to. */
typedef struct gh_api_key {
    unsigned char digest[32];
    const char *client_id;
} gh_api_key;

typedef struct gh_api_key_provider {
    const char *name;
    const char *header; /* default X-API-Key */
    const char *realm;
    gh_api_key *keys;
    size_t nkeys;
    uint32_t *slots; /* open addressing by digest: index + 1 into keys, 0 free */
    size_t slot_mask;
} gh_api_key_provider;

/* identity.hmac.<name>: webhooks signed with a shared secret (HMAC-SHA256 over the raw body),
 * the header layout and signed string of one provider's scheme. */
typedef enum { GH_HMAC_GITHUB, GH_HMAC_STRIPE, GH_HMAC_SLACK, GH_HMAC_GENERIC } gh_hmac_scheme;

typedef struct gh_hmac_provider {
    const char *name;
    gh_hmac_scheme scheme;
    char **secrets; /* resolved references, malloc'd; wiped with the snapshot */
    size_t *secret_lens;
    size_t nsecrets;
    uint64_t tolerance_s;         /* how old a signed timestamp may be; and how long a signature
                                   * is remembered against replay */
    const char *header;           /* where the signature is (the scheme's, or generic's own) */
    const char *timestamp_header; /* generic: the signed timestamp, or NULL */
    struct gh_token_cache *seen;  /* signatures accepted within the tolerance (shared) */
} gh_hmac_provider;

/* auth.claims: a claim of the verified token must hold one of these values. */
typedef enum { GH_CLAIM_LITERAL, GH_CLAIM_PATH_PARAM, GH_CLAIM_HEADER } gh_claim_source;

typedef struct gh_claim_value {
    gh_claim_source source;
    const char *text; /* the literal, the path parameter's name, or the header's name */
} gh_claim_value;

typedef struct gh_claim_rule {
    const char *claim;
    gh_claim_value *values;
    size_t nvalues;
} gh_claim_rule;

/* What a route's callers may do, once authenticated (auth.scopes, scopes_any, claims, mode). */
typedef struct gh_authz_conf {
    const char **scopes; /* every one required */
    size_t nscopes;
    const char **scopes_any; /* at least one required */
    size_t nscopes_any;
    gh_claim_rule *claims;
    size_t nclaims;
    bool shadow;            /* log and count refusals, refuse nothing */
    const char *scope_text; /* the scopes the route asks for, space-separated: the challenge */
} gh_authz_conf;

/* policies.<name>: an external decision point the gateway asks (OPA's data API). */
typedef struct gh_policy_conf {
    const char *name;
    const char *url;
    const char *ca_file;
    uint64_t timeout_ms;
    uint64_t cache_ttl_s, deny_cache_ttl_s;
    bool on_error_allow;
    const char **headers; /* request headers sent in the input (lower case) */
    size_t nheaders;
    uint32_t max_in_flight; /* calls per worker */
    size_t cache_entries;
    struct gh_token_cache *cache; /* decisions by SHA-256 of the input; freed with the snapshot */
} gh_policy_conf;

/* stores.redis: where rate limits with store: redis keep their state, shared by gateways. */
typedef enum { GH_REDIS_FAIL_LOCAL, GH_REDIS_FAIL_DENY, GH_REDIS_FAIL_ALLOW } gh_redis_failure;

typedef struct gh_redis_conf {
    const char *address; /* as written */
    char host[64];       /* numeric, for the client */
    int port;
    char *password; /* resolved from its reference; wiped with the snapshot */
    SSL_CTX *tls;   /* tls: the client context (CA, client certificate), or NULL for plain TCP */
    const char *server_name; /* the name the server's certificate must carry (host by default) */
    uint64_t timeout_ms;
    gh_redis_failure on_failure;
} gh_redis_conf;

/* rate_limits.<name>: how often, and how much per calendar window, one key may call. */
typedef enum { GH_LKEY_CLAIM, GH_LKEY_API_KEY, GH_LKEY_CLIENT_IP, GH_LKEY_HEADER, GH_LKEY_ROUTE } gh_limit_key_kind;
typedef enum { GH_LHDR_ON_LIMIT, GH_LHDR_ALWAYS, GH_LHDR_NEVER } gh_limit_headers;
typedef enum { GH_QUOTA_NONE, GH_QUOTA_DAY, GH_QUOTA_MONTH } gh_quota_window;

typedef struct gh_rate_limit_conf {
    const char *name;
    gh_limit_key_kind key;
    const char *key_arg; /* the claim or header name */
    uint8_t ipv4_prefix, ipv6_prefix; /* client_ip: the address bits that name a bucket */
    uint64_t count, period_s; /* rate: count per period */
    gh_limit_rule rule;
    gh_quota_window quota_window;
    bool shadow;
    gh_limit_headers headers;
    bool redis; /* store: redis (the local table is its fallback) */
    size_t max_keys;
    gh_limit_table *table;       /* NULL for `check` */
    gh_limit_registry *registry; /* where the table goes back */
} gh_rate_limit_conf;

typedef struct gh_forward_claim {
    const char *claim;
    const char *header;
} gh_forward_claim;

typedef enum { GH_PATH_EXACT, GH_PATH_PREFIX, GH_PATH_TEMPLATE } gh_path_kind;

/* rewrite.prefix replaces match.prefix; rewrite.path is the whole upstream path, its {name}s
 * filled with the match template's captures. */
typedef enum { GH_REWRITE_NONE, GH_REWRITE_PREFIX, GH_REWRITE_PATH } gh_rewrite_kind;
typedef struct gh_rewrite_conf {
    gh_rewrite_kind kind;
    const char *path; /* canonical, as written ("/v2/", "/internal/users/{id}") */
    size_t path_len;
    size_t refs;      /* how many {name}s path holds: bounds the rewritten path's length */
    gh_host_rule host;
} gh_rewrite_conf;

/* Methods a route answers, as a bit set. GET implies HEAD. */
enum {
    GH_M_GET = 1 << 0,
    GH_M_HEAD = 1 << 1,
    GH_M_POST = 1 << 2,
    GH_M_PUT = 1 << 3,
    GH_M_PATCH = 1 << 4,
    GH_M_DELETE = 1 << 5,
    GH_M_OPTIONS = 1 << 6,
    GH_M_ALL = (1 << 7) - 1,
};

typedef struct gh_header_conf {
    const char *name;
    const char *value;
} gh_header_conf;

/* headers.request / headers.response: what the operator's rules take out of a message (remove,
 * and the names set replaces) and put in (set, then add). */
#define GH_HEADER_OPS_MAX 32 /* entries of each of remove, set and add */
typedef struct gh_header_ops {
    gh_h1_header *drop;
    size_t ndrop;
    gh_h1_header *put;
    size_t nput;
} gh_header_ops;

typedef struct gh_headers_conf {
    gh_header_ops request, response;
} gh_headers_conf;

/* auth.mtls: the verified client certificate a route accepts. Each list given must match
 * (one of its entries); none given: any certificate the listener verified. */
typedef struct gh_mtls_rule {
    const char **spiffe_ids; /* URI names, exactly */
    size_t nspiffe_ids;
    const char **subjects; /* RFC 2253 subjects, exactly */
    size_t nsubjects;
    const char **fingerprints; /* SHA-256, lower-case hex without separators */
    size_t nfingerprints;
} gh_mtls_rule;

/* cors: which browser pages of other origins may call a route, and how. */
typedef struct gh_cors_conf {
    const char **origins; /* an exact origin, or one with a "*." wildcard host */
    size_t norigins;
    bool any_origin;      /* "*": any page (never with credentials) */
    bool credentials;     /* pages may send cookies and Authorization */
    unsigned methods;     /* GH_M_*: what a preflight may ask for */
    const char **headers; /* request headers a page may send, lower case */
    size_t nheaders;
    const char *methods_text, *headers_text, *expose_text; /* the answers' values ("" none) */
    uint64_t max_age_s;
} gh_cors_conf;

/* body: what a route accepts as a request body, and the schema a JSON body must match. */
#define GH_BODY_UNSET UINT64_MAX /* a body setting the route leaves to limits */
typedef struct gh_body_conf {
    uint64_t max_bytes;         /* 0: limits.max_body_bytes */
    uint64_t timeout_ms;        /* 0: limits.body_timeout */
    uint64_t deadline_ms;       /* GH_BODY_UNSET: limits.body_deadline */
    uint64_t min_rate;          /* bytes a second; 0 none; GH_BODY_UNSET: limits.body_min_rate */
    uint64_t rate_window_ms;    /* GH_BODY_UNSET: limits.body_rate_window */
    uint64_t buffer_bytes;      /* 0 none; GH_BODY_UNSET: limits.body_buffer_before_upstream */
    const char **content_types; /* "type/subtype", or a whole type; lower case; none: any */
    size_t ncontent_types;
    struct gh_schema *schema; /* NULL: no validation; freed with the snapshot */
    bool format_assertion;    /* the schema's formats are checked, not only annotations */
    uint32_t max_depth;       /* JSON nesting */
    uint64_t max_string;      /* bytes of one JSON string */
} gh_body_conf;

/* websocket: the route proxies WebSocket sessions (RFC 6455) after the handshake passed every
 * control of the route. */
typedef struct gh_websocket_conf {
    const char **origins; /* exact origins or "*." wildcard hosts; none: same origin as Host */
    size_t norigins;
    bool any_origin;             /* "*": any page may open a session */
    uint64_t max_frame_bytes;    /* one data frame's payload, either way */
    uint64_t max_message_bytes;  /* a message's fragments summed, either way */
    uint64_t idle_timeout_ms;    /* no frame either way this long: closed with 1001 */
    uint32_t max_connections;    /* open sessions on the route, across workers */
    atomic_uint *sessions;       /* those sessions now: shared by the snapshot's workers */
} gh_websocket_conf;

/* audit.accept: a risk the operator accepted, with the reason they gave. Accepted findings stay
 * in `gatehouse audit`'s report, marked, and do not fail it. */
typedef struct gh_audit_accept {
    const char *check; /* "GH-AUTH-001" */
    const char *reason;
} gh_audit_accept;

/* anomaly: the detectors (gate/anomaly.c), each with its mode, window and thresholds. */
typedef enum gh_anomaly_detector {
    GH_DETECT_ERROR_RATE,
    GH_DETECT_ENUMERATION,
    GH_DETECT_CREDENTIAL_STUFFING,
    GH_DETECT_TOKEN_SHARING,
    GH_DETECT_RATE_SPIKE,
    GH_DETECT_UNUSUAL_METHOD,
} gh_anomaly_detector;

typedef enum gh_anomaly_mode { GH_DETECT_OFF, GH_DETECT_LOG, GH_DETECT_BAN } gh_anomaly_mode;

/* anomaly.store: local, or the distinct counts of enumeration, credential stuffing and token
 * sharing (and their one report per window) in stores.redis, across gateways. */
typedef enum gh_anomaly_store { GH_ANOM_STORE_LOCAL, GH_ANOM_STORE_REDIS } gh_anomaly_store;

/* An allow-list: addresses (CIDRs) and subjects (verified subjects or API-key clients) that a
 * detector never reports. */
typedef struct gh_anomaly_allow {
    gh_cidr *cidrs;
    size_t ncidrs;
    const char **subjects;
    size_t nsubjects;
} gh_anomaly_allow;

/* One detector. What `limit` and `second` mean is the detector's (docs/configuration.md):
 * error_rate min_errors; enumeration max_distinct, max_refused; credential_stuffing
 * max_credentials (per address), max_addresses (per subject); token_sharing max_addresses;
 * rate_spike min_requests; unusual_method max_requests. */
typedef struct gh_detector_conf {
    uint8_t mode; /* gh_anomaly_mode */
    uint64_t window_ms;
    uint64_t limit, second;
    uint64_t z_score;        /* error_rate, rate_spike */
    uint64_t warmup_windows; /* rate_spike */
    gh_anomaly_allow allow;
} gh_detector_conf;

typedef struct gh_anomaly_conf {
    gh_detector_conf detectors[GH_ANOM_DETECTORS]; /* by gh_anomaly_detector */
    gh_anomaly_allow allow;                        /* for every detector */
    uint64_t max_clients;
    uint64_t baseline_windows; /* the baselines' memory: alpha = 2 / (n + 1) */
    uint64_t ipv4_prefix, ipv6_prefix;
    uint8_t store; /* gh_anomaly_store: where the distinct counts are kept */
    gh_anom_table *table;       /* the shared state (NULL for `check`) */
    gh_anom_registry *registry; /* where the table goes back */
} gh_anomaly_conf;

/* tracing.extract: whose trace context a request continues. */
typedef enum gh_trace_extract_mode {
    GH_TRACE_EXTRACT_ALWAYS,  /* any caller's */
    GH_TRACE_EXTRACT_TRUSTED, /* only a trusted proxy's (trusted_proxies) */
    GH_TRACE_EXTRACT_NEVER,   /* nobody's: every request starts a trace */
} gh_trace_extract_mode;

/* tracing.propagation: the formats read from callers and written to upstreams. */
enum {
    GH_TRACE_W3C = 1 << 0, /* traceparent, tracestate: always */
    GH_TRACE_B3 = 1 << 1,  /* b3 (single header) */
};

/* tracing.exporter.headers: one field sent with every export (a literal value, or a secret). */
typedef struct gh_otlp_header_conf {
    const char *name;
    const char *value; /* written in the file */
    char *secret;      /* ${env:} or ${file:}: wiped with the snapshot */
} gh_otlp_header_conf;

/* tracing.exporter: where finished spans go (OTLP/HTTP JSON, observe/otlp_export.h). */
typedef struct gh_otlp_exporter_conf {
    const char *endpoint; /* the collector's URL; NULL: no spans are made or sent */
    gh_otlp_header_conf *headers;
    size_t nheaders;
    uint64_t timeout_ms;  /* one POST */
    uint64_t batch_size;  /* spans per POST, at most */
    uint64_t interval_ms; /* the longest a span waits for its batch */
    uint64_t queue_size;  /* spans waiting per worker, at most */
    bool gzip;
    const char *ca_file;
} gh_otlp_exporter_conf;

/* tracing.sampling: which traces are exported (the head decision rides in the sampled flag). */
typedef struct gh_trace_sampling_conf {
    double ratio;              /* of the traces that start here */
    bool always_sample_errors; /* refusals and 5xx are exported whatever the head decision */
} gh_trace_sampling_conf;

/* tracing: every request has a trace context (gate/trace.c); these say where it comes from,
 * which traces are sampled and where their spans go (gate/span.c). */
typedef struct gh_tracing_conf {
    uint8_t extract;     /* gh_trace_extract_mode */
    uint8_t propagation; /* GH_TRACE_* */
    const char *service_name;
    bool enduser_id; /* the principal (subject or API-key client) as enduser.id in spans */
    gh_trace_sampling_conf sampling;
    gh_otlp_exporter_conf exporter;
} gh_tracing_conf;

typedef struct gh_audit_conf {
    gh_audit_accept *accepts;
    size_t naccepts;
} gh_audit_conf;

typedef struct gh_route_conf {
    const char *name;
    const char *host;   /* NULL: any host; "*.example.com": suffix match */
    bool host_wildcard; /* host holds the suffix including the leading dot */
    gh_path_kind path_kind;
    const char *path;
    size_t path_len;
    bool path_nocase; /* match.case_insensitive: ASCII letters match either case */
    unsigned methods;
    gh_upstream_conf *upstream; /* NULL for respond routes */
    gh_route_retry retry;
    gh_rewrite_conf rewrite;    /* the upstream request's path and Host */
    const gh_jwt_provider *auth_token;       /* JWT or introspection; NULL: no token required */
    const gh_api_key_provider *auth_api_key; /* NULL: no API key required */
    const gh_mtls_rule *auth_mtls;           /* NULL: no client certificate required */
    const gh_hmac_provider *auth_hmac;       /* NULL: no webhook signature required */
    bool forward_client_cert;                /* Client-Cert / Client-Cert-Chain (RFC 9440) */
    const char *forward_api_client;          /* header carrying the API key's client_id */
    gh_forward_claim *forward_claims;
    size_t nforward_claims;
    bool forward_authorization;
    gh_authz_conf authz;
    bool has_authz;
    const gh_policy_conf *policy; /* auth.policy */
#define GH_MAX_ROUTE_LIMITS 8
    const gh_rate_limit_conf **limits; /* rate_limit: all must pass */
    size_t nlimits;
    gh_stage_ref stages[GH_MAX_STAGES]; /* run in order after routing */
    size_t nstages;
    int respond_status;
    gh_header_conf *respond_headers;
    size_t nrespond_headers;
    const char *respond_body;
    size_t respond_body_len;
    gh_headers_conf headers; /* the route's own rules, after the global ones */
    const gh_cors_conf *cors; /* NULL: no cross-origin access granted */
    gh_body_conf *body;       /* NULL: the global limits only */
    const gh_websocket_conf *websocket; /* NULL: an Upgrade to websocket is refused */
    const uint64_t *listener_ids; /* listeners: the listeners that serve it (ids); none: every one */
    size_t nlistener_ids;
#define GH_MAX_ROUTE_TAGS 16
    const char **tags; /* what the route serves: money, pii, auth, admin mark critical assets */
    size_t ntags;
    bool critical; /* critical: true, or one of those tags */
    gh_audit_conf audit;
    /* What the route's keys of modules above the configuration read (gh_route_keys). */
    struct gh_route_ext {
        const gh_route_keys *keys;
        const void *conf;
    } ext[GH_MAX_STAGES];
    size_t next;
} gh_route_conf;

typedef struct gh_limits_conf {
    size_t max_head_bytes;
    size_t max_headers;
    size_t max_target_bytes;
    uint64_t head_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t body_timeout_ms;     /* the longest pause in a request body */
    uint64_t body_deadline_ms;    /* the whole body, from its start */
    uint64_t body_min_rate;       /* bytes a second over each rate window; 0: none */
    uint64_t body_rate_window_ms; /* the window the rate is judged over (the first is grace) */
    uint64_t body_buffer_bytes;   /* read before an upstream slot is taken; 0: none */
    uint64_t max_body_bytes;
    uint32_t max_connections; /* per worker */
} gh_limits_conf;

/* A file whose change makes a running gateway reload (certificates, keys, CAs, CRLs). */
typedef struct gh_watched_file {
    const char *path;
    struct gh_watched_file *next;
} gh_watched_file;

/* http2: what one HTTP/2 client connection may hold. */
typedef struct gh_http2_conf {
    uint32_t max_streams;     /* SETTINGS_MAX_CONCURRENT_STREAMS */
    uint32_t window;          /* SETTINGS_INITIAL_WINDOW_SIZE: request body bytes per stream in flight */
    uint32_t table_size;      /* SETTINGS_HEADER_TABLE_SIZE: the HPACK table the client may use */
    uint32_t max_header_list; /* SETTINGS_MAX_HEADER_LIST_SIZE; 0: limits.max_head_bytes */
} gh_http2_conf;

/* user, group, seccomp: who the process runs as once its sockets are bound, and whether its
 * workers are confined to the system calls serving needs. Ids resolved at load. */
typedef struct gh_process_conf {
    const char *user;  /* as written (a name or a number), or NULL: stay who started it */
    uid_t uid;
    gid_t user_gid;    /* the user's primary group: the group when `group:` is not written */
    const char *group; /* as written, or NULL */
    gid_t gid;
    bool seccomp;      /* the workers' system call allow-list (default true) */
} gh_process_conf;

/* security_events.syslog: RFC 5424 messages to a collector (observe/syslog_sink.h). */
typedef struct gh_sec_syslog_conf {
    const char *address;  /* udp://host:port, tcp://host:port or unix:/path; NULL: no syslog */
    uint8_t facility;     /* the facility's number (auth: 4) */
    const char *app_name; /* APP-NAME of every message */
} gh_sec_syslog_conf;

/* security_events.http: JSON array batches POSTed to a collector (observe/http_sink.h). */
typedef struct gh_sec_http_conf {
    const char *url;       /* http:// or https://; NULL: no HTTP sink */
    const char **headers;  /* "Name: value" lines sent with every batch */
    size_t nheaders;
    char *authorization;   /* secret: the Authorization header's value, or NULL */
    uint64_t batch;        /* events per POST, at most */
    uint64_t interval_ms;  /* how long a partial batch waits */
} gh_sec_http_conf;

/* bans: how a banned client is answered and how long a ban lasts (store/bans.h). */
#define GH_BANS_MAX_ALLOW 64
typedef enum { GH_BAN_STATUS_403, GH_BAN_STATUS_429 } gh_ban_status;
typedef struct gh_bans_conf {
    uint8_t status;                           /* a gh_ban_status */
    uint64_t base_s, max_s, forget_after_s;   /* durations, seconds */
    uint64_t max_entries;
    uint8_t ipv4_prefix, ipv6_prefix;         /* the address bits that name a client */
    const char **allow;                       /* addresses, ranges or keys never banned */
    size_t nallow;
    uint64_t sync_interval_ms;                /* stores.redis: how often bans are shared */
    struct gh_ban_table *table;               /* the process's (gh_shared); NULL for check */
} gh_bans_conf;

/* security_events: the stream of security events (observe/security_events.h). */
typedef struct gh_security_events_conf {
    const char *file;        /* "stdout", "off" (the default) or a path */
    gh_sec_syslog_conf syslog;
    gh_sec_http_conf http;
    uint64_t max_per_second; /* lines per (event action, source) in a second; more are folded */
    uint64_t cert_warning_ms; /* certificate_expiry_warning: a certificate this close is told */
    uint64_t cert_check_ms;   /* certificate_check_interval: how often the control looks */
} gh_security_events_conf;

typedef struct gh_config {
    atomic_int refs;
    /* While loading: the route keys of the modules above (NULL-terminated, or NULL). */
    const gh_route_keys *const *route_keys;
    gh_arena arena;
    const char *file;
    char hash[65]; /* sha256 of the effective configuration (unredacted), hex: the same
                    * whatever the comments, spacing or order, and the printed form's own */
    char file_sha256[65]; /* sha256 of the file's bytes, hex: what a report about the file
                           * names, the same wherever the file is */
    /* The effective configuration as YAML (config/config_print.h), key material redacted:
     * what `check --print` and GET /config show. */
    const char *effective;
    size_t effective_len;
    bool effective_redacted; /* some key material was redacted: it would not load the same */
    int workers;   /* resolved: never "auto" here */
    gh_listener_conf *listeners;
    size_t nlisteners;
    gh_listener_conf admin;
    bool has_admin;
    const char *admin_token; /* admin.token: the bearer every admin request but probes needs */
    const char *pid_file;    /* pid_file: written once bound, or NULL */
    bool defensive; /* http1.strictness: defensive */
    gh_http2_conf http2;
    gh_limits_conf limits;
    gh_path_rules paths; /* paths: the canonical path's rules (zero: refuse, merge) */
    gh_headers_conf headers; /* headers: global rules (hardening included) */
    const char *hsts;        /* Strict-Transport-Security on TLS listeners, or NULL */
    bool hardening;          /* headers.hardening: Server, X-Powered-By hidden, nosniff */
    gh_h1_header *owned_headers; /* set only by the gateway (claims, API clients): always dropped */
    size_t nowned_headers;
    gh_cidr *trusted_proxies;
    size_t ntrusted_proxies;
    const char *access_log; /* "stdout", "off" or a path */
    gh_security_events_conf security_events;
    uint64_t drain_timeout_ms;
    gh_upstream_conf *upstreams;
    size_t nupstreams;
    gh_route_conf *routes;
    size_t nroutes;
    gh_jwt_provider *jwt_providers;
    size_t njwt_providers;
    gh_jwt_provider *introspection_providers; /* each with introspect set */
    size_t nintrospection_providers;
    gh_api_key_provider *api_key_providers;
    size_t napi_key_providers;
    gh_hmac_provider *hmac_providers;
    size_t nhmac_providers;
    gh_rate_limit_conf *rate_limits;
    size_t nrate_limits;
    gh_policy_conf *policies;
    size_t npolicies;
    gh_redis_conf *redis; /* stores.redis, or NULL */
    struct gh_watched_file *watched_files; /* TLS files: a change reloads */
    gh_audit_conf audit; /* risks accepted everywhere */
    gh_tracing_conf tracing;
    gh_anomaly_conf anomaly;
    gh_bans_conf bans;
    gh_process_conf process; /* user, group, seccomp */
} gh_config;

#endif
