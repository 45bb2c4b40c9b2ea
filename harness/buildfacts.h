/*
 * buildfacts.h: what metadata.json records about how this allocmark was
 * built: the commit, the compiler and its flags, and the libraries: the C
 * library, and each reference's version as meson found it at configure time
 * (each allocator's folder states its own; their run-time versions are the
 * plan's reference_libraries).
 *
 * Layering: harness/json.h, allocators/ (the registry) and the C library.
 */
#ifndef AM_BUILDFACTS_H
#define AM_BUILDFACTS_H

#include "json.h"

/* The members "git" and "build". */
void am_buildfacts_describe(struct am_json *j);
/* The member "libraries": glibc and configured_versions. */
void am_buildfacts_libraries(struct am_json *j);

#endif /* AM_BUILDFACTS_H */
