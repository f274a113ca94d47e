/* test_loop.c — the event loop: timers (fire, cancel, re-arm, periodic, free), calls from threads, stop, closers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

/*
 * lws fires ripe timers strictly in time order, so "B (armed for later)
 * fired and A did not" proves A was cancelled without timing anything.
 */

static pb_loop *new_loop(const pb_loop_cfg *cfg)
{
	pb_loop *l = NULL;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_loop_new(cfg, &l, &e), 0, "%s", pb_err_text(&e));
	return l;
}

static int run_ok(pb_loop *l)
{
	pb_err e;
	int rc;

	pb_err_init(&e);
	rc = pb_loop_run(l, &e);
	cr_assert_eq(rc, 0, "%s", pb_err_text(&e));
	return rc;
}

typedef struct counted {
	pb_timer t;
	int fired;
	int seen_other;      /* another timer's count when this one fired */
	struct counted *other;
	int rearm_until;     /* periodic: re-arm until fired reaches this */
	bool stop_after;     /* stop the loop when fired (for the last one) */
	bool on_thread;
} counted;

static void counted_fn(pb_timer *t)
{
	counted *c = lws_container_of(t, counted, t);

	c->fired++;
	c->on_thread = pb_loop_on_thread(t->loop);
	cr_assert(!pb_timer_armed(t));
	if (c->other)
		c->seen_other = c->other->fired;
	if (c->fired < c->rearm_until)
		pb_timer_arm(t, 1);
	else if (c->stop_after)
		pb_loop_stop(t->loop);
}

static void counted_init(counted *c, pb_loop *l)
{
	memset(c, 0, sizeof(*c));
	pb_timer_init(&c->t, l, counted_fn);
}

Test(loop, a_timer_fires_on_the_loop_thread)
{
	pb_loop *l = new_loop(NULL);
	counted a;

	counted_init(&a, l);
	a.stop_after = true;
	cr_assert(!pb_timer_armed(&a.t));
	pb_timer_arm(&a.t, 1);
	cr_assert(pb_timer_armed(&a.t));
	run_ok(l);
	cr_assert_eq(a.fired, 1);
	cr_assert(a.on_thread);
	cr_assert(!pb_loop_on_thread(l), "not the loop thread once run returned");
	pb_loop_free(l);
}

Test(loop, cancel_prevents_firing)
{
	pb_loop *l = new_loop(NULL);
	counted a, b, stop;

	counted_init(&a, l);
	counted_init(&b, l);
	counted_init(&stop, l);
	stop.stop_after = true;
	pb_timer_arm(&a.t, 1);
	pb_timer_arm(&b.t, 2);
	pb_timer_cancel(&a.t);
	pb_timer_cancel(&a.t);          /* idempotent */
	cr_assert(!pb_timer_armed(&a.t));
	pb_timer_arm(&stop.t, 10);
	run_ok(l);
	cr_assert_eq(a.fired, 0);
	cr_assert_eq(b.fired, 1);
	cr_assert_eq(stop.fired, 1);
	pb_timer_cancel(&b.t);          /* after firing: a no-op */
	pb_loop_free(l);
}

/* Cancels another timer from inside a callback, before it is due. */
static void canceller_fn(pb_timer *t)
{
	counted *c = lws_container_of(t, counted, t);

	c->fired++;
	pb_timer_cancel(&c->other->t);
}

Test(loop, cancel_from_a_callback_prevents_a_later_fire)
{
	pb_loop *l = new_loop(NULL);
	counted victim, killer, stop;

	counted_init(&victim, l);
	counted_init(&stop, l);
	memset(&killer, 0, sizeof(killer));
	pb_timer_init(&killer.t, l, canceller_fn);
	killer.other = &victim;
	stop.stop_after = true;
	pb_timer_arm(&killer.t, 1);
	pb_timer_arm(&victim.t, 5);
	pb_timer_arm(&stop.t, 15);
	run_ok(l);
	cr_assert_eq(killer.fired, 1);
	cr_assert_eq(victim.fired, 0);
	pb_loop_free(l);
}

Test(loop, rearm_replaces_the_pending_fire)
{
	pb_loop *l = new_loop(NULL);
	counted a, probe, stop;

	counted_init(&a, l);
	counted_init(&probe, l);
	counted_init(&stop, l);
	probe.other = &a;
	stop.other = &a;
	stop.stop_after = true;
	pb_timer_arm(&a.t, 1);
	pb_timer_arm(&a.t, 15);        /* replaces the 1 ms arming */
	pb_timer_arm(&probe.t, 5);     /* looks at a between the two */
	pb_timer_arm(&stop.t, 30);
	run_ok(l);
	cr_assert_eq(probe.fired, 1);
	cr_assert_eq(probe.seen_other, 0, "a fired at its first (replaced) arming");
	cr_assert_eq(stop.seen_other, 1);
	cr_assert_eq(a.fired, 1, "a fired %d times", a.fired);
	pb_loop_free(l);
}

