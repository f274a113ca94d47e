/* ghlabels.c — the promotion issue's label lifecycle: one table from state-machine edge to labels, plus label styles. */
#include "pb_ghbody.h"

#include <string.h>

/*
 * The labels are the TTA repository's five lifecycle labels (created by its
 * setup script with these colours and descriptions) and nothing more:
 *
 *   requested, validating   promotion:requested
 *   in_review               promotion:in-review
 *   blocked                 promotion:blocked
 *   approved, deploying,
 *   observing               promotion:approved
 *   completed               promotion:completed (issue closed, completed)
 *   failed, rolled_back     promotion:blocked (+ a comment saying what happened)
 *   cancelled               none (issue closed, not planned)
 *
 * Why validating, deploying and observing add no label of their own: the
 * repository defines none, and its validation workflow
 * (.github/workflows/component-promotion-validation.yml) runs on
 * `issues: opened|edited|labeled` only when the issue carries
 * promotion:requested, so "waiting for validation" must BE that label —
 * re-validating from in_review, blocked or approved puts it back (and the
 * `labeled` event is what starts the workflow), exactly as a person
 * following the guide re-runs it. Deploying and observing stay "approved":
 * the GitHub Deployment's statuses show the deploy, and an extra label would
 * be one the workflow and the Project automation do not know.
 *
 * Leaving blocked drops promotion:requested, unlike the workflow (which keeps
 * it on failure): with the label on, every later edit of the issue would
 * re-run the workflow on a request the bot has decided. Apply removals
 * before additions, so no `labeled` event fires while promotion:requested is
 * still on an issue that is leaving it.
 */
#define REQ PB_GH_LABEL_REQUESTED
#define REV PB_GH_LABEL_IN_REVIEW
#define BLK PB_GH_LABEL_BLOCKED
#define APR PB_GH_LABEL_APPROVED
#define DONE PB_GH_LABEL_COMPLETED

typedef struct label_row {
	pb_state from;
	pb_state to;
	pb_ghlabels_step step;
} label_row;

#define ADD(...) .add = { __VA_ARGS__, NULL }
#define DEL(...) .remove = { __VA_ARGS__, NULL }

/* One row per legal edge of commands/workflow.c (the test fails when an edge has no row). */
static const label_row rows[] = {
	{ PB_ST_REQUESTED, PB_ST_VALIDATING, { { NULL }, { NULL }, NULL, false } },
	{ PB_ST_REQUESTED, PB_ST_CANCELLED, { .remove = { REQ, NULL }, .close_reason = "not_planned" } },
	{ PB_ST_VALIDATING, PB_ST_VALIDATING, { { NULL }, { NULL }, NULL, false } },
	{ PB_ST_VALIDATING, PB_ST_IN_REVIEW, { ADD(REV), DEL(REQ) } },
	{ PB_ST_VALIDATING, PB_ST_BLOCKED, { ADD(BLK), DEL(REQ) } },
	{ PB_ST_VALIDATING, PB_ST_CANCELLED, { .remove = { REQ, NULL }, .close_reason = "not_planned" } },
	{ PB_ST_IN_REVIEW, PB_ST_APPROVED, { ADD(APR), DEL(REV) } },
	{ PB_ST_IN_REVIEW, PB_ST_BLOCKED, { ADD(BLK), DEL(REV) } },
	{ PB_ST_IN_REVIEW, PB_ST_VALIDATING, { ADD(REQ), DEL(REV) } },
	{ PB_ST_IN_REVIEW, PB_ST_CANCELLED, { .remove = { REV, NULL }, .close_reason = "not_planned" } },
	{ PB_ST_BLOCKED, PB_ST_VALIDATING, { ADD(REQ), DEL(BLK) } },
	{ PB_ST_BLOCKED, PB_ST_CANCELLED, { .remove = { BLK, NULL }, .close_reason = "not_planned" } },
	{ PB_ST_APPROVED, PB_ST_DEPLOYING, { { NULL }, { NULL }, NULL, false } },
	{ PB_ST_APPROVED, PB_ST_BLOCKED, { ADD(BLK), DEL(APR) } },
	{ PB_ST_APPROVED, PB_ST_VALIDATING, { ADD(REQ), DEL(APR) } },
	{ PB_ST_APPROVED, PB_ST_CANCELLED, { .remove = { APR, NULL }, .close_reason = "not_planned" } },
	{ PB_ST_DEPLOYING, PB_ST_OBSERVING, { { NULL }, { NULL }, NULL, false } },
	{ PB_ST_DEPLOYING, PB_ST_FAILED, { ADD(BLK), DEL(APR), .comment = true } },
	{ PB_ST_OBSERVING, PB_ST_COMPLETED, { ADD(DONE), DEL(APR), .close_reason = "completed" } },
	{ PB_ST_OBSERVING, PB_ST_ROLLED_BACK, { ADD(BLK), DEL(APR), .comment = true } },
	{ PB_ST_OBSERVING, PB_ST_FAILED, { ADD(BLK), DEL(APR), .comment = true } },
};

