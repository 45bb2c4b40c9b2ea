/*
 * plugin.c: a library that allocates in its constructor, hands blocks to its
 * loader and frees the loader's blocks, for the drop-in tests' dlopen/dlclose
 * case (dropin_life.c).
 */
#include <stdlib.h>
#include <string.h>

void *am_plugin_take(void *from_main);

static char *held[64];

__attribute__((constructor)) static void plugin_load(void)
{
    for (int i = 0; i < 64; i++) {
        held[i] = malloc((size_t)16 << (i % 12));
        if (held[i])
            memset(held[i], 0x5a, 16);
    }
}

__attribute__((destructor)) static void plugin_unload(void)
{
    for (int i = 0; i < 64; i++)
        free(held[i]);
}

/* Frees a block the loader allocated and returns one of its own. */
void *am_plugin_take(void *from_main)
{
    free(from_main);
    char *p = malloc(1000);
    if (p)
        memset(p, 0x77, 1000);
    return p;
}
