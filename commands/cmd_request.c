/* cmd_request.c — /promote request <component> <stage> [justification]: opens a promotion and its thread. */
#include "pb_workflow.h"

#include "pb_ghout.h"

#include <stdio.h>
#include <string.h>

/* A component may only be promoted to a stage each dependency has reached. */
static int dependency_gate(pb_cmd_ctx *ctx, const pb_component *c, pb_stage target)
{
	for (size_t i = 0; i < c->ndeps; i++) {
		const pb_component *dep = pb_config_component(ctx->svc->cfg, c->deps[i]);
		pb_stage st;
		int r;

		if (!dep)
			return pb_err_set(&ctx->err, PB_E_REFUSED, "%s depends on unknown component %s",
					  c->id, c->deps[i]);
		r = pb_cmd_component_stage(ctx, dep, &st);
		if (r)
			return r;
		if (st < target)
			return pb_err_set(&ctx->err, PB_E_REFUSED,
					  "%s depends on %s, which is at %s: %s must reach %s first",
					  c->id, dep->id, pb_stage_title(st), dep->id, pb_stage_title(target));
	}
	return 0;
}

static int check_target(pb_cmd_ctx *ctx, const pb_component *c, const char *stage_arg,
			pb_stage *current, pb_stage *target)
{
	int r;

	if (pb_stage_parse(stage_arg, target))
		return pb_err_set(&ctx->err, PB_E_INVALID,
				  "unknown stage \"%s\" (development, staging, production)", stage_arg);
	r = pb_cmd_component_stage(ctx, c, current);
	if (r)
		return r;
	if (*target != *current + 1)
		return pb_err_set(&ctx->err, PB_E_REFUSED, "%s is at %s; it can only be promoted to %s",
				  c->id, pb_stage_title(*current),
				  *current + 1 < PB_STAGE_COUNT ? pb_stage_title(*current + 1) : "nothing (final stage)");
	return 0;
}

/*
 * This replica posts the thread's parent (PB_THREAD_CLAIM_S, pb_store.h): a
 * card another replica emits before the parent's ts is stored waits for it
 * instead of opening a second thread. Claimed with the insert: no instant
 * in which the promotion exists unclaimed.
 */
static int claim_thread(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	char owner[192];
	int64_t now = pb_services_now(ctx->svc);

	pb_lease_token("replica", owner, sizeof(owner));
	return pb_store_promotion_claim_thread(ctx->svc->store, p->id, owner, now, now + PB_THREAD_CLAIM_S, NULL,
					       &ctx->err);
}

static int insert_promotion(pb_cmd_ctx *ctx, pb_promotion *p)
{
	char detail[PB_TEXT_MAX];
	int r = pb_store_begin(ctx->svc->store, &ctx->err);

	if (r)
		return r;
	r = pb_store_promotion_insert(ctx->svc->store, p, &ctx->err);
	if (r == 0)
		r = claim_thread(ctx, p);
	if (r == 0) {
		snprintf(detail, sizeof(detail), "%s → %s%s%s", pb_stage_name(p->from_stage),
			 pb_stage_name(p->target_stage), p->justification[0] ? ": " : "", p->justification);
		r = pb_cmd_audit(ctx, p->id, p->component, "requested", detail);
	}
	if (r == 0)
		r = pb_ghout_promotion_opened(ctx->svc, p, &ctx->err);
	if (r == 0)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r)
		pb_store_rollback(ctx->svc->store);
	return r;
}

int pb_cmd_request(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_stage current, target;
	pb_promotion p, open;
	pb_card *card;
	int r;

	r = pb_cmd_component(ctx, argv[1], &c);
	if (r)
		return r;
	r = check_target(ctx, c, argv[2], &current, &target);
	if (r)
		return r;
	r = dependency_gate(ctx, c, target);
	if (r)
		return r;
	r = pb_store_promotion_open_for(ctx->svc->store, c->id, &open, &ctx->err);
	if (r < 0)
		return r;
	if (r == 0) {
		char label[160];

		pb_cmd_thread_label(&open, label, sizeof(label));
		return pb_err_set(&ctx->err, PB_E_REFUSED, "%s already has an open promotion: %s (%s)",
				  c->id, label, pb_state_name(open.state));
	}
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would open a promotion of %s from %s to %s requested by %s, "
			       "and start its thread", c->id, pb_stage_title(current),
			       pb_stage_title(target), ctx->caller.name);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	pb_strlcpy(p.component, c->id, sizeof(p.component));
	p.from_stage = (int)current;
	p.target_stage = (int)target;
	p.state = PB_ST_REQUESTED;
	pb_strlcpy(p.requester, ctx->caller.id, sizeof(p.requester));
	pb_strlcpy(p.justification, argc > 3 ? argv[3] : "", sizeof(p.justification));
	p.created_at = p.updated_at = pb_services_now(ctx->svc);
	r = insert_promotion(ctx, &p);
	if (r)
		return r;
	card = pb_promotion_card(ctx, &p, PB_THREAD_OPEN);
	if (card)
		pb_card_text(card, "%s requested this promotion. Next: /promote validate %s",
			     ctx->caller.name, c->id);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	return 0;
}
