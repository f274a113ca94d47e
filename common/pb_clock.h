/* pb_clock.h — injectable wall + monotonic clock: the system one, and a fake one tests drive. */
#ifndef PB_CLOCK_H
#define PB_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Every piece of code that needs "now" (storage timestamps, deadlines,
 * schedules, rate-limit waits) reads it from a pb_clock handed in by its
 * caller, never from time() directly, so a test can run days forward in
 * milliseconds. The ops are thread-safe for both implementations.
 *
 *   wall_ms  epoch milliseconds (UTC); may jump (NTP, a test setting the date)
 *   mono_ms  monotonic milliseconds for deadlines and intervals; never jumps back
 *   sleep_ms blocks the calling thread for ms of this clock's time
 */
typedef struct pb_clock pb_clock;

typedef struct pb_clock_ops {
	int64_t (*wall_ms)(const pb_clock *c);
	int64_t (*mono_ms)(const pb_clock *c);
	void (*sleep_ms)(const pb_clock *c, int64_t ms);
} pb_clock_ops;

struct pb_clock {
	const pb_clock_ops *ops;
};

/* The process's real clock (CLOCK_REALTIME / CLOCK_MONOTONIC, nanosleep). Never NULL. */
const pb_clock *pb_clock_system(void);

/* NULL-safe accessors: a NULL clock means the system clock. */
int64_t pb_clock_wall_ms(const pb_clock *c);
int64_t pb_clock_mono_ms(const pb_clock *c);
/* Epoch seconds: what storage columns hold. */
int64_t pb_clock_now(const pb_clock *c);
void pb_clock_sleep_ms(const pb_clock *c, int64_t ms);

/*
 * A fake clock for tests: time moves only when told (advance/set), both
 * clocks together. sleep_ms does not wait for real: it advances the clock by
 * ms and returns — unless a gate is armed, then the sleeper blocks until the
 * test opens it (pb_fake_clock_wait_sleepers tells the test someone is
 * sleeping), which makes "a thread is waiting right now" observable without
 * real sleeps. Embed it and pass &fc.clock.
 */
typedef struct pb_fake_clock {
	pb_clock clock;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int64_t wall_ms;
	int64_t mono_ms;
	bool gated;               /* sleepers block until the gate opens */
	unsigned gate_generation; /* bumped by each open */
	int sleepers;             /* threads blocked on the gate */
	uint64_t sleeps;          /* sleep_ms calls so far */
} pb_fake_clock;

void pb_fake_clock_init(pb_fake_clock *fc, int64_t wall_ms);
void pb_fake_clock_deinit(pb_fake_clock *fc);
/* Moves both clocks forward by ms (ms >= 0). */
void pb_fake_clock_advance(pb_fake_clock *fc, int64_t ms);
/* Sets the wall clock (e.g. to just before a DST change); monotonic time is unchanged. */
void pb_fake_clock_set_wall(pb_fake_clock *fc, int64_t wall_ms);
/* Arms (true) or disarms the gate; disarming releases every blocked sleeper. */
void pb_fake_clock_gate(pb_fake_clock *fc, bool on);
/* Lets the current gated sleepers go (their sleep advances the clock); the gate stays armed. */
void pb_fake_clock_open_gate(pb_fake_clock *fc);
/* Waits (real time, bounded by timeout_ms) until at least n threads block on the gate. */
bool pb_fake_clock_wait_sleepers(pb_fake_clock *fc, int n, int timeout_ms);

/*
 * Timed condition waits on CLOCK_MONOTONIC (a wall-clock jump neither cuts a
 * wait short nor stretches it): init the condvar with pb_cond_init_mono, then
 * pb_cond_wait_ms waits at most ms (real time). Returns 0 or ETIMEDOUT.
 */
void pb_cond_init_mono(pthread_cond_t *c);
int pb_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long ms);

#endif
