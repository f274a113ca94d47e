/* pb_clock.c — the system clock and the test-driven fake clock. */
#include "pb_clock.h"

#include <errno.h>
#include <time.h>

#include "pb_lane.h"

static int64_t sys_wall_ms(const pb_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_mono_ms(const pb_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sys_sleep_ms(const pb_clock *c, int64_t ms)
{
	struct timespec ts;

	(void)c;
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static const pb_clock_ops sys_ops = { sys_wall_ms, sys_mono_ms, sys_sleep_ms };
static const pb_clock sys_clock = { &sys_ops };

const pb_clock *pb_clock_system(void)
{
	return &sys_clock;
}

int64_t pb_clock_wall_ms(const pb_clock *c)
{
	c = c ? c : &sys_clock;
	return c->ops->wall_ms(c);
}

int64_t pb_clock_mono_ms(const pb_clock *c)
{
	c = c ? c : &sys_clock;
	return c->ops->mono_ms(c);
}

int64_t pb_clock_now(const pb_clock *c)
{
	int64_t ms = pb_clock_wall_ms(c);

	/* floor division: an epoch before 1970 still rounds down */
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

void pb_clock_sleep_ms(const pb_clock *c, int64_t ms)
{
	c = c ? c : &sys_clock;
	pb_lane_leave(); /* a fake clock's sleep waits for the test to move it: a wait all the same */
	c->ops->sleep_ms(c, ms);
	pb_lane_enter();
}

/* ---- fake clock ---- */

static pb_fake_clock *fake_of(const pb_clock *c)
{
	/* clock is the first member: the cast is the container_of */
	return (pb_fake_clock *)(void *)(uintptr_t)c;
}

static int64_t fake_wall_ms(const pb_clock *c)
{
	pb_fake_clock *fc = fake_of(c);
	int64_t v;

	pthread_mutex_lock(&fc->lock);
	v = fc->wall_ms;
	pthread_mutex_unlock(&fc->lock);
	return v;
}

static int64_t fake_mono_ms(const pb_clock *c)
{
	pb_fake_clock *fc = fake_of(c);
	int64_t v;

	pthread_mutex_lock(&fc->lock);
	v = fc->mono_ms;
	pthread_mutex_unlock(&fc->lock);
	return v;
}

static void fake_sleep_ms(const pb_clock *c, int64_t ms)
{
	pb_fake_clock *fc = fake_of(c);

	pthread_mutex_lock(&fc->lock);
	fc->sleeps++;
	if (fc->gated) {
		unsigned gen = fc->gate_generation;

		fc->sleepers++;
		pthread_cond_broadcast(&fc->cond);
		while (fc->gated && fc->gate_generation == gen)
			pthread_cond_wait(&fc->cond, &fc->lock);
		fc->sleepers--;
	}
	if (ms > 0) {
		fc->wall_ms += ms;
		fc->mono_ms += ms;
	}
	pthread_cond_broadcast(&fc->cond);
	pthread_mutex_unlock(&fc->lock);
}

static const pb_clock_ops fake_ops = { fake_wall_ms, fake_mono_ms, fake_sleep_ms };

void pb_fake_clock_init(pb_fake_clock *fc, int64_t wall_ms)
{
	fc->clock.ops = &fake_ops;
	pthread_mutex_init(&fc->lock, NULL);
	pb_cond_init_mono(&fc->cond);
	fc->wall_ms = wall_ms;
	fc->mono_ms = 1000000; /* any positive origin: monotonic values are only compared */
	fc->gated = false;
	fc->gate_generation = 0;
	fc->sleepers = 0;
	fc->sleeps = 0;
}

void pb_fake_clock_deinit(pb_fake_clock *fc)
{
	pb_fake_clock_gate(fc, false);
	pthread_cond_destroy(&fc->cond);
	pthread_mutex_destroy(&fc->lock);
}

void pb_fake_clock_advance(pb_fake_clock *fc, int64_t ms)
{
	if (ms <= 0)
		return;
	pthread_mutex_lock(&fc->lock);
	fc->wall_ms += ms;
	fc->mono_ms += ms;
	pthread_cond_broadcast(&fc->cond);
	pthread_mutex_unlock(&fc->lock);
}

void pb_fake_clock_set_wall(pb_fake_clock *fc, int64_t wall_ms)
{
	pthread_mutex_lock(&fc->lock);
	fc->wall_ms = wall_ms;
	pthread_cond_broadcast(&fc->cond);
	pthread_mutex_unlock(&fc->lock);
}

void pb_fake_clock_gate(pb_fake_clock *fc, bool on)
{
	pthread_mutex_lock(&fc->lock);
	fc->gated = on;
	if (!on)
		fc->gate_generation++;
	pthread_cond_broadcast(&fc->cond);
	pthread_mutex_unlock(&fc->lock);
}

void pb_fake_clock_open_gate(pb_fake_clock *fc)
{
	pthread_mutex_lock(&fc->lock);
	fc->gate_generation++;
	pthread_cond_broadcast(&fc->cond);
	pthread_mutex_unlock(&fc->lock);
}

bool pb_fake_clock_wait_sleepers(pb_fake_clock *fc, int n, int timeout_ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + timeout_ms;
	bool ok;

	pthread_mutex_lock(&fc->lock);
	while (fc->sleepers < n) {
		int64_t left = deadline - pb_clock_mono_ms(NULL);

		if (left <= 0 || pb_cond_wait_ms(&fc->cond, &fc->lock, (long)left) == ETIMEDOUT)
			break;
	}
	ok = fc->sleepers >= n;
	pthread_mutex_unlock(&fc->lock);
	return ok;
}

void pb_cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

int pb_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	if (ms < 0)
		ms = 0;
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(c, m, &until);
}
