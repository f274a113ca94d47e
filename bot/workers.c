/* workers.c — bounded queues of generic jobs drained by worker threads: the loop thread never waits on slow work. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pb_err.h"
#include "pb_log.h"

/*
 * The queue is lock-free (Vyukov's bounded MPMC ring) and the workers sleep on
 * a semaphore: the Slack loop thread submits every command, and with a mutex
 * here a worker preempted while holding it (workers run at nice 19 or under
 * SCHED_IDLE, so that happens) stopped the loop until that worker got a CPU
 * back — the issue forbids the loop any lock a worker holds. sem_post only
 * enters the kernel when a worker sleeps.
 */
typedef struct ring_cell {
	atomic_size_t seq; /* == position: free for that push; == position + 1: holds its job */
	pb_job *job;
} ring_cell;

/* queued (low 32 bits) and running (high 32 bits) in one word, so that a worker taking a job moves it
 * from one to the other at once and pending/room never see it in neither. */
#define QR_RUNNING ((uint64_t)1 << 32)
#define QR_QUEUED(v) ((size_t)((v) & 0xffffffffu))
#define QR_RUN(v) ((size_t)((v) >> 32))

struct pb_workers {
	ring_cell *ring;
	size_t mask; /* ring size - 1; the size is a power of two >= cap */
	size_t cap;
	atomic_size_t enq_pos, deq_pos;
	_Atomic uint64_t qr;
	atomic_uint_fast64_t submitted, refused, done;
	atomic_bool stopping;
	sem_t ready; /* one post per job pushed, plus one per thread when stopping */
	pb_workers_ops ops;
	pthread_t *threads;
	size_t nthreads, started;
};

typedef struct worker_arg {
	pb_workers *pool;
	int index;
} worker_arg;

/* Pushes a job whose slot submit already reserved in `qr`: the ring has room for every reserved job. */
static void ring_push(pb_workers *w, pb_job *job)
{
	size_t pos = atomic_load_explicit(&w->enq_pos, memory_order_relaxed);
	ring_cell *c;

	for (;;) {
		c = &w->ring[pos & w->mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;

		if (dif == 0 && atomic_compare_exchange_weak_explicit(&w->enq_pos, &pos, pos + 1,
								      memory_order_relaxed, memory_order_relaxed))
			break;
		if (dif != 0) /* another producer took this position: look again */
			pos = atomic_load_explicit(&w->enq_pos, memory_order_relaxed);
	}
	c->job = job;
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
}

/* The oldest job, or NULL when none is published yet (a producer may be between its reservation and its push). */
static pb_job *ring_pop(pb_workers *w)
{
	size_t pos = atomic_load_explicit(&w->deq_pos, memory_order_relaxed);
	ring_cell *c;
	pb_job *job;

	for (;;) {
		c = &w->ring[pos & w->mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);

		if (dif < 0)
			return NULL;
		if (dif == 0 && atomic_compare_exchange_weak_explicit(&w->deq_pos, &pos, pos + 1,
								      memory_order_relaxed, memory_order_relaxed))
			break;
		if (dif > 0)
			pos = atomic_load_explicit(&w->deq_pos, memory_order_relaxed);
	}
	job = c->job;
	atomic_store_explicit(&c->seq, pos + w->mask + 1, memory_order_release);
	return job;
}

static void sem_wait_intr(sem_t *s)
{
	while (sem_wait(s) != 0 && errno == EINTR)
		;
}

/*
 * A token from `ready` means a job is published or the pool stops. Every pop
 * follows a token, so a token's job is there — or, with several producers,
 * behind an earlier reservation whose push is under way: wait for it. Once
 * stopping, nothing queued or reserved means done.
 */
static pb_job *worker_next(pb_workers *w)
{
	pb_job *job;

	sem_wait_intr(&w->ready);
	while (!(job = ring_pop(w))) {
		if (atomic_load(&w->stopping) && !QR_QUEUED(atomic_load(&w->qr)))
			return NULL;
		sched_yield();
	}
	return job;
}

static void run_job(pb_workers *w, pb_job *job, void *state)
{
	atomic_fetch_add(&w->qr, QR_RUNNING - 1); /* queued → running in one step */
	job->run(job, state);
	if (job->free)
		job->free(job);
	atomic_fetch_add(&w->done, 1);
	atomic_fetch_sub(&w->qr, QR_RUNNING);
}

/* With lanes: a worker holds one while it waits for jobs and runs them, and hands it over only when owed. */
static pb_job *lane_next(pb_workers *w)
{
	pb_job *job;

	pb_lanes_member_idle(w->ops.lanes, true, &w->stopping);
	job = worker_next(w);
	pb_lanes_member_idle(w->ops.lanes, false, &w->stopping);
	return job;
}

static void *worker_main(void *arg)
{
	worker_arg wa = *(worker_arg *)arg;
	pb_workers *w = wa.pool;
	pb_lanes *lanes = w->ops.lanes;
	void *state;
	pb_job *job;
	int rc;

	free(arg);
	pb_thread_name(w->ops.name, wa.index);
	pb_thread_lower(w->ops.name, w->ops.nice, w->ops.idle);
	if (lanes && (rc = pb_lanes_pin_self(lanes)) != 0)
		pb_warn("workers", "%s: cannot pin the thread to the lanes' CPUs: %s", w->ops.name, strerror(-rc));
	state = w->ops.init ? w->ops.init(w->ops.ud, wa.index) : NULL;
	if (lanes)
		pb_lanes_member_take(lanes, &w->stopping);
	/* Stopping still drains: an acked command must run. */
	while ((job = lanes ? lane_next(w) : worker_next(w))) {
		run_job(w, job, state);
		if (lanes && pb_lanes_member_should_yield(lanes)) {
			pb_lanes_member_give(lanes);
			pb_lanes_member_take(lanes, &w->stopping);
		}
	}
	if (lanes)
		pb_lanes_member_give(lanes);
	if (w->ops.fini)
		w->ops.fini(w->ops.ud, state);
	return NULL;
}

void pb_thread_name(const char *name, int index)
{
	char comm[16]; /* the kernel keeps 15 bytes: "pb-commands-3", "pb-background-1" */

	if (index >= 0)
		snprintf(comm, sizeof(comm), "pb-%s-%d", name ? name : "worker", index);
	else
		snprintf(comm, sizeof(comm), "pb-%s", name ? name : "thread");
	pthread_setname_np(pthread_self(), comm);
}

void pb_thread_lower(const char *who, int nice, bool idle)
{
	struct sched_param none = { 0 };

	/* pid 0 is the calling thread for both calls; PRIO_PROCESS with a thread id sets that thread only */
	if (idle && sched_setscheduler(0, SCHED_IDLE, &none) == 0)
		return;
	if (idle)
		pb_warn("workers", "%s: cannot move the thread to SCHED_IDLE (%s); using nice %d", who ? who : "thread",
			strerror(errno), nice > 0 ? nice : 19);
	if (idle && nice <= 0)
		nice = 19;
	if (nice > 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) != 0)
		pb_warn("workers", "%s: cannot lower the thread's priority to nice %d: %s", who ? who : "thread", nice,
			strerror(errno));
}

