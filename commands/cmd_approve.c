/* cmd_approve.c — /promote approve <component> [comment]: N approvals of the validated revision. */
#include "pb_workflow.h"

#include "pb_ghout.h"

#include <stdio.h>
#include <string.h>

static int check_approvable(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	int r;

	if (p->state == PB_ST_APPROVED)
		return pb_err_set(&ctx->err, PB_E_REFUSED, "%s → %s #%lld is already approved; next: /promote deploy %s",
				  p->component, pb_stage_name(p->target_stage), (long long)p->id, p->component);
	if (p->state != PB_ST_IN_REVIEW)
		return pb_cmd_refuse_state(ctx, p, "approve");
	if (!strcmp(p->requester, ctx->caller.id) && !ctx->svc->cfg->policy.self_approval)
		return pb_err_set(&ctx->err, PB_E_REFUSED,
				  "%s requested this promotion and cannot approve it; another approver must",
				  ctx->caller.name);
	r = pb_cmd_refuse_if_critical(ctx, p->component, "approval");
	/* re-read, not only trusted from the validation: a validation stored before this criterion existed lacks it */
	return r ? r : pb_cmd_refuse_if_staging_uptime_unmet(ctx, p, "approval");
}

/* Records the approval and, when the count is reached, approves — one transaction.
 * Returns PB_E_CONFLICT (as "already approved by you") without changing anything. */
static int record_approval(pb_cmd_ctx *ctx, pb_promotion *p, const char *comment, size_t *count)
{
	pb_approval a;
	char detail[PB_TEXT_MAX];
	pb_err e;
	int r;

	memset(&a, 0, sizeof(a));
	a.promotion_id = p->id;
	pb_strlcpy(a.approver, ctx->caller.id, sizeof(a.approver));
	pb_strlcpy(a.revision, p->revision, sizeof(a.revision));
	pb_strlcpy(a.comment, comment ? comment : "", sizeof(a.comment));
	a.at = pb_services_now(ctx->svc);
	r = pb_store_begin(ctx->svc->store, &ctx->err);
	if (r)
		return r;
	/* a duplicate approval is the caller's to word: its storage text stays private */
	pb_err_init(&e);
	r = pb_store_approval_add(ctx->svc->store, &a, &e);
	if (r != PB_E_CONFLICT)
		pb_err_pass(&ctx->err, r, &e);
	snprintf(detail, sizeof(detail), "revision %s%s%s", p->revision, comment ? ": " : "",
		 comment ? comment : "");
	if (!r)
		r = pb_cmd_audit(ctx, p->id, p->component, "approved", detail);
	if (!r) {
		char lead[PB_ID_MAX * 2 + 64];

		snprintf(lead, sizeof(lead), "👍 **Approved** by %s (revision `%s`)", ctx->caller.name, p->revision);
		r = pb_ghout_comment_text(ctx->svc, p, lead, comment, &ctx->err);
	}
	if (!r)
		r = pb_cmd_approval_count(ctx, p, count);
	if (!r && *count >= (size_t)ctx->svc->cfg->policy.required_approvals)
		r = pb_cmd_transition_in_tx(ctx, p, PB_ST_APPROVED, "required approvals reached");
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r)
		pb_store_rollback(ctx->svc->store);
	return r;
}

int pb_cmd_approve(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const char *comment = argc > 2 ? argv[2] : NULL;
	const pb_component *c;
	pb_promotion p;
	size_t count = 0;
	pb_card *card;
	int r;

	r = pb_cmd_lookup(ctx, argv[1], &c, &p);
	if (!r)
		r = check_approvable(ctx, &p);
	if (r)
		return r;
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would record %s's approval of %s revision %s (%d required)",
			       ctx->caller.name, c->id, p.revision, ctx->svc->cfg->policy.required_approvals);
		return 0;
	}
	r = record_approval(ctx, &p, comment, &count);
	if (r == PB_E_CONFLICT) {
		/* approving twice is a no-op, not an error */
		pb_cmd_say(ctx, "Already approved", "you already approved %s revision %s; nothing changed",
			   c->id, p.revision);
		return 0;
	}
	if (r)
		return r;
	card = pb_cmd_thread_card(&p, p.state == PB_ST_APPROVED ? "✅ Approved" : "👍 Approval recorded");
	pb_card_text(card, "%s approved revision %s (%zu/%d)%s%s", ctx->caller.name, p.revision, count,
		     ctx->svc->cfg->policy.required_approvals, comment ? ": " : "", comment ? comment : "");
	if (p.state == PB_ST_APPROVED)
		pb_card_field(card, "Next", "a deployer runs /promote deploy %s", c->id);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_cmd_emit_parent(ctx, &p);
	return 0;
}
