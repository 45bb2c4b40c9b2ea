/*
 * forksafe.c: the table of mutexes taken around fork (see forksafe.h).
 */
#include "forksafe.h"

#include <errno.h>
#include <stddef.h>

/* Backends and heaps open at once in one process: a handful at most. */
#define MAX_MUTEXES 32

static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *table[MAX_MUTEXES]; /* registration order, NULL gaps */
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void before_fork(void)
{
    pthread_mutex_lock(&table_mutex);
    for (int i = 0; i < MAX_MUTEXES; i++)
        if (table[i])
            pthread_mutex_lock(table[i]);
}

static void after_fork(void)
{
    for (int i = MAX_MUTEXES - 1; i >= 0; i--)
        if (table[i])
            pthread_mutex_unlock(table[i]);
    pthread_mutex_unlock(&table_mutex);
}

static void install_handlers(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

int am__forksafe_register(pthread_mutex_t *m)
{
    pthread_once(&handlers_once, install_handlers);
    int err = EMFILE, free_slot = -1;
    pthread_mutex_lock(&table_mutex);
    for (int i = 0; i < MAX_MUTEXES; i++) {
        if (table[i] == m) {
            free_slot = -1;
            err = 0;
            break;
        }
        /* The slot after the last used one keeps registration order. */
        if (table[i])
            free_slot = -1;
        else if (free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0) {
        table[free_slot] = m;
        err = 0;
    }
    pthread_mutex_unlock(&table_mutex);
    return err;
}

void am__forksafe_unregister(pthread_mutex_t *m)
{
    pthread_mutex_lock(&table_mutex);
    for (int i = 0; i < MAX_MUTEXES; i++)
        if (table[i] == m)
            table[i] = NULL;
    pthread_mutex_unlock(&table_mutex);
}
