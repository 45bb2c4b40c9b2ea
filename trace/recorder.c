/*
 * recorder.c: libam-trace-record.so, the recording library. Preloaded in
 * front of the process's real malloc (glibc's, or a library preloaded after
 * it), it passes every call of the malloc family through and appends one
 * record per call to its thread's buffer (spool.h), which it writes to the
 * spool in one write() when full, or when a call comes more than FLUSH_NS
 * after the buffer's first record (so a SIGKILL loses no more than that).
 *
 * The fast path takes no lock and touches nothing shared: a thread-local
 * buffer, the cycle counter, a release store of the committed length. A
 * flush by anyone but the owner (process exit, exec, a fatal signal) copies
 * the committed prefix under a sequence counter and never changes the
 * owner's buffer, so it needs no lock either; the converter drops the
 * records such a flush writes twice.
 *
 * Bootstrap: dlsym may call calloc before the real functions are known;
 * those calls get memory from a static arena, which free ignores.
 *
 * fork: the child stops recording (its copy of the buffers is the parent's
 * and is never written) unless AM_TRACE_FORKS=1, in which case it starts a
 * recording of its own under a new instance id. A child started by vfork or
 * posix_spawn (no fork handler runs) is told apart by its pid, which is not
 * AM_TRACE_PID, once it execs. exec: every buffer is
 * written first; the new image records under a new instance. _exit, exit
 * and the fatal signals write what is buffered.
 *
 * Layering: the trace library's recording side; depends on trace/spool.h,
 * trace/format.h, the C library and libdl. Built as its own shared library.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h> /* memalign, pvalloc */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "spool.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __attribute__((tls_model("initial-exec"))) __thread

/* A thread's buffer: large chunks mean few write()s. */
#define BUFFER_BYTES (256u << 10)
/* ... but never older than this: a thread writes its buffer before recording
 * a call made more than FLUSH_NS after the buffer's first record, so that a
 * SIGKILL, which no handler sees, loses at most that much of each thread's
 * recent calls (docs/trace-format.md, "How the recorder writes it"). */
#define FLUSH_NS 10000000u
/* The longest record: tag, four varints and a time delta. */
#define MAX_RECORD (1 + 6 * AM_VARINT_MAX)

/* ---------------------------------------------------------------------------
 * The real functions and the bootstrap arena
 * ------------------------------------------------------------------------ */

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static _Alignas(64) unsigned char boot_arena[64 << 10];
static atomic_size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    size_t at = atomic_fetch_add(&boot_used, n);
    if (at + n > sizeof boot_arena)
        return NULL;
    return boot_arena + at;
}

static bool is_boot(const void *p)
{
    return (const unsigned char *)p >= boot_arena &&
           (const unsigned char *)p < boot_arena + sizeof boot_arena;
}

/* ---------------------------------------------------------------------------
 * Per-thread buffers
 * ------------------------------------------------------------------------ */

struct tbuf {
    struct tbuf *next; /* every buffer of this process, newest first */
    uint32_t index;
    uint32_t tid;
    uint64_t first;          /* number of the buffer's first record */
    uint64_t opened;         /* the stamp of the buffer's first record */
    uint32_t records;        /* records in the buffer */
    atomic_size_t committed; /* bytes of whole records */
    atomic_uint gen;         /* odd while the owner resets the buffer */
    size_t len;              /* == committed, the owner's copy */
    uint64_t prev_tsc;
    uint64_t prev_ptr;
    uint8_t *buf; /* BUFFER_BYTES */
};

static atomic_int state; /* 0 not started, 1 starting, 2 recording, 3 passing through */
static int spool_fd = -1;
static uint32_t my_pid;
static uint64_t instance;
static _Atomic(struct tbuf *) all_buffers;
static atomic_uint next_index;
static pthread_key_t exit_key;
static bool follow_forks;
/* A flusher's private copy (exit, exec, signals: one at a time). */
static uint8_t *flush_copy;
static atomic_flag flushing = ATOMIC_FLAG_INIT;
/* FLUSH_NS in cycle-counter ticks: a guess (about 10 ms at 3.3 GHz) until
 * the first chunk written a millisecond after the start measures the rate. */
static _Atomic uint64_t flush_ticks = 1u << 25;
static uint64_t start_tsc, start_ns;

static TLS struct tbuf *my;
static TLS int in_hook;

