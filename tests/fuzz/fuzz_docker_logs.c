/* fuzz_docker_logs.c — the framed log stream (8-byte headers, frames split anywhere) and the timestamps on its lines. */
#include <assert.h>

#include "docker.h"
#include "fuzz_util.h"

typedef struct fz_logs {
	pb_docker_demux m;
	size_t out;
	int bad;
} fz_logs;

static void frame(void *ud, int stream, const char *data, size_t len)
{
	fz_logs *l = ud;
	const char *p = data, *end = data + len;

	assert(stream >= 0 && stream <= 2);
	l->out += len;
	/* every line of a frame as the monitor reads timestamps=1 logs */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int64_t ms;
		size_t prefix;

		if (pb_docker_log_line_time(p, n, &ms, &prefix))
			assert(prefix <= n);
		p += n + (nl != NULL);
	}
}

static void feed(void *ud, const char *p, size_t n)
{
	fz_logs *l = ud;

	if (!l->bad && pb_docker_demux_feed(&l->m, p, n, frame, l))
		l->bad = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_logs l;

	memset(&l, 0, sizeof(l));
	pb_docker_demux_init(&l.m);
	fz_chunks(data, size, feed, &l);
	assert(l.out <= size);
	return 0;
}
