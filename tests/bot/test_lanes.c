/* test_lanes.c — CPU lanes: the cap holds, a waiting job frees its lane, the guest goes first, stopping never hangs. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "lanes.h"
#include "pb_clock.h"
#include "pb_lane.h"
#include "workers.h"

/* Bounded polling for a condition another thread makes true (10 s, then the test fails). */
#define WAIT_UNTIL(cond)                                                      \
	do {                                                                  \
		struct timespec step_ = { 0, 1000000 };                       \
		int i_;                                                       \
		for (i_ = 0; i_ < 10000 && !(cond); i_++)                     \
			nanosleep(&step_, NULL);                              \
		cr_assert(cond, "timed out waiting for: %s", #cond);          \
	} while (0)

typedef struct shared {
	atomic_int active, max_active, ran;
	atomic_bool open;        /* a gate jobs or the guest wait at */
	atomic_int reached;      /* jobs that reached the gate */
	atomic_int saw_open;     /* wait_at_gate ended because the gate opened, not by its bound */
} shared;

typedef struct job {
	pb_job job;
	shared *s;
	int id;
	void (*body)(struct job *j);
} job;

static void note_max(shared *s, int now)
{
	int m = atomic_load(&s->max_active);

	while (now > m && !atomic_compare_exchange_weak(&s->max_active, &m, now))
		;
}

static void job_run(pb_job *pj, void *state)
{
	job *j = (job *)pj;
	shared *s = j->s;

	(void)state;
	note_max(s, atomic_fetch_add(&s->active, 1) + 1);
	if (j->body)
		j->body(j);
	atomic_fetch_sub(&s->active, 1);
	atomic_fetch_add(&s->ran, 1);
}

static void job_free(pb_job *pj)
{
	free(pj);
}

static int submit(pb_workers *w, shared *s, int id, void (*body)(job *))
{
	job *j = calloc(1, sizeof(*j));

	cr_assert_not_null(j);
	j->job.run = job_run;
	j->job.free = job_free;
	j->s = s;
	j->id = id;
	j->body = body;
	int rc = pb_workers_submit(w, &j->job);
	if (rc)
		free(j); /* a refused job stays ours */
	return rc;
}

/* CPU work as the lanes see it: spins (no pb_lane_leave) until the gate opens, bounded. */
static void spin_at_gate(job *j)
{
	struct timespec step = { 0, 100000 };

	atomic_fetch_add(&j->s->reached, 1);
	for (int i = 0; i < 100000 && !atomic_load(&j->s->open); i++)
		nanosleep(&step, NULL);
}

/* A wait the lanes are told about: gives the lane away until the gate opens. */
static void wait_at_gate(job *j)
{
	struct timespec step = { 0, 100000 };

	pb_lane_leave();
	atomic_fetch_add(&j->s->reached, 1);
	for (int i = 0; i < 100000 && !atomic_load(&j->s->open); i++)
		nanosleep(&step, NULL);
	if (atomic_load(&j->s->open))
		atomic_fetch_add(&j->s->saw_open, 1);
	pb_lane_enter();
}

static void open_gate(job *j)
{
	atomic_store(&j->s->open, true);
}

static pb_workers *pool(int threads, pb_lanes *l)
{
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 0, false, l };
	pb_workers *w;

	cr_assert_eq(pb_workers_new((size_t)threads, 64, &ops, &w), 0);
	return w;
}

Test(lanes, two_lanes_let_two_of_four_workers_compute_never_three)
{
	shared s = { 0 };
	pb_lanes *l;
	pb_workers *w;

	cr_assert_eq(pb_lanes_new(2, &l), 0);
	w = pool(4, l);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(submit(w, &s, i, spin_at_gate), 0);
	WAIT_UNTIL(atomic_load(&s.reached) == 2);
	/* two spin at the gate; the other two workers have jobs queued but no lane */
	cr_assert_eq(atomic_load(&s.ran), 0);
	atomic_store(&s.open, true);
	WAIT_UNTIL(atomic_load(&s.ran) == 4); /* before free: a stopping pool lifts the cap to drain */
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.ran), 4);
	cr_assert_eq(atomic_load(&s.max_active), 2, "max %d jobs computed at once", atomic_load(&s.max_active));
	pb_lanes_free(l);
}