static inline uint64_t tsc_before(void)
{
#if defined(__x86_64__)
    /* The call's stores must not start before the stamp is taken. */
    uint64_t t = __builtin_ia32_rdtsc();
    __builtin_ia32_lfence();
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static inline uint64_t tsc_after(void)
{
#if defined(__x86_64__)
    /* The stamp waits for the call to be done. */
    __builtin_ia32_lfence();
    return __builtin_ia32_rdtsc();
#else
    return tsc_before();
#endif
}

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_all(const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(spool_fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return; /* a full disk: the converter reports the gap */
        }
        b += k;
        n -= (size_t)k;
    }
}

/* Write one chunk: header and payload in one write() so that chunks of
 * different threads never interleave (O_APPEND). `at` holds room for the
 * header before the payload. */
static void emit(uint8_t *at, uint16_t kind, uint32_t bytes, uint32_t records, uint32_t index,
                 uint32_t tid, uint64_t first)
{
    struct am_spool_chunk h = {
        .magic = AM_SPOOL_MAGIC,
        .kind = kind,
        .version = AM_SPOOL_VERSION,
        .bytes = bytes,
        .records = records,
        .thread = index,
        .pid = my_pid,
        .tid = tid,
        .instance = instance,
        .first = first,
        .tsc = tsc_after(),
        .mono_ns = clock_ns(CLOCK_MONOTONIC),
        .real_ns = clock_ns(CLOCK_REALTIME),
    };
    if (h.mono_ns > start_ns + 1000000 && h.tsc > start_tsc)
        atomic_store_explicit(
            &flush_ticks,
            (uint64_t)((double)(h.tsc - start_tsc) * FLUSH_NS / (double)(h.mono_ns - start_ns)),
            memory_order_relaxed);
    memcpy(at, &h, sizeof h);
    int saved = errno;
    write_all(at, sizeof h + bytes);
    errno = saved;
}

static struct tbuf *new_tbuf(void)
{
    size_t size = sizeof(struct am_spool_chunk) + BUFFER_BYTES + 4096;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct tbuf *t = p;
    /* The payload follows room for a chunk header, so a flush is one write. */
    t->buf = (uint8_t *)p + 4096;
    t->index = atomic_fetch_add(&next_index, 1);
    t->tid = (uint32_t)syscall(SYS_gettid);
    struct tbuf *head = atomic_load(&all_buffers);
    do
        t->next = head;
    while (!atomic_compare_exchange_weak(&all_buffers, &head, t));
    pthread_setspecific(exit_key, t);
    return t;
}

/* The owner writes its whole buffer and starts it afresh. */
static void owner_flush(struct tbuf *t)
{
    if (t->records)
        emit(t->buf - sizeof(struct am_spool_chunk), AM_SPOOL_EVENTS, (uint32_t)t->len, t->records,
             t->index, t->tid, t->first);
    atomic_fetch_add_explicit(&t->gen, 1, memory_order_acq_rel);
    t->first += t->records;
    t->records = 0;
    t->len = 0;
    t->prev_tsc = 0;
    t->prev_ptr = 0;
    atomic_store_explicit(&t->committed, 0, memory_order_release);
    atomic_fetch_add_explicit(&t->gen, 1, memory_order_acq_rel);
}

/* Anyone writes what a buffer holds without touching it. The record count
 * is derived from the copied bytes, so it matches them. */
static void copy_flush(struct tbuf *t)
{
    for (int attempt = 0; attempt < 1000; attempt++) {
        unsigned g = atomic_load_explicit(&t->gen, memory_order_acquire);
        if (g & 1)
            continue; /* the owner is mid-reset: its data is already written */
        size_t n = atomic_load_explicit(&t->committed, memory_order_acquire);
        uint64_t first = t->first;
        uint8_t *dst = flush_copy + sizeof(struct am_spool_chunk);
        memcpy(dst, t->buf, n);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&t->gen, memory_order_relaxed) != g)
            continue;
        /* Count the records in the copy: walk their tags. */
        uint32_t records = 0;
        const uint8_t *p = dst, *end = dst + n;
        while (p < end) {
            unsigned op = *p++ & AM_TAG_OP_MASK;
            unsigned fields = op == AM_TOP_FREE      ? 1
                              : op == AM_TOP_REALLOC ? 4
                              : op == AM_TOP_CALLOC  ? 3
                              : (op == AM_TOP_POSIX_MEMALIGN || op == AM_TOP_ALIGNED_ALLOC ||
                                 op == AM_TOP_MEMALIGN)
                                  ? 3
                                  : 2;
            for (unsigned f = 0; f < fields + 1 && p < end; f++) {
                uint64_t v;
                int k = am_varint_get(p, end, &v);
                p += k > 0 ? k : end - p;
            }
            records++;
        }
        if (records)
            emit(flush_copy, AM_SPOOL_EVENTS, (uint32_t)n, records, t->index, t->tid, first);
        return;
    }
}

