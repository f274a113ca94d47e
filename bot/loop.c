/* loop.c — one lws context on one thread: a bounded call queue woken by lws_cancel_service, timers, closers. */
#include "loop.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_log.h"
#include "pb_str.h"

#define DEFAULT_CALL_CAP 1024
#define DEFAULT_STOP_GRACE_MS 5000
#define HEARTBEAT_US LWS_USEC_PER_SEC
#define PB_LOOP_SLICE_US 100       /* the kernel's minimum custom slice (0.1 ms) */

typedef struct loop_call {
	void (*fn)(void *ud);
	void *ud;
} loop_call;

struct pb_loop {
	struct lws_context *ctx;
	struct lws_vhost *vh;          /* the loop's own vhost: its protocol drains the calls */
	unsigned stop_grace_ms;

	/* Loop thread only. */
	lws_sorted_usec_list_t heartbeat;
	lws_sorted_usec_list_t grace;
	pb_loop_closer *closers;
	bool stopping, grace_over, ran;

	/* Shared, under `lock`. */
	pthread_mutex_t lock;
	loop_call *calls;              /* ring of call_cap slots */
	size_t call_cap, call_head, call_count;
	bool stop_requested, closed;
	int fail_code;
	pb_err fail_err;

	/* Read by any thread. */
	pthread_t thread;
	atomic_bool running;
	_Atomic int64_t last_tick_ms;
};

/* ---- the call queue ---- */

static bool call_pop(pb_loop *l, loop_call *out)
{
	bool got = false;

	pthread_mutex_lock(&l->lock);
	if (l->call_count) {
		*out = l->calls[l->call_head];
		l->call_head = (l->call_head + 1) % l->call_cap;
		l->call_count--;
		got = true;
	}
	pthread_mutex_unlock(&l->lock);
	return got;
}

/*
 * Runs the calls queued when it starts, not ones added meanwhile, so a
 * producer cannot keep the loop inside one callback; the rest get another wake.
 */
static void drain_calls(pb_loop *l)
{
	size_t n, left;
	loop_call c;

	pthread_mutex_lock(&l->lock);
	n = l->call_count;
	pthread_mutex_unlock(&l->lock);
	while (n-- && call_pop(l, &c))
		c.fn(c.ud);
	pthread_mutex_lock(&l->lock);
	left = l->call_count;
	pthread_mutex_unlock(&l->lock);
	if (left)
		lws_cancel_service(l->ctx);
}

/* After close: nothing new is accepted, so this empties the queue for good. */
static void drain_all_calls(pb_loop *l)
{
	loop_call c;

	while (call_pop(l, &c))
		c.fn(c.ud);
}

int pb_loop_call(pb_loop *l, void (*fn)(void *ud), void *ud)
{
	bool wake = false;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (l->closed) {
		rc = PB_E_REFUSED;
	} else if (l->call_count == l->call_cap) {
		rc = PB_E_BUSY;
	} else {
		l->calls[(l->call_head + l->call_count) % l->call_cap] = (loop_call){ fn, ud };
		/* A non-empty queue already has a wake pending or a drain that re-checks. */
		wake = l->call_count++ == 0;
	}
	pthread_mutex_unlock(&l->lock);
	if (!rc && wake)
		lws_cancel_service(l->ctx);
	return rc;
}

size_t pb_loop_pending_calls(pb_loop *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->call_count;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* ---- stopping ---- */

static bool closers_done(const pb_loop *l)
{
	for (const pb_loop_closer *c = l->closers; c; c = c->next)
		if (!c->done)
			return false;
	return true;
}

static void grace_cb(lws_sorted_usec_list_t *sul)
{
	pb_loop *l = lws_container_of(sul, pb_loop, grace);

	pb_warn("loop", "stop: clients did not close within %u ms; stopping anyway", l->stop_grace_ms);
	l->grace_over = true;
	lws_cancel_service(l->ctx);    /* timers run before poll(): wake it to see the end */
}

static void closer_start(pb_loop_closer *c)
{
	c->closing = true;
	if (c->close)
		c->close(c);
	else
		c->done = true;
}

static void begin_stop(pb_loop *l)
{
	pb_loop_closer *c, *next;

	if (l->stopping)
		return;
	l->stopping = true;
	lws_sul_schedule(l->ctx, 0, &l->grace, grace_cb,
			 (lws_usec_t)l->stop_grace_ms * LWS_US_PER_MS);
	/* close() may remove its own closer: keep the next one first. */
	for (c = l->closers; c; c = next) {
		next = c->next;
		if (!c->closing)
			closer_start(c);
	}
}

static void on_wakeup(pb_loop *l)
{
	bool stop;

	pthread_mutex_lock(&l->lock);
	stop = l->stop_requested;
	pthread_mutex_unlock(&l->lock);
	drain_calls(l);
	if (stop)
		begin_stop(l);
}

void pb_loop_stop(pb_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop_requested = true;
	pthread_mutex_unlock(&l->lock);
	lws_cancel_service(l->ctx);
}

void pb_loop_fail(pb_loop *l, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&l->lock);
	if (!l->fail_code) {
		char msg[PB_ERR_MSG_MAX];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		l->fail_code = code ? code : PB_E_FAILED;
		pb_err_set(&l->fail_err, l->fail_code, "%s", msg);
	}
	pthread_mutex_unlock(&l->lock);
	pb_loop_stop(l);
}

