/* docker_events.c — parsing the Docker Engine's event stream (NDJSON lines, split anywhere, every number bounded). */
#include "docker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pb_json.h"

/* 2000-01-01 and 2200-01-01 in epoch seconds: an event time outside is a broken peer. */
#define EV_TIME_MIN 946684800LL
#define EV_TIME_MAX 7258118400LL

/*
 * timeNano (≈1.8e18) is beyond what a double holds exactly, and cJSON keeps
 * numbers only as doubles: take its digits from the line itself — the
 * occurrence that agrees with cJSON's (bounded) value, so a label or an
 * attribute that spells "timeNano" cannot pass as the event's time.
 */
static bool exact_time_ns(const char *line, size_t len, double approx, int64_t *out)
{
	static const char key[] = "\"timeNano\"";
	const char *p = line, *end = line + len;

	while ((p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1)) != NULL) {
		uint64_t v = 0;   /* 19 digits fit: no wrap, and no signed overflow */
		int digits = 0;

		for (p += sizeof(key) - 1; p < end && (*p == ' ' || *p == ':'); p++)
			;
		for (; p < end && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
			v = v * 10 + (uint64_t)(*p - '0');
		if (digits > 0 && (p == end || *p < '0' || *p > '9') && v <= (uint64_t)INT64_MAX &&
		    (double)v - approx < 4096 && approx - (double)v < 4096) {
			*out = (int64_t)v;
			return true;
		}
	}
	return false;
}

int pb_docker_event_parse(const char *line, size_t len, pb_docker_event *out)
{
	double approx;
	cJSON *j;
	const cJSON *actor, *attrs;
	const char *action, *colon;
	int64_t t = 0, ns = 0, code;
	int r = PB_E_INVALID;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	j = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(j))
		goto out;
	action = pb_json_str(j, "Action");
	actor = cJSON_GetObjectItemCaseSensitive(j, "Actor");
	attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	if (!action || !*action || pb_json_strcpy(j, "Type", out->type, sizeof(out->type)) ||
	    pb_json_strcpy(actor, "ID", out->id, sizeof(out->id)))
		goto out;
	/* timeNano is exact; time (seconds) is the fallback of older or other engines */
	if (pb_json_double(j, "timeNano", EV_TIME_MIN * 1e9, EV_TIME_MAX * 1e9, &approx) == 0) {
		if (!exact_time_ns(line, len, approx, &ns))
			goto out;
		out->time_ns = ns;
	} else if (pb_json_int(j, "time", EV_TIME_MIN, EV_TIME_MAX, &t) == 0 &&
		   !cJSON_GetObjectItemCaseSensitive(j, "timeNano")) {
		out->time_ns = t * 1000000000LL;
	} else {
		goto out;
	}
	/* dockerd: "health_status: unhealthy"; "exec_start: /bin/sh -c …" carries the command */
	colon = strchr(action, ':');
	if (colon) {
		size_t n = (size_t)(colon - action);

		if (n >= sizeof(out->action))
			n = sizeof(out->action) - 1;
		memcpy(out->action, action, n);
		out->action[n] = '\0';
		if (!strcmp(out->action, "health_status")) {
			for (colon++; *colon == ' '; colon++)
				;
			pb_strlcpy(out->health, colon, sizeof(out->health));
		}
	} else {
		pb_strlcpy(out->action, action, sizeof(out->action));
	}
	/* ":x" names no action: as malformed as an empty one (found by fuzz_docker_events) */
	if (!out->action[0])
		goto out;
	pb_json_strcpy(attrs, "name", out->name, sizeof(out->name));
	/* Attributes are strings ("137"); a number is accepted too, both bounded */
	if (pb_json_int(attrs, "exitCode", 0, 255, &code) == 0) {
		out->exit_code = (int)code;
	} else if (pb_json_str(attrs, "exitCode")) {
		const char *s = pb_json_str(attrs, "exitCode");
		char *end;
		long v = strtol(s, &end, 10);

		if (end != s && !*end && v >= 0 && v <= 255)
			out->exit_code = (int)v;
	}
	r = 0;
out:
	cJSON_Delete(j);
	return r;
}

void pb_docker_event_reader_init(pb_docker_event_reader *r, pb_docker_event_fn fn, void *ud)
{
	memset(r, 0, sizeof(*r));
	pb_buf_init(&r->line);
	r->fn = fn;
	r->ud = ud;
}

void pb_docker_event_reader_deinit(pb_docker_event_reader *r)
{
	pb_buf_deinit(&r->line);
}

static void reader_line(pb_docker_event_reader *r, const char *line, size_t len)
{
	pb_docker_event ev;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	if (pb_docker_event_parse(line, len, &ev)) {
		r->malformed++;
		return;
	}
	r->events++;
	if (r->fn)
		r->fn(r->ud, &ev);
}

int pb_docker_event_reader_feed(pb_docker_event_reader *r, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (r->skipping) {
			/* the rest of an oversized line: nothing of it is kept */
		} else if (r->line.len + n > PB_DOCKER_EVENT_LINE_MAX) {
			r->oversized++;
			r->skipping = true;
			pb_buf_reset(&r->line);
		} else if (!nl) {
			pb_buf_append(&r->line, data, n);
			if (r->line.oom)
				return -ENOMEM;
		} else if (r->line.len) {
			pb_buf_append(&r->line, data, n);
			if (r->line.oom)
				return -ENOMEM;
			reader_line(r, r->line.data, r->line.len);
			pb_buf_reset(&r->line);
		} else {
			reader_line(r, data, n);
		}
		if (nl) {
			r->skipping = false;
			n++;
		}
		data += n;
		len -= n;
	}
	return 0;
}

void pb_docker_event_reader_finish(pb_docker_event_reader *r)
{
	if (!r->skipping && r->line.len)
		reader_line(r, r->line.data, r->line.len);
	pb_buf_reset(&r->line);
	r->skipping = false;
}
