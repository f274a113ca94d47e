/* pb_stats.c — nearest-rank percentiles over sorted integers, a radix sort for them, Unicode sparklines. */
#include "pb_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int32_t pb_stats_rank_i32(const int32_t *sorted, size_t n, double p)
{
	double rank;
	size_t k;

	if (!n)
		return -1;
	rank = ceil(p / 100.0 * (double)n);
	k = rank < 1 ? 1 : rank > (double)n ? n : (size_t)rank;
	return sorted[k - 1];
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

void pb_stats_sort_i32(int32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i32);
}

size_t pb_stats_sparkline(const double *v, size_t n, double lo, double hi, char *out, size_t size)
{
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	size_t len = 0;

	if (!size)
		return 0;
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const char *g;
		size_t gl;

		if (v[i] < 0) {
			g = "·";
		} else if (hi <= lo) {
			g = bars[7];
		} else {
			double x = (v[i] - lo) / (hi - lo);
			int k = (int)floor(x * 8);

			g = bars[k < 0 ? 0 : k > 7 ? 7 : k];
		}
		gl = strlen(g);
		if (len + gl + 1 > size)
			break;
		memcpy(out + len, g, gl + 1);
		len += gl;
	}
	return len;
}