/* ---- closers ---- */

void pb_loop_closer_add(pb_loop *l, pb_loop_closer *c, void (*close)(pb_loop_closer *c))
{
	memset(c, 0, sizeof(*c));
	c->close = close;
	c->loop = l;
	c->next = l->closers;
	l->closers = c;
	if (l->stopping)
		closer_start(c);
}

void pb_loop_closer_done(pb_loop_closer *c)
{
	if (c->done)
		return;
	c->done = true;
	/* Called from a timer or callback the loop would otherwise sleep past. */
	if (c->loop && c->loop->stopping)
		lws_cancel_service(c->loop->ctx);
}

void pb_loop_closer_remove(pb_loop_closer *c)
{
	pb_loop_closer **pp;

	if (!c->loop)
		return;
	for (pp = &c->loop->closers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->loop->stopping && !c->done)
		lws_cancel_service(c->loop->ctx);
	c->loop = NULL;
	c->next = NULL;
	c->done = true;
}

/* ---- timers ---- */

static bool loop_thread_ok(const pb_loop *l)
{
	return !atomic_load(&l->running) || pb_loop_on_thread(l);
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
	pb_timer *t = lws_container_of(sul, pb_timer, sul);

	t->fn(t);
}

void pb_timer_init(pb_timer *t, pb_loop *loop, pb_timer_fn fn)
{
	memset(t, 0, sizeof(*t));
	t->loop = loop;
	t->fn = fn;
}

void pb_timer_arm(pb_timer *t, int64_t delay_ms)
{
	assert(loop_thread_ok(t->loop));
	if (delay_ms < 0)
		delay_ms = 0;
	/* lws_sul_schedule unlinks a pending sul first: re-arming replaces. */
	lws_sul_schedule(t->loop->ctx, 0, &t->sul, timer_cb, (lws_usec_t)delay_ms * LWS_US_PER_MS);
}

void pb_timer_cancel(pb_timer *t)
{
	assert(!t->loop || loop_thread_ok(t->loop));
	lws_sul_cancel(&t->sul);
}

bool pb_timer_armed(const pb_timer *t)
{
	return !lws_dll2_is_detached(&t->sul.list);
}

/* ---- the loop's own protocol and the service loop ---- */

static void tick(pb_loop *l)
{
	atomic_store(&l->last_tick_ms, pb_clock_mono_ms(NULL));
}

/* Keeps the loop iterating while idle, so a stuck loop shows in last_tick. */
static void heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	pb_loop *l = lws_container_of(sul, pb_loop, heartbeat);

	tick(l);
	lws_sul_schedule(l->ctx, 0, &l->heartbeat, heartbeat_cb, HEARTBEAT_US);
}

static int loop_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	pb_loop *l = vh ? lws_vhost_user(vh) : NULL;

	if (l && reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED)
		on_wakeup(l);
	return 0;
}

