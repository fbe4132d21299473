/* The dashboard's files (src/server/dashboard/), built into the binary so that the page works
 * with no file beside it and no network beyond the admin listener. */
#ifndef GH_SERVER_DASHBOARD_ASSETS_H
#define GH_SERVER_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef enum { GH_DASHBOARD_PAGE, GH_DASHBOARD_SCRIPT, GH_DASHBOARD_STYLE } gh_dashboard_asset;

typedef struct gh_dashboard_file {
    const char *type; /* Content-Type */
    const char *data;
    size_t len;
} gh_dashboard_file;

gh_dashboard_file gh_dashboard_file_of(gh_dashboard_asset which);

#endif
