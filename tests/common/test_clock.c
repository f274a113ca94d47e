/* test_clock.c — the system clock moves, the fake clock moves only when told, and its gate. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "pb_clock.h"

Test(clock, system_clock_is_close_to_time_and_monotonic)
{
	const pb_clock *c = pb_clock_system();
	int64_t a = pb_clock_mono_ms(c), b;

	cr_assert(pb_clock_now(c) > 1700000000);
	cr_assert(pb_clock_now(NULL) > 1700000000);
	b = pb_clock_mono_ms(c);
	cr_assert_geq(b, a);
}

Test(clock, fake_clock_moves_only_when_told)
{
	pb_fake_clock fc;

	pb_fake_clock_init(&fc, 1800000000000LL);
	cr_assert_eq(pb_clock_now(&fc.clock), 1800000000);
	int64_t m0 = pb_clock_mono_ms(&fc.clock);
	pb_fake_clock_advance(&fc, 7LL * 86400 * 1000);
	cr_assert_eq(pb_clock_now(&fc.clock), 1800000000 + 7 * 86400);
	cr_assert_eq(pb_clock_mono_ms(&fc.clock) - m0, 7LL * 86400 * 1000);
	/* setting the wall clock leaves monotonic time alone */
	pb_fake_clock_set_wall(&fc, 1000);
	cr_assert_eq(pb_clock_wall_ms(&fc.clock), 1000);
	cr_assert_eq(pb_clock_mono_ms(&fc.clock) - m0, 7LL * 86400 * 1000);
	/* an ungated sleep advances instantly */
	pb_clock_sleep_ms(&fc.clock, 2500);
	cr_assert_eq(pb_clock_wall_ms(&fc.clock), 3500);
	cr_assert_eq(fc.sleeps, 1);
	pb_fake_clock_deinit(&fc);
}

Test(clock, negative_epoch_rounds_down)
{
	pb_fake_clock fc;

	pb_fake_clock_init(&fc, -1);
	cr_assert_eq(pb_clock_now(&fc.clock), -1);
	pb_fake_clock_deinit(&fc);
}

static void *sleeper(void *arg)
{
	pb_clock_sleep_ms(arg, 100);
	return NULL;
}

Test(clock, gate_holds_sleepers_until_opened)
{
	pb_fake_clock fc;
	pthread_t t;

	pb_fake_clock_init(&fc, 0);
	pb_fake_clock_gate(&fc, true);
	pthread_create(&t, NULL, sleeper, &fc.clock);
	cr_assert(pb_fake_clock_wait_sleepers(&fc, 1, 5000), "the sleeper never reached the gate");
	/* still gated: time has not moved */
	cr_assert_eq(pb_clock_wall_ms(&fc.clock), 0);
	pb_fake_clock_open_gate(&fc);
	pthread_join(t, NULL);
	cr_assert_eq(pb_clock_wall_ms(&fc.clock), 100);
	cr_assert_not(pb_fake_clock_wait_sleepers(&fc, 1, 50));
	pb_fake_clock_deinit(&fc);
}
