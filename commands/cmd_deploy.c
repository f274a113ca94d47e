/* cmd_deploy.c — /promote deploy <component>: preconditions, then the engine deploys (pb_deploy.h). */
#include "pb_workflow.h"
#include "pb_deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_log.h"

/* Everything that must hold before anything changes (also checked by --dry-run). */
static int deploy_preconditions(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p,
				const pb_deploy_cfg **d)
{
	int r;

	if (p->state != PB_ST_APPROVED)
		return pb_cmd_refuse_state(ctx, p, "deploy");
	r = pb_cmd_refuse_if_critical(ctx, c->id, "deploying");
	if (!r)
		r = pb_cmd_refuse_if_staging_uptime_unmet(ctx, p, "deploying");
	if (r)
		return r;
	*d = pb_config_deploy(c, (pb_stage)p->target_stage);
	if (!*d)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "%s has no \"%s\" environment in the config: nothing to deploy to",
				  c->id, pb_stage_name(p->target_stage));
	if ((*d)->external)
		return 0;  /* deployed by other tooling: no engine involved */
	if (!ctx->svc->engine)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "no deploy engine is configured: add a \"docker\" section (host) to the "
				  "config to let promobot deploy %s; the promotion stays approved", c->id);
	/* an unreachable engine must be refused before the state moves to deploying */
	return pb_engine_check(ctx->svc->engine, &ctx->err);
}

/*
 * A promotion found in `deploying` while we hold the component lease means
 * the process that deployed it died mid-way (a live deployer renews its
 * lease). Record that as a failure so the promotion is not stuck; people
 * must look at the environment, so say so instead of guessing what was left
 * running.
 */
static int recover_interrupted(pb_cmd_ctx *ctx, pb_promotion *p, const char *why)
{
	const pb_component *c = pb_config_component(ctx->svc->cfg, p->component);
	const pb_deploy_cfg *d = c ? pb_config_deploy(c, (pb_stage)p->target_stage) : NULL;
	pb_deploy_outcome out;
	char detail[700];
	pb_card *card;
	int r;

	/* first what the engine shows half done (cards of their own), then the record */
	memset(&out, 0, sizeof(out));
	if (d && ctx->svc->engine)
		pb_deploy_restore_interrupted(ctx, c, d, p, &out);
	snprintf(detail, sizeof(detail), "%s%s", why,
		 out.rolled_back ? (out.rollback_ok ? " (previous container restored)" : " (restore FAILED)") : "");
	r = pb_cmd_transition(ctx, p, PB_ST_FAILED, detail);
	if (r)
		return r;
	card = pb_cmd_thread_card(p, "💥 Deploy interrupted");
	pb_card_text(card, "The process deploying %s stopped before it finished; the promotion is marked "
		     "failed. %s, then request the promotion again.", p->component,
		     out.rolled_back && out.rollback_ok ? "The previous container is back and validated; check it"
							: "Check the environment");
	pb_card_field(card, "Environment", "%s", pb_stage_name(p->target_stage));
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, p);
	return pb_err_set(&ctx->err, PB_E_FAILED, "the previous deploy of %s was interrupted; marked failed",
			  p->component);
}

/* One promotion found deploying: recovered only when its component lease can be had (the deployer's expired). */
static int recover_one(const pb_services *svc, int64_t promotion_id, const char *component, bool *done)
{
	pb_promotion p;
	pb_cmd_ctx ctx;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.svc = svc;
	ctx.caller.id = "promobot";
	ctx.caller.name = "promobot";
	ctx.sink = svc->system_sink;
	pb_err_init(&ctx.err);
	r = pb_store_lock_acquire(svc->store, component, svc->lock_owner, "recover an interrupted deploy",
				  pb_services_now(svc), &ctx.err);
	if (r == PB_E_BUSY)
		return 0; /* its deployer still renews the lease: a deploy in progress */
	if (r)
		goto out;
	/* re-read under the lease: a deploy command may have recovered or finished it meanwhile */
	r = pb_store_promotion_get(svc->store, promotion_id, &p, &ctx.err);
	if (r == 0 && p.state == PB_ST_DEPLOYING) {
		r = recover_interrupted(&ctx, &p, "deploy interrupted: the replica deploying it stopped (its lease "
					"expired)");
		if (r == PB_E_FAILED) {
			pb_warn("deploy", "%s #%lld: the deploy in progress was interrupted (its lease expired); "
				"recorded failed", p.component, (long long)p.id);
			*done = true;
			r = 0;
		}
	}
	pb_store_lock_release(svc->store, component, svc->lock_owner);
out:
	if (r)
		pb_warn("deploy", "recovering the interrupted deploy of %s #%lld: %s", component,
			(long long)promotion_id, pb_err_text(&ctx.err));
	return r;
}

int pb_deploy_recover_expired(const pb_services *svc, size_t *recovered, pb_err *err)
{
	const pb_state deploying = PB_ST_DEPLOYING;
	pb_promotion *list = NULL;
	size_t n = 0;
	int r;

	*recovered = 0;
	r = pb_store_promotions_in_state(svc->store, &deploying, 1, &list, &n, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		bool done = false;

		/* one promotion's trouble (said in the log) never stops the others' recovery */
		if (recover_one(svc, list[i].id, list[i].component, &done) == 0 && done)
			(*recovered)++;
	}
	free(list);
	return r;
}

static void report(pb_cmd_ctx *ctx, const pb_promotion *p, int result, const pb_deploy_outcome *o)
{
	pb_card *card = pb_cmd_thread_card(p, result ? "💥 Deploy failed" : "📈 Deployed — observing");

	if (!card)
		return;
	if (result) {
		pb_card_text(card, "%s", o->cause[0] ? o->cause : pb_err_text(&ctx->err));
		if (o->rolled_back)
			pb_card_field(card, "Rollback", "%s", o->rollback_ok ? "previous deployment restored"
							: "FAILED — the previous deployment is not back; act now");
	} else {
		pb_card_text(card, "Observation period: %d days. /promote complete %s afterwards.",
			     ctx->svc->cfg->policy.observation_days, p->component);
	}
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
}

int pb_cmd_deploy(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_deploy_cfg *d = NULL;
	const pb_component *c;
	pb_deploy_outcome out;
	pb_promotion p;
	char detail[600];
	int r, result;

	(void)argc;
	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (!r && p.state == PB_ST_DEPLOYING && !ctx->dry_run)
		return recover_interrupted(ctx, &p, "deploy interrupted: the deploying process stopped before it finished");
	if (!r)
		r = deploy_preconditions(ctx, c, &p, &d);
	if (r)
		return r;
	if (ctx->dry_run)
		return pb_deploy_plan(ctx, c, d, &p);
	r = pb_cmd_transition(ctx, &p, PB_ST_DEPLOYING, "deploy started");
	if (r)
		return r;
	pb_cmd_emit_parent(ctx, &p);
	memset(&out, 0, sizeof(out));
	result = pb_deploy_execute(ctx, c, d, &p, &out);
	if (result == 0) {
		r = pb_cmd_transition(ctx, &p, PB_ST_OBSERVING, "deployed and validated");
	} else {
		snprintf(detail, sizeof(detail), "%s%s", out.cause[0] ? out.cause : pb_err_text(&ctx->err),
			 out.rolled_back ? (out.rollback_ok ? " (rolled back)" : " (rollback FAILED)") : "");
		r = pb_cmd_transition(ctx, &p, PB_ST_FAILED, detail);
	}
	report(ctx, &p, result, &out);
	pb_cmd_emit_parent(ctx, &p);
	if (r)
		return r;
	return result;
}
