/* fuzz_docker_events.c — the Engine's GET /events NDJSON stream, split anywhere, and each line alone. */
#include <assert.h>

#include "docker.h"
#include "fuzz_util.h"

/* The bounds docker_events.c promises (2000-01-01 … 2200-01-01). */
#define EV_NS_MIN (946684800LL * 1000000000LL)
#define EV_NS_MAX (7258118400LL * 1000000000LL)

static void check(const pb_docker_event *ev)
{
	assert(ev->exit_code >= -1 && ev->exit_code <= 255);
	assert(ev->time_ns >= EV_NS_MIN && ev->time_ns <= EV_NS_MAX);
	assert(strnlen(ev->type, sizeof(ev->type)) < sizeof(ev->type));
	assert(strnlen(ev->action, sizeof(ev->action)) < sizeof(ev->action) && ev->action[0]);
	assert(strnlen(ev->health, sizeof(ev->health)) < sizeof(ev->health));
	assert(strnlen(ev->id, sizeof(ev->id)) < sizeof(ev->id));
	assert(strnlen(ev->name, sizeof(ev->name)) < sizeof(ev->name));
}

static void on_event(void *ud, const pb_docker_event *ev)
{
	(*(size_t *)ud)++;
	check(ev);
}

static void feed(void *ud, const char *p, size_t n)
{
	(void)pb_docker_event_reader_feed(ud, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_docker_event_reader rd;
	pb_docker_event ev;
	size_t seen = 0;

	pb_docker_event_reader_init(&rd, on_event, &seen);
	fz_chunks(data, size, feed, &rd);
	pb_docker_event_reader_finish(&rd);
	assert(seen == rd.events);
	assert(rd.line.len == 0 && !rd.skipping);
	pb_docker_event_reader_deinit(&rd);
	if (size > 1 && pb_docker_event_parse((const char *)data + 1, size - 1, &ev) == 0)
		check(&ev);
	return 0;
}
