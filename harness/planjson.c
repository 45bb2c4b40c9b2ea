/*
 * planjson.c: the plan as metadata.json records it (see plan.h): written
 * straight into the metadata document each time it is written, so nothing
 * is spliced.
 */
#include "plan.h"

#include "measure.h"

void am_plan_json(struct am_json *j, const void *ctx)
{
    const struct am_plan *plan = ctx;
    am_json_int(j, "reps", plan->reps);
    am_json_open(j, "threads", '[');
    for (unsigned i = 0; i < plan->n_threads; i++)
        am_json_int(j, NULL, plan->threads[i]);
    am_json_close(j, ']');
    am_json_double(j, "budget_s", plan->budget_s);
    am_json_double(j, "timeout_s", plan->timeout_s);
    am_json_int(j, "mem_limit_mib", (long long)plan->mem_limit_mib);
    am_json_string(j, "order", am_order_name(plan->order));
    am_json_int(j, "seed", (long long)plan->seed);
    am_json_int(j, "warmup", plan->warmup);
    am_json_bool(j, "aa", plan->aa);
    if (plan->precision_pct > 0) {
        am_json_double(j, "precision_pct", plan->precision_pct);
        am_json_int(j, "max_reps", plan->max_reps);
    }
    am_json_open(j, "clock", '{');
    am_json_string(j, "source", am_clock_source());
    am_json_double(j, "hz", plan->clock_hz);
    am_json_close(j, '}');
    am_json_open(j, "allocators", '[');
    for (unsigned i = 0; i < plan->n_allocators; i++) {
        const struct am_allocator *a = plan->allocator[i];
        char caps[160];
        am_json_open(j, NULL, '{');
        am_json_string(j, "name", a->name);
        am_json_string(j, "summary", a->summary);
        am_json_string(j, "capabilities", am_caps_describe(a->caps, caps, sizeof caps));
        am_json_close(j, '}');
    }
    am_json_close(j, ']');
    am_json_open(j, "workloads", '[');
    for (unsigned i = 0; i < plan->n_workloads; i++) {
        const struct am_workload *w = plan->workload[i];
        am_json_open(j, NULL, '{');
        am_json_string(j, "name", w->name);
        am_json_string(j, "summary", w->summary);
        am_json_bool(j, "threaded", w->threaded);
        am_json_open(j, "params", '{');
        for (unsigned k = 0; k < am_workload_param_count(w); k++)
            am_json_int(j, w->params[k].name, w->params[k].value[plan->profile]);
        am_json_close(j, '}');
        am_json_close(j, '}');
    }
    am_json_close(j, ']');
    am_probe_json(j, plan->references, plan->n_references);
    am_environment_json(j, &plan->env, plan->pinned ? plan->pin_text : NULL);
}
