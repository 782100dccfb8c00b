/* See pool.h. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 16

static int threads = 0; /* 0 = not initialised */
static pthread_t workers[MAX_THREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_ulong generation;  /* bumped for every job */
static atomic_int pending;       /* worker ranges not finished yet */
static int started = 0;          /* workers created */

static struct {
  range_fn fn;
  void *ctx;
  size_t n;
  int parts;
} job;

static void run_part(int part) {
  const size_t per = (job.n + (size_t)job.parts - 1) / (size_t)job.parts;
  size_t begin = per * (size_t)part, end = begin + per;
  if (end > job.n) end = job.n;
  if (begin < end) job.fn(job.ctx, begin, end);
}

static void *worker_main(void *arg) {
  const int index = (int)(size_t)arg; /* 1.. */
  unsigned long seen = 0;
  for (;;) {
    unsigned long g;
    int spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < 20000) {
      spins++;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (g == seen) {
      pthread_mutex_lock(&lock);
      while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &lock);
      pthread_mutex_unlock(&lock);
    }
    seen = g;
    if (index < job.parts) run_part(index);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
  }
  return NULL;
}

int pool_set_threads(int n) {
  if (threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (int)cores;
  }
  if (n > 0) threads = n > MAX_THREADS ? MAX_THREADS : n;
  return threads;
}

void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx) {
  int t = pool_set_threads(0);
  if (grain < 1) grain = 1;
  size_t useful = n / grain;
  int parts = useful < (size_t)t ? (int)useful : t;
  if (parts <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&lock);
  while (started < t - 1) {
    if (pthread_create(&workers[started], NULL, worker_main, (void *)(size_t)(started + 1)) != 0) break;
    started++;
  }
  if (parts > started + 1) parts = started + 1;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.parts = parts;
  atomic_store_explicit(&pending, started, memory_order_release);
  atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  run_part(0);
  for (int spins = 0; atomic_load_explicit(&pending, memory_order_acquire) > 0; spins++) {
    if (spins > 2000) sched_yield(); /* the worker may have lost its core to another process */
#if defined(__x86_64__) || defined(__i386__)
    else __builtin_ia32_pause();
#endif
  }
}
