/* The span exporter of a gateway process: the HTTP sink (observe/http_sink.h) with the
 * OTLP/HTTP JSON framing, one ring per worker, started the first time a configuration names
 * tracing.exporter (at the start or at a reload), given a reloaded configuration's settings,
 * and stopped, its queue flushed, once the workers are gone. */
#ifndef GH_SERVER_TRACE_EXPORT_H
#define GH_SERVER_TRACE_EXPORT_H

#include "config/config.h"
#include "observe/http_sink.h"

/* Starts the exporter or hands it cfg's settings. 0, or -errno (err says why) with the
 * exporter as it was. */
int gh_trace_export_apply(gh_http_sink *s, const gh_config *cfg, size_t nworkers, char *err,
                          size_t cap);

#endif
