/*
 * plotdriver.h: `allocmark plot` and `allocmark compare`, which run the Python
 * driver plot/allocmark_plot.py (standard library and gnuplot only) in this
 * process's place.
 *
 * Layering: depends on the C library only.
 */
#ifndef AM_PLOTDRIVER_H
#define AM_PLOTDRIVER_H

#include <stdio.h>

/* argv[0] is "plot" or "compare"; the rest goes to the driver as it is.
 * Returns only when the driver cannot be started (2: not found). */
int am_plot_main(int argc, char **argv);

#endif /* AM_PLOTDRIVER_H */