Test(loop, a_timer_rearmed_from_its_callback_is_periodic)
{
	pb_loop *l = new_loop(NULL);
	counted a;

	counted_init(&a, l);
	a.rearm_until = 5;
	a.stop_after = true;
	pb_timer_arm(&a.t, 1);
	run_ok(l);
	cr_assert_eq(a.fired, 5);
	pb_loop_free(l);
}

/* A heap object owning a timer; ASan reports any fire after free. */
typedef struct owner {
	pb_timer t;
	int *fires;
} owner;

static void owner_fn(pb_timer *t)
{
	owner *o = lws_container_of(t, owner, t);

	(*o->fires)++;
}

/* Frees its owner from inside its own callback: allowed, the timer is disarmed. */
static void owner_free_fn(pb_timer *t)
{
	owner *o = lws_container_of(t, owner, t);

	(*o->fires)++;
	free(o);
}

Test(loop, cancel_before_free_leaves_nothing_behind)
{
	pb_loop *l = new_loop(NULL);
	int fires = 0, self_freed = 0;
	owner *o = calloc(1, sizeof(*o)), *o2 = calloc(1, sizeof(*o2));
	counted stop;

	cr_assert(o && o2);
	o->fires = &fires;
	pb_timer_init(&o->t, l, owner_fn);
	pb_timer_arm(&o->t, 1);
	pb_timer_cancel(&o->t);
	free(o);
	o2->fires = &self_freed;
	pb_timer_init(&o2->t, l, owner_free_fn);
	pb_timer_arm(&o2->t, 2);
	counted_init(&stop, l);
	stop.stop_after = true;
	pb_timer_arm(&stop.t, 10);
	run_ok(l);
	cr_assert_eq(fires, 0);
	cr_assert_eq(self_freed, 1);
	pb_loop_free(l);
}

/* ---- calls from other threads ---- */

#define NCALLS 200

typedef struct calls {
	pb_loop *loop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int order[NCALLS];
	int ran;
	bool all_on_thread;
	int submit_rc[NCALLS];
	int late_rc;
	bool first_ran;
} calls;

typedef struct call_arg {
	calls *c;
	int index;
} call_arg;

static void calls_init(calls *c, pb_loop *l)
{
	memset(c, 0, sizeof(*c));
	c->loop = l;
	c->all_on_thread = true;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
}

