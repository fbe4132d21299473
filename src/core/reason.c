#include "core/reason.h"

static const struct {
    int status;
    const char *slug;
    const char *title;
} reasons[GH_R__COUNT] = {
#define GH_REASON_ROW(name, status, slug, title) {status, slug, title},
    GH_REASONS(GH_REASON_ROW)
#undef GH_REASON_ROW
};

int gh_reason_status(gh_reason r)
{
    return (unsigned)r < GH_R__COUNT ? reasons[r].status : 500;
}

const char *gh_reason_slug(gh_reason r)
{
    return (unsigned)r < GH_R__COUNT ? reasons[r].slug : "internal";
}

const char *gh_reason_title(gh_reason r)
{
    return (unsigned)r < GH_R__COUNT ? reasons[r].title : "Internal error";
}
