/* cmd_reject.c — /promote reject <component> <reason>: back to blocked, reason recorded. */
#include "pb_workflow.h"

#include <stdio.h>

#include "pb_ghout.h"

/* The rejection, its GitHub comment and the move to blocked: one transaction. */
static int reject_in_tx(pb_cmd_ctx *ctx, pb_promotion *p, const char *reason)
{
	pb_state before = p->state;
	char lead[PB_ID_MAX * 2 + 64];
	int r = pb_store_begin(ctx->svc->store, &ctx->err);

	if (r)
		return r;
	snprintf(lead, sizeof(lead), "⛔ **Rejected** by %s (revision `%s`)", ctx->caller.name,
		 p->revision[0] ? p->revision : "none");
	r = pb_ghout_comment_text(ctx->svc, p, lead, reason, &ctx->err);
	if (r == 0)
		r = pb_cmd_transition_in_tx(ctx, p, PB_ST_BLOCKED, reason);
	if (r == 0)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		p->state = before;
	}
	return r;
}

int pb_cmd_reject(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_promotion p;
	pb_card *card;
	int r;

	(void)argc;
	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (r)
		return r;
	if (!pb_workflow_allowed(p.state, PB_ST_BLOCKED) || p.state == PB_ST_VALIDATING)
		return pb_cmd_refuse_state(ctx, &p, "reject");
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would move %s to blocked with the reason \"%s\"", c->id, argv[2]);
		return 0;
	}
	r = reject_in_tx(ctx, &p, argv[2]);
	if (r)
		return r;
	card = pb_cmd_thread_card(&p, "⛔ Rejected");
	pb_card_text(card, "%s rejected the promotion: %s", ctx->caller.name, argv[2]);
	pb_card_field(card, "Next", "fix it, then /promote validate %s", c->id);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
