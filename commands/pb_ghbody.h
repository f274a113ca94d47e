/* pb_ghbody.h — what promobot writes on GitHub: issue-form bodies, comments, and the label lifecycle table. */
#ifndef PB_GHBODY_H
#define PB_GHBODY_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_err.h"
#include "pb_services.h"
#include "pb_store.h"
#include "pb_str.h"

/*
 * Pure builders (no GitHub call): the outbox stores their output as the
 * payload of an operation, so what is delivered is what was decided in the
 * transaction. Every function appends to `out` and returns 0, -ENOMEM, or
 * <0 on a storage failure (err set); bodies read from svc->store what they
 * show (latest validation, dependencies' stages, open blockers).
 */

/* "[PROMOTION] Neo4j: Development → Staging" */
int pb_ghbody_promotion_title(const pb_component *c, const pb_promotion *p, pb_buf *out);
/*
 * The promotion issue body exactly as the "🚀 Component Promotion Request"
 * issue form renders it: `### Label\n\nvalue\n\n` sections (Component Name,
 * Current Stage, Target Stage, Functional Group, Promotion Justification,
 * the criteria checkbox lists ticked from the latest validation, Test
 * Results, Dependencies with their stages, Known Blockers linked by issue),
 * `_No response_` for an empty field. User text is escaped so it can never
 * open a section of its own (a justification containing "### Target Stage").
 * `marker` (may be NULL) is appended as a hidden HTML comment line
 * (`<!-- promobot:… -->`) so an unknown outcome can be looked up: pass what
 * goes inside ("promobot:op=12") or the whole comment; -EINVAL (err set)
 * for one with a line break, "--" or '>' (it could end the comment early).
 * Checkboxes are written as GitHub renders a form's: "- [X] …" / "- [ ] …".
 */
int pb_ghbody_promotion_body(const pb_services *svc, const pb_component *c, const pb_promotion *p,
			     const char *marker, pb_buf *out, pb_err *err);
/* "[BLOCKER] Neo4j: <text>" (text cut to fit GitHub's 256-character title limit) */
int pb_ghbody_blocker_title(const pb_component *c, const pb_blocker *b, pb_buf *out);
/*
 * The blocker issue body as the "🚧 Component Promotion Blocker" form renders
 * it: Component Name, Blocker Type, Target Stage, Severity worded as the form
 * ("Critical (must be resolved before promotion)"), Blocker Description,
 * Acceptance Criteria, then the form's optional fields as `_No response_`;
 * `target` may be PB_STAGE_COUNT when unknown. `marker` as for the promotion
 * body (-EINVAL for one that could end the comment early).
 */
int pb_ghbody_blocker_body(const pb_component *c, const pb_blocker *b, pb_stage target, const char *marker,
			   pb_buf *out);
/* Severity from a blocker form body's "### Severity" section; PB_SEV_HIGH when absent or unknown. */
pb_severity pb_ghbody_blocker_severity(const char *body);

/*
 * Markdown-escapes user text for one line/paragraph of a body (no section, list or HTML comment can start).
 * Lines keep their breaks (blank runs become one blank line); each line loses its leading blanks, and
 * one starting with ASCII punctuation or "N." / "N)" gets a backslash (invisible once rendered); every
 * "<!" / "<?" becomes "&lt;!" / "&lt;?"; control bytes go, invalid UTF-8 becomes U+FFFD. 0 or -ENOMEM.
 */
int pb_ghbody_escape(const char *text, pb_buf *out);
/* The same for a value that must stay on one line (a list item, "**Key**: value"): breaks become spaces. */
int pb_ghbody_escape_inline(const char *text, pb_buf *out);

/* ---- the label lifecycle: one table from state to labels ---- */
#define PB_GH_LABEL_REQUESTED "promotion:requested"
#define PB_GH_LABEL_IN_REVIEW "promotion:in-review"
#define PB_GH_LABEL_BLOCKED   "promotion:blocked"
#define PB_GH_LABEL_APPROVED  "promotion:approved"
#define PB_GH_LABEL_COMPLETED "promotion:completed"

/* Apply a step's removals before its additions: no `labeled` event may fire while the issue still
 * carries promotion:requested on its way out (the repository's validation workflow runs on it). */
typedef struct pb_ghlabels_step {
	const char *add[4];          /* NULL-terminated */
	const char *remove[4];       /* NULL-terminated */
	const char *close_reason;    /* "completed" | "not_planned" | NULL (stay open) */
	bool comment;                /* the transition is told in a comment (failed, rolled back) */
} pb_ghlabels_step;

/* What entering `to` from `from` does to the lifecycle labels. */
const pb_ghlabels_step *pb_ghlabels_for(pb_state from, pb_state to);
/* The lifecycle labels an issue in `state` carries, NULL-terminated (drift compares against it). */
const char *const *pb_ghlabels_expected(pb_state state);
/* Colour ("rrggbb") and description for creating a missing label (lifecycle, component:<id>, target:<stage>). */
void pb_ghlabels_style(const char *name, const char **color, const char **description);

#endif