static const struct lws_protocols loop_protocols[] = {
	{ "pb-loop", loop_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/*
 * The first published struct sched_attr (SCHED_ATTR_SIZE_VER0); <linux/sched/types.h>
 * cannot be included next to <sched.h> (both define struct sched_param).
 */
typedef struct loop_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
} loop_sched_attr;

/*
 * Asks the kernel for a short time slice for the calling (loop) thread: on
 * EEVDF (Linux 6.12+) a SCHED_OTHER task's sched_runtime is its slice, and a
 * waking task with a shorter slice preempts a running one with a longer slice
 * instead of waiting for that slice (about 1.5 ms on 2 cores) to end. The
 * loop thread runs for microseconds per wake (read a frame, queue its ack,
 * write it), so the hint costs nothing and a woken loop no longer queues
 * behind a worker rendering a reply or the poster in curl. Same policy, same
 * nice: no privilege needed; older kernels ignore it; a refusal is harmless.
 */
static void loop_short_slice(void)
{
	loop_sched_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = (int32_t)nice(0);
	a.sched_runtime = PB_LOOP_SLICE_US * 1000ull;
	if (syscall(SYS_sched_setattr, 0, &a, 0))
		pb_debug("loop", "short time slice refused: %s", strerror(errno));
}

int pb_loop_run(pb_loop *l, pb_err *err)
{
	int rc = 0;

	assert(!l->ran);
	l->ran = true;
	l->thread = pthread_self();
	atomic_store(&l->running, true);
	loop_short_slice();
	tick(l);
	lws_sul_schedule(l->ctx, 0, &l->heartbeat, heartbeat_cb, HEARTBEAT_US);
	while (!(l->stopping && (closers_done(l) || l->grace_over))) {
		if (lws_service(l->ctx, 0) < 0) {
			rc = pb_err_set(err, -EIO, "the event loop failed");
			break;
		}
		tick(l);
	}
	lws_sul_cancel(&l->heartbeat);
	lws_sul_cancel(&l->grace);
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_mutex_unlock(&l->lock);
	drain_all_calls(l);
	atomic_store(&l->running, false);
	pthread_mutex_lock(&l->lock);
	if (!rc && l->fail_code)
		rc = pb_err_set(err, l->fail_code, "%s", pb_err_text(&l->fail_err));
	pthread_mutex_unlock(&l->lock);
	return rc;
}

bool pb_loop_on_thread(const pb_loop *l)
{
	return atomic_load(&l->running) && pthread_equal(pthread_self(), l->thread);
}

int64_t pb_loop_last_tick_ms(const pb_loop *l)
{
	return atomic_load(&l->last_tick_ms);
}

struct lws_context *pb_loop_context(pb_loop *l)
{
	return l->ctx;
}

struct lws_vhost *pb_loop_vhost_new(pb_loop *l, const struct lws_context_creation_info *info,
				    pb_err *err)
{
	struct lws_context_creation_info vi = *info;
	struct lws_vhost *vh;

	/* lws builds a vhost's client TLS context only when its own options ask for it. */
	vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	vh = lws_create_vhost(l->ctx, &vi);
	if (!vh)
		pb_err_set(err, PB_E_FAILED, "cannot create the %s endpoint",
			   info->vhost_name ? info->vhost_name : "network");
	return vh;
}

/* lws logs go through pb_log so registered secrets are redacted there too. */
static void lws_log_emit(int level, const char *line)
{
	char buf[1024];
	size_t n = pb_strlcpy(buf, line, sizeof(buf));

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	pb_log(level & LLL_ERR ? PB_LOG_ERROR : PB_LOG_WARN, "lws", "%s", buf);
}

int pb_loop_new(const pb_loop_cfg *cfg, pb_loop **out, pb_err *err)
{
	struct lws_context_creation_info info;
	pb_loop *l;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return pb_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&l->lock, NULL);
	pb_err_init(&l->fail_err);
	atomic_init(&l->running, false);
	atomic_init(&l->last_tick_ms, 0);
	l->call_cap = cfg && cfg->call_cap ? cfg->call_cap : DEFAULT_CALL_CAP;
	l->stop_grace_ms = cfg && cfg->stop_grace_ms ? cfg->stop_grace_ms : DEFAULT_STOP_GRACE_MS;
	l->calls = calloc(l->call_cap, sizeof(*l->calls));
	if (!l->calls) {
		pb_loop_free(l);
		return pb_err_set(err, -ENOMEM, "out of memory");
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = l;
	l->ctx = lws_create_context(&info);
	if (!l->ctx) {
		pb_loop_free(l);
		return pb_err_set(err, PB_E_FAILED, "cannot create the event loop");
	}
	memset(&info, 0, sizeof(info));
	info.vhost_name = "pb-loop";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop_protocols;
	info.user = l;
	l->vh = pb_loop_vhost_new(l, &info, err);
	if (!l->vh) {
		pb_loop_free(l);
		return PB_E_FAILED;
	}
	*out = l;
	return 0;
}

void pb_loop_free(pb_loop *l)
{
	if (!l)
		return;
	assert(!atomic_load(&l->running));
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_mutex_unlock(&l->lock);
	/* Calls accepted but never run (the loop never ran): they own their ud. */
	if (l->calls)
		drain_all_calls(l);
	if (l->ctx)
		lws_context_destroy(l->ctx);
	free(l->calls);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