const pb_ghlabels_step *pb_ghlabels_for(pb_state from, pb_state to)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].from == from && rows[i].to == to)
			return &rows[i].step;
	return NULL;
}

const char *const *pb_ghlabels_expected(pb_state state)
{
	static const char *const none[] = { NULL };
	static const char *const req[] = { REQ, NULL };
	static const char *const rev[] = { REV, NULL };
	static const char *const blk[] = { BLK, NULL };
	static const char *const apr[] = { APR, NULL };
	static const char *const done[] = { DONE, NULL };

	switch (state) {
	case PB_ST_REQUESTED:
	case PB_ST_VALIDATING: return req;
	case PB_ST_IN_REVIEW: return rev;
	case PB_ST_BLOCKED:
	case PB_ST_FAILED:
	case PB_ST_ROLLED_BACK: return blk;
	case PB_ST_APPROVED:
	case PB_ST_DEPLOYING:
	case PB_ST_OBSERVING: return apr;
	case PB_ST_COMPLETED: return done;
	default: return none;   /* cancelled: closed as not planned, no lifecycle label */
	}
}

typedef struct label_style {
	const char *name;
	const char *color;
	const char *description;
} label_style;

/* The TTA repository's own, from its label setup script (`gh label create NAME --description … --color …`). */
static const label_style styles[] = {
	{ PB_GH_LABEL_REQUESTED, "0075ca", "Promotion request submitted" },
	{ PB_GH_LABEL_IN_REVIEW, "5319e7", "Promotion request under review" },
	{ PB_GH_LABEL_APPROVED, "0e8a16", "Promotion request approved" },
	{ PB_GH_LABEL_BLOCKED, "d93f0b", "Promotion blocked by issues" },
	{ PB_GH_LABEL_COMPLETED, "1d76db", "Promotion completed successfully" },
	{ "target:development", "c5def5", "Target environment: Development" },
	{ "target:staging", "fbca04", "Target environment: Staging" },
	{ "target:production", "d93f0b", "Target environment: Production" },
};

void pb_ghlabels_style(const char *name, const char **color, const char **description)
{
	for (size_t i = 0; name && i < sizeof(styles) / sizeof(styles[0]); i++) {
		if (!strcmp(name, styles[i].name)) {
			*color = styles[i].color;
			*description = styles[i].description;
			return;
		}
	}
	if (name && !strncmp(name, "component:", strlen("component:"))) {
		*color = "d4c5f9";
		*description = "Component in the maturity promotion workflow";
	} else if (name && !strncmp(name, "target:", strlen("target:"))) {
		*color = "fbca04";
		*description = "Target environment of a promotion";
	} else {
		*color = "ededed";   /* GitHub's default label grey */
		*description = "";
	}
}
