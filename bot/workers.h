/* workers.h — pools of worker threads draining a bounded queue of generic jobs (run/free). */
#ifndef PB_WORKERS_H
#define PB_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lanes.h"

typedef struct pb_workers pb_workers;

/*
 * A unit of work. Embed it first in your job struct: `run` executes it on a
 * worker thread with that worker's private state; `free` releases it — after
 * run, or unrun when a pool is freed with jobs it will not run. A job that
 * was refused (pb_workers_submit != 0) stays the submitter's.
 */
typedef struct pb_job pb_job;
struct pb_job {
	void (*run)(pb_job *job, void *state);
	void (*free)(pb_job *job);
};

/*
 * A pool's per-thread life: `init` runs on each worker before its first job
 * and returns its private state (its own services, HTTP handle …); `fini`
 * releases it when the pool stops. `name` labels the pool in logs and metrics.
 */
typedef struct pb_workers_ops {
	void *(*init)(void *ud, int index);
	void (*fini)(void *ud, void *state);
	void *ud;
	const char *name;
	int nice;   /* > 0: the threads yield the CPU to the loop thread (pb_thread_lower) */
	bool idle;  /* SCHED_IDLE instead: any normal thread preempts them at once (pb_thread_lower) */
	/*
	 * Not NULL: the pool's jobs compute only on one of these CPU lanes (lanes.h);
	 * a job waiting outside its own CPU work (pb_lane_leave: HTTP, a sleep, a
	 * lock, a child process) holds none, so a deploy never blocks a `status`.
	 * Borrowed: outlives the pool. NULL: no cap.
	 */
	pb_lanes *lanes;
} pb_workers_ops;

/* What a pool did so far; depth = queued + running now. */
typedef struct pb_workers_stats {
	uint64_t submitted, refused, done;
	size_t queued, running, capacity;
} pb_workers_stats;

/* Starts `nthreads` workers over a queue of at most `capacity` jobs. 0 ok, <0 -errno. */
int pb_workers_new(size_t nthreads, size_t capacity, const pb_workers_ops *ops, pb_workers **out);
/* Queues a job (ownership passes on success). PB_E_BUSY when the queue is full or stopping (counted). */
int pb_workers_submit(pb_workers *w, pb_job *job);
/* True when a submit would be refused right now (single-producer callers can trust it). */
bool pb_workers_full(pb_workers *w);
/* Free queue slots right now (0 while stopping); a single producer can submit that many. */
size_t pb_workers_room(pb_workers *w);
/* Jobs queued or running. */
size_t pb_workers_pending(pb_workers *w);
void pb_workers_stats_get(pb_workers *w, pb_workers_stats *out);
/* Runs every queued job to completion (an accepted job always runs), then stops and joins. NULL-safe. */
void pb_workers_free(pb_workers *w);

/* Names the calling thread "pb-<name>-<index>" (index < 0: "pb-<name>") for top -H, ps -L and perf. */
void pb_thread_name(const char *name, int index);
/*
 * Lowers the calling thread's priority to `nice` (0 leaves it alone), or with
 * `idle` puts it under SCHED_IDLE. Linux gives each thread its own nice and
 * policy; within the process's scheduling group (its autogroup or systemd
 * cgroup) the loop thread, which acks Slack within its deadline, then gets
 * the CPU before replies, storage work and posts. A nice-19 thread still runs
 * out the slice the scheduler protects for it (up to ~1.5 ms on EEVDF) before
 * a woken loop thread gets its CPU; a SCHED_IDLE thread is preempted by any
 * normal thread's wake-up at once, and a CPU running only such threads counts
 * as idle when the kernel places a woken thread. Neither needs privilege;
 * neither can be undone without it. Logs and carries on when refused.
 */
void pb_thread_lower(const char *who, int nice, bool idle);

#endif
