/* pb_stats.h — exact order statistics and small renderings (nearest-rank percentiles, Unicode sparklines). */
#ifndef PB_STATS_H
#define PB_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Nearest-rank percentile (0 < p <= 100) of a SORTED array: the value at
 * 1-based rank ceil(p / 100 * n). -1 when n == 0. Exact, no interpolation,
 * so the figure is always one of the measured values.
 */
int32_t pb_stats_rank_i32(const int32_t *sorted, size_t n, double p);
/* Sorts ascending in place (fast for the thousands of latencies of one day). */
void pb_stats_sort_i32(int32_t *v, size_t n);

/*
 * Renders v[0..n) as Unicode block characters "▁▂▃▄▅▆▇█" scaled between lo
 * (▁) and hi (█), values clamped; a negative value means "no data" and
 * renders as "·". Writes a NUL-terminated UTF-8 string (up to 3 bytes per
 * value) and returns its length, truncating at a character boundary when
 * size is short. lo == hi renders every present value as "█".
 */
size_t pb_stats_sparkline(const double *v, size_t n, double lo, double hi, char *out, size_t size);

#endif
