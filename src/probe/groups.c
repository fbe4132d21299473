/* The case groups, in report order, and their titles. */
#include <string.h>

#include "probe/probe.h"

const char *const gh_probe_groups[] = {"tokens",      "authorization", "limits",  "framing",
                                       "paths",       "headers",       "bodies",  "cors",
                                       "tls",         "information",   "webhooks", NULL};

const char *gh_probe_group_title(const char *group)
{
    static const char *const titles[][2] = {
        {"tokens", "Tokens"},   {"authorization", "Authorization"}, {"limits", "Limits"},
        {"framing", "Framing"}, {"paths", "Paths"},                 {"headers", "Headers"},
        {"bodies", "Bodies"},   {"cors", "CORS"},                   {"tls", "TLS"},
        {"information", "Information"}, {"webhooks", "Webhooks"}};
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
        if (strcmp(titles[i][0], group) == 0)
            return titles[i][1];
    return group;
}
