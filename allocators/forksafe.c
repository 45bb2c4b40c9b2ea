/*
 * forksafe.c: the table of mutexes taken around fork (see forksafe.h).
 *
 * The order of locks across fork follows glibc's own for its malloc: in a
 * process with threads, glibc's fork takes stdio's list lock after every
 * pthread_atfork prepare handler and its malloc locks after that, because a
 * thread may wait in malloc while it holds a FILE's lock, and a thread in
 * fflush(NULL) holds the list lock while it waits for that FILE. A prepare
 * handler that took an allocator's lock first would close the circle (fork
 * waits for the list lock, fflush for the FILE, the FILE's holder for the
 * allocator). So the prepare handler takes the list lock itself before any
 * allocator lock (it is recursive: glibc's own take inside fork nests in
 * ours), and releases it after them.
 *
 * In a process without threads nothing is locked at all, as glibc does not
 * lock its malloc there: no other thread can hold a lock, and the only way to
 * find one held is a signal handler that forks while the code it interrupted
 * holds it, which would otherwise wait for itself forever.
 */
#include "forksafe.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/single_threaded.h>

/* glibc's stdio list lock (libio, exported since glibc 2.2.5 and taken by
 * fork itself; recursive). */
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);
extern void _IO_list_resetlock(void);

/* Backends and heaps open at once in one process: a handful at most. */
#define MAX_MUTEXES 32

static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *table[MAX_MUTEXES]; /* registration order, NULL gaps */
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
/* Whether the fork under way took the locks; written by the prepare handler
 * of the forking thread before the others run. */
static bool held_across_fork;

static void before_fork(void)
{
    if (__libc_single_threaded) {
        held_across_fork = false;
        return;
    }
    _IO_list_lock();
    pthread_mutex_lock(&table_mutex);
    for (int i = 0; i < MAX_MUTEXES; i++)
        if (table[i])
            pthread_mutex_lock(table[i]);
    held_across_fork = true;
}

static void after_fork_parent(void)
{
    if (!held_across_fork)
        return;
    held_across_fork = false;
    for (int i = MAX_MUTEXES - 1; i >= 0; i--)
        if (table[i])
            pthread_mutex_unlock(table[i]);
    pthread_mutex_unlock(&table_mutex);
    _IO_list_unlock();
}

/* The child has one thread, the one that forked, and it holds every lock:
 * they are made new rather than unlocked, so that nothing depends on how the
 * C library records a lock's owner across fork. */
static void after_fork_child(void)
{
    if (!held_across_fork)
        return;
    held_across_fork = false;
    for (int i = MAX_MUTEXES - 1; i >= 0; i--)
        if (table[i])
            pthread_mutex_init(table[i], NULL);
    pthread_mutex_init(&table_mutex, NULL);
    /* glibc has already reset it in a child of a threaded process; doing it
     * again is harmless, and right should it not have. */
    _IO_list_resetlock();
}

static void install_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
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
