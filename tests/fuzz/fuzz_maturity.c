/* fuzz_maturity.c — any MATURITY.md text through the step-11 edit (first byte picks the edit), with its promises checked. */
#include <stdio.h>
#include <strings.h>

#include "fuzz_util.h"
#include "pb_maturity.h"

/* A broken promise is a crash libFuzzer reports (assert may be compiled out). */
#define PROMISE(c)                                                                   \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_maturity: promise broken: %s\n", #c); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static const pb_maturity_update edits[] = {
	{ "Staging", "Development", "2026-12-06", "Issue #12" },
	{ "Production", "Staging", "2026-12-07", "Promotion #3" },
	{ "Development", "Staging", "2027-01-01", "Issue #1" },
	{ "Staging", "Development", "2026-12-06", "Promotion #12" },
};

/*
 * One line's content: from *pos to its '\n' (excluded), without trailing '\r's. A last line
 * "x\r" without '\n' comes out as "x\r" plus the added ending ("x\r\r\n" or "x\r\n"): the bytes
 * are kept, so lines compare without their '\r's.
 */
static bool next_line(const char *s, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;
	size_t end;

	if (*pos >= len)
		return false;
	*line = s + *pos;
	nl = memchr(*line, '\n', len - *pos);
	end = nl ? (size_t)(nl - s) : len;
	*n = end - *pos;
	while (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	*pos = nl ? end + 1 : len;
	return true;
}

static bool field_line(const char *l, size_t n)
{
	static const char *const f[] = { "**current stage**:", "**current stage:**", "**last updated**:",
					 "**last updated:**" };

	for (size_t i = 0; i < 4; i++)
		if (n >= strlen(f[i]) && strncasecmp(l, f[i], strlen(f[i])) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const pb_maturity_update *u;
	char stage[256], updated[64], entry[256];
	const char *text, *ol, *il;
	size_t len, bound, ip = 0, op = 0, on, in;
	pb_buf once, twice;
	bool changed;

	if (size == 0)
		return 0;
	u = &edits[data[0] % (sizeof(edits) / sizeof(edits[0]))];
	text = (const char *)data + 1;
	len = size - 1;
	pb_buf_init(&once);
	pb_buf_init(&twice);
	if (pb_maturity_apply(text, len, u, &once, &changed) != 0)
		abort();
	/* the new Current Stage line is there, a line of its own */
	snprintf(stage, sizeof(stage), "**Current Stage**: %s (promoted from %s on %s)", u->stage, u->from, u->date);
	snprintf(updated, sizeof(updated), "**Last Updated**: %s", u->date);
	pb_maturity_history_line(u, entry, sizeof(entry));
	PROMISE(memmem(once.data, once.len, stage, strlen(stage)) != NULL);
	PROMISE(changed == (once.len != len || memcmp(once.data, text, len) != 0));
	/* at most: the two field lines, a blank line, the history heading, its entry, and CRLF endings */
	bound = len + strlen(stage) + strlen(updated) + strlen(entry) + strlen("## Promotion History") + 2 * 2 + 7 * 2;
	PROMISE(once.len <= bound);
	/* every line that is not a rewritten field comes through, in order (added lines in between) */
	while (next_line(text, len, &ip, &il, &in)) {
		bool found = false;

		if (field_line(il, in))
			continue;
		while (!found && next_line(once.data, once.len, &op, &ol, &on))
			found = on == in && memcmp(ol, il, in) == 0;
		PROMISE(found);
	}
	/* idempotent: the same edit on its own result changes nothing */
	if (pb_maturity_apply(once.data, once.len, u, &twice, &changed) != 0)
		abort();
	PROMISE(!changed && twice.len == once.len && memcmp(twice.data, once.data, once.len) == 0);
	pb_buf_deinit(&once);
	pb_buf_deinit(&twice);
	return 0;
}
