/*
 * shellquote.h: a command line written back the way a shell would take it
 * (for the first line of every CSV file and for metadata.json).
 *
 * Layering: harness/text.h and the C library.
 */
#ifndef AM_SHELLQUOTE_H
#define AM_SHELLQUOTE_H

/* argv joined, each word single-quoted where needed. Returns a malloc'd
 * string, or NULL when memory ran out. */
char *am_command_line(int argc, char *const argv[]);

#endif /* AM_SHELLQUOTE_H */