/* Every buffer of this process, as it stands: exit, exec, fatal signals. */
static void flush_all(void)
{
    if (atomic_load(&state) != 2 || (uint32_t)getpid() != my_pid || !flush_copy)
        return;
    if (atomic_flag_test_and_set(&flushing))
        return; /* another thread is flushing everything already */
    for (struct tbuf *t = atomic_load(&all_buffers); t; t = t->next)
        copy_flush(t);
    atomic_flag_clear(&flushing);
}

static void thread_exit(void *arg)
{
    struct tbuf *t = arg;
    if (t && atomic_load(&state) == 2 && (uint32_t)getpid() == my_pid) {
        in_hook++;
        owner_flush(t);
        in_hook--;
    }
}

/* ---------------------------------------------------------------------------
 * Start-up, fork, signals
 * ------------------------------------------------------------------------ */

static void hello(void)
{
    /* The command line, from /proc: read with no allocation. */
    uint8_t *at = flush_copy;
    size_t n = 0, cap = BUFFER_BYTES;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t k;
        while (n < cap && (k = read(fd, at + sizeof(struct am_spool_chunk) + n, cap - n)) > 0)
            n += (size_t)k;
        close(fd);
    }
    emit(at, AM_SPOOL_HELLO, (uint32_t)n, 0, 0, (uint32_t)syscall(SYS_gettid), 0);
}

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
        v = tsc_before() ^ ((uint64_t)getpid() << 32);
    return v | 1;
}

static void start_instance(void)
{
    start_tsc = tsc_after();
    start_ns = clock_ns(CLOCK_MONOTONIC);
    my_pid = (uint32_t)getpid();
    instance = random_u64();
    hello();
}

static void child_after_fork(void)
{
    if (atomic_load(&state) != 2)
        return;
    if (!follow_forks) {
        /* The buffers are the parent's: never write them from here. */
        atomic_store(&state, 3);
        unsetenv(AM_SPOOL_ENV);
        return;
    }
    atomic_store(&all_buffers, NULL);
    my = NULL;
    start_instance();
}

static const int fatal_signals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGABRT, SIGBUS,
                                    SIGFPE,  SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM,
                                    SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS};

static void on_fatal_signal(int sig)
{
    /* SA_RESETHAND made the action the default again: write what is
     * buffered, then let the signal do what it would have done. */
    int saved = errno;
    flush_all();
    raise(sig);
    errno = saved;
}

