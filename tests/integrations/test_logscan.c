/* test_logscan.c — log levels by entry: Neo4j lines, stack traces as one entry, split feeds, long lines, signatures. */
#include <criterion/criterion.h>
#include <string.h>

#include "pb_logscan.h"

static char *crit[] = { "ERROR", "FATAL" }, *warn[] = { "WARN", "WARNING" };

static pb_monitor_cfg neo4j_cfg(void)
{
	return (pb_monitor_cfg){
		.log_entry_regex = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{4} +([A-Z]+)",
		.log_critical = crit, .nlog_critical = 2, .log_warning = warn, .nlog_warning = 2 };
}

static const char neo4j_log[] =
	"2026-12-01 09:00:00.123+0000 INFO  [o.n.s.A.Config] Starting...\n"
	"2026-12-01 09:00:01.000+0000 ERROR [o.n.b.t.TransactionStateMachine] Connection 1234 refused\n"
	"java.net.ConnectException: refused\n"
	"\tat org.neo4j.Foo.bar(Foo.java:42)\n"
	"\tat org.neo4j.Foo.baz(Foo.java:43)\n"
	"2026-12-01 09:00:02.000+0000 WARN  [o.n.k.i.c.VmPauseMonitor] pause of 712ms\n"
	"2026-12-01 09:00:03.000+0000 ERROR [o.n.b.t.TransactionStateMachine] Connection 5678 refused\n"
	"2026-12-01 09:00:04.000+0000 FATAL [o.n.x] out of heap\n"
	"not a log line ERROR in the middle\n";

Test(logscan, entries_not_lines_and_normalised_signatures)
{
	pb_monitor_cfg mc = neo4j_cfg();
	pb_logscan *ls = NULL;
	pb_logscan_sig top[PB_LOGSCAN_TOP];
	uint32_t c = 0, w = 0;

	cr_assert_eq(pb_logscan_new(&mc, &ls, NULL), 0);
	pb_logscan_feed(ls, neo4j_log, strlen(neo4j_log));
	pb_logscan_flush(ls);
	pb_logscan_take(ls, &c, &w);
	cr_expect_eq(c, 3, "the stack trace belongs to its ERROR; the mid-line ERROR is no entry");
	cr_expect_eq(w, 1);
	cr_assert_eq(pb_logscan_top(ls, top), 2);
	cr_expect_str_eq(top[0].text, "[o.n.b.t.TransactionStateMachine] Connection # refused");
	cr_expect_eq(top[0].count, 2, "1234 and 5678 are one error");
	pb_logscan_take(ls, &c, &w);
	cr_expect_eq(c + w, 0, "take resets the counts");
	pb_logscan_free(ls);
}

Test(logscan, pieces_split_anywhere_give_the_same_counts)
{
	pb_monitor_cfg mc = neo4j_cfg();
	size_t len = strlen(neo4j_log);

	for (size_t step = 1; step < 40; step += 3) {
		pb_logscan *ls = NULL;
		uint32_t c = 0, w = 0;

		cr_assert_eq(pb_logscan_new(&mc, &ls, NULL), 0);
		for (size_t i = 0; i < len; i += step)
			pb_logscan_feed(ls, neo4j_log + i, i + step > len ? len - i : step);
		pb_logscan_flush(ls);
		pb_logscan_take(ls, &c, &w);
		cr_expect(c == 3 && w == 1, "step %zu: %u/%u", step, c, w);
		pb_logscan_free(ls);
	}
}

Test(logscan, an_endless_line_is_cut_and_a_custom_pattern_works)
{
	static char big[3 * PB_LOGSCAN_LINE_MAX];
	static char *lv_crit[] = { "E" }, *lv_warn[] = { "W" };
	pb_monitor_cfg mc = { .log_entry_regex = "^([EWI]) ", .log_critical = lv_crit, .nlog_critical = 1,
			      .log_warning = lv_warn, .nlog_warning = 1 };
	pb_logscan *ls = NULL;
	uint32_t c = 0, w = 0;

	cr_assert_eq(pb_logscan_new(&mc, &ls, NULL), 0);
	memset(big, 'x', sizeof(big));
	big[0] = 'E';
	big[1] = ' ';
	pb_logscan_feed(ls, big, sizeof(big));
	pb_logscan_feed(ls, "\nW low disk\nI fine\n", 19);
	pb_logscan_take(ls, &c, &w);
	cr_expect(c == 1 && w == 1, "%u/%u", c, w);
	pb_logscan_free(ls);
}

Test(logscan, bad_patterns_are_refused_with_the_reason)
{
	pb_monitor_cfg mc = neo4j_cfg();
	pb_logscan *ls = NULL;
	pb_err e;

	pb_err_init(&e);
	mc.log_entry_regex = "^([A-Z";
	cr_expect_eq(pb_logscan_new(&mc, &ls, &e), PB_E_INVALID);
	cr_expect(strstr(pb_err_text(&e), "log_entry_regex"), "%s", pb_err_text(&e));
	pb_err_init(&e);
	mc.log_entry_regex = "^[A-Z]+";
	cr_expect_eq(pb_logscan_new(&mc, &ls, &e), PB_E_INVALID);
	cr_expect(strstr(pb_err_text(&e), "group"), "%s", pb_err_text(&e));
	cr_expect_null(ls);
}