Test(lanes, without_lanes_all_four_compute_at_once)
{
	shared s = { 0 };
	pb_workers *w = pool(4, NULL);

	/* the control for the test above: the same jobs, no cap, all four reach the gate */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(submit(w, &s, i, spin_at_gate), 0);
	WAIT_UNTIL(atomic_load(&s.reached) == 4);
	atomic_store(&s.open, true);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.max_active), 4);
}

Test(lanes, a_job_that_waits_gives_its_lane_to_the_next_job)
{
	shared s = { 0 };
	pb_lanes *l;
	pb_workers *w;

	cr_assert_eq(pb_lanes_new(1, &l), 0);
	w = pool(2, l);
	/* job 0 waits for job 1 to open its gate: with one lane that only ends if the wait frees the lane */
	cr_assert_eq(submit(w, &s, 0, wait_at_gate), 0);
	WAIT_UNTIL(atomic_load(&s.reached) == 1);
	cr_assert_eq(submit(w, &s, 1, open_gate), 0);
	WAIT_UNTIL(atomic_load(&s.ran) == 2);
	cr_assert_eq(atomic_load(&s.saw_open), 1, "the second job ran while the first one waited");
	/* job 0 came back in debt; the lane is whole again: the next two jobs compute one at a time */
	atomic_store(&s.open, false);
	atomic_store(&s.reached, 0);
	atomic_store(&s.max_active, 0);
	cr_assert_eq(submit(w, &s, 2, spin_at_gate), 0);
	cr_assert_eq(submit(w, &s, 3, spin_at_gate), 0);
	WAIT_UNTIL(atomic_load(&s.reached) == 1);
	atomic_store(&s.open, true);
	WAIT_UNTIL(atomic_load(&s.ran) == 4);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.max_active), 1);
	pb_lanes_free(l);
}

static pb_fake_clock sleep_clock;

/* Real code waits through pb_clock_sleep_ms (the dispatcher's lock wait, GitHub's retry): held here by the gate. */
static void sleep_on_clock(job *j)
{
	(void)j;
	pb_clock_sleep_ms(&sleep_clock.clock, 1000);
}

Test(lanes, a_job_sleeping_on_the_clock_holds_no_lane)
{
	shared s = { 0 };
	pb_lanes *l;
	pb_workers *w;

	pb_fake_clock_init(&sleep_clock, 0);
	pb_fake_clock_gate(&sleep_clock, true);
	cr_assert_eq(pb_lanes_new(1, &l), 0);
	w = pool(2, l);
	cr_assert_eq(submit(w, &s, 0, sleep_on_clock), 0);
	cr_assert(pb_fake_clock_wait_sleepers(&sleep_clock, 1, 10000));
	cr_assert_eq(submit(w, &s, 1, NULL), 0);
	WAIT_UNTIL(atomic_load(&s.ran) == 1); /* with one lane: only if the sleeper gave it away */
	pb_fake_clock_open_gate(&sleep_clock);
	WAIT_UNTIL(atomic_load(&s.ran) == 2);
	pb_workers_free(w);
	pb_lanes_free(l);
	pb_fake_clock_deinit(&sleep_clock);
}

typedef struct guest_arg {
	pb_lanes *l;
	shared *s;
	atomic_bool in, done;
	int ran_when_in; /* jobs done when the guest got its lane */
	atomic_bool release;
} guest_arg;

static void guest_init(guest_arg *g, shared *s)
{
	cr_assert_eq(pb_lanes_new(1, &g->l), 0);
	g->s = s;
}

static void guest_end(guest_arg *g, pthread_t t)
{
	atomic_store(&g->release, true);
	pthread_join(t, NULL);
}

static void *guest_main(void *arg)
{
	guest_arg *g = arg;
	struct timespec step = { 0, 100000 };

	pb_lanes_guest_take(g->l);
	g->ran_when_in = atomic_load(&g->s->ran);
	atomic_store(&g->in, true);
	for (int i = 0; i < 100000 && !atomic_load(&g->release); i++)
		nanosleep(&step, NULL);
	pb_lanes_guest_give(g->l);
	atomic_store(&g->done, true);
	return NULL;
}

