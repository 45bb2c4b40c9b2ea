/*
 * schedule.c: the order of a run's repetitions and when a cell has enough
 * of them (see schedule.h).
 */
#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const order_names[AM_ORDER_COUNT] = {
    [AM_ORDER_INTERLEAVED] = "interleaved",
    [AM_ORDER_SEQUENTIAL] = "sequential",
};

enum am_order am_order_parse(const char *word)
{
    for (int i = 0; i < AM_ORDER_COUNT; i++)
        if (strcmp(word, order_names[i]) == 0)
            return (enum am_order)i;
    return AM_ORDER_COUNT;
}

const char *am_order_name(enum am_order order)
{
    return order < AM_ORDER_COUNT ? order_names[order] : "?";
}

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t am_schedule_random_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t state =
        (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    /* Keep it short enough to type back as --seed. */
    return next_random(&state) % 1000000000ull;
}

int am_schedule_init(struct am_schedule *s, unsigned n_cells, enum am_order order, uint64_t seed,
                     unsigned reps, unsigned warmup, double precision_pct, unsigned max_reps)
{
    memset(s, 0, sizeof *s);
    s->order = order;
    s->seed = s->rng = seed;
    s->n_cells = n_cells;
    s->reps = reps;
    s->warmup = warmup;
    s->precision_pct = precision_pct;
    s->max_reps = max_reps > reps ? max_reps : reps;
    s->cells = calloc(n_cells ? n_cells : 1, sizeof *s->cells);
    s->pass = calloc(n_cells ? n_cells : 1, sizeof *s->pass);
    if (!s->cells || !s->pass) {
        am_schedule_free(s);
        return ENOMEM;
    }
    s->planned = (unsigned long)n_cells * (reps + warmup);
    return 0;
}

void am_schedule_free(struct am_schedule *s)
{
    for (unsigned i = 0; s->cells && i < s->n_cells; i++)
        free(s->cells[i].values);
    free(s->cells);
    free(s->pass);
    s->cells = NULL;
    s->pass = NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double am_median_half_width(const double *values, unsigned n)
{
    if (n < 6)
        return INFINITY;
    double *x = malloc(n * sizeof *x);
    if (!x)
        return INFINITY;
    memcpy(x, values, n * sizeof *x);
    qsort(x, n, sizeof *x, compare_doubles);
    /* The widest k whose interval (x(k), x(n+1-k)) covers the median with
     * probability 1 - 2 P(Binomial(n, 1/2) <= k - 1) >= 95 %. */
    double pmf = pow(0.5, n), cdf = 0;
    unsigned k = 1;
    for (unsigned j = 1; j <= n / 2; j++) {
        cdf += pmf; /* now P(X <= j - 1) */
        if (1 - 2 * cdf < 0.95)
            break;
        k = j;
        pmf *= (double)(n - (j - 1)) / (double)j; /* P(X = j) */
    }
    double median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    double half = median > 0 ? (x[n - k] - x[k - 1]) / 2 / median : INFINITY;
    free(x);
    return half;
}

bool am_schedule_imprecise(const struct am_schedule *s, unsigned cell)
{
    const struct am_schedule_cell *c = &s->cells[cell];
    if (s->precision_pct <= 0 || c->reps_done >= s->max_reps)
        return false;
    /* A cell whose repetitions all failed gets no more of them. */
    if (c->n_values == 0)
        return false;
    return am_median_half_width(c->values, c->n_values) * 100 > s->precision_pct;
}

static bool wants_more(const struct am_schedule *s, unsigned cell)
{
    const struct am_schedule_cell *c = &s->cells[cell];
    return c->warmups_done < s->warmup || c->reps_done < s->reps || am_schedule_imprecise(s, cell);
}

/* The cells that want another repetition, shuffled (interleaved) or in plan
 * order (sequential: the first one only, until it is done). */
static void plan_pass(struct am_schedule *s)
{
    s->n_pass = s->at = 0;
    for (unsigned i = 0; i < s->n_cells; i++) {
        if (!wants_more(s, i))
            continue;
        s->pass[s->n_pass++] = i;
        if (s->order == AM_ORDER_SEQUENTIAL)
            break;
    }
    for (unsigned i = s->n_pass; i > 1; i--) { /* Fisher-Yates */
        unsigned j = (unsigned)(next_random(&s->rng) % i);
        unsigned t = s->pass[i - 1];
        s->pass[i - 1] = s->pass[j];
        s->pass[j] = t;
    }
}

bool am_schedule_next(struct am_schedule *s, unsigned *cell, bool *warmup, unsigned *rep)
{
    if (s->at >= s->n_pass) {
        plan_pass(s);
        if (s->n_pass == 0)
            return false;
    }
    unsigned i = s->pass[s->at++];
    struct am_schedule_cell *c = &s->cells[i];
    *cell = i;
    *warmup = c->warmups_done < s->warmup;
    *rep = *warmup ? 0 : c->reps_done + 1;
    if (!*warmup && c->reps_done >= s->reps)
        s->planned++; /* a repetition the precision asked for */
    return true;
}

void am_schedule_record(struct am_schedule *s, unsigned cell, bool warmup, double ops_per_sec)
{
    struct am_schedule_cell *c = &s->cells[cell];
    if (warmup) {
        c->warmups_done++;
        return;
    }
    c->reps_done++;
    if (isnan(ops_per_sec))
        return;
    if (c->n_values == c->capacity) {
        unsigned cap = c->capacity ? 2 * c->capacity : 8;
        double *v = realloc(c->values, cap * sizeof *v);
        if (!v)
            return; /* the value is lost; the cell simply looks less precise */
        c->values = v;
        c->capacity = cap;
    }
    c->values[c->n_values++] = ops_per_sec;
}