int pb_workers_new(size_t nthreads, size_t capacity, const pb_workers_ops *ops, pb_workers **out)
{
	pb_workers *w;
	size_t size = 1;

	*out = NULL;
	if (!nthreads || !capacity || capacity > 0xffffffffu || !ops)
		return -EINVAL;
	while (size < capacity)
		size <<= 1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ring = calloc(size, sizeof(*w->ring));
	w->threads = calloc(nthreads, sizeof(pthread_t));
	if (!w->ring || !w->threads || sem_init(&w->ready, 0, 0) != 0) {
		free(w->ring);
		free(w->threads);
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < size; i++)
		atomic_init(&w->ring[i].seq, i);
	w->mask = size - 1;
	w->cap = capacity;
	w->ops = *ops;
	w->nthreads = nthreads;
	for (size_t i = 0; i < nthreads; i++) {
		worker_arg *wa = malloc(sizeof(*wa));
		int rc;

		if (!wa) {
			pb_workers_free(w);
			return -ENOMEM;
		}
		wa->pool = w;
		wa->index = (int)i;
		rc = pthread_create(&w->threads[i], NULL, worker_main, wa);
		if (rc) {
			free(wa);
			pb_workers_free(w);
			return -rc;
		}
		w->started++;
	}
	*out = w;
	return 0;
}

/* Reserves a queue slot (false: full or stopping); the job is pushed after, so pending counts it at once. */
static bool reserve_slot(pb_workers *w)
{
	uint64_t v = atomic_load(&w->qr);

	do {
		if (atomic_load(&w->stopping) || QR_QUEUED(v) >= w->cap)
			return false;
	} while (!atomic_compare_exchange_weak(&w->qr, &v, v + 1));
	return true;
}

int pb_workers_submit(pb_workers *w, pb_job *job)
{
	if (!job || !job->run)
		return -EINVAL;
	if (!reserve_slot(w)) {
		atomic_fetch_add(&w->refused, 1);
		return PB_E_BUSY;
	}
	ring_push(w, job);
	atomic_fetch_add(&w->submitted, 1);
	sem_post(&w->ready);
	return 0;
}

bool pb_workers_full(pb_workers *w)
{
	return atomic_load(&w->stopping) || QR_QUEUED(atomic_load(&w->qr)) >= w->cap;
}

size_t pb_workers_room(pb_workers *w)
{
	size_t queued = QR_QUEUED(atomic_load(&w->qr));

	/* A lower bound for a single producer: only it adds, the workers only take away. */
	return atomic_load(&w->stopping) || queued >= w->cap ? 0 : w->cap - queued;
}

size_t pb_workers_pending(pb_workers *w)
{
	uint64_t v = atomic_load(&w->qr);

	return QR_QUEUED(v) + QR_RUN(v);
}

void pb_workers_stats_get(pb_workers *w, pb_workers_stats *out)
{
	uint64_t v = atomic_load(&w->qr);

	out->submitted = atomic_load(&w->submitted);
	out->refused = atomic_load(&w->refused);
	out->done = atomic_load(&w->done);
	out->queued = QR_QUEUED(v);
	out->running = QR_RUN(v);
	out->capacity = w->cap;
}

void pb_workers_free(pb_workers *w)
{
	pb_job *job;

	if (!w)
		return;
	atomic_store(&w->stopping, true);
	if (w->ops.lanes) /* members asleep for a lane, or for a borrowed one back, see stopping */
		pb_lanes_wake(w->ops.lanes);
	for (size_t i = 0; i < w->started; i++)
		sem_post(&w->ready);
	for (size_t i = 0; i < w->started; i++)
		pthread_join(w->threads[i], NULL);
	/* Only a submit that raced this free can have left one (or a pool whose threads never started). */
	while ((job = ring_pop(w))) {
		pb_warn("workers", "%s: a job submitted while the pool stopped was not run", w->ops.name ? w->ops.name : "pool");
		if (job->free)
			job->free(job);
	}
	sem_destroy(&w->ready);
	free(w->threads);
	free(w->ring);
	free(w);
}
