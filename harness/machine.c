/*
 * machine.c: the machine's facts for metadata.json (see machine.h).
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The value of the first "key : value" line of /proc/cpuinfo. */
static void cpuinfo_field(const char *key, struct am_text *out)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    size_t klen = strlen(key);
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, key, klen) != 0 ||
            (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
            continue;
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ')
            v++;
        v[strcspn(v, "\n")] = '\0';
        am_text_puts(out, v);
        break;
    }
    free(line);
    fclose(f);
}

/* The first line of a small file, without its newline. */
static void first_line(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static void text_member(struct am_json *j, const char *key, struct am_text *t)
{
    am_json_string(j, key, t->s ? t->s : "");
    am_text_free(t);
}

void am_machine_describe(struct am_json *j)
{
    am_json_open(j, "machine", '{');
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    am_json_string(j, "hostname", host);
    struct am_text t = {0};
    cpuinfo_field("model name", &t);
    text_member(j, "cpu_model", &t);
    cpuinfo_field("flags", &t);
    text_member(j, "cpu_flags", &t);
    am_json_int(j, "nproc", sysconf(_SC_NPROCESSORS_ONLN));
    am_json_int(j, "memory_bytes", (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
    am_json_int(j, "page_size", sysconf(_SC_PAGESIZE));
    struct utsname u;
    if (uname(&u) == 0) {
        am_text_printf(&t, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
        text_member(j, "kernel", &t);
    }
    char line[256];
    first_line("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof line);
    am_json_string(j, "transparent_hugepages", line);
    first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", line,
               sizeof line);
    am_json_string(j, "clocksource", line);
    am_json_close(j, '}');
}
