/* fuzz_tz.c — TZif files (v2+ data, the POSIX footer rule) and the local-time questions the reports ask. */
#include <assert.h>

#include "fuzz_util.h"
#include "pb_tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* instants the bot can meet: 1970, 2001, 2026, 2038 (32-bit end), 2096, 2191 */
	static const int64_t ts[] = { 0, 1000000000, 1795597200, 2147483648LL, 4000000000LL, 7000000000LL };
	pb_tz *tz = NULL;
	pb_civil c;
	pb_err err;

	pb_err_init(&err);
	if (pb_tz_parse("Fuzz/Zone", data, size, &tz, &err)) {
		assert(tz == NULL && err.set);
		return 0;
	}
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		int64_t day, start, next;

		pb_tz_local(tz, ts[i], &c);
		day = pb_tz_day_of(tz, ts[i]);
		start = pb_tz_day_start(tz, day);
		next = pb_tz_day_start(tz, day + 1);
		(void)start;
		(void)next;
		(void)pb_tz_at(tz, day, 9, 0);
		(void)pb_tz_at(tz, day, 23, 59);
	}
	pb_tz_free(tz);
	return 0;
}
