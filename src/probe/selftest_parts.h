/* The parts of the self-test harness (selftest.c): editing a YAML document (yaml_edit.c), the
 * configuration rewritten for loopback (rewrite.c), the certificates (pki.c), the keys and
 * secrets the gateway is given (keys.c). Internal to src/probe. */
#ifndef GH_PROBE_SELFTEST_PARTS_H
#define GH_PROBE_SELFTEST_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "probe/probe.h"

/* ---- a loaded YAML document (yaml_edit.c); node ids as libyaml numbers them, 0: none ---- */

/* Loads text (one document); 0, or -1 with why in err. */
int gh_yed_load(yaml_document_t *doc, const char *text, size_t len, char *err, size_t cap);
/* Writes the document to path and deletes it (libyaml's emitter consumes it); 0 or -1. */
int gh_yed_dump(yaml_document_t *doc, const char *path, char *err, size_t cap);
int gh_yed_root(yaml_document_t *doc);
/* The value of key in mapping map, or 0 (also when map is not a mapping). */
int gh_yed_get(yaml_document_t *doc, int map, const char *key);
/* A scalar's text (NUL-terminated by libyaml), or NULL for anything else. */
const char *gh_yed_text(yaml_document_t *doc, int node);
/* key: value (a new scalar) in map, replacing the value key had, or appended. 0 or -1. */
int gh_yed_set(yaml_document_t *doc, int map, const char *key, const char *value);
/* key: node (any node of doc). 0 or -1. */
int gh_yed_set_node(yaml_document_t *doc, int map, const char *key, int node);
/* Takes key out of map; whether it was there. */
bool gh_yed_remove(yaml_document_t *doc, int map, const char *key);
/* A sequence's or mapping's number of items/pairs (0 for anything else). */
size_t gh_yed_count(yaml_document_t *doc, int node);
/* Item i of a sequence, or 0. */
int gh_yed_item(yaml_document_t *doc, int seq, size_t i);
/* Pair i of a mapping: its key's text (NULL if not a scalar) and its value node. */
const char *gh_yed_pair(yaml_document_t *doc, int map, size_t i, int *value);
/* A new empty mapping / sequence, or a scalar; 0 on failure. */
int gh_yed_new_map(yaml_document_t *doc);
int gh_yed_new_scalar(yaml_document_t *doc, const char *value);

/* ---- what the gateway is given (keys.c, pki.c) ---- */

/* Files the rewritten configuration names, and the ports it points at. Paths in the arena. */
typedef struct gh_probe_stage {
    const char *dir; /* the temporary directory */
    /* pki.c */
    const char *ca, *server_cert, *server_key, *crl;
    /* keys.c: per provider of the configuration (same index), NULL where none is needed */
    const char **jwt_secret_files;   /* HMAC-algorithm JWT providers: ${file:} of the secret */
    const char **api_keys_files;     /* "sha256:<hex> <client>" lines */
    const char **hmac_secret_files;
    const char *introspection_secret_file; /* every introspection provider's client secret */
    const char *admin_token_file;
    /* selftest.c */
    const int *listener_ports; /* per listener of the configuration */
    int admin_port;            /* 0: no admin listener */
    int upstream_port, idp_port;
    const char *access_log;
} gh_probe_stage;

/* The keys of step 2 into p (keys, api_keys, hmac_secrets, admin_token) and their files into
 * st. 0, or -1 with why in err. */
int gh_probe_keys_make(gh_probe *p, gh_probe_stage *st, char *err, size_t cap);
void gh_probe_keys_free(gh_probe *p);
/* The probe CA, the server certificate for the listeners, the client certificates and the CRL,
 * files in st->dir: into p (ca_file, client_*) and st (server_cert/key, crl). 0 or -1. */
int gh_probe_pki_make(gh_probe *p, gh_probe_stage *st, char *err, size_t cap);
/* Writes data to dir/name (mode 0600): the path in the arena, or NULL. */
const char *gh_probe_write_file(gh_probe *p, const char *dir, const char *name, const void *data,
                                size_t len);

/* ---- the rewritten configuration (rewrite.c) ---- */

/* c->effective edited as st says, written to out_path. 0, or -1 with why in err. */
int gh_probe_rewrite(const gh_config *c, const gh_probe_stage *st, const char *out_path,
                     char *err, size_t cap);

/* ---- the running self-test (selftest.c) ---- */

/* The configuration file the gateway was started with, or NULL when none runs. */
const char *gh_probe_selftest_file(const gh_probe *p);

#endif
