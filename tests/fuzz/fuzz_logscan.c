/* fuzz_logscan.c — container log text through the level scanner (entries, continuation lines, signatures), split anywhere. */
#include <assert.h>

#include "fuzz_util.h"
#include "pb_logscan.h"

static char *crit[] = { "ERROR", "FATAL" }, *warn[] = { "WARN", "WARNING" };

static void feed(void *ud, const char *p, size_t n)
{
	pb_logscan_feed(ud, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Neo4j's log line shape, as a component's config gives it; the scanner keeps a pointer to it */
	static pb_monitor_cfg mc = {
		.log_entry_regex = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{4} +([A-Z]+)",
		.log_critical = crit, .nlog_critical = 2, .log_warning = warn, .nlog_warning = 2 };
	pb_logscan_sig top[PB_LOGSCAN_TOP];
	static pb_logscan *ls;
	uint32_t c = 0, w = 0;
	size_t n;

	/* one scanner (compiling the regex costs more than a scan); flush, take and top_reset below
	 * leave it as new, so a reproducer replays alone */
	if (!ls && pb_logscan_new(&mc, &ls, NULL))
		abort();
	fz_chunks(data, size, feed, ls);
	pb_logscan_flush(ls);
	pb_logscan_take(ls, &c, &w);
	n = pb_logscan_top(ls, top);
	assert(n <= PB_LOGSCAN_TOP);
	for (size_t i = 0; i < n; i++)
		assert(strlen(top[i].text) < PB_LOGSCAN_SIG_MAX && top[i].count > 0);
	pb_logscan_top_reset(ls);
	return 0;
}
