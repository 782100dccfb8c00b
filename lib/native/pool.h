/*
 * A tiny thread pool for elementwise kernels: parallel_for(n, grain, fn, ctx) splits [0, n) into one contiguous
 * range per thread (the calling thread takes the first) and returns when all are done. Small jobs (n < 2·grain)
 * run on the calling thread alone: waking a thread costs some microseconds.
 *
 * Workers spin briefly for the next job, then sleep on a condition variable, so an idle pool takes no CPU from
 * OpenBLAS's threads or from the JavaScript thread.
 */
#ifndef TIAOYU_POOL_H
#define TIAOYU_POOL_H
#include <stddef.h>

typedef void (*range_fn)(void *ctx, size_t begin, size_t end);

/** Sets the number of threads (1 = no workers); returns the number in effect. */
int pool_set_threads(int n);
void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx);
#endif
