/* See pool.h. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#define MAX_THREADS 16
#define CHUNKS_PER_THREAD 4

static int threads = 0; /* 0 = not initialised */
static pthread_t workers[MAX_THREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_ulong generation; /* bumped for every job */
static int started = 0;         /* workers created */

/*
 * A job is cut into more chunks than threads, and every thread — the caller included — claims chunks from a
 * shared counter until none are left. So when a worker is slow to wake (another process has its core), the
 * caller simply does its share too instead of waiting: on a busy machine this degrades to one thread, never worse.
 *
 * The counter carries the job's generation in its high 32 bits, so a worker that wakes late for a finished job
 * cannot claim (or count) a chunk of the next one with the old job's description.
 */
struct job {
  range_fn fn;
  void *ctx;
  size_t n, chunk, chunks;
  uint32_t gen;
};
static struct job current;       /* written under `lock` */
static _Atomic uint64_t claim;   /* gen << 32 | next chunk */
static atomic_size_t done;       /* chunks of the current job finished */

static void work(const struct job *j) {
  for (;;) {
    uint64_t c = atomic_load_explicit(&claim, memory_order_acquire);
    do {
      if ((uint32_t)(c >> 32) != j->gen || (c & 0xffffffffu) >= j->chunks) return;
    } while (!atomic_compare_exchange_weak_explicit(&claim, &c, c + 1, memory_order_acq_rel, memory_order_acquire));
    size_t begin = (size_t)(c & 0xffffffffu) * j->chunk, end = begin + j->chunk;
    if (end > j->n) end = j->n;
    j->fn(j->ctx, begin, end);
    atomic_fetch_add_explicit(&done, 1, memory_order_acq_rel);
  }
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  for (;;) {
    unsigned long g;
    for (int spins = 0; (g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < 4000; spins++) relax();
    pthread_mutex_lock(&lock);
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &lock);
    struct job j = current;
    pthread_mutex_unlock(&lock);
    seen = g;
    work(&j);
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
  const int t = pool_set_threads(0);
  if (grain < 1) grain = 1;
  if (t <= 1 || n < 2 * grain) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  size_t chunks = n / grain;
  if (chunks > (size_t)t * CHUNKS_PER_THREAD) chunks = (size_t)t * CHUNKS_PER_THREAD;
  size_t chunk = (n + chunks - 1) / chunks;
  chunk = (chunk + 15) & ~(size_t)15; /* whole vectors per chunk */
  chunks = (n + chunk - 1) / chunk;

  pthread_mutex_lock(&lock);
  while (started < t - 1) {
    if (pthread_create(&workers[started], NULL, worker_main, NULL) != 0) break;
    started++;
  }
  const unsigned long g = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
  current = (struct job){fn, ctx, n, chunk, chunks, (uint32_t)g};
  atomic_store_explicit(&done, 0, memory_order_relaxed);
  atomic_store_explicit(&claim, (uint64_t)(uint32_t)g << 32, memory_order_release);
  atomic_store_explicit(&generation, g, memory_order_release);
  pthread_cond_broadcast(&wake);
  const struct job j = current;
  pthread_mutex_unlock(&lock);

  work(&j);
  for (int spins = 0; atomic_load_explicit(&done, memory_order_acquire) < chunks; spins++) {
    if (spins > 1000) sched_yield(); /* a worker holds a chunk but lost its core */
    else relax();
  }
}
