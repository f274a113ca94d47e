/* cmd_reject.c — /promote reject <component> <reason>: back to blocked, reason recorded. */
#include "pb_workflow.h"

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
	r = pb_cmd_transition(ctx, &p, PB_ST_BLOCKED, argv[2]);
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