static void install_signal_handlers(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction old;
        if (sigaction(fatal_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL)
            continue; /* ignored or handled by the program: leave it alone */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = SA_RESETHAND | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

#define RESOLVE(name) real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name)

static void start(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
        while (atomic_load(&state) == 1)
            ; /* another thread is starting; its dlsym calls use the arena */
        return;
    }
    in_hook++;
    RESOLVE(malloc);
    RESOLVE(free);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(reallocarray);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    const char *path = getenv(AM_SPOOL_ENV);
    const char *f = getenv(AM_SPOOL_ENV_FORKS);
    follow_forks = f && !strcmp(f, "1");
    /* A process that is not the recorded one (a child started by vfork or
     * posix_spawn, which skip the fork handler) records only when asked. */
    const char *root = getenv(AM_SPOOL_ENV_PID);
    bool ours = !root || !*root || follow_forks || strtol(root, NULL, 10) == (long)getpid();
    int next = 3;
    if (path && *path && ours && real_malloc && real_free) {
        spool_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        void *p = mmap(NULL, sizeof(struct am_spool_chunk) + BUFFER_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (spool_fd >= 0 && p != MAP_FAILED && pthread_key_create(&exit_key, thread_exit) == 0) {
            flush_copy = p;
            pthread_atfork(NULL, NULL, child_after_fork);
            install_signal_handlers();
            start_instance();
            next = 2;
        }
    }
    in_hook--;
    atomic_store(&state, next);
}

__attribute__((constructor)) static void recorder_init(void)
{
    if (atomic_load(&state) == 0)
        start();
}

__attribute__((destructor)) static void recorder_fini(void)
{
    flush_all();
}

/* ---------------------------------------------------------------------------
 * Recording
 * ------------------------------------------------------------------------ */

/* The calling thread's buffer with room for a record stamped tsc, or NULL
 * when this call is not to be recorded. */
static inline struct tbuf *begin(uint64_t tsc)
{
    if (__builtin_expect(atomic_load_explicit(&state, memory_order_relaxed) != 2 || in_hook, 0))
        return NULL;
    struct tbuf *t = my;
    if (__builtin_expect(!t, 0)) {
        in_hook++;
        t = my = new_tbuf();
        in_hook--;
        if (!t)
            return NULL;
    }
    if (__builtin_expect(BUFFER_BYTES - t->len < MAX_RECORD ||
                             (t->records &&
                              (int64_t)(tsc - t->opened) > (int64_t)atomic_load_explicit(
                                                               &flush_ticks, memory_order_relaxed)),
                         0)) {
        in_hook++;
        owner_flush(t);
        in_hook--;
    }
    if (!t->records)
        t->opened = tsc;
    return t;
}

static inline uint8_t *put_time(struct tbuf *t, uint8_t *p, uint64_t tsc)
{
    p += am_varint_put(p, tsc - t->prev_tsc);
    t->prev_tsc = tsc;
    return p;
}

static inline uint8_t *put_ptr(struct tbuf *t, uint8_t *p, const void *ptr)
{
    uint64_t v = (uint64_t)(uintptr_t)ptr;
    p += am_varint_put(p, am_zigzag((int64_t)(v - t->prev_ptr)));
    t->prev_ptr = v;
    return p;
}

static inline void commit(struct tbuf *t, uint8_t *p)
{
    t->len = (size_t)(p - t->buf);
    t->records++;
    atomic_store_explicit(&t->committed, t->len, memory_order_release);
}

static void record_alloc(unsigned op, uint64_t tsc, uint64_t a, uint64_t b, uint64_t c,
                         const void *result)
{
    struct tbuf *t = begin(tsc);
    if (!t)
        return;
    uint8_t *p = t->buf + t->len;
    *p++ = (uint8_t)(op | (result ? 0 : AM_TAG_NULL));
    p = put_time(t, p, tsc);
    p += am_varint_put(p, a);
    if (op == AM_TOP_CALLOC || op == AM_TOP_POSIX_MEMALIGN || op == AM_TOP_ALIGNED_ALLOC ||
        op == AM_TOP_MEMALIGN)
        p += am_varint_put(p, b);
    (void)c;
    p = put_ptr(t, p, result);
    commit(t, p);
}

static void record_free(uint64_t tsc, const void *ptr)
{
    struct tbuf *t = begin(tsc);
    if (!t)
        return;
    uint8_t *p = t->buf + t->len;
    *p++ = AM_TOP_FREE;
    p = put_time(t, p, tsc);
    p = put_ptr(t, p, ptr);
    commit(t, p);
}

static void record_realloc(uint64_t tsc0, uint64_t tsc1, const void *old, size_t n,
                           const void *result)
{
    struct tbuf *t = begin(tsc0);
    if (!t)
        return;
    uint8_t *p = t->buf + t->len;
    *p++ = (uint8_t)(AM_TOP_REALLOC | (result ? 0 : AM_TAG_NULL));
    p = put_time(t, p, tsc0);
    p = put_ptr(t, p, old);
    p += am_varint_put(p, n);
    p = put_ptr(t, p, result);
    p += am_varint_put(p, tsc1 - tsc0);
    commit(t, p);
}

static inline bool ready(void)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (__builtin_expect(s >= 2, 1))
        return true;
    if (s == 0)
        start();
    return atomic_load(&state) >= 2;
}

/* ---------------------------------------------------------------------------
 * The interposed functions
 * ------------------------------------------------------------------------ */

EXPORT void *malloc(size_t n)
{
    if (!ready() || !real_malloc)
        return boot_alloc(n);
    void *p = real_malloc(n);
    record_alloc(AM_TOP_MALLOC, tsc_after(), n, 0, 0, p);
    return p;
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
    if (!ready() || !real_calloc) {
        size_t n;
        if (__builtin_mul_overflow(nmemb, size, &n))
            return NULL;
        return boot_alloc(n); /* the arena is zeroed and never reused */
    }
    void *p = real_calloc(nmemb, size);
    record_alloc(AM_TOP_CALLOC, tsc_after(), nmemb, size, 0, p);
    return p;
}

EXPORT void free(void *p)
{
    if (is_boot(p))
        return;
    if (!ready() || !real_free)
        return;
    record_free(tsc_before(), p);
    real_free(p);
}

static void *realloc_from_boot(void *old, size_t n)
{
    void *p = malloc(n);
    if (p && old) {
        size_t room = (size_t)(boot_arena + sizeof boot_arena - (unsigned char *)old);
        memcpy(p, old, n < room ? n : room);
    }
    return p;
}

EXPORT void *realloc(void *old, size_t n)
{
    if (is_boot(old))
        return realloc_from_boot(old, n);
    if (!ready() || !real_realloc)
        return boot_alloc(n);
    uint64_t t0 = tsc_before();
    void *p = real_realloc(old, n);
    record_realloc(t0, tsc_after(), old, n, p);
    return p;
}

EXPORT void *reallocarray(void *old, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!ready() || !real_posix_memalign)
        return ENOMEM;
    int rc = real_posix_memalign(out, align, n);
    record_alloc(AM_TOP_POSIX_MEMALIGN, tsc_after(), align, n, 0, rc == 0 ? *out : NULL);
    return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!ready() || !real_aligned_alloc)
        return NULL;
    void *p = real_aligned_alloc(align, n);
    record_alloc(AM_TOP_ALIGNED_ALLOC, tsc_after(), align, n, 0, p);
    return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
    if (!ready() || !real_memalign)
        return NULL;
    void *p = real_memalign(align, n);
    record_alloc(AM_TOP_MEMALIGN, tsc_after(), align, n, 0, p);
    return p;
}

