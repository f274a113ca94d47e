/* cmd_rollback.c — /promote rollback <component>: restore the previous deployment on demand. */
#include "pb_workflow.h"
#include "pb_deploy.h"

#include <stdio.h>
#include <string.h>

int pb_cmd_rollback(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_deploy_cfg *d;
	const pb_component *c;
	pb_deploy_outcome out;
	pb_promotion p;
	pb_card *card;
	int r, result;

	(void)argc;
	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (r)
		return r;
	d = pb_config_deploy(c, (pb_stage)p.target_stage);
	if (d && d->external)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "%s's %s deployment is external (deployed by other tooling): promobot has no "
				  "container to remove and no previous one to restore. Roll it back with the tool "
				  "that deployed it, then /promote cancel %s", c->id, pb_stage_name(p.target_stage),
				  c->id);
	if (p.state != PB_ST_OBSERVING)
		return pb_cmd_refuse_state(ctx, &p, "rollback");
	if (!d || !ctx->svc->engine)
		return pb_err_set(&ctx->err, PB_E_REFUSED, "no deploy engine is configured for %s: cannot roll back",
				  c->id);
	r = pb_engine_check(ctx->svc->engine, &ctx->err);
	if (r)
		return r;
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would remove the deployed %s container %s, restore and start the previous "
			       "one, verify it, and mark the promotion rolled_back", c->id, d->container_name);
		return 0;
	}
	memset(&out, 0, sizeof(out));
	result = pb_rollback_execute(ctx, c, d, &p, &out);
	if (result == 0)
		r = pb_cmd_transition(ctx, &p, PB_ST_ROLLED_BACK, "rolled back on demand");
	else
		r = pb_cmd_transition(ctx, &p, PB_ST_FAILED,
				      out.cause[0] ? out.cause : pb_err_text(&ctx->err));
	card = pb_cmd_thread_card(&p, result ? "💥 Rollback failed" : "↩️ Rolled back");
	pb_card_text(card, result ? "%s" : "%s restored the previous deployment.",
		     result ? (out.cause[0] ? out.cause : pb_err_text(&ctx->err)) : ctx->caller.name);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return r ? r : result;
}
