/*
 * schedule.h: in which order `allocmark run` runs its cells, and how many
 * repetitions each gets. A cell here is one (allocator, workload, threads)
 * of the plan; the schedule hands out its repetitions:
 *
 *   interleaved (the default): pass 1 runs one repetition of every cell, in
 *     an order shuffled from the seed; pass 2 another, shuffled again; ...
 *     so that slow drift of the machine (another process, heat, the page
 *     cache) spreads over every allocator instead of landing on one;
 *   sequential: each cell's repetitions back to back, cells in plan order.
 *
 * The first `warmup` repetitions of each cell are run and discarded. With a
 * precision target, a cell gets more repetitions after the planned ones
 * until the 95 % confidence interval of its median throughput is within
 * +-precision % of the median (am_median_half_width), or it has max_reps.
 *
 * Layering: the C library only.
 */
#ifndef AM_SCHEDULE_H
#define AM_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

enum am_order { AM_ORDER_INTERLEAVED, AM_ORDER_SEQUENTIAL, AM_ORDER_COUNT };

/* "interleaved", "sequential"; AM_ORDER_COUNT for another word. */
enum am_order am_order_parse(const char *word);
const char *am_order_name(enum am_order order);

struct am_schedule_cell {
    unsigned warmups_done, reps_done; /* reps_done: kept repetitions, ok or not */
    double *values;                   /* throughput of the ok repetitions */
    unsigned n_values, capacity;
};

struct am_schedule {
    enum am_order order;
    uint64_t seed, rng;
    unsigned n_cells;
    unsigned reps, warmup, max_reps;
    double precision_pct; /* 0: none */
    struct am_schedule_cell *cells;
    unsigned *pass; /* the cells of the current pass, in running order */
    unsigned n_pass, at;
    unsigned long planned; /* repetitions planned so far, warm-ups included */
};

/* Set up a schedule of n_cells cells; max_reps >= reps (it is reps when no
 * precision is asked). Returns 0 or ENOMEM. */
int am_schedule_init(struct am_schedule *s, unsigned n_cells, enum am_order order, uint64_t seed,
                     unsigned reps, unsigned warmup, double precision_pct, unsigned max_reps);
void am_schedule_free(struct am_schedule *s);

/* The next repetition to run: the cell's index and whether it is a warm-up
 * (run, not kept), and its repetition number (from 1; 0 for a warm-up).
 * Returns false when every cell has what it needs. */
bool am_schedule_next(struct am_schedule *s, unsigned *cell, bool *warmup, unsigned *rep);

/* Record how the repetition handed out last for `cell` went: its throughput
 * when it succeeded, NaN when it failed. */
void am_schedule_record(struct am_schedule *s, unsigned cell, bool warmup, double ops_per_sec);

/* True when a cell with these values needs more repetitions for the
 * precision asked. */
bool am_schedule_imprecise(const struct am_schedule *s, unsigned cell);

/* Half the width of the 95 % order-statistic interval of the median of
 * values (n of them, any order), relative to the median; +infinity below 6
 * values (no such interval reaches 95 %). The same interval as
 * plot/stats.py's median_ci. */
double am_median_half_width(const double *values, unsigned n);

/* A seed from the clock and the process, for runs without --seed. */
uint64_t am_schedule_random_seed(void);

#endif /* AM_SCHEDULE_H */
