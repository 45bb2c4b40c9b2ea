/*
 * environment.h: what of the machine's state changes benchmark results, read
 * when a run starts and ends, for metadata.json's "environment": the CPU
 * frequency governor and boost, SMT, transparent huge pages (mode and
 * defrag), address-space randomisation, the load average, and whether the
 * cells were pinned to CPUs. Anything the kernel does not expose (a virtual
 * machine often has no cpufreq) is recorded as null, never guessed.
 *
 * Layering: the C library, /proc, /sys and harness's JSON writer.
 */
#ifndef AM_ENVIRONMENT_H
#define AM_ENVIRONMENT_H

#include <stdbool.h>

struct am_environment {
    char governor[32];    /* scaling_governor of cpu0, "" when unknown */
    char boost[16];       /* "on", "off" or "" */
    char smt_control[16]; /* /sys/devices/system/cpu/smt/control, or "" */
    int smt_active;       /* 1, 0, or -1 when unknown */
    char thp_enabled[16]; /* the [selected] word, or "" */
    char thp_defrag[24];
    int aslr;                          /* randomize_va_space: 0, 1, 2; -1 unknown */
    double load_start[3], load_end[3]; /* negative when unknown */
    bool have_end;
};

struct am_json;

/* Read everything but the load average at the end. */
void am_environment_probe(struct am_environment *env);
/* The load average now, as the run's end. */
void am_environment_finish(struct am_environment *env);

/* The member "environment": {...}; pinned is the --pin CPU list, or NULL. */
void am_environment_json(struct am_json *j, const struct am_environment *env, const char *pinned);

#endif /* AM_ENVIRONMENT_H */
