/* workers.c — bounded queues of generic jobs drained by worker threads: the loop thread never waits on slow work. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pb_err.h"
#include "pb_log.h"

struct pb_workers {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pb_job **ring;
	size_t cap, head, count, running;
	uint64_t submitted, refused, done;
	bool stopping;
	/* Free slots (0 once stopping), written under `lock`, read without it by pb_workers_room. */
	atomic_size_t room;
	pb_workers_ops ops;
	pthread_t *threads;
	size_t nthreads, started;
};

typedef struct worker_arg {
	pb_workers *pool;
	int index;
} worker_arg;

static void *worker_main(void *arg)
{
	worker_arg wa = *(worker_arg *)arg;
	pb_workers *w = wa.pool;
	void *state;

	free(arg);
	pb_thread_name(w->ops.name, wa.index);
	pb_thread_lower(w->ops.name, w->ops.nice, w->ops.idle);
	state = w->ops.init ? w->ops.init(w->ops.ud, wa.index) : NULL;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		pb_job *job;

		while (!w->count && !w->stopping)
			pthread_cond_wait(&w->nonempty, &w->lock);
		/* Stopping still drains: an acked command must run. */
		if (!w->count)
			break;
		job = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->count--;
		atomic_store(&w->room, w->stopping ? 0 : w->cap - w->count);
		w->running++;
		pthread_mutex_unlock(&w->lock);
		job->run(job, state);
		if (job->free)
			job->free(job);
		pthread_mutex_lock(&w->lock);
		w->running--;
		w->done++;
	}
	pthread_mutex_unlock(&w->lock);
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

	*out = NULL;
	if (!nthreads || !capacity || !ops)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ring = calloc(capacity, sizeof(*w->ring));
	w->threads = calloc(nthreads, sizeof(pthread_t));
	if (!w->ring || !w->threads) {
		free(w->ring);
		free(w->threads);
		free(w);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->nonempty, NULL);
	w->cap = capacity;
	atomic_init(&w->room, capacity);
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

int pb_workers_submit(pb_workers *w, pb_job *job)
{
	int rc = 0;

	if (!job || !job->run)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	if (w->stopping || w->count == w->cap) {
		rc = PB_E_BUSY;
		w->refused++;
	} else {
		w->ring[(w->head + w->count) % w->cap] = job;
		w->count++;
		atomic_store(&w->room, w->cap - w->count);
		w->submitted++;
		pthread_cond_signal(&w->nonempty);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

bool pb_workers_full(pb_workers *w)
{
	bool full;

	pthread_mutex_lock(&w->lock);
	full = w->stopping || w->count == w->cap;
	pthread_mutex_unlock(&w->lock);
	return full;
}

size_t pb_workers_room(pb_workers *w)
{
	size_t room;

	/* No lock: the Slack loop asks before every ack, and a worker preempted while
	 * holding `lock` must not hold the ack up. A lower bound for a single producer. */
	room = atomic_load(&w->room);
	return room;
}

size_t pb_workers_pending(pb_workers *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->count + w->running;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void pb_workers_stats_get(pb_workers *w, pb_workers_stats *out)
{
	pthread_mutex_lock(&w->lock);
	out->submitted = w->submitted;
	out->refused = w->refused;
	out->done = w->done;
	out->queued = w->count;
	out->running = w->running;
	out->capacity = w->cap;
	pthread_mutex_unlock(&w->lock);
}

void pb_workers_free(pb_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	atomic_store(&w->room, 0);
	pthread_cond_broadcast(&w->nonempty);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->started; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->nonempty);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w->ring);
	free(w);
}
