/*
 * plotdriver.c: `allocmark plot [RUN_DIR]`, `allocmark report [RUN_DIR]` and
 * `allocmark compare RUN_A RUN_B` are the Python driver's
 * (plot/allocmark_plot.py): exec python3 on it. Its
 * directory is AM_PLOT_DIR from the environment, else the one meson compiled
 * in (the source tree's plot/).
 */
#include "plotdriver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef AM_PLOT_DIR
#define AM_PLOT_DIR "plot"
#endif

void am_plot_usage(FILE *to)
{
    fprintf(to, "  plot [RUN_DIR]           charts and report of a run (default: results/latest)\n"
                "  report [RUN_DIR]         a run's table in the terminal: throughput against a\n"
                "                           baseline; --micro, --memcore, --conformance: the\n"
                "                           other tables (allocmark report --help)\n"
                "  compare RUN_A RUN_B      each cell's throughput ratio B/A with its interval,\n"
                "                           tested (Mann-Whitney, Holm); --aa RUN compares an\n"
                "                           --aa run's two copies (allocmark compare --help)\n");
}

int am_plot_main(int argc, char **argv)
{
    const char *dir = getenv("AM_PLOT_DIR");
    char script[4096];
    if (!dir || !*dir)
        dir = AM_PLOT_DIR;
    if ((size_t)snprintf(script, sizeof script, "%s/allocmark_plot.py", dir) >= sizeof script) {
        fprintf(stderr, "allocmark %s: AM_PLOT_DIR is too long\n", argv[0]);
        return AM_EXIT_USAGE;
    }
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "allocmark %s: %s: %s (AM_PLOT_DIR names allocmark's plot/ folder)\n",
                argv[0], script, strerror(errno));
        return AM_EXIT_USAGE;
    }
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args)
        return 1;
    /* Debian's python3 where there is one: apt's python3-numpy and
     * python3-scipy are installed for it, while a python3 earlier in PATH
     * (pyenv's, a virtualenv's) may lack them. */
    args[0] = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    args[1] = script;
    for (int i = 0; i < argc; i++)
        args[i + 2] = argv[i];
    execvp(args[0], args);
    fprintf(stderr, "allocmark %s: cannot run python3 %s: %s\n", argv[0], script, strerror(errno));
    free(args);
    return 1;
}
