/* The audit's checks: one table, so the report, SARIF's rules and the documentation say the
 * same thing. Ids are stable; a retired check keeps its id unused. */
#include <string.h>

#include "audit/audit_internal.h"

static const gh_audit_check checks[] = {
    /* Authentication */
    {"GH-AUTH-001", "UnauthenticatedRoute", GH_SEV_HIGH,
     "A route proxied to a backend without authentication",
     "Anyone who can reach the listener (on a loopback listener, any local process) reaches the "
     "backend: nothing says who called, and every later control (scopes, per-client limits, "
     "audit trails) has no identity to work with.",
     "Require a token, an API key, a client certificate or a signature with auth: {...}; if the "
     "route is meant to be public, accept the risk with audit.accept and say why.",
     false, "API2:2023", "CWE-306"},
    {"GH-AUTH-002", "ApiKeyOnly", GH_SEV_MEDIUM,
     "A route authenticated by an API key alone",
     "An API key is a long-lived shared secret: it does not expire, carries no scopes, and a "
     "leaked key works from anywhere until someone notices and rotates it.",
     "Prefer short-lived tokens (auth: {jwt: ...}) or client certificates (auth: {mtls: ...}); "
     "keep API keys for machine partners, with a rate limit per key.",
     false, "API2:2023", "CWE-1390"},
    {"GH-AUTH-003", "AnyClientCertificate", GH_SEV_LOW,
     "A route accepts any client certificate the CA signed",
     "auth.mtls without spiffe_ids, subjects or fingerprints lets every holder of a certificate "
     "from client_ca in, including services that have no business on this route.",
     "Name the callers: auth.mtls.spiffe_ids, subjects or fingerprints.",
     false, "API5:2023", "CWE-285"},

    /* Authorization */
    {"GH-AUTHZ-001", "CriticalRouteWithoutAuthorization", GH_SEV_HIGH,
     "A critical route checks who calls but not what they may do",
     "Any valid token or key reaches money, personal data, credentials or administration: one "
     "over-privileged or compromised client account is enough.",
     "Add auth.scopes, auth.scopes_any or auth.claims (tie the tenant or owner to a path "
     "parameter), an auth.policy, or certificate identities in auth.mtls.",
     false, "API5:2023", "CWE-862"},
    {"GH-AUTHZ-002", "AuthorizationInShadowMode", GH_SEV_MEDIUM,
     "Authorization rules in shadow mode refuse nothing",
     "auth.mode: shadow logs what would be refused and lets it through; a rollout left in shadow "
     "mode is a rule that does not exist.",
     "Switch to auth.mode: enforce once the shadow_deny log lines are understood.",
     false, "API5:2023", "CWE-862"},
    {"GH-AUTHZ-003", "WildcardScope", GH_SEV_MEDIUM,
     "A route asks for a wildcard scope",
     "Scopes are compared exactly, so a scope such as '*' or 'admin:*' only passes tokens granted "
     "that literal, catch-all scope: the route leans on a grant that means 'everything'.",
     "Ask for the narrow scope the route needs (orders:write), and stop issuing catch-all "
     "scopes.", false, "API5:2023", "CWE-269"},
    {"GH-AUTHZ-004", "PolicyFailsOpen", GH_SEV_MEDIUM,
     "An external policy allows requests when it cannot be asked",
     "With on_error: allow, a policy server that is down, slow or unreachable turns every "
     "decision into 'allow': an attacker who can overload it disables authorization.",
     "Use on_error: deny (the default) and run the policy server highly available.",
     false, "API5:2023", "CWE-636"},

    {"GH-AUTHZ-005", "ObjectOwnerNotBound", GH_SEV_MEDIUM,
     "A token route takes an owner or object from the path without tying it to the token",
     "A path such as /tenants/{tenant}/orders names whose objects the request is about; with no "
     "claim rule binding the parameter, any valid token can name another tenant, account or "
     "user and reach their objects unless every backend handler checks ownership (broken "
     "object-level authorization).",
     "Tie the parameter to the caller: auth.claims: {tenant_id: \"{path.tenant}\"} (or an "
     "auth.policy that decides per object); if the backend checks ownership, accept the risk "
     "with audit.accept and say so.",
     false, "API1:2023", "CWE-639"},

    /* Identity providers and tokens */
    {"GH-IDP-001", "ProviderWithoutAudience", GH_SEV_HIGH,
     "An identity provider without audiences",
     "Without an audience check, a token the same issuer minted for any other API is accepted "
     "here (token reuse across services).",
     "Enforced when the configuration loads: audiences is required on identity.jwt and "
     "identity.introspection providers.", true, "API2:2023", "CWE-287"},
    {"GH-IDP-002", "SymmetricTokenAlgorithm", GH_SEV_MEDIUM,
     "HS256/384/512 tokens accepted",
     "With an HMAC algorithm the key that verifies tokens also mints them: anyone who reads the "
     "secret (any verifier, any backup) can issue tokens for any user and scope.",
     "Have the identity provider sign with RS256, PS256, ES256 or EdDSA and verify with its "
     "public keys.", false, "API2:2023", "CWE-1390"},
    {"GH-IDP-003", "ShortTokenSecret", GH_SEV_HIGH,
     "An HMAC token secret shorter than its algorithm requires",
     "RFC 7518 3.2 requires a key at least as long as the hash (48 bytes for HS384, 64 for "
     "HS512); a shorter secret is easier to guess offline from one captured token.",
     "Use a random secret at least as long as the largest HS algorithm allowed.",
     false, "API2:2023", "CWE-326"},
    {"GH-IDP-004", "TokenLifetimeUnbounded", GH_SEV_MEDIUM,
     "Token lifetime not limited",
     "Without max_lifetime the gateway accepts whatever exp the issuer wrote: a token minted for "
     "days or years keeps working after it leaks.",
     "Set max_lifetime (1h or less) on the provider.", false, "API2:2023", "CWE-613"},
    {"GH-IDP-005", "TokenLifetimeLong", GH_SEV_LOW,
     "Tokens may live more than an hour",
     "A stolen bearer token is usable for its whole lifetime; an hour is the common ceiling for "
     "access tokens.",
     "Lower max_lifetime to 1h or less and let clients refresh.", false, "API2:2023", "CWE-613"},
    {"GH-IDP-006", "LargeClockSkew", GH_SEV_MEDIUM,
     "Clock skew over five minutes",
     "Every token stays valid clock_skew after it expires and before it is valid; a large skew "
     "extends every stolen token's life and hides clock problems.",
     "Keep clock_skew at 5m or less (30s by default) and synchronize clocks.",
     false, "API2:2023", "CWE-613"},
    {"GH-IDP-007", "TokenForwardedUpstream", GH_SEV_LOW,
     "The caller's bearer token is passed to the backend",
     "A backend that receives the Authorization header can replay the token against every other "
     "API that accepts it; over plain HTTP off loopback it can also be read on the network.",
     "Use forward: {authorization: drop} and forward the claims the backend needs "
     "(forward.claims).", false, "API2:2023", "CWE-522"},
    {"GH-IDP-008", "LongIntrospectionCache", GH_SEV_MEDIUM,
     "Introspection answers remembered for more than five minutes",
     "A revoked or logged-out token keeps passing until its cached answer expires.",
     "Keep cache_ttl at 5m or less.", false, "API2:2023", "CWE-613"},

    {"GH-IDP-009", "TokenKindsNotExclusive", GH_SEV_MEDIUM,
     "Two token providers accept the same tokens",
     "Providers with the same issuer, the same keys and a shared audience cannot tell their "
     "tokens apart (RFC 8725 3.12): a token minted for one kind of caller or route passes "
     "wherever the other provider is asked.",
     "Give each kind of token its own audience (or its own issuer or keys), and list only that "
     "audience on the provider that accepts it.",
     false, "API2:2023", "CWE-287"},

    /* Webhooks */
    {"GH-HOOK-001", "ShortWebhookSecret", GH_SEV_MEDIUM,
     "A webhook signing secret shorter than 32 bytes",
     "A short or human-chosen secret can be guessed offline from one signed delivery, after "
     "which anyone can forge events.",
     "Generate the secret randomly, 32 bytes or more, and rotate it (secrets take several).",
     false, "API2:2023", "CWE-326"},
    {"GH-HOOK-002", "LongWebhookTolerance", GH_SEV_LOW,
     "Signed webhooks accepted more than five minutes old",
     "A captured delivery can be replayed for the whole tolerance once the gateway's replay "
     "memory has forgotten it.",
     "Keep tolerance at 5m or less.", false, "API2:2023", "CWE-294"},

    /* Rate limits and load */
    {"GH-LIMIT-001", "CriticalRouteWithoutRateLimit", GH_SEV_HIGH,
     "A critical route without a rate limit",
     "Credential stuffing, enumeration of ids, scraping of personal data and runaway clients "
     "all go as fast as the backend allows.",
     "Add rate_limit with a limit keyed by the caller (jwt.sub, api_key) and a quota where "
     "money moves.", false, "API4:2023", "CWE-770"},
    {"GH-LIMIT-002", "PublicRouteWithoutRateLimit", GH_SEV_MEDIUM,
     "A proxied route reachable off loopback without a rate limit",
     "One client can take the backend's whole capacity from everyone else.",
     "Add rate_limit keyed by the caller (jwt.sub, api_key, client_ip).",
     false, "API4:2023", "CWE-770"},
    {"GH-LIMIT-003", "RateLimitInShadowMode", GH_SEV_MEDIUM,
     "A rate limit in shadow mode refuses nothing",
     "mode: shadow counts what would be refused and lets it through.",
     "Switch to mode: enforce once the shadow counts are understood.",
     false, "API4:2023", "CWE-770"},
    {"GH-LIMIT-004", "RedisFailsOpen", GH_SEV_MEDIUM,
     "Shared rate limits stop counting when Redis is down",
     "With on_failure: allow, every limit kept in Redis lets everything through while Redis is "
     "unreachable, which an attacker can sometimes arrange.",
     "Use on_failure: local (each gateway limits alone, the default) or deny.",
     false, "API4:2023", "CWE-636"},
    {"GH-LIMIT-005", "ClientChosenLimitKey", GH_SEV_MEDIUM,
     "A rate limit keyed by a header the client chooses",
     "A client that sends a new value in each request gets a new bucket each time: the limit "
     "limits nothing.",
     "Key limits by what the gateway verified: jwt.<claim>, api_key, or client_ip.",
     false, "API4:2023", "CWE-290"},
    {"GH-LIMIT-006", "SlowClientTimeouts", GH_SEV_MEDIUM,
     "Client timeouts long enough for slow-request attacks",
     "A head_timeout over 60s, a body_timeout over 5m or an idle_timeout over 10m lets a few "
     "clients that send one byte at a time hold connections open (Slowloris).",
     "Keep limits.head_timeout at 10s, body_timeout at 30s and idle_timeout at 60s unless a "
     "route needs more.", false, "API4:2023", "CWE-400"},

    /* Request bodies */
    {"GH-BODY-001", "UnboundedBody", GH_SEV_MEDIUM,
     "A route takes request bodies with neither its own size limit nor a schema",
     "The body is bounded only by the global limit (10 MiB by default) and reaches the backend "
     "unchecked: oversized and malformed input is the backend's problem.",
     "Set body.max_bytes to what the route needs, body.content_types, and a body.schema for "
     "JSON.", false, "API4:2023", "CWE-770"},

    {"GH-BODY-002", "SchemaAcceptsUnknownProperties", GH_SEV_MEDIUM,
     "A write route's schema lets the body carry properties it does not name",
     "Without additionalProperties: false (or unevaluatedProperties: false) on the top-level "
     "object, a client can add fields such as role, owner_id or balance that a backend binding "
     "the body to its model may store (mass assignment).",
     "Set additionalProperties: false on the schema's top-level object and list every property "
     "the route takes.",
     false, "API3:2023", "CWE-915"},

    /* Listeners and TLS */
    {"GH-TLS-001", "PlaintextListener", GH_SEV_HIGH,
     "A listener off loopback without TLS",
     "Tokens, API keys, cookies and personal data cross the network in the clear, readable and "
     "changeable by anyone on the path.",
     "Add tls: {certificate, private_key} to the listener, or bind it to 127.0.0.1 behind a "
     "TLS-terminating proxy.", false, "API8:2023", "CWE-319"},
    {"GH-TLS-002", "NoClientCertificateRevocation", GH_SEV_LOW,
     "Client certificates are checked without a revocation list",
     "A client certificate that was stolen or belongs to a decommissioned service keeps working "
     "until it expires.",
     "Add tls.crl_file (the gateway reloads when it changes) or issue short-lived certificates.",
     false, "API8:2023", "CWE-299"},
    {"GH-TLS-003", "NoHsts", GH_SEV_LOW,
     "HTTPS responses without Strict-Transport-Security",
     "Browsers that once reached the API over HTTPS may still be downgraded to plain HTTP by a "
     "network attacker.",
     "Keep headers.hsts on (the default max-age=31536000).", false, "API8:2023", "CWE-319"},

    /* Upstreams */
    {"GH-UP-001", "PlaintextUpstream", GH_SEV_MEDIUM,
     "Requests reach a backend off loopback over plain HTTP",
     "Internal traffic carries the caller's claims, tokens and data in the clear; anyone inside "
     "the network can read it or pose as the backend.",
     "Use https:// endpoints with upstream tls (a client certificate for mTLS).",
     false, "API8:2023", "CWE-319"},
    {"GH-UP-002", "UpstreamVerificationOff", GH_SEV_HIGH,
     "The backend's certificate is not verified",
     "With insecure_skip_verify anyone on the path can pose as the backend and read or change "
     "every request: TLS without verification is encryption to a stranger.",
     "Remove insecure_skip_verify and give tls.ca_file the CA that signs the backend.",
     false, "API8:2023", "CWE-295"},
    {"GH-UP-003", "UpstreamWithoutClientCertificate", GH_SEV_LOW,
     "HTTPS to a backend off loopback without a client certificate",
     "The backend cannot tell the gateway from any other client on the network, so it cannot "
     "refuse traffic that went around the gateway.",
     "Give the upstream tls.certificate and tls.private_key (mTLS) and have the backend require "
     "them.", false, "API8:2023", "CWE-306"},

    /* Network edge */
    {"GH-NET-001", "TrustedProxiesTooWide", GH_SEV_HIGH,
     "trusted_proxies trusts every address",
     "A trusted peer's X-Forwarded-For, Forwarded and X-Real-IP are believed: trusting everyone "
     "lets any client choose the address that limits, logs and backends see.",
     "List only the load balancers in front of the gateway (their addresses or a narrow CIDR).",
     false, "API8:2023", "CWE-348"},
    {"GH-NET-002", "AdminOffLoopback", GH_SEV_HIGH,
     "The admin listener is reachable off loopback without admin.token",
     "Anyone who reaches the admin listener could reload or stop the gateway and read /metrics "
     "(route names and traffic).",
     "Bind admin.address to 127.0.0.1, or set admin.token (${file:/path}) and keep the port "
     "behind a firewall.",
     true, "API8:2023", "CWE-306"},

    /* The process */
    {"GH-PROC-001", "RunsAsRoot", GH_SEV_MEDIUM,
     "The gateway serves as root",
     "Code that parses untrusted requests runs as root: one memory-safety bug in the gateway or "
     "a library it links is the whole host (its files, keys and other services).",
     "Write user: (a dedicated account such as gatehouse; group: too if its primary group will "
     "not do): the gateway binds its ports and reads its keys as root, then drops to them "
     "before it serves.",
     false, "API8:2023", "CWE-250"},
    {"GH-PROC-002", "SeccompOff", GH_SEV_MEDIUM,
     "The workers' system call filter is turned off",
     "An attacker who runs code in a worker may execute programs, trace other processes, fork "
     "and reach every kernel interface instead of being stopped at the first such call.",
     "Remove seccomp: false; if a system call is refused on your system, report the call the "
     "kernel's log names.",
     false, "API8:2023", "CWE-693"},

    /* Secrets */
    {"GH-SECRET-001", "SecretFileReadable", GH_SEV_HIGH,
     "A secret or private key file other users can read",
     "Any local account or compromised process can copy the key and impersonate the gateway, "
     "forge tokens or sign webhooks.",
     "chmod 600 the file (or 640 with a dedicated group) and keep it owned by the gateway's "
     "user.", false, "API8:2023", "CWE-732"},

    /* Requests */
    {"GH-PATH-001", "PathProtectionOff", GH_SEV_MEDIUM,
     "A path normalization protection is turned off",
     "Encoded slashes, backslashes, ';' parameters, invalid UTF-8 or repeated slashes are read "
     "differently by different backends: a path the gateway routes one way can reach another "
     "resource behind it (route and access-control bypass).",
     "Leave paths.* at their defaults (reject, merge) unless a backend needs the construct, and "
     "then only for the routes that go to it.", false, "API8:2023", "CWE-436"},
    {"GH-ROUTE-001", "ShadowedByWeakerRoute", GH_SEV_HIGH,
     "An earlier, less protected route takes requests meant for a later one",
     "Routes are tried in order and the first match wins, so the later route's protection never "
     "applies to the requests both match.",
     "Move the more specific route first, or give the earlier route the same protection.",
     false, "API8:2023", "CWE-863"},
    {"GH-ROUTE-002", "AllMethods", GH_SEV_LOW,
     "A proxied route accepts every method",
     "Without match.methods, PUT, PATCH and DELETE reach a backend that may only have meant to "
     "serve reads, and may handle them unauthenticated or unlogged.",
     "List the methods the route serves in match.methods.", false, "API5:2023", "CWE-749"},
    {"GH-FAULT-001", "FaultInjection", GH_SEV_MEDIUM,
     "A route injects failures or delays on purpose",
     "fault: aborts or delays real requests: a game-day setting left on after the exercise is an "
     "outage the gateway makes itself. A fault gated by a header is still one any client of the "
     "route may ask for, holding a connection for the whole delay.",
     "Remove fault once the exercise is over; while it runs, gate it with fault.header and keep "
     "it off critical routes.", false, "API8:2023", "CWE-489"},
    {"GH-METHOD-001", "TraceAllowed", GH_SEV_HIGH,
     "TRACE or CONNECT accepted",
     "TRACE echoes requests back, cookies and Authorization included (cross-site tracing); "
     "CONNECT turns the gateway into an open tunnel.",
     "Enforced when the configuration loads: TRACE and CONNECT are refused in methods lists "
     "and never served.", true, "API8:2023", "CWE-749"},
    {"GH-CORS-001", "CorsCredentialsWildcardSubdomain", GH_SEV_MEDIUM,
     "Credentialed CORS for every subdomain",
     "Any page on any subdomain (a forgotten marketing site, a user-content host, a subdomain "
     "taken over) can call the route with the user's cookies and read the answer.",
     "List the exact origins that need credentials.", false, "API8:2023", "CWE-942"},
    {"GH-CORS-002", "CorsAnyOriginAuthenticated", GH_SEV_LOW,
     "An authenticated route grants CORS to any origin",
     "Any web page can call the route from a user's browser; with tokens kept in page storage, "
     "a script injected into any site the user visits can use them.",
     "List the origins of the applications that call the route.", false, "API8:2023", "CWE-942"},
    {"GH-CORS-003", "CorsPlaintextOrigin", GH_SEV_MEDIUM,
     "CORS granted to an http:// origin",
     "A page served over plain HTTP can be rewritten by anyone on the network, who then calls "
     "the API with the user's browser.",
     "Grant https:// origins only (http://localhost for development).",
     false, "API8:2023", "CWE-942"},
    {"GH-WS-001", "WebSocketAnyOrigin", GH_SEV_MEDIUM,
     "An authenticated route accepts WebSocket handshakes from any page",
     "Browsers send cookies and client certificates with a cross-site WebSocket handshake and no "
     "preflight guards it: any site the user visits can open a session in the user's name "
     "(cross-site WebSocket hijacking).",
     "List the origins of the pages that open sessions in websocket.origins, or leave the key "
     "out for same-origin pages only.", false, "API8:2023", "CWE-1385"},
    {"GH-HDR-001", "ResponseHardeningOff", GH_SEV_MEDIUM,
     "Response hardening turned off",
     "The backend's Server and X-Powered-By reach clients (what to attack) and browsers may "
     "sniff content types (X-Content-Type-Options missing).",
     "Leave headers.hardening on.", false, "API8:2023", "CWE-200"},
};

const gh_audit_check *gh__audit_checks(size_t *count)
{
    *count = sizeof(checks) / sizeof(checks[0]);
    return checks;
}

const gh_audit_check *gh__audit_check(const char *id)
{
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        if (strcmp(checks[i].id, id) == 0)
            return &checks[i];
    return NULL;
}

const char *gh__sev_name(gh_severity s)
{
    switch (s) {
    case GH_SEV_HIGH:
        return "high";
    case GH_SEV_MEDIUM:
        return "medium";
    case GH_SEV_LOW:
        return "low";
    default:
        return "none";
    }
}
