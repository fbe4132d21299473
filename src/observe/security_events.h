/* The security event stream: what each event is (its ECS kind, category, type and outcome), the
 * one table that says which event every refusal reason is, the folding of repetitive events,
 * and the sink interface the lines go to. Apart from the access log: a SIEM reads this stream
 * without the ordinary traffic, and an event is written whatever access_log says. */
#ifndef GH_OBSERVE_SECURITY_EVENTS_H
#define GH_OBSERVE_SECURITY_EVENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/reason.h"

/* X(name, action, kind, category, type, outcome) */
#define GH_SEC_ACTIONS(X)                                                                          \
    X(AUTHN_FAILURE, "authentication-failure", "event", "authentication", "start", "failure")      \
    X(AUTHZ_DENIED, "authorization-denied", "event", "web", "denied", "failure")                   \
    X(RATE_LIMITED, "rate-limited", "event", "web", "denied", "failure")                           \
    X(REQUEST_REFUSED, "request-refused", "alert", "intrusion_detection", "denied", "failure")     \
    X(UNUSUAL_METHOD, "unusual-method", "alert", "intrusion_detection", "denied", "failure")       \
    X(WEBHOOK_SIGNATURE, "webhook-signature-failure", "event", "authentication", "start",          \
      "failure")                                                                                   \
    X(CLIENT_CERT, "client-certificate-refused", "event", "authentication", "start", "failure")    \
    X(CONTROL_UNAVAILABLE, "control-unavailable", "event", "web", "denied", "failure")             \
    X(CRITICAL_ACCESS, "critical-route-access", "event", "web", "access", "success")               \
    X(CONFIG_RELOADED, "configuration-reloaded", "event", "configuration", "change", "success")    \
    X(CONFIG_RELOAD_FAILED, "configuration-reload-failed", "event", "configuration", "change",     \
      "failure")                                                                                   \
    X(CERT_LOADED, "certificate-loaded", "event", "configuration", "change", "success")            \
    X(CERT_EXPIRING, "certificate-expiring", "alert", "configuration", "info", "unknown")          \
    X(CERT_EXPIRED, "certificate-expired", "alert", "configuration", "info", "failure")            \
    X(UPSTREAM_CERT, "upstream-certificate-rejected", "alert", "network", "connection", "failure") \
    X(ANOMALY_DETECTED, "anomaly-detected", "alert", "intrusion_detection", "info", "unknown")     \
    X(BANNED_REFUSED, "banned-client-refused", "event", "web", "denied", "failure")                \
    X(BAN, "ban", "alert", "intrusion_detection", "creation", "success")                          \
    X(UNBAN, "unban", "event", "intrusion_detection", "deletion", "success")

typedef enum {
    GH_SEC_NONE, /* not a security event: the access log says it (an upstream's failure) */
#define GH_SEC_ENUM(name, action, kind, category, type, outcome) GH_SEC_##name,
    GH_SEC_ACTIONS(GH_SEC_ENUM)
#undef GH_SEC_ENUM
        GH_SEC__COUNT
} gh_sec_action;

/* The event a refusal for this reason is (GH_SEC_NONE for the reasons that are no one's
 * attack: upstream failures, the drain, a client that left). */
gh_sec_action gh_sec_reason_action(gh_reason r);
/* Whether the reason table names r explicitly (a unit test holds every reason to it). */
bool gh_sec_reason_mapped(gh_reason r);
/* "authentication-failure"; "none" for GH_SEC_NONE. */
const char *gh_sec_action_name(gh_sec_action a);
/* Whether a method is one an API is never sent in ordinary use (TRACE, TRACK, PROPFIND...):
 * anything but GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS. */
bool gh_sec_method_unusual(const char *m, size_t len);

/* The longest event line: what a line buffer of a producer holds. */
#define GH_SEC_LINE_MAX 4096

/* The common head of an event line: "{" @timestamp, event.kind, category, type, action,
 * outcome and the observer; the caller adds its fields and ends with gh_sec_line_end. */