EXPORT void *valloc(size_t n)
{
    if (!ready() || !real_valloc)
        return NULL;
    void *p = real_valloc(n);
    record_alloc(AM_TOP_VALLOC, tsc_after(), n, 0, 0, p);
    return p;
}

EXPORT void *pvalloc(size_t n)
{
    if (!ready() || !real_pvalloc)
        return NULL;
    void *p = real_pvalloc(n);
    record_alloc(AM_TOP_PVALLOC, tsc_after(), n, 0, 0, p);
    return p;
}

/* ---------------------------------------------------------------------------
 * Leaving the process image: exec and _exit write what is buffered
 * ------------------------------------------------------------------------ */

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    flush_all();
    return REAL("execve", int (*)(const char *, char *const[], char *const[]))(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
    flush_all();
    return REAL("execv", int (*)(const char *, char *const[]))(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
    flush_all();
    return REAL("execvp", int (*)(const char *, char *const[]))(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    flush_all();
    return REAL("execvpe", int (*)(const char *, char *const[], char *const[]))(file, argv, envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    flush_all();
    return REAL("fexecve", int (*)(int, char *const[], char *const[]))(fd, argv, envp);
}

/* The execl family, whose glibc versions call execve internally. */
#define MAX_EXECL_ARGS 4096

static int collect(const char *arg0, va_list ap, char **argv)
{
    int n = 0;
    argv[n++] = (char *)arg0;
    while (argv[n - 1] && n < MAX_EXECL_ARGS)
        argv[n++] = va_arg(ap, char *);
    if (argv[n - 1]) {
        errno = E2BIG;
        return -1;
    }
    return n;
}

EXPORT int execl(const char *path, const char *arg, ...)
{
    char *argv[MAX_EXECL_ARGS];
    va_list ap;
    va_start(ap, arg);
    int n = collect(arg, ap, argv);
    va_end(ap);
    return n < 0 ? -1 : execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *argv[MAX_EXECL_ARGS];
    va_list ap;
    va_start(ap, arg);
    int n = collect(arg, ap, argv);
    va_end(ap);
    return n < 0 ? -1 : execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
    char *argv[MAX_EXECL_ARGS];
    va_list ap;
    va_start(ap, arg);
    int n = collect(arg, ap, argv);
    char *const *envp = n < 0 ? NULL : va_arg(ap, char *const *);
    va_end(ap);
    return n < 0 ? -1 : execve(path, argv, envp);
}

EXPORT void _exit(int status)
{
    flush_all();
    REAL("_exit", void (*)(int))(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    flush_all();
    REAL("_Exit", void (*)(int))(status);
    __builtin_unreachable();
}
