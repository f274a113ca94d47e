/* test_maturity.c — the step-11 MATURITY.md edit against golden files: before/after, idempotence, CRLF, no final newline. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "pb_file.h"
#include "pb_maturity.h"
#include "pb_str.h"

static const pb_maturity_update staging = { .stage = "Staging", .from = "Development", .date = "2026-12-06",
					    .ref = "Issue #12" };

/* Drops the final newline (LF or CRLF) in place. */
static char *chop(char *s)
{
	size_t n = strlen(s);

	if (n && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n && s[n - 1] == '\r')
		s[--n] = '\0';
	return s;
}

/* Applies u to `before` and expects exactly `after`; then once more on the result, expecting no change. */
static void expect_edit(const char *before, const char *after, const pb_maturity_update *u)
{
	bool changed = false;
	pb_buf out, again;

	pb_buf_init(&out);
	pb_buf_init(&again);
	cr_assert_eq(pb_maturity_apply(before, strlen(before), u, &out, &changed), 0);
	cr_expect(changed);
	cr_expect_str_eq(pb_buf_str(&out), after, "got:\n%s\n---- expected:\n%s", pb_buf_str(&out), after);
	cr_assert_eq(pb_maturity_apply(out.data, out.len, u, &again, &changed), 0);
	cr_expect_not(changed, "a second run changes nothing");
	cr_expect_str_eq(pb_buf_str(&again), pb_buf_str(&out));
	pb_buf_deinit(&out);
	pb_buf_deinit(&again);
}

static void golden_case(const char *name, bool to_crlf, bool no_final_newline)
{
	char b[64], a[64], *before, *after;

	snprintf(b, sizeof(b), "%s.before.md", name);
	snprintf(a, sizeof(a), "%s.after.md", name);
	before = golden(b);
	after = golden(a);
	if (to_crlf) {
		char *x = crlf(before), *y = crlf(after);

		free(before);
		free(after);
		before = x;
		after = y;
	}
	if (no_final_newline) {
		chop(before);
		chop(after);
	}
	expect_edit(before, after, &staging);
	free(before);
	free(after);
}

Test(maturity, tta_file_every_other_byte_unchanged) { golden_case("tta", false, false); }
Test(maturity, tta_file_crlf) { golden_case("tta", true, false); }
Test(maturity, tta_file_without_final_newline) { golden_case("tta", false, true); }
Test(maturity, tta_file_crlf_without_final_newline) { golden_case("tta", true, true); }
Test(maturity, missing_stage_updated_and_history_are_added) { golden_case("bare", false, false); }
Test(maturity, missing_sections_crlf_without_final_newline) { golden_case("bare", true, true); }
Test(maturity, legacy_stage_line_is_rewritten_and_history_section_created) { golden_case("legacy", false, false); }

Test(maturity, the_next_promotion_adds_its_own_line_after_the_first)
{
	static const pb_maturity_update prod = { .stage = "Production", .from = "Staging", .date = "2026-12-20",
						 .ref = "Promotion #7" };
	char *after = golden("tta.after.md");
	const char *first, *second;
	bool changed = false;
	pb_buf out;

	pb_buf_init(&out);
	cr_assert_eq(pb_maturity_apply(after, strlen(after), &prod, &out, &changed), 0);
	cr_expect(changed);
	first = strstr(pb_buf_str(&out), "- **2026-12-06**: Promoted to Staging (Issue #12)\n");
	second = strstr(pb_buf_str(&out), "- **2026-12-06**: Promoted to Staging (Issue #12)\n"
				     "- **2026-12-20**: Promoted to Production (Promotion #7)\n\n## Known Issues");
	cr_expect(first && second == first, "%s", pb_buf_str(&out));
	cr_expect(strstr(pb_buf_str(&out), "**Current Stage**: Production (promoted from Staging on 2026-12-20)\n"
				       "**Last Updated**: 2026-12-20\n**Owner**"), "%s", pb_buf_str(&out));
	pb_buf_deinit(&out);
	free(after);
}

Test(maturity, an_empty_file_gets_the_three_parts)
{
	expect_edit("",
		    "**Current Stage**: Staging (promoted from Development on 2026-12-06)\n"
		    "**Last Updated**: 2026-12-06\n"
		    "\n"
		    "## Promotion History\n"
		    "- **2026-12-06**: Promoted to Staging (Issue #12)\n",
		    &staging);
}

/*
 * fuzz_maturity (regress-history-cr): a last line "## Promotion History\r" without '\n' was not the
 * heading on the first run but was on the second (it had become "…\r\n"), so the second run added
 * the entry again. Lines are now read without trailing '\r's.
 */
Test(maturity, a_last_line_ending_in_cr_reads_the_same_on_the_second_run)
{
	expect_edit("## Promotion History\r",
		    "**Current Stage**: Staging (promoted from Development on 2026-12-06)\n"
		    "**Last Updated**: 2026-12-06\n"
		    "\n"
		    "## Promotion History\r\n"
		    "- **2026-12-06**: Promoted to Staging (Issue #12)",
		    &staging);
}

Test(maturity, an_entry_already_there_is_not_added_again_even_on_another_date)
{
	const char *text = "# X\n\n**Current Stage**: Staging (promoted from Development on 2026-12-06)\n"
			   "**Last Updated**: 2026-12-06\n\n## Promotion History\n"
			   "- **2026-12-05**: Promoted to Staging (Issue #12)\n";
	bool changed = true;
	pb_buf out;

	pb_buf_init(&out);
	cr_assert_eq(pb_maturity_apply(text, strlen(text), &staging, &out, &changed), 0);
	cr_expect_not(changed, "%s", pb_buf_str(&out));
	cr_expect_str_eq(pb_buf_str(&out), text);
	pb_buf_deinit(&out);
}
