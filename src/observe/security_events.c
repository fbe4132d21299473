#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "observe/log.h"
#include "observe/security_events.h"

#ifndef GH_VERSION
#define GH_VERSION "0.0.0"
#endif

/* What follows a line's @timestamp: the event's constant fields and the observer, one literal
 * per action, so that a line that is written for every request copies it whole. */
#define GH_SEC_HEAD(action, kind, category, type, outcome)                                        \
    "\",\"event.kind\":\"" kind "\",\"event.category\":[\"" category "\"],\"event.type\":[\"" type  \
    "\"],\"event.action\":\"" action "\",\"event.outcome\":\"" outcome                               \
    "\",\"observer.name\":\"gatehouse\",\"observer.type\":\"gatehouse\",\"observer.version\":\""      \
    GH_VERSION "\""

typedef struct action_info {
    const char *action;
    const char *head; /* GH_SEC_HEAD */
    size_t head_len;
} action_info;

#define GH_SEC_INFO_OF(action, kind, category, type, outcome)                                     \
    {action, GH_SEC_HEAD(action, kind, category, type, outcome),                                  \
     sizeof(GH_SEC_HEAD(action, kind, category, type, outcome)) - 1}

static const action_info actions[GH_SEC__COUNT] = {
    [GH_SEC_NONE] = GH_SEC_INFO_OF("none", "event", "web", "info", "unknown"),
#define GH_SEC_INFO(name, action, kind, category, type, outcome)                                   \
    [GH_SEC_##name] = GH_SEC_INFO_OF(action, kind, category, type, outcome),
    GH_SEC_ACTIONS(GH_SEC_INFO)
#undef GH_SEC_INFO
};

/* The one table: which event each refusal is. Every reason of core/reason.h has its line, a
 * security event or GH_SEC_NONE on purpose (tests/unit/test_security_events.c holds it to
 * that); a reason added without one leaves its entry unmapped and fails the test. */
#define MAP(reason, a) [GH_R_##reason] = {a, true}
static const struct {
    gh_sec_action action;
    bool mapped;
} reason_events[GH_R__COUNT] = {
    MAP(OK, GH_SEC_NONE),
    MAP(AGAIN, GH_SEC_NONE),
    /* the request's framing and syntax: refused before any route, a desync or a probe */
    MAP(BAD_REQUEST_LINE, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_METHOD, GH_SEC_UNUSUAL_METHOD),
    MAP(BAD_TARGET, GH_SEC_REQUEST_REFUSED),
    MAP(ABSOLUTE_FORM, GH_SEC_REQUEST_REFUSED),
    MAP(CONNECT_REFUSED, GH_SEC_UNUSUAL_METHOD),
    MAP(BAD_VERSION, GH_SEC_REQUEST_REFUSED),
    MAP(VERSION_NOT_SUPPORTED, GH_SEC_REQUEST_REFUSED),
    MAP(H2_PREFACE, GH_SEC_REQUEST_REFUSED),
    MAP(PLAIN_HTTP_ON_TLS, GH_SEC_REQUEST_REFUSED),
    MAP(H2_PROTOCOL, GH_SEC_REQUEST_REFUSED),
    MAP(H2_FLOOD, GH_SEC_RATE_LIMITED),
    MAP(CLIENT_CERT_REQUIRED, GH_SEC_CLIENT_CERT),
    MAP(CLIENT_CERT_MISMATCH, GH_SEC_CLIENT_CERT),
    MAP(BARE_CR, GH_SEC_REQUEST_REFUSED),
    MAP(BARE_LF, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_HEADER_NAME, GH_SEC_REQUEST_REFUSED),
    MAP(WS_BEFORE_COLON, GH_SEC_REQUEST_REFUSED),
    MAP(OBS_FOLD, GH_SEC_REQUEST_REFUSED),
    MAP(LOOKALIKE_FRAMING_HEADER, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_HEADER_VALUE, GH_SEC_REQUEST_REFUSED),
    MAP(MISSING_HOST, GH_SEC_REQUEST_REFUSED),
    MAP(MULTIPLE_HOST, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_HOST, GH_SEC_REQUEST_REFUSED),
    MAP(DUPLICATE_FIELD, GH_SEC_REQUEST_REFUSED),
    MAP(UNDERSCORE_HEADER, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_CONTENT_LENGTH, GH_SEC_REQUEST_REFUSED),
    MAP(MULTIPLE_CONTENT_LENGTH, GH_SEC_REQUEST_REFUSED),
    MAP(TE_WITH_CL, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_TRANSFER_ENCODING, GH_SEC_REQUEST_REFUSED),
    MAP(MULTIPLE_CHUNKED, GH_SEC_REQUEST_REFUSED),
    MAP(TE_IN_HTTP10, GH_SEC_REQUEST_REFUSED),
    MAP(AMBIGUOUS_BODY, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_EXPECT, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_CHUNK, GH_SEC_REQUEST_REFUSED),
    MAP(HEAD_TOO_LARGE, GH_SEC_REQUEST_REFUSED),
    MAP(TOO_MANY_HEADERS, GH_SEC_REQUEST_REFUSED),
    MAP(TARGET_TOO_LONG, GH_SEC_REQUEST_REFUSED),
    /* slow clients: what a slowloris looks like */
    MAP(HEAD_TIMEOUT, GH_SEC_REQUEST_REFUSED),
    MAP(BODY_TIMEOUT, GH_SEC_REQUEST_REFUSED),
    MAP(BODY_TOO_SLOW, GH_SEC_REQUEST_REFUSED),
    MAP(BODY_DEADLINE, GH_SEC_REQUEST_REFUSED),
    /* the body's controls */
    MAP(BODY_TOO_LARGE, GH_SEC_REQUEST_REFUSED),
    MAP(UNSUPPORTED_MEDIA_TYPE, GH_SEC_REQUEST_REFUSED),
    MAP(INVALID_JSON, GH_SEC_REQUEST_REFUSED),
    MAP(SCHEMA_MISMATCH, GH_SEC_REQUEST_REFUSED),
    MAP(MISSING_SIGNATURE, GH_SEC_WEBHOOK_SIGNATURE),
    MAP(INVALID_SIGNATURE, GH_SEC_WEBHOOK_SIGNATURE),
    /* the path and query */
    MAP(BAD_PATH, GH_SEC_REQUEST_REFUSED),
    MAP(ENCODED_SLASH, GH_SEC_REQUEST_REFUSED),
    MAP(BACKSLASH, GH_SEC_REQUEST_REFUSED),
    MAP(PATH_CONTROL, GH_SEC_REQUEST_REFUSED),
    MAP(PATH_PARAMETERS, GH_SEC_REQUEST_REFUSED),
    MAP(PATH_UTF8, GH_SEC_REQUEST_REFUSED),
    MAP(PATH_ABOVE_ROOT, GH_SEC_REQUEST_REFUSED),
    MAP(BAD_QUERY, GH_SEC_REQUEST_REFUSED),
    MAP(CORS_REFUSED, GH_SEC_AUTHZ_DENIED),
    MAP(MISSING_REQUIRED_HEADER, GH_SEC_REQUEST_REFUSED),
    /* who the request is from, and what it may do */
    MAP(MISSING_TOKEN, GH_SEC_AUTHN_FAILURE),
    MAP(INVALID_TOKEN, GH_SEC_AUTHN_FAILURE),
    MAP(MISSING_API_KEY, GH_SEC_AUTHN_FAILURE),
    MAP(INVALID_API_KEY, GH_SEC_AUTHN_FAILURE),
    MAP(INSUFFICIENT_SCOPE, GH_SEC_AUTHZ_DENIED),
    MAP(CLAIM_MISMATCH, GH_SEC_AUTHZ_DENIED),
    MAP(POLICY_DENIED, GH_SEC_AUTHZ_DENIED),
    MAP(POLICY_UNAVAILABLE, GH_SEC_CONTROL_UNAVAILABLE),
    MAP(RATE_LIMITED, GH_SEC_RATE_LIMITED),
    MAP(QUOTA_EXCEEDED, GH_SEC_RATE_LIMITED),
    MAP(CLIENT_BANNED, GH_SEC_BANNED_REFUSED),
    MAP(RATE_LIMIT_UNAVAILABLE, GH_SEC_CONTROL_UNAVAILABLE),
    MAP(FAULT_INJECTED, GH_SEC_NONE), /* injected on purpose by the operator */
    MAP(IDP_UNAVAILABLE, GH_SEC_CONTROL_UNAVAILABLE),
    MAP(MISDIRECTED, GH_SEC_REQUEST_REFUSED),
    /* routing: a 404 is ordinary traffic; a method no route takes may be a probe (below) */
    MAP(NOT_FOUND, GH_SEC_NONE),
    MAP(METHOD_NOT_ALLOWED, GH_SEC_NONE),
    MAP(WS_NOT_ALLOWED, GH_SEC_REQUEST_REFUSED),
    MAP(WS_BAD_HANDSHAKE, GH_SEC_REQUEST_REFUSED),
    MAP(WS_VERSION, GH_SEC_REQUEST_REFUSED),
    MAP(WS_ORIGIN, GH_SEC_AUTHZ_DENIED),
    MAP(WS_FULL, GH_SEC_NONE),
    /* the upstream's side and the gateway's own: no one's attack (an upstream certificate that
     * does not verify is the exception, told apart by gate/security_event.c) */
    MAP(UPSTREAM_FULL, GH_SEC_NONE),
    MAP(UPSTREAM_UNAVAILABLE, GH_SEC_NONE),
    MAP(UPSTREAM_CONNECT, GH_SEC_NONE),
    MAP(UPSTREAM_RESET, GH_SEC_NONE),
    MAP(UPSTREAM_TLS, GH_SEC_NONE),
    MAP(UPSTREAM_TIMEOUT, GH_SEC_NONE),
    MAP(UPSTREAM_BAD_RESPONSE, GH_SEC_NONE),
    MAP(CLIENT_CLOSED, GH_SEC_NONE),
    MAP(DRAINING, GH_SEC_NONE),
    MAP(INTERNAL, GH_SEC_NONE),
};
#undef MAP

gh_sec_action gh_sec_reason_action(gh_reason r)
{
    return (unsigned)r < GH_R__COUNT ? reason_events[r].action : GH_SEC_NONE;
}

bool gh_sec_reason_mapped(gh_reason r)
{
    return (unsigned)r < GH_R__COUNT && reason_events[r].mapped;
}

const char *gh_sec_action_name(gh_sec_action a)
{
    return (unsigned)a < GH_SEC__COUNT ? actions[a].action : "none";
}

bool gh_sec_method_unusual(const char *m, size_t len)
{
    static const char *const usual[] = {"GET",   "HEAD",   "POST",    "PUT",
                                        "PATCH", "DELETE", "OPTIONS", NULL};
    for (const char *const *u = usual; *u; u++)
        if (strlen(*u) == len && memcmp(*u, m, len) == 0)
            return false;
    return true;
}

void gh_sec_field(gh_sbuf *b, const char *name, const char *v, size_t len)
{
    GH_SBUF_LIT(b, ",\"");
    gh_sbuf_adds(b, name);
    GH_SBUF_LIT(b, "\":");
    if (v)
        gh_sbuf_json_str(b, v, len); /* byte for byte, as the access log and the spans write it */
    else
        GH_SBUF_LIT(b, "null");
}

void gh_sec_field_cut(gh_sbuf *b, const char *name, const char *v, size_t len, size_t max)
{
    if (!v || len <= max) {
        gh_sec_field(b, name, v, len);
        return;
    }
    gh_sbuf_adds(b, ",\"");
    gh_sbuf_adds(b, name);
    gh_sbuf_adds(b, "\":\"");
    gh_sbuf_json_chars(b, v, max); /* bytes escape one by one: any cut is valid JSON */
    gh_sbuf_adds(b, GH_SEC_CUT_MARK "\"");
}

void gh_sec_line_begin(gh_sbuf *b, gh_sec_action a)
{
    const action_info *i = &actions[(unsigned)a < GH_SEC__COUNT ? a : GH_SEC_NONE];
    char ts[32];
    gh_format_rfc3339_ms(ts);
    GH_SBUF_LIT(b, "{\"@timestamp\":\"");
    gh_sbuf_add(b, ts, strlen(ts));
    gh_sbuf_add(b, i->head, i->head_len);
}

void gh_sec_line_end(gh_sbuf *b)
{
    gh_sbuf_adds(b, "}\n");
}

static void copy_text(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

static gh_sec_fold_slot *find_slot(gh_sec_fold *f, gh_sec_action a, const char *source,
                                   uint64_t second)
{
    gh_sec_fold_slot *free_slot = NULL, *oldest = &f->slots[0];
    for (size_t i = 0; i < GH_SEC_FOLD_SLOTS; i++) {
        gh_sec_fold_slot *s = &f->slots[i];
        if (s->second && s->action == a && strcmp(s->source, source) == 0)
            return s;
        if (!s->second && !free_slot)
            free_slot = s;
        if (s->second < oldest->second)
            oldest = s;
    }
    /* Full: the oldest entry goes, folded events and all (they are lost from the stream, not
     * from the access log); a table of fixed size keeps the memory bounded under a flood of
     * addresses. */
    gh_sec_fold_slot *s = free_slot ? free_slot : oldest;
    memset(s, 0, sizeof(*s));
    s->action = a;
    s->second = second;
    copy_text(s->source, sizeof(s->source), source);
    return s;
}

/* The slot's count for its second is over: what it folded waits for the flush. */
static void end_second(gh_sec_fold_slot *s)
{
    if (s->folded) {
        if (!s->ended_folded)
            s->ended_second = s->second;
        s->ended_folded =
            UINT32_MAX - s->ended_folded < s->folded ? UINT32_MAX : s->ended_folded + s->folded;
    }
    s->seen = s->folded = 0;
}

bool gh_sec_fold_admit(gh_sec_fold *f, gh_sec_action a, const char *source, const char *reason,
                       const char *rule, uint64_t second, uint32_t max_per_second)
{
    gh_sec_fold_slot *s = find_slot(f, a, source ? source : "", second);
    if (s->second != second) { /* a key last seen in an earlier second */
        end_second(s);
        s->second = second;
    }
    if (s->seen < UINT32_MAX)
        s->seen++;
    if (s->seen <= max_per_second)
        return true;
    if (s->folded < UINT32_MAX)
        s->folded++;
    copy_text(s->reason, sizeof(s->reason), reason);
    copy_text(s->rule, sizeof(s->rule), rule);
    return false;
}

void gh_sec_fold_flush(gh_sec_fold *f, uint64_t second,
                       void (*emit)(void *arg, const gh_sec_fold_slot *s), void *arg)
{
    for (size_t i = 0; i < GH_SEC_FOLD_SLOTS; i++) {
        gh_sec_fold_slot *s = &f->slots[i];
        if (!s->second)
            continue;
        bool ended = s->second < second;
        if (ended)
            end_second(s);
        if (s->ended_folded) {
            emit(arg, s);
            s->ended_folded = 0;
        }
        if (ended)
            memset(s, 0, sizeof(*s));
    }
}

bool gh_sec_stream_put(gh_sec_stream *s, gh_sec_action a, const char *line, size_t len)
{
    if (!s->sink || !s->sink->ops->put(s->sink->ctx, s->producer, line, len))
        return false;
    atomic_fetch_add_explicit(&s->written[a], 1, memory_order_relaxed);
    return true;
}

void gh_sec_stream_too_long(gh_sec_stream *s)
{
    atomic_fetch_add_explicit(&s->too_long, 1, memory_order_relaxed);
}

void gh_sec_stream_cut(gh_sec_stream *s)
{
    atomic_fetch_add_explicit(&s->cut, 1, memory_order_relaxed);
}

/* The file sink: the log thread of observe/log.h with a ring per producer. */
static bool file_put(void *ctx, size_t producer, const char *line, size_t len)
{
    gh_logger *l = ctx;
    return producer < l->nrings && gh_log_ring_put(l->rings[producer], line, len);
}

static unsigned long long file_dropped(void *ctx)
{
    gh_logger *l = ctx;
    unsigned long long n = 0;
    for (size_t i = 0; l->rings && i < l->nrings; i++)
        n += atomic_load_explicit(&l->rings[i]->dropped, memory_order_relaxed);
    return n;
}

const gh_sec_sink_ops gh_sec_file_sink_ops = {file_put, file_dropped};
