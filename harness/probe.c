/*
 * probe.c: asking each reference's library what it is (see probe.h), both
 * sides: the hidden child sub-command and the parent that gathers answers.
 */
#include "probe.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arglist.h"
#include "cli.h"
#include "signals.h"
#include "spawnproc.h"

int am_info_child_main(int argc, char **argv)
{
    const struct am_allocator *a = am_arglist_only_allocator(argc, argv);
    if (!a)
        return AM_EXIT_USAGE;
    struct am_heap heap;
    int err = am_heap_open(&heap, a, 0);
    if (err) {
        printf("error cannot open %s: %s\n", a->name, strerror(err));
        return 1;
    }
    char version[256];
    if (a->version && a->version(version, sizeof version))
        printf("version %s\n", version);
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname)
        printf("library %s\n", info.dli_fname);
    am_heap_close(&heap);
    return 0;
}

static void read_facts(char *output, struct am_library_facts *f)
{
    char *save = NULL;
    for (char *line = strtok_r(output, "\n", &save); line && f->n < AM_PROBE_MAX_FACTS;
         line = strtok_r(NULL, "\n", &save)) {
        char *value = strchr(line, ' ');
        if (!value)
            continue;
        *value++ = '\0';
        snprintf(f->fact[f->n].key, sizeof f->fact[f->n].key, "%s", line);
        snprintf(f->fact[f->n].value, sizeof f->fact[f->n].value, "%s", value);
        f->n++;
    }
}

unsigned am_probe_references(const char *self, struct am_library_facts *out, unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < am_registry_count && n < max && !am_signals_interrupted(); i++) {
        const struct am_allocator *a = am_registry[i];
        if (!(a->caps & AM_CAP_PROCESS_MALLOC))
            continue;
        struct am_library_facts *f = &out[n++];
        memset(f, 0, sizeof *f);
        f->allocator = a;
        char *argv[] = {(char *)self, AM_INFO_CHILD, (char *)a->name, NULL};
        /* What a failing probe says on stderr is noise here. */
        int quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        struct am_spawn_options opt = am_spawn_defaults();
        opt.timeout_s = 10;
        opt.stderr_fd = quiet;
        opt.cancel_fd = am_signals_cancel_fd();
        struct am_child child;
        int err = am_spawn(a, argv, &opt, &child);
        if (quiet >= 0)
            close(quiet);
        if (err == 0) {
            read_facts(child.output, f);
            free(child.output);
        }
    }
    return n;
}

void am_probe_json(struct am_json *j, const struct am_library_facts *facts, unsigned n)
{
    am_json_open(j, "reference_libraries", '{');
    for (unsigned i = 0; i < n; i++) {
        const struct am_library_facts *f = &facts[i];
        am_json_open(j, f->allocator->name, '{');
        am_json_string(j, "preload", f->allocator->preload);
        for (unsigned k = 0; k < f->n; k++)
            am_json_string(j, f->fact[k].key, f->fact[k].value);
        am_json_close(j, '}');
    }
    am_json_close(j, '}');
}
