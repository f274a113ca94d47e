/* fuzz_docker_pull.c — the NDJSON progress stream of a pull/push/import, split anywhere. */
#include <assert.h>

#include "docker_priv.h"
#include "fuzz_util.h"

static void progress(void *ud, const char *status, const char *id)
{
	(*(size_t *)ud) += strlen(status) + strlen(id);
}

static void feed(void *ud, const char *p, size_t n)
{
	dk_stream *s = ud;

	if (!s->oom)
		(void)dk_stream_data(s, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_docker_pull_stats stats;
	size_t seen = 0;
	dk_stream s;

	memset(&s, 0, sizeof(s));
	memset(&stats, 0, sizeof(stats));
	s.stats = &stats;
	s.progress = progress;
	s.ud = &seen;
	dk_stream_init(&s);
	fz_chunks(data, size, feed, &s);
	if (!s.oom)
		dk_stream_finish(&s);
	assert(stats.layers_done <= stats.layers && stats.layers_done <= DK_MAX_LAYERS);
	assert(s.nlayers <= DK_MAX_LAYERS);
	dk_stream_deinit(&s);
	return 0;
}
