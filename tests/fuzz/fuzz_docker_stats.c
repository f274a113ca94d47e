/* fuzz_docker_stats.c — the engine's stats document (CPU and memory figures, cgroup v1/v2). */
#include <assert.h>
#include <math.h>

#include "docker.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_docker_stats st;
	pb_err err;

	pb_err_init(&err);
	if (pb_docker_stats_parse_err((const char *)data, size, &st, &err) == 0) {
		/* the figures reach samples and reports: finite and non-negative */
		assert(isfinite(st.cpu_percent) && st.cpu_percent >= 0);
		assert(isfinite(st.mem_percent) && st.mem_percent >= 0);
	} else {
		assert(err.set);
	}
	return 0;
}
