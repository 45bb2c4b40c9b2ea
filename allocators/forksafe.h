/*
 * forksafe.h: mutexes that fork cannot leave locked.
 *
 * A process that forks while another thread holds an allocator's mutex gives
 * the child a mutex locked by a thread that does not exist there, and the
 * child's first allocation hangs. Every mutex an allocator serialises with
 * (a backend's global lock, the front end's lock adapter) is registered here
 * once; before fork all of them are taken, in the order they were registered,
 * and both sides of the fork release them afterwards. Register an outer lock
 * before the locks taken inside it, so that fork takes them in the same order
 * as the code does. None of them may be held while the holder waits for
 * stdio (fork takes stdio's locks before these, as glibc does before its own
 * malloc's). In a process without threads fork takes none of them, so a
 * signal handler may fork whatever the code it interrupted holds.
 *
 * Layering: depends on the C library (pthreads) only.
 */
#ifndef AM_FORKSAFE_H
#define AM_FORKSAFE_H

#include <pthread.h>

/* Take m around every later fork. Registering it again changes nothing.
 * Returns 0, or EMFILE when the table of mutexes is full. */
int am__forksafe_register(pthread_mutex_t *m);
/* Stop taking m around fork (before m is destroyed). */
void am__forksafe_unregister(pthread_mutex_t *m);

#endif /* AM_FORKSAFE_H */
