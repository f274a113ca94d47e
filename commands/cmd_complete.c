/* cmd_complete.c — /promote complete <component>: after the observation period, the stage is reached. */
#include "pb_workflow.h"

#include <stdio.h>

static int check_observation(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	int64_t ends = p->observing_since + (int64_t)ctx->svc->cfg->policy.observation_days * 86400;
	char when[64];

	if (p->state != PB_ST_OBSERVING)
		return pb_cmd_refuse_state(ctx, p, "complete");
	if (pb_services_now(ctx->svc) < ends) {
		pb_time_fmt(ends, when, sizeof(when));
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "the %d-day observation period of %s ends %s; complete it then",
				  ctx->svc->cfg->policy.observation_days, p->component, when);
	}
	return pb_cmd_refuse_if_critical(ctx, p->component, "completing");
}

int pb_cmd_complete(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_promotion p;
	pb_card *card;
	int r;

	(void)argc;
	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (!r)
		r = check_observation(ctx, &p);
	if (r)
		return r;
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would complete the promotion and record %s at %s", c->id,
			       pb_stage_title(p.target_stage));
		return 0;
	}
	/* the stage change and the transition are one fact: one transaction */
	r = pb_store_begin(ctx->svc->store, &ctx->err);
	if (r)
		return r;
	r = pb_cmd_transition_in_tx(ctx, &p, PB_ST_COMPLETED, "observation period passed");
	if (!r)
		r = pb_store_component_set_stage(ctx->svc->store, c->id, p.target_stage,
						 pb_services_now(ctx->svc), &ctx->err);
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		return r;
	}
	card = pb_cmd_thread_card(&p, "🏁 Promotion completed");
	pb_card_text(card, "%s is now at %s (completed by %s).", c->name, pb_stage_title(p.target_stage),
		     ctx->caller.name);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