Test(lanes, a_waiting_guest_goes_before_queued_jobs)
{
	shared s = { 0 };
	guest_arg g = { 0 };
	pb_lanes_stats st;
	pthread_t t;
	pb_workers *w;

	guest_init(&g, &s);
	w = pool(1, g.l);
	cr_assert_eq(submit(w, &s, 0, spin_at_gate), 0);
	WAIT_UNTIL(atomic_load(&s.reached) == 1);
	cr_assert_eq(pthread_create(&t, NULL, guest_main, &g), 0);
	WAIT_UNTIL((pb_lanes_stats_get(g.l, &st), st.guest_waits == 1));
	cr_assert_eq(submit(w, &s, 1, NULL), 0); /* queued behind the guest */
	atomic_store(&s.open, true);
	WAIT_UNTIL(atomic_load(&g.in));
	cr_assert_eq(g.ran_when_in, 1, "the worker handed its lane to the guest before its next job");
	cr_assert_eq(atomic_load(&s.ran), 1, "the queued job waits while the guest computes");
	guest_end(&g, t);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.ran), 2);
	pb_lanes_free(g.l);
}

Test(lanes, the_guest_borrows_an_idle_workers_lane_and_a_job_waits_for_it_back)
{
	shared s = { 0 };
	guest_arg g = { 0 };
	pb_lanes_stats st;
	pthread_t t;
	pb_workers *w;

	guest_init(&g, &s);
	w = pool(2, g.l); /* one worker holds the lane, sleeping for jobs; the other sleeps for a lane */
	WAIT_UNTIL((pb_lanes_stats_get(g.l, &st), st.idle_members == 1 && st.free == 0 && st.member_waits == 1));
	cr_assert_eq(pthread_create(&t, NULL, guest_main, &g), 0);
	WAIT_UNTIL(atomic_load(&g.in));
	pb_lanes_stats_get(g.l, &st);
	cr_assert_eq(st.borrowed, 1, "no lane was free: the guest runs on the idle worker's");
	cr_assert_eq(submit(w, &s, 0, NULL), 0);
	WAIT_UNTIL((pb_lanes_stats_get(g.l, &st), st.member_returns == 1));
	cr_assert_eq(atomic_load(&s.ran), 0, "the woken worker waits for its lane");
	guest_end(&g, t);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.ran), 1);
	pb_lanes_free(g.l);
}

Test(lanes, stopping_a_pool_never_waits_for_a_lane)
{
	shared s = { 0 };
	guest_arg g = { 0 };
	pthread_t t;
	pb_workers *w;

	guest_init(&g, &s);
	w = pool(3, g.l);
	cr_assert_eq(pthread_create(&t, NULL, guest_main, &g), 0);
	WAIT_UNTIL(atomic_load(&g.in));
	/* the guest keeps the only lane: the queued jobs can only run because the pool stops */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(submit(w, &s, i, NULL), 0);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.ran), 5, "an accepted job always runs");
	cr_assert(!atomic_load(&g.done));
	guest_end(&g, t);
	pb_lanes_free(g.l);
}

Test(lanes, many_jobs_and_a_guest_keep_the_cap)
{
	shared s = { 0 };
	pb_lanes *l;
	pb_workers *w;

	cr_assert_eq(pb_lanes_new(1, &l), 0);
	w = pool(4, l);
	/* the guest (this thread) computes between bursts of jobs; jobs count themselves while it does */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 5; i++)
			while (submit(w, &s, i, NULL) != 0)
				sched_yield();
		pb_lanes_guest_take(l);
		note_max(&s, atomic_fetch_add(&s.active, 1) + 1);
		atomic_fetch_sub(&s.active, 1);
		pb_lanes_guest_give(l);
	}
	WAIT_UNTIL(atomic_load(&s.ran) == 1000);
	pb_workers_free(w);
	cr_assert_eq(atomic_load(&s.max_active), 1, "jobs and the guest computed %d at once",
		     atomic_load(&s.max_active));
	pb_lanes_free(l);
}

static cpu_set_t cpus_of(const int *list, int n)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(list[i], &set);
	return set;
}

