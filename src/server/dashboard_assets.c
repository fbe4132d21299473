/* The dashboard's files, taken into the object as they are by the assembler's .incbin (the
 * paths are the repository's: the build runs from its top). The Makefile rebuilds this object
 * when one of them changes. */
#include "server/dashboard_assets.h"

#define GH_EMBED(sym, path)                                                                        \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".type " #sym ", @object\n" #sym ":\n"                                                 \
            ".incbin \"" path "\"\n" #sym "_end:\n"                                               \
            ".byte 0\n"                                                                            \
            ".previous\n");                                                                        \
    extern const char sym[], sym##_end[]

GH_EMBED(gh_dashboard_html, "src/server/dashboard/index.html");
GH_EMBED(gh_dashboard_js, "src/server/dashboard/dashboard.js");
GH_EMBED(gh_dashboard_css, "src/server/dashboard/dashboard.css");

gh_dashboard_file gh_dashboard_file_of(gh_dashboard_asset which)
{
    switch (which) {
    case GH_DASHBOARD_SCRIPT:
        return (gh_dashboard_file){"text/javascript; charset=utf-8", gh_dashboard_js,
                                   (size_t)(gh_dashboard_js_end - gh_dashboard_js)};
    case GH_DASHBOARD_STYLE:
        return (gh_dashboard_file){"text/css; charset=utf-8", gh_dashboard_css,
                                   (size_t)(gh_dashboard_css_end - gh_dashboard_css)};
    default:
        return (gh_dashboard_file){"text/html; charset=utf-8", gh_dashboard_html,
                                   (size_t)(gh_dashboard_html_end - gh_dashboard_html)};
    }
}
