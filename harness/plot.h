/*
 * plot.h: `allocmark plot` and `allocmark compare`, which run the Python
 * driver plot/allocmark_plot.py (standard library and gnuplot only) in this
 * process's place.
 *
 * Layering: depends on the C library only.
 */
#ifndef AM_PLOT_H
#define AM_PLOT_H

#include <stdio.h>

/* The lines of `allocmark help` for plot and compare. */
void am_plot_usage(FILE *to);

/* argv[0] is "plot" or "compare"; the rest goes to the driver as it is.
 * Returns only when the driver cannot be started (2: not found). */
int am_plot_main(int argc, char **argv);

#endif /* AM_PLOT_H */
