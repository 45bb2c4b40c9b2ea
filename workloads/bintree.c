/*
 * bintree: binary trees, after the benchmarks game's binary-trees. Each
 * thread keeps one long-lived tree of depth max_depth and repeatedly builds,
 * walks and frees short-lived trees of depths min_depth, min_depth + 2, ...
 * (more of the small ones). Nodes are small, equal-sized and freed in the
 * order of a tree walk.
 */
#include "workload.h"

enum { OPS, MIN_DEPTH, MAX_DEPTH };

struct node {
    struct node *left, *right;
    uint64_t cookie; /* of the node's position: tree serial and heap index */
};

#define NODE_SIZE sizeof(struct node)

static uint64_t node_cookie(uint64_t tree, uint64_t index)
{
    return am_cookie(tree << 24 ^ index, NODE_SIZE);
}

/* Build a tree of the given depth whose root has heap index `index`; NULL
 * when an allocation failed (the part built so far is freed). */
static struct node *build(struct am_thread *t, uint64_t tree, uint64_t index, unsigned depth);

static void release(struct am_thread *t, struct node *n, uint64_t tree, uint64_t index)
{
    if (!n)
        return;
    struct node *left = n->left, *right = n->right;
    if (n->cookie != node_cookie(tree, index)) {
        am_measure_fail(t->m, AM_STATUS_CORRUPT, "a live tree node changed before it was freed");
        return; /* below a broken node nothing can be trusted */
    }
    am_op_free(t, n, NODE_SIZE);
    release(t, left, tree, 2 * index);
    release(t, right, tree, 2 * index + 1);
}

static struct node *build(struct am_thread *t, uint64_t tree, uint64_t index, unsigned depth)
{
    struct node *n = am_op_malloc(t, NODE_SIZE);
    if (!n) {
        am_measure_fail(t->m, AM_STATUS_OOM, "malloc(%zu) returned NULL after %llu operations",
                        NODE_SIZE, (unsigned long long)t->ops);
        return NULL;
    }
    n->left = n->right = NULL;
    n->cookie = node_cookie(tree, index);
    if (depth > 0) {
        n->left = build(t, tree, 2 * index, depth - 1);
        n->right = n->left ? build(t, tree, 2 * index + 1, depth - 1) : NULL;
        if (!n->right) {
            release(t, n, tree, index);
            return NULL;
        }
    }
    return n;
}

/* Nodes reached, every one checked. */
static uint64_t walk(struct am_thread *t, const struct node *n, uint64_t tree, uint64_t index)
{
    if (!n)
        return 0;
    if (n->cookie != node_cookie(tree, index)) {
        am_measure_fail(t->m, AM_STATUS_CORRUPT, "a live tree node changed while in use");
        return 0;
    }
    return 1 + walk(t, n->left, tree, 2 * index) + walk(t, n->right, tree, 2 * index + 1);
}

static void bintree_thread(struct am_thread *t, void *arg)
{
    const long *p = arg;
    unsigned min_depth = (unsigned)p[MIN_DEPTH], max_depth = (unsigned)p[MAX_DEPTH];
    uint64_t tree = (uint64_t)t->index << 32;
    uint64_t long_lived_id = tree++;
    struct node *long_lived = build(t, long_lived_id, 1, max_depth);
    while (long_lived && !am_op_done(t)) {
        for (unsigned d = min_depth; d <= max_depth && !am_op_done(t); d += 2) {
            for (uint64_t i = 0; i < (1ull << (max_depth - d)) && !am_op_done(t); i++) {
                uint64_t id = tree++;
                struct node *n = build(t, id, 1, d);
                if (!n)
                    break;
                uint64_t want = (2ull << d) - 1, got = walk(t, n, id, 1);
                if (got != want && !am_op_stopping(t))
                    am_measure_fail(t->m, AM_STATUS_CORRUPT, "a tree of %llu nodes walked %llu",
                                    (unsigned long long)want, (unsigned long long)got);
                release(t, n, id, 1);
            }
        }
    }
    if (long_lived && walk(t, long_lived, long_lived_id, 1))
        release(t, long_lived, long_lived_id, 1);
}

static void bintree_run(struct am_workload_ctx *c)
{
    am_parallel(c, bintree_thread, (void *)c->p, 0, false);
}

const struct am_workload am_bintree_workload = {
    .name = "bintree",
    .summary = "binary trees: build, walk, free; one long-lived tree per thread",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {40000, 6000000, 60000000}},
            {"min_depth", "depth of the smallest short-lived trees", {4, 4, 4}},
            {"max_depth", "depth of the long-lived tree and the largest others", {8, 14, 18}},
        },
    .prepare = NULL,
    .run = bintree_run,
};