static void calls_deinit(calls *c)
{
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

/* Owns its argument: frees it, as any accepted call may. */
static void record_fn(void *ud)
{
	call_arg *a = ud;
	calls *c = a->c;

	pthread_mutex_lock(&c->lock);
	if (!pb_loop_on_thread(c->loop))
		c->all_on_thread = false;
	if (c->ran < NCALLS)
		c->order[c->ran] = a->index;
	c->ran++;
	c->first_ran = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(a);
}

static int submit(calls *c, int index)
{
	call_arg *a = malloc(sizeof(*a));
	int rc;

	if (!a)
		return -1;
	a->c = c;
	a->index = index;
	rc = pb_loop_call(c->loop, record_fn, a);
	if (rc)
		free(a);
	return rc;
}

/* Submits everything, then stops the loop: all of it must still run. */
static void *submit_then_stop(void *arg)
{
	calls *c = arg;

	for (int i = 0; i < NCALLS; i++)
		c->submit_rc[i] = submit(c, i);
	pb_loop_stop(c->loop);
	return NULL;
}

Test(loop, calls_from_a_thread_run_on_the_loop_in_order)
{
	pb_loop *l = new_loop(NULL);
	calls c;
	pthread_t th;

	calls_init(&c, l);
	cr_assert_eq(pthread_create(&th, NULL, submit_then_stop, &c), 0);
	run_ok(l);
	pthread_join(th, NULL);
	for (int i = 0; i < NCALLS; i++)
		cr_assert_eq(c.submit_rc[i], 0);
	cr_assert_eq(c.ran, NCALLS, "accepted calls queued at stop all ran: %d", c.ran);
	cr_assert(c.all_on_thread);
	for (int i = 0; i < NCALLS; i++)
		cr_assert_eq(c.order[i], i, "call %d ran as %d", i, c.order[i]);
	cr_assert_eq(pb_loop_pending_calls(l), 0);
	/* After run returned: refused, and ud stays the caller's. */
	cr_assert_eq(submit(&c, 0), PB_E_REFUSED);
	pb_loop_free(l);
	calls_deinit(&c);
}

Test(loop, a_full_call_queue_answers_busy)
{
	pb_loop_cfg cfg = { .call_cap = 4 };
	pb_loop *l = new_loop(&cfg);
	calls c;

	calls_init(&c, l);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(submit(&c, i), 0);
	cr_assert_eq(submit(&c, 4), PB_E_BUSY);
	cr_assert_eq(pb_loop_pending_calls(l), 4);
	pb_loop_stop(l);
	run_ok(l);
	cr_assert_eq(c.ran, 4);
	cr_assert(c.all_on_thread);
	pb_loop_free(l);
	calls_deinit(&c);
}

Test(loop, calls_never_run_by_the_loop_run_at_free)
{
	pb_loop *l = new_loop(NULL);
	calls c;

	calls_init(&c, l);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(submit(&c, i), 0);
	pb_loop_free(l);
	cr_assert_eq(c.ran, 3);
	cr_assert(!c.all_on_thread, "run by free, on no loop thread");
	calls_deinit(&c);
}

/* Waits until the loop has run one of its calls, then stops it from here. */
static void *stop_when_running(void *arg)
{
	calls *c = arg;

	c->submit_rc[0] = submit(c, 0);
	pthread_mutex_lock(&c->lock);
	while (!c->first_ran)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pb_loop_stop(c->loop);
	pb_loop_stop(c->loop);          /* idempotent */
	return NULL;
}

Test(loop, stop_from_another_thread_makes_run_return)
{
	pb_loop *l = new_loop(NULL);
	calls c;
	pthread_t th;

	calls_init(&c, l);
	cr_assert_eq(pb_loop_last_tick_ms(l), 0);
	cr_assert_eq(pthread_create(&th, NULL, stop_when_running, &c), 0);
	run_ok(l);
	pthread_join(th, NULL);
	cr_assert_eq(c.submit_rc[0], 0);
	cr_assert_eq(c.ran, 1);
	cr_assert_gt(pb_loop_last_tick_ms(l), 0, "the loop ticked");
	pb_loop_free(l);
	calls_deinit(&c);
}

/* ---- failure and closers ---- */

static void fail_fn(pb_timer *t)
{
	pb_loop_fail(t->loop, PB_E_FAILED, "first: %s", "token refused");
	pb_loop_fail(t->loop, -EIO, "second");
}

Test(loop, the_first_failure_ends_run_with_its_text)
{
	pb_loop *l = new_loop(NULL);
	pb_timer t;
	pb_err e;

	pb_timer_init(&t, l, fail_fn);
	pb_timer_arm(&t, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_loop_run(l, &e), PB_E_FAILED);
	cr_assert_str_eq(pb_err_text(&e), "first: token refused");
	pb_loop_free(l);
}

typedef struct slow_client {
	pb_loop_closer closer;
	pb_timer t;
	int closes;
	bool finished;
	bool never_finish;
} slow_client;

static void slow_done_fn(pb_timer *t)
{
	slow_client *s = lws_container_of(t, slow_client, t);

	s->finished = true;
	pb_loop_closer_done(&s->closer);
}

/* Closing takes a while (a close handshake): done from a timer. */
static void slow_close(pb_loop_closer *c)
{
	slow_client *s = lws_container_of(c, slow_client, closer);

	s->closes++;
	if (!s->never_finish)
		pb_timer_arm(&s->t, 5);
}

static void slow_init(slow_client *s, pb_loop *l)
{
	memset(s, 0, sizeof(*s));
	pb_timer_init(&s->t, l, slow_done_fn);
	pb_loop_closer_add(l, &s->closer, slow_close);
}

Test(loop, stop_waits_for_closers)
{
	pb_loop *l = new_loop(NULL);
	slow_client a, b;

	slow_init(&a, l);
	slow_init(&b, l);
	pb_loop_stop(l);
	run_ok(l);
	cr_assert_eq(a.closes, 1);
	cr_assert_eq(b.closes, 1);
	cr_assert(a.finished && b.finished, "run returned before its closers were done");
	pb_loop_closer_remove(&a.closer);
	pb_loop_closer_remove(&a.closer);   /* idempotent */
	pb_loop_closer_remove(&b.closer);
	pb_loop_free(l);
}

Test(loop, a_closer_that_never_finishes_is_bounded_by_the_grace)
{
	pb_loop_cfg cfg = { .stop_grace_ms = 20 };
	pb_loop *l = new_loop(&cfg);
	slow_client a, gone;

	slow_init(&a, l);
	a.never_finish = true;
	slow_init(&gone, l);
	pb_loop_closer_remove(&gone.closer);  /* removed: not waited for, not called */
	pb_loop_stop(l);
	run_ok(l);
	cr_assert_eq(a.closes, 1);
	cr_assert(!a.finished);
	cr_assert_eq(gone.closes, 0);
	pb_loop_closer_remove(&a.closer);
	pb_loop_free(l);
}

Test(loop, client_vhosts_get_their_user_back)
{
	pb_loop *l = new_loop(NULL);
	struct lws_context_creation_info info;
	static const struct lws_protocols protos[] = {
		{ "test-client", lws_callback_http_dummy, 0, 0, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 },
	};
	int me = 0;
	struct lws_vhost *vh;
	pb_err e;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "test-client";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protos;
	info.user = &me;
	pb_err_init(&e);
	vh = pb_loop_vhost_new(l, &info, &e);
	cr_assert_not_null(vh, "%s", pb_err_text(&e));
	cr_assert_eq(lws_vhost_user(vh), &me);
	cr_assert_eq(lws_get_vhost_by_name(pb_loop_context(l), "test-client"), vh);
	pb_loop_stop(l);
	run_ok(l);
	lws_vhost_destroy(vh);
	pb_loop_free(l);
}
