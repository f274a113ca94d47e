/* cmd_complete.c — /promote complete <component> [override-reason]: after a PASS verdict, the stage is reached. */
#include "pb_monitor.h"
#include "pb_obs.h"
#include "pb_workflow.h"

#include <stdio.h>

/*
 * Completion needs the observation's PASS. An admin may complete anyway
 * with a reason: the override and the verdict it overrode go into the
 * audit trail (and so into the lessons and the report's actions).
 */
static int check_verdict(pb_cmd_ctx *ctx, const pb_promotion *p, const char *reason, char *detail, size_t size)
{
	pb_obs_verdict v;
	int r = pb_monitor_verdict(ctx->svc, p, &v, &ctx->err);

	if (r)
		return r;
	if (v.kind == PB_VERDICT_PASS) {
		snprintf(detail, size, "observation PASS: uptime %.2f%%, coverage %.2f%%", v.uptime_pct, v.coverage_pct);
		return reason ? pb_err_set(&ctx->err, PB_E_REFUSED, "the verdict is PASS: complete needs no override")
			      : 0;
	}
	if (!reason)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "the observation verdict of %s is %s (%s): completing needs a PASS, or an admin's "
				  "/promote complete %s <reason>",
				  p->component, pb_verdict_name(v.kind), v.reasons[0] ? v.reasons : "no reason", p->component);
	if (!(ctx->caller.roles & PB_ROLE_ADMIN))
		return pb_err_set(&ctx->err, PB_E_REFUSED, "only an admin may override a %s verdict",
				  pb_verdict_name(v.kind));
	snprintf(detail, size, "override of %s (%s) by %s: %s", pb_verdict_name(v.kind), v.reasons, ctx->caller.name,
		 reason);
	return 0;
}

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
	const char *reason = argc > 2 ? argv[2] : NULL;
	const pb_component *c;
	char detail[PB_TEXT_MAX] = "";
	pb_promotion p;
	pb_card *card;
	int r;

	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (!r)
		r = check_observation(ctx, &p);
	if (!r)
		r = check_verdict(ctx, &p, reason, detail, sizeof(detail));
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
	r = pb_cmd_transition_in_tx(ctx, &p, PB_ST_COMPLETED, detail);
	if (!r && reason)
		r = pb_cmd_audit(ctx, p.id, c->id, "override", detail);
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
	pb_card_text(card, "%s is now at %s (completed by %s; %s).", c->name, pb_stage_title(p.target_stage),
		     ctx->caller.name, detail);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