void gh_sec_line_begin(gh_sbuf *b, gh_sec_action a);
void gh_sec_line_end(gh_sbuf *b);
/* ,"name":"v" (v escaped), or ,"name":null when v is NULL. */
void gh_sec_field(gh_sbuf *b, const char *name, const char *v, size_t len);
/* The same with v cut to its first max bytes and GH_SEC_CUT_MARK after them when longer: a line
 * must fit its buffer whatever a client sent (every byte escapes to at most 6, so a field takes
 * at most 6 * max + the mark). */
#define GH_SEC_CUT_MARK "...[cut]"
void gh_sec_field_cut(gh_sbuf *b, const char *name, const char *v, size_t len, size_t max);

/* Where the lines go. Each producer (a worker, the control thread) puts complete lines on its
 * own index; put never blocks and returns false when the line was dropped (counted by the sink).
 * A file writes through the log thread (observe/log.h); syslog or an HTTP collector implement
 * the same operations. */
typedef struct gh_sec_sink_ops {
    bool (*put)(void *ctx, size_t producer, const char *line, size_t len);
    unsigned long long (*dropped)(void *ctx); /* lines dropped so far, every producer */
} gh_sec_sink_ops;

typedef struct gh_sec_sink {
    const gh_sec_sink_ops *ops;
    void *ctx;
} gh_sec_sink;

/* The file sink: ctx is a started gh_logger (observe/log.h) with a ring per producer. */
extern const gh_sec_sink_ops gh_sec_file_sink_ops;

/* Repetitive events folded: per (action, source), at most max_per_second lines in a second;
 * the rest are counted and given back as one event with event.count once the second ended.
 * A fixed table per producer: when it is full, a new key evicts the oldest second's entry. */
#define GH_SEC_FOLD_SLOTS 64

typedef struct gh_sec_fold_slot {
    uint64_t second;       /* the second this slot counts (0: free) */
    uint32_t seen, folded; /* events of the key this second; of them, folded */
    /* seconds that ended with events folded, not written yet: the first of them, and how many
     * (the next second counts meanwhile, so a key never goes unlimited until the flush) */
    uint64_t ended_second;
    uint32_t ended_folded;
    gh_sec_action action;
    char source[48]; /* the client's address */
    char reason[48]; /* the last folded event's reason slug */
    char rule[64];   /* its route */
} gh_sec_fold_slot;

typedef struct gh_sec_fold {
    gh_sec_fold_slot slots[GH_SEC_FOLD_SLOTS];
} gh_sec_fold;

/* Counts the event in its second; true when it is to be written, false when it was folded. */
bool gh_sec_fold_admit(gh_sec_fold *f, gh_sec_action a, const char *source, const char *reason,
                       const char *rule, uint64_t second, uint32_t max_per_second);
/* Calls emit for each key whose seconds before `second` folded events (ended_second and
 * ended_folded say which and how many), then frees the keys not seen in `second`. */
void gh_sec_fold_flush(gh_sec_fold *f, uint64_t second,
                       void (*emit)(void *arg, const gh_sec_fold_slot *s), void *arg);

/* One producer's side of the stream: its sink and index, its fold table, what it wrote. */
typedef struct gh_sec_stream {
    const gh_sec_sink *sink; /* NULL: no stream (an embedded worker, a test) */
    size_t producer;
    gh_sec_fold fold;
    atomic_ullong written[GH_SEC__COUNT]; /* lines written, by action (metrics) */
    atomic_ullong cut;                    /* lines written with fields cut to fit (metrics) */
    atomic_ullong too_long;               /* lines that did not fit even cut: dropped (metrics) */
} gh_sec_stream;

/* Hands the line to the sink and counts it by action; false when it was dropped. */
bool gh_sec_stream_put(gh_sec_stream *s, gh_sec_action a, const char *line, size_t len);
/* A line the producer could not make fit: counted, never silently lost. */
void gh_sec_stream_too_long(gh_sec_stream *s);
/* A line written with its fields cut. */
void gh_sec_stream_cut(gh_sec_stream *s);

#endif
