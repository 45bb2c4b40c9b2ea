/*
 * replay.c: the fuzz target without libFuzzer. Runs committed inputs (the
 * seed corpus, the regressions: inputs that once failed) through the same
 * target on one backend, so that every ordinary build tests them:
 *
 *   fuzz-replay BACKEND PATH...
 *
 * A PATH is a file or a directory whose regular files are run in name order.
 * Each input's name is printed before it runs, so a failure (the target
 * prints what was wrong and aborts) names the input that caused it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

#define MAX_INPUT_BYTES ((size_t)1 << 20)

static unsigned char input[MAX_INPUT_BYTES];

/* 0 on success, -1 after printing why. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz-replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(input, 1, sizeof input, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "fuzz-replay: cannot read %s (or it is over %zu bytes)\n", path,
                MAX_INPUT_BYTES);
        return -1;
    }
    printf("%s (%zu bytes)\n", path, n);
    fflush(stdout);
    LLVMFuzzerTestOneInput(input, n);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The number of inputs run, or -1 after printing why. */
static long replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path) == 0 ? 1 : -1;
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "fuzz-replay: cannot list %s: %s\n", path, strerror(errno));
        return -1;
    }
    long done = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        struct stat fst;
        snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(file, &fst) == 0 && S_ISREG(fst.st_mode)) {
            if (replay_file(file) != 0) {
                done = -1;
                break;
            }
            done++;
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz-replay BACKEND PATH...  (files, or directories of them)\n");
        return 2;
    }
    if (am_fuzz_open(argv[1]) != 0)
        return 2;
    long total = 0;
    for (int i = 2; i < argc; i++) {
        long n = replay_path(argv[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("%ld inputs replayed on %s\n", total, argv[1]);
    return 0;
}
