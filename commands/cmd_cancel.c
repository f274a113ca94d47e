/* cmd_cancel.c — /promote cancel <component> [reason]: the requester or an admin ends a promotion. */
#include "pb_workflow.h"

#include <string.h>

int pb_cmd_cancel(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const char *reason = argc > 2 ? argv[2] : "cancelled";
	const pb_component *c;
	pb_promotion p;
	pb_card *card;
	int r;

	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (r)
		return r;
	if (strcmp(p.requester, ctx->caller.id) && !(ctx->caller.roles & PB_ROLE_ADMIN))
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "only the requester (%s) or an admin can cancel this promotion", p.requester);
	if (!pb_workflow_allowed(p.state, PB_ST_CANCELLED))
		return pb_cmd_refuse_state(ctx, &p, "cancel");
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would cancel the open promotion of %s (%s)", c->id, pb_state_name(p.state));
		return 0;
	}
	r = pb_cmd_transition(ctx, &p, PB_ST_CANCELLED, reason);
	if (r)
		return r;
	card = pb_cmd_thread_card(&p, "🚫 Cancelled");
	pb_card_text(card, "%s cancelled the promotion: %s", ctx->caller.name, reason);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
