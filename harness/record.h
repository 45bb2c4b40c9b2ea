/*
 * record.h: `allocmark record`: run a command with the recording library
 * (trace/recorder.c) preloaded in front of its malloc, then turn the spool
 * it wrote into an .amtrace (trace/convert.h).
 *
 * Layering: depends on trace/ (the converter), allocators/ (a reference's
 * library to record on top of) and the C library.
 */
#ifndef AM_RECORD_H
#define AM_RECORD_H

#include <stdio.h>

int am_record_main(int argc, char **argv);
void am_record_usage(FILE *to);

#endif /* AM_RECORD_H */