Test(lanes, pinning_takes_the_last_cpus_of_the_mask_and_leaves_the_first)
{
	static const int four[] = { 0, 1, 2, 3 }, sparse[] = { 0, 5, 7 }, two[] = { 0, 1 };
	cpu_set_t allowed, got, want;
	pb_lanes *one, *pair;

	cr_assert_eq(pb_lanes_new(1, &one), 0);
	cr_assert_eq(pb_lanes_new(2, &pair), 0);
	cr_assert_not(pb_lanes_pinned(one, &got), "not pinned until asked");

	allowed = cpus_of(four, 4);
	cr_assert_eq(pb_lanes_pin_last(one, &allowed), 1);
	cr_assert(pb_lanes_pinned(one, &got));
	want = cpus_of((const int[]){ 3 }, 1);
	cr_assert(CPU_EQUAL(&got, &want), "one lane of CPUs 0-3 runs on CPU 3");
	cr_assert_eq(pb_lanes_pin_last(pair, &allowed), 1);
	cr_assert(pb_lanes_pinned(pair, &got));
	want = cpus_of((const int[]){ 2, 3 }, 2);
	cr_assert(CPU_EQUAL(&got, &want), "two lanes of CPUs 0-3 run on CPUs 2 and 3");

	allowed = cpus_of(sparse, 3); /* taskset -c 0,5,7 */
	cr_assert_eq(pb_lanes_pin_last(pair, &allowed), 1);
	cr_assert(pb_lanes_pinned(pair, &got));
	want = cpus_of((const int[]){ 5, 7 }, 2);
	cr_assert(CPU_EQUAL(&got, &want), "only CPUs of the mask, the highest ones");

	allowed = cpus_of(two, 2); /* as many lanes as CPUs: nothing to leave to the loop */
	cr_assert_eq(pb_lanes_pin_last(pair, &allowed), 0);
	cr_assert_not(pb_lanes_pinned(pair, &got), "a later call without spare CPUs unpins");
	cr_assert_eq(pb_lanes_pin_self(pair), 0, "unpinned: a no-op");
	pb_lanes_free(pair);
	pb_lanes_free(one);
}

typedef struct affinity_job {
	pb_job job;
	cpu_set_t seen;
	atomic_bool done;
} affinity_job;

static void affinity_run(pb_job *pj, void *state)
{
	affinity_job *j = (affinity_job *)pj;

	(void)state;
	CPU_ZERO(&j->seen);
	pthread_getaffinity_np(pthread_self(), sizeof(j->seen), &j->seen);
	atomic_store(&j->done, true);
}

static void affinity_free(pb_job *pj)
{
	(void)pj; /* on the test's stack */
}

static void *guest_affinity(void *arg)
{
	pb_lanes *l = arg;
	cpu_set_t *seen = calloc(1, sizeof(*seen));

	cr_assert_not_null(seen);
	cr_assert_eq(pb_lanes_pin_self(l), 0);
	pthread_getaffinity_np(pthread_self(), sizeof(*seen), seen);
	return seen;
}

Test(lanes, pinned_lanes_run_their_workers_and_guest_on_the_last_cpu)
{
	affinity_job j = { .job = { .run = affinity_run, .free = affinity_free } };
	cpu_set_t allowed, want, *guest_seen;
	pb_lanes *l;
	pb_workers *w;
	pthread_t guest;
	int pinned;

	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cr_assert_eq(pb_lanes_new(1, &l), 0);
	pinned = pb_lanes_pin_last(l, &allowed);
	/* with one CPU (a runner under taskset -c 0) there is nothing to leave free: the threads keep the mask */
	cr_assert_eq(pinned, CPU_COUNT(&allowed) > 1);
	if (!pb_lanes_pinned(l, &want))
		want = allowed;
	else
		cr_assert_eq(CPU_COUNT(&want), 1);
	w = pool(2, l);
	cr_assert_eq(pb_workers_submit(w, &j.job), 0);
	WAIT_UNTIL(atomic_load(&j.done));
	pb_workers_free(w);
	cr_assert(CPU_EQUAL(&j.seen, &want), "the worker runs on %d CPU(s), want %d", CPU_COUNT(&j.seen),
		  CPU_COUNT(&want));
	cr_assert_eq(pthread_create(&guest, NULL, guest_affinity, l), 0);
	cr_assert_eq(pthread_join(guest, (void **)&guest_seen), 0);
	cr_assert(CPU_EQUAL(guest_seen, &want), "the guest (poster) pins itself the same way");
	free(guest_seen);
	pb_lanes_free(l);
}
