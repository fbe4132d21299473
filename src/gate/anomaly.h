/* The anomaly detectors (the configuration's anomaly: section): fed once per finished request
 * from gh_request_end, they count per client in the table every worker shares
 * (store/anomaly_table.h) and, when a detector's threshold is crossed, write an
 * anomaly-detected security event and, in mode ban, call the ban action the registry holds
 * (gh_detect_actions). */
#ifndef GH_GATE_ANOMALY_H
#define GH_GATE_ANOMALY_H

#include "gate/exchange.h"
#include "gate/services.h"

/* Feeds the request to every detector that is on; cheap (a few shard locks), never blocks. */
void gh_anomaly_request(gh_services *svc, const gh_request *req);
/* "error_rate", "enumeration", ... (gh_anomaly_detector); "?" out of range. */
const char *gh_anomaly_detector_name(unsigned d);
/* "off", "log", "ban". */
const char *gh_anomaly_mode_name(unsigned m);
/* With anomaly.store: redis, the script a shared distinct count runs, and its SHA-1 (40
 * lowercase hex digits) that EVALSHA names it by. */
extern const char gh_anomaly_shared_count_script[];
extern const char gh_anomaly_shared_count_sha1[];

#endif
