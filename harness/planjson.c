/*
 * planjson.c: the plan as metadata.json records it (see plan.h): written
 * straight into the metadata document each time it is written, so nothing
 * is spliced.
 */
#include "plan.h"

#include "measure.h"
#include "progcell.h"

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
        if (w->fixed_threads) /* a trace replay: the recording's threads */
            am_json_int(j, "fixed_threads", w->fixed_threads);
        am_json_open(j, "params", '{');
        for (unsigned k = 0; k < am_workload_param_count(w); k++)
            am_json_int(j, w->params[k].name, w->params[k].value[plan->profile]);
        am_json_close(j, '}');
        am_json_close(j, '}');
    }
    am_json_close(j, ']');
    am_json_open(j, "programs", '[');
    for (size_t i = 0; i < plan->programs.n; i++) {
        const struct am_program *p = plan->programs.p[i];
        am_json_open(j, NULL, '{');
        am_json_string(j, "name", p->name);
        am_json_string(j, "origin", p->origin);
        am_json_string(j, "summary", p->summary);
        am_json_string(j, "stresses", p->stresses);
        if (p->argv) {
            am_json_open(j, "argv", '[');
            for (char **a = p->argv; *a; a++)
                am_json_string(j, NULL, *a);
            am_json_close(j, ']');
        } else {
            am_json_string(j, "command", p->command);
        }
        am_json_string(j, "server", p->server);
        am_json_string(j, "generate", p->generate);
        am_json_int(j, "scale", p->scale[plan->profile]);
        static const char *const checks[] = {"glibc", "command", "expect", "none"};
        am_json_string(j, "check", checks[p->check]);
        am_json_string(j, "check_arg", p->check_arg);
        am_json_string(j, "merit", p->merit_arg);
        am_json_string(j, "merit_unit", p->merit_unit);
        am_json_close(j, '}');
    }
    am_json_close(j, ']');
    am_json_double(j, "program_sample_interval_s", AM_PLAN_PROGRAM_SAMPLE_INTERVAL_S);
    am_json_double(j, "program_timeout_s",
                   plan->timeout_given ? plan->timeout_s
                                       : am_progrun_profile_timeout(plan->profile));
    am_json_string(j, "program_order",
                   "with the workload cells, in the run's order (metadata order, seed); "
                   "a glibc run that is not a cell gives a program's reference output when "
                   "another allocator's cell comes before any of glibc's");
    am_probe_json(j, plan->references, plan->n_references);
    am_environment_json(j, &plan->env, plan->pinned ? plan->pin_text : NULL);
}
