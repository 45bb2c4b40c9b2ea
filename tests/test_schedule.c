/*
 * test_schedule.c: the run's schedule (harness/schedule.h): interleaved
 * passes that visit every cell once in an order fixed by the seed,
 * sequential cells back to back, warm-ups handed out first and numbered 0,
 * more repetitions only while a cell's interval is wider than the precision
 * asked (and never past max_reps), and the interval itself against values
 * worked out by hand (the same as plot/stats.py's, which
 * tests/plots/check_stats.py checks).
 */
#include <math.h>
#include <string.h>

#include "schedule.h"
#include "testhelper.h"

static void test_half_width(void)
{
    double few[5] = {1, 2, 3, 4, 5};
    CHECK(isinf(am_median_half_width(few, 5)), "below 6 values no 95 %% interval exists");
    double ten[10] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
    /* (x(2), x(9)) = (2, 9) around the median 5.5: (9 - 2) / 2 / 5.5. */
    CHECK(fabs(am_median_half_width(ten, 10) - 7.0 / 11.0) < 1e-12, "%g",
          am_median_half_width(ten, 10));
    double twenty[20];
    for (int i = 0; i < 20; i++)
        twenty[i] = 20 - i;
    /* (x(6), x(15)) = (6, 15) around 10.5. */
    CHECK(fabs(am_median_half_width(twenty, 20) - 4.5 / 10.5) < 1e-12, "%g",
          am_median_half_width(twenty, 20));
    double six[6] = {100, 100, 100, 100, 100, 100};
    CHECK(am_median_half_width(six, 6) == 0, "identical values: no width");
}

static void test_interleaved(void)
{
    struct am_schedule s, t;
    CHECK(am_schedule_init(&s, 7, AM_ORDER_INTERLEAVED, 42, 3, 1, 0, 3) == 0);
    CHECK(am_schedule_init(&t, 7, AM_ORDER_INTERLEAVED, 42, 3, 1, 0, 3) == 0);
    unsigned seen[7] = {0}, order[28], n = 0, cell, rep, other_cell, other_rep;
    bool warm, other_warm, differs_from_plan = false;
    while (am_schedule_next(&s, &cell, &warm, &rep)) {
        CHECK(am_schedule_next(&t, &other_cell, &other_warm, &other_rep) && other_cell == cell,
              "the same seed gives the same order");
        CHECK(n < 28, "no more than 7 x (1 + 3) repetitions");
        if (n >= 28)
            break;
        unsigned pass = n / 7;
        CHECK(seen[cell] == pass, "pass %u visits every cell once (cell %u seen %u times)", pass,
              cell, seen[cell]);
        CHECK(warm == (pass == 0) && rep == pass, "pass %u: warm-up %d, rep %u", pass, warm, rep);
        differs_from_plan |= cell != n % 7;
        seen[cell]++;
        order[n++] = cell;
        am_schedule_record(&s, cell, warm, 1e6);
        am_schedule_record(&t, cell, warm, 1e6);
    }
    CHECK(n == 28, "7 cells x (1 warm-up + 3 repetitions): %u", n);
    CHECK(differs_from_plan, "the passes are shuffled");
    am_schedule_free(&s);
    am_schedule_free(&t);

    CHECK(am_schedule_init(&s, 7, AM_ORDER_INTERLEAVED, 43, 3, 1, 0, 3) == 0);
    bool other_order = false;
    for (unsigned i = 0; i < 28 && am_schedule_next(&s, &cell, &warm, &rep); i++) {
        other_order |= cell != order[i];
        am_schedule_record(&s, cell, warm, 1e6);
    }
    CHECK(other_order, "another seed gives another order");
    am_schedule_free(&s);
}

static void test_sequential(void)
{
    struct am_schedule s;
    CHECK(am_schedule_init(&s, 3, AM_ORDER_SEQUENTIAL, 1, 2, 0, 0, 2) == 0);
    unsigned expect_cell[6] = {0, 0, 1, 1, 2, 2}, expect_rep[6] = {1, 2, 1, 2, 1, 2};
    unsigned cell, rep, n = 0;
    bool warm;
    while (am_schedule_next(&s, &cell, &warm, &rep) && n < 6) {
        CHECK(cell == expect_cell[n] && rep == expect_rep[n] && !warm,
              "sequential: step %u is cell %u rep %u (got %u, %u)", n, expect_cell[n],
              expect_rep[n], cell, rep);
        am_schedule_record(&s, cell, warm, NAN); /* failures count as repetitions */
        n++;
    }
    CHECK(n == 6 && !am_schedule_next(&s, &cell, &warm, &rep), "then nothing more");
    am_schedule_free(&s);
}

static void test_precision(void)
{
    /* Cell 0 always gives the same throughput: precise after its 6
     * repetitions. Cell 1 alternates 1 and 2 million: never within 1 %,
     * so it runs to the cap of 12. Cell 2 fails every time: no more
     * repetitions than planned. */
    struct am_schedule s;
    CHECK(am_schedule_init(&s, 3, AM_ORDER_INTERLEAVED, 7, 6, 0, 1.0, 12) == 0);
    unsigned cell, rep, count[3] = {0};
    bool warm;
    while (am_schedule_next(&s, &cell, &warm, &rep)) {
        CHECK(rep == count[cell] + 1, "repetitions are numbered in order");
        count[cell]++;
        double v = cell == 0 ? 5e6 : cell == 1 ? (count[1] % 2 ? 1e6 : 2e6) : NAN;
        am_schedule_record(&s, cell, warm, v);
        if (count[0] + count[1] + count[2] > 100)
            break;
    }
    CHECK(count[0] == 6, "a precise cell stops at its planned repetitions: %u", count[0]);
    CHECK(count[1] == 12, "an imprecise cell stops at max_reps: %u", count[1]);
    CHECK(count[2] == 6, "a failing cell stops at its planned repetitions: %u", count[2]);
    CHECK(am_schedule_imprecise(&s, 1) == false, "at the cap it is no longer asked for more");
    am_schedule_free(&s);
}

int main(void)
{
    test_half_width();
    test_interleaved();
    test_sequential();
    test_precision();
    CHECK(am_order_parse("interleaved") == AM_ORDER_INTERLEAVED &&
          am_order_parse("sequential") == AM_ORDER_SEQUENTIAL &&
          am_order_parse("random") == AM_ORDER_COUNT);
    return am_test_finish("schedule");
}
