/*
 * buildfacts.c: the build's facts for metadata.json (see buildfacts.h).
 */
#include "buildfacts.h"

#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>

#include "buildinfo.h"
#include "frontend.h"
#include "gitversion.h"

void am_buildfacts_describe(struct am_json *j)
{
    /* "<40 hex digits>" or "<40 hex digits>-dirty", from `git describe` at
     * build time: the commit this very binary was built from. */
    char commit[64];
    snprintf(commit, sizeof commit, "%s", AM_GIT_DESCRIBE);
    char *dirty = strstr(commit, "-dirty");
    if (dirty)
        *dirty = '\0';
    am_json_open(j, "git", '{');
    am_json_string(j, "commit", commit);
    am_json_bool(j, "dirty", dirty != NULL);
    am_json_string(j, "describe", AM_GIT_DESCRIBE);
    am_json_close(j, '}');

    static const char *const build[][2] = {
        {"compiler", AM_BUILD_COMPILER},
        {"compiler_version", __VERSION__},
        {"buildtype", AM_BUILD_TYPE},
        {"optimization", AM_BUILD_OPTIMIZATION},
        {"ndebug", AM_BUILD_NDEBUG},
        {"sanitize", AM_BUILD_SANITIZE},
        {"warning_level", AM_BUILD_WARNING_LEVEL},
        {"c_args", AM_BUILD_C_ARGS},
        {"project_c_args", AM_BUILD_PROJECT_C_ARGS},
        {"c_link_args", AM_BUILD_C_LINK_ARGS},
        {"meson_version", AM_BUILD_MESON_VERSION},
    };
    am_json_open(j, "build", '{');
    for (size_t i = 0; i < sizeof build / sizeof build[0]; i++)
        am_json_string(j, build[i][0], build[i][1]);
    am_json_bool(j, "debug", AM_BUILD_DEBUG);
    am_json_close(j, '}');
}

void am_buildfacts_libraries(struct am_json *j)
{
    am_json_open(j, "libraries", '{');
    am_json_open(j, "glibc", '{');
    am_json_string(j, "version", gnu_get_libc_version());
    am_json_string(j, "release", gnu_get_libc_release());
    am_json_close(j, '}');
    am_json_open(j, "configured_versions", '{');
    for (size_t i = 0; i < am_registry_count; i++)
        if (am_registry[i]->configured_version)
            am_json_string(j, am_registry[i]->name, am_registry[i]->configured_version);
    am_json_close(j, '}');
    am_json_close(j, '}');
}
