/* workers.h — bounded job queue drained by a fixed pool of worker threads. */
#ifndef PB_WORKERS_H
#define PB_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pb_workers pb_workers;

/*
 * Callbacks of a pool. `init` runs on each worker thread before its first job
 * and returns that worker's private state (its own store, HTTP handle …);
 * `run` executes one job with that state and frees the job; `fini` releases
 * the state when the pool stops. `ud` is passed through untouched.
 */
typedef struct pb_workers_ops {
	void *(*init)(void *ud, int index);
	void (*run)(void *ud, void *state, void *job);
	void (*fini)(void *ud, void *state);
	void *ud;
} pb_workers_ops;

/* Starts `nthreads` workers over a queue of at most `capacity` jobs. 0 ok, <0 -errno. */
int pb_workers_new(size_t nthreads, size_t capacity, const pb_workers_ops *ops, pb_workers **out);
/* Queues a job (ownership passes on success). PB_E_BUSY when the queue is full or stopping. */
int pb_workers_submit(pb_workers *w, void *job);
/* True when a submit would be refused right now (single-producer callers can trust it). */
bool pb_workers_full(pb_workers *w);
/* Jobs queued or running. */
size_t pb_workers_pending(pb_workers *w);
/* Runs every queued job to completion, then stops and joins the threads. NULL-safe. */
void pb_workers_free(pb_workers *w);

#endif
