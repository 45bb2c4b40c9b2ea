/*
 * fuzz_target.h: the allocator fuzz target's entry points, shared by the
 * libFuzzer build (fuzz_allocator.c linked with -fsanitize=fuzzer) and the
 * replay driver (replay.c) that runs committed inputs in ordinary builds.
 *
 * The target decodes its input into calls of the front end (malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc, usable_size) on one in-house
 * backend and checks every result against a shadow model. The input format is
 * described in fuzz_allocator.c and docs/fuzzing.md.
 *
 * Layering: depends on allocators/ (the front end) and the C library only.
 */
#ifndef AM_FUZZ_TARGET_H
#define AM_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Open the in-house backend called `name` for the target. Returns 0, or
 * prints why (an unknown name with the valid ones, a reference, a failing
 * init) to stderr and returns -1. Called once, before any input. */
int am_fuzz_open(const char *name);

/* libFuzzer's entry point: run one input. A mismatch with the model prints
 * what was wrong and aborts, so that libFuzzer keeps the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* AM_FUZZ_TARGET_H */
