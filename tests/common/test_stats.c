/* test_stats.c — nearest-rank percentiles against a reference, and sparkline rendering. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pb_stats.h"

/* The definition itself: sort a copy, take rank ceil(p/100 * n), 1-based. */
static int32_t reference(const int32_t *v, size_t n, double p)
{
	int32_t *c = malloc(n * sizeof(*c)), out;
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	memcpy(c, v, n * sizeof(*c));
	for (size_t i = 1; i < n; i++)   /* insertion sort: obviously right */
		for (size_t j = i; j > 0 && c[j - 1] > c[j]; j--) {
			int32_t x = c[j];

			c[j] = c[j - 1];
			c[j - 1] = x;
		}
	out = c[(rank ? rank : 1) - 1];
	free(c);
	return out;
}

Test(stats, nearest_rank_matches_the_reference)
{
	static const double ps[] = { 50, 95, 99, 99.9, 100, 1 };
	unsigned seed = 7;

	for (size_t n = 1; n <= 3000; n += n < 50 ? 1 : 97) {
		int32_t *v = malloc(n * sizeof(*v)), *s = malloc(n * sizeof(*s));

		for (size_t i = 0; i < n; i++)
			v[i] = (int32_t)(rand_r(&seed) % 100000) - (i % 7 == 0 ? 50 : 0);
		memcpy(s, v, n * sizeof(*s));
		pb_stats_sort_i32(s, n);
		for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++)
			cr_assert_eq(pb_stats_rank_i32(s, n, ps[k]), reference(v, n, ps[k]), "n=%zu p=%g", n, ps[k]);
		free(v);
		free(s);
	}
	cr_expect_eq(pb_stats_rank_i32(NULL, 0, 50), -1);
	{
		int32_t one[] = { 42 }, ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

		cr_expect_eq(pb_stats_rank_i32(one, 1, 99), 42);
		cr_expect_eq(pb_stats_rank_i32(ten, 10, 50), 5, "rank ceil(5) = 5");
		cr_expect_eq(pb_stats_rank_i32(ten, 10, 95), 10, "rank ceil(9.5) = 10");
		cr_expect_eq(pb_stats_rank_i32(ten, 10, 90), 9);
	}
}

Test(stats, sparkline_scales_marks_missing_and_truncates_whole_characters)
{
	double v[] = { 0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100, -1, 200, -5 };
	double same[] = { 3, 3, -1 };
	char out[64], small[8];

	cr_expect_eq(pb_stats_sparkline(v, 12, 0, 100, out, sizeof(out)), 10 * 3 + 2 * 2, "bars are 3 bytes, the middle dot 2");
	cr_expect_str_eq(out, "▁▂▃▄▅▆▇██·█·");
	pb_stats_sparkline(same, 3, 3, 3, out, sizeof(out));
	cr_expect_str_eq(out, "██·");
	cr_expect_eq(pb_stats_sparkline(v, 12, 0, 100, small, sizeof(small)), 6);
	cr_expect_str_eq(small, "▁▂", "7 bytes hold two 3-byte bars and the NUL");
	cr_expect_eq(pb_stats_sparkline(v, 0, 0, 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
}
