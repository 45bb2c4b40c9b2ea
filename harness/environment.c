/*
 * environment.c: reading the machine's noise-relevant state from /proc and
 * /sys (see environment.h).
 */
#include "environment.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

/* The first line of a file, without its newline; "" when it cannot be read. */
static void read_line(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(out, (int)len, f))
        out[strcspn(out, "\n")] = '\0';
    else
        out[0] = '\0';
    fclose(f);
}

/* "always [madvise] never" -> "madvise"; a line without brackets as it is. */
static void selected(const char *path, char *out, size_t len)
{
    char line[256];
    read_line(path, line, sizeof line);
    char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
    if (open && close) {
        *close = '\0';
        snprintf(out, len, "%s", open + 1);
    } else {
        snprintf(out, len, "%s", line);
    }
}

static int read_int(const char *path)
{
    char line[32];
    int v;
    read_line(path, line, sizeof line);
    return sscanf(line, "%d", &v) == 1 ? v : -1;
}

static void read_load(double load[3])
{
    char line[128];
    read_line("/proc/loadavg", line, sizeof line);
    if (sscanf(line, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        load[0] = load[1] = load[2] = -1;
}

void am_environment_probe(struct am_environment *env)
{
    memset(env, 0, sizeof *env);
    read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", env->governor,
              sizeof env->governor);
    /* acpi-cpufreq and amd-pstate say "boost"; intel_pstate says the
     * opposite, "no_turbo". */
    int boost = read_int("/sys/devices/system/cpu/cpufreq/boost");
    int no_turbo = read_int("/sys/devices/system/cpu/intel_pstate/no_turbo");
    if (boost >= 0)
        snprintf(env->boost, sizeof env->boost, "%s", boost ? "on" : "off");
    else if (no_turbo >= 0)
        snprintf(env->boost, sizeof env->boost, "%s", no_turbo ? "off" : "on");
    read_line("/sys/devices/system/cpu/smt/control", env->smt_control, sizeof env->smt_control);
    env->smt_active = read_int("/sys/devices/system/cpu/smt/active");
    selected("/sys/kernel/mm/transparent_hugepage/enabled", env->thp_enabled,
             sizeof env->thp_enabled);
    selected("/sys/kernel/mm/transparent_hugepage/defrag", env->thp_defrag, sizeof env->thp_defrag);
    env->aslr = read_int("/proc/sys/kernel/randomize_va_space");
    read_load(env->load_start);
    env->load_end[0] = env->load_end[1] = env->load_end[2] = -1;
}

void am_environment_finish(struct am_environment *env)
{
    read_load(env->load_end);
    env->have_end = true;
}

static void text_or_null(struct am_json *j, const char *key, const char *text)
{
    am_json_string(j, key, text && *text ? text : NULL);
}

static void load_json(struct am_json *j, const char *key, const double load[3])
{
    if (load[0] < 0) {
        am_json_string(j, key, NULL);
        return;
    }
    am_json_open(j, key, '[');
    for (int i = 0; i < 3; i++)
        am_json_double(j, NULL, load[i]);
    am_json_close(j, ']');
}

void am_environment_json(struct am_json *j, const struct am_environment *env, const char *pinned)
{
    am_json_open(j, "environment", '{');
    text_or_null(j, "governor", env->governor);
    text_or_null(j, "boost", env->boost);
    text_or_null(j, "smt_control", env->smt_control);
    if (env->smt_active >= 0)
        am_json_bool(j, "smt_active", env->smt_active == 1);
    else
        am_json_string(j, "smt_active", NULL);
    text_or_null(j, "thp_enabled", env->thp_enabled);
    text_or_null(j, "thp_defrag", env->thp_defrag);
    if (env->aslr >= 0)
        am_json_int(j, "aslr", env->aslr);
    else
        am_json_string(j, "aslr", NULL);
    load_json(j, "loadavg_start", env->load_start);
    load_json(j, "loadavg_end", env->have_end ? env->load_end : (double[3]){-1, -1, -1});
    text_or_null(j, "pinned", pinned);
    am_json_close(j, '}');
}
