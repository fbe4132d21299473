/* Who may use the admin listener when admin.token is set: the token as a Bearer credential
 * (curl, the CLI, Prometheus), or as HTTP Basic's password (a browser opening the dashboard,
 * which can send no other). A browser re-sends Basic credentials on its own, even with a
 * request another site's page makes it send, so a change (any method but GET and HEAD) made
 * with them must also carry X-Gatehouse-Dashboard: a header no other site's page can add
 * without a CORS preflight, which this listener never grants. Without a token, so must a change
 * a browser made for a page (it says so with Origin or Sec-Fetch-Site). */
#ifndef GH_SERVER_ADMIN_AUTH_H
#define GH_SERVER_ADMIN_AUTH_H

#include "core/reason.h"
#include "wire/h1.h"

/* The header the dashboard's script sends with a change. */
#define GH_ADMIN_DASHBOARD_HEADER "x-gatehouse-dashboard"

typedef struct {
    gh_reason reason; /* GH_R_OK, MISSING_TOKEN, INVALID_TOKEN or CORS_REFUSED */
    const char *why;  /* in words, for the log and the problem's detail; NULL when OK */
} gh_admin_verdict;

/* The verdict on r for a listener that wants token (NUL-terminated, not empty). The token is
 * compared by digest, in constant time: neither its bytes nor its length leak by timing. With
 * token NULL (no admin.token) every request is let in but a change a browser's page made
 * (Origin or Sec-Fetch-Site) without X-Gatehouse-Dashboard: GH_R_CORS_REFUSED. */
gh_admin_verdict gh_admin_authorize(const gh_h1_request *r, const char *token);

#endif
