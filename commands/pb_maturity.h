/* pb_maturity.h — the step-11 edit of a component's MATURITY.md: text in, text out, no I/O. */
#ifndef PB_MATURITY_H
#define PB_MATURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_str.h"

/* What a completed promotion writes into the file. */
typedef struct pb_maturity_update {
	const char *stage;       /* the stage reached: "Staging" */
	const char *from;        /* the stage left: "Development" */
	const char *date;        /* the completion's date, "YYYY-MM-DD" */
	const char *ref;         /* "Issue #12" when the promotion has an issue, else "Promotion #3" */
} pb_maturity_update;

/*
 * Applies the promotion guide's step 11 to a MATURITY.md text (len bytes, need
 * not be terminated) and appends the result to out:
 *   - the `**Current Stage**:` line becomes
 *     `**Current Stage**: Staging (promoted from Development on 2026-12-06)`
 *     (also recognised: `**Current stage:**`, any case); when absent it is
 *     added under the first `# ` title (or at the top);
 *   - the `**Last Updated**:` line gets the date; when absent it is added
 *     right after the Current Stage line;
 *   - `- **2026-12-06**: Promoted to Staging (Issue #12)` is added after the
 *     last list item of the `## Promotion History` section (created at the
 *     end when absent) — unless the section already lists "Promoted to
 *     Staging (Issue #12)", so a second run adds nothing.
 * Every other byte is kept: line endings (added lines use the file's first
 * line ending, CRLF or LF) and the presence or absence of a final newline.
 * The edit is a pure function, so the local file and (later) the GitHub
 * contents API share it. *changed tells whether the text differs. 0 or -ENOMEM.
 */
int pb_maturity_apply(const char *text, size_t len, const pb_maturity_update *u, pb_buf *out, bool *changed);

/* The history line alone ("- **2026-12-06**: Promoted to Staging (Issue #12)"), for replies and audit. */
void pb_maturity_history_line(const pb_maturity_update *u, char *out, size_t size);

#endif
