/* workflow.c — the promotion state machine as one table of legal edges. */
#include "pb_workflow.h"

#include <stdio.h>
#include <string.h>

#include "pb_str.h"

/* verb: the command a person runs to take the edge; NULL for edges the bot takes
 * itself (validation result, deploy result). */
typedef struct edge {
	pb_state from;
	pb_state to;
	const char *verb;
} edge;

static const edge edges[] = {
	{ PB_ST_REQUESTED, PB_ST_VALIDATING, "validate" },
	{ PB_ST_REQUESTED, PB_ST_CANCELLED, "cancel" },
	/* validating → validating: a validation interrupted by a crash is re-run; the
	 * component lock guarantees no other validation is still running. */
	{ PB_ST_VALIDATING, PB_ST_VALIDATING, "validate" },
	{ PB_ST_VALIDATING, PB_ST_IN_REVIEW, NULL },
	{ PB_ST_VALIDATING, PB_ST_BLOCKED, NULL },
	{ PB_ST_VALIDATING, PB_ST_CANCELLED, "cancel" },
	{ PB_ST_IN_REVIEW, PB_ST_APPROVED, "approve" },
	{ PB_ST_IN_REVIEW, PB_ST_BLOCKED, "reject" },
	{ PB_ST_IN_REVIEW, PB_ST_VALIDATING, "validate" },
	{ PB_ST_IN_REVIEW, PB_ST_CANCELLED, "cancel" },
	{ PB_ST_BLOCKED, PB_ST_VALIDATING, "validate" },
	{ PB_ST_BLOCKED, PB_ST_CANCELLED, "cancel" },
	{ PB_ST_APPROVED, PB_ST_DEPLOYING, "deploy" },
	{ PB_ST_APPROVED, PB_ST_BLOCKED, "reject" },
	{ PB_ST_APPROVED, PB_ST_VALIDATING, "validate" },
	{ PB_ST_APPROVED, PB_ST_CANCELLED, "cancel" },
	/* deploying is owned by the running deploy: it ends in observing or failed
	 * (after automatic rollback), never cancelled half-way. */
	{ PB_ST_DEPLOYING, PB_ST_OBSERVING, NULL },
	{ PB_ST_DEPLOYING, PB_ST_FAILED, NULL },
	{ PB_ST_OBSERVING, PB_ST_COMPLETED, "complete" },
	{ PB_ST_OBSERVING, PB_ST_ROLLED_BACK, "rollback" },
	{ PB_ST_OBSERVING, PB_ST_FAILED, NULL },
};

bool pb_workflow_allowed(pb_state from, pb_state to)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (edges[i].from == from && edges[i].to == to)
			return true;
	return false;
}

void pb_workflow_next_verbs(pb_state from, char *out, size_t size)
{
	pb_buf b;

	pb_buf_init(&b);
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		if (edges[i].from != from || !edges[i].verb)
			continue;
		/* a verb may label several edges (reject); list it once */
		if (b.len && strstr(pb_buf_str(&b), edges[i].verb))
			continue;
		pb_buf_printf(&b, "%s%s", b.len ? ", " : "", edges[i].verb);
	}
	if (!b.len)
		pb_buf_puts(&b, from == PB_ST_DEPLOYING ? "none until the deploy finishes"
							  : "none (final state)");
	pb_strlcpy(out, pb_buf_str(&b), size);
	pb_buf_deinit(&b);
}
