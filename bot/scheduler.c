/* scheduler.c — turns ticks into monitor sweeps and due checks on the background pool. */
#include "scheduler.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pb_log.h"

struct pb_scheduler {
	pb_monitor *monitor;
	pb_workers *pool;
	const pb_services *(*svc_of)(void *state);
	atomic_bool sweeping;
};

typedef struct sched_job {
	pb_job job;
	pb_scheduler *s;
	int64_t promotion_id;
	int64_t slot;
} sched_job;

static void job_free(pb_job *job)
{
	free(job);
}

static void check_run(pb_job *job, void *state)
{
	sched_job *j = (sched_job *)job;
	const pb_services *svc = j->s->svc_of(state);
	pb_err e;

	pb_err_init(&e);
	if (!svc)
		return;
	if (pb_monitor_check(j->s->monitor, svc, j->promotion_id, j->slot, &e))
		pb_warn("scheduler", "check of promotion #%lld: %s", (long long)j->promotion_id, pb_err_text(&e));
}

static int submit_check(void *ud, int64_t promotion_id, int64_t slot)
{
	pb_scheduler *s = ud;
	sched_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	*j = (sched_job){ .job = { check_run, job_free }, .s = s, .promotion_id = promotion_id, .slot = slot };
	if (pb_workers_submit(s->pool, &j->job) == 0)
		return 0;
	free(j);
	return PB_E_BUSY;
}

static void sweep_run(pb_job *job, void *state)
{
	pb_scheduler *s = ((sched_job *)job)->s;
	const pb_services *svc = s->svc_of(state);
	pb_monitor_sweep_stats st;
	pb_err e;

	pb_err_init(&e);
	if (svc && pb_monitor_sweep(s->monitor, svc, submit_check, s, &st, &e))
		pb_warn("scheduler", "observation sweep: %s", pb_err_text(&e));
	else if (svc && (st.reports || st.verdicts || st.skipped || st.refused || st.interrupted || st.unknown_filled))
		pb_info("scheduler", "sweep: %zu observed, %zu checks, %zu skipped, %zu refused, %zu reports, %zu verdicts, "
			"%zu slots not run, %zu interrupted deploys", st.observed, st.submitted, st.skipped, st.refused,
			st.reports, st.verdicts, st.unknown_filled, st.interrupted);
	atomic_store(&s->sweeping, false);
}

int pb_scheduler_new(const pb_config *cfg, pb_workers *pool, const pb_services *(*svc_of)(void *state),
		     pb_scheduler **out, pb_err *err)
{
	pb_scheduler *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return pb_err_set(err, -ENOMEM, "scheduler: out of memory");
	r = pb_monitor_new(cfg, &s->monitor, err);
	if (r) {
		free(s);
		return r;
	}
	s->pool = pool;
	s->svc_of = svc_of;
	atomic_init(&s->sweeping, false);
	*out = s;
	return 0;
}

void pb_scheduler_tick(pb_scheduler *s)
{
	sched_job *j;

	if (atomic_exchange(&s->sweeping, true))
		return;  /* the previous sweep still runs: one at a time */
	j = calloc(1, sizeof(*j));
	if (j) {
		j->job = (pb_job){ sweep_run, job_free };
		j->s = s;
		if (pb_workers_submit(s->pool, &j->job) == 0)
			return;
		free(j);
	}
	pb_warn("scheduler", "background queue full: observation sweep deferred to the next tick");
	atomic_store(&s->sweeping, false);
}

void pb_scheduler_free(pb_scheduler *s)
{
	if (!s)
		return;
	pb_monitor_free(s->monitor);
	free(s);
}
