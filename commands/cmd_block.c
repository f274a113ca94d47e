/* cmd_block.c — /promote block <component> <severity> <text>: open a blocker. */
#include "pb_workflow.h"

#include <stdio.h>
#include <string.h>

#include "pb_ghout.h"

/* The blocker issue on GitHub, linked from the open promotion's issue when there is one. */
static int mirror(pb_cmd_ctx *ctx, const pb_blocker *b)
{
	pb_promotion p;
	pb_err e;
	int r;

	if (!pb_ghout_wanted(ctx->svc, b->component))
		return 0;
	pb_err_init(&e);
	r = pb_store_promotion_open_for(ctx->svc->store, b->component, &p, &e);
	if (r && r != PB_E_NOTFOUND)
		return pb_err_pass(&ctx->err, r, &e);
	return pb_ghout_blocker_opened(ctx->svc, b, r == 0 ? &p : NULL, &ctx->err);
}

int pb_cmd_block(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_severity sev;
	pb_blocker b;
	pb_card *card;
	char detail[PB_TEXT_MAX];
	int r;

	(void)argc;
	r = pb_cmd_component(ctx, argv[1], &c);
	if (r)
		return r;
	if (pb_severity_parse(argv[2], &sev))
		return pb_err_set(&ctx->err, PB_E_INVALID,
				  "unknown severity \"%s\" (low, medium, high, critical)", argv[2]);
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would open a %s blocker on %s: %s", pb_severity_name(sev), c->id, argv[3]);
		return 0;
	}
	memset(&b, 0, sizeof(b));
	pb_strlcpy(b.component, c->id, sizeof(b.component));
	b.severity = sev;
	pb_strlcpy(b.text, argv[3], sizeof(b.text));
	pb_strlcpy(b.opened_by, ctx->caller.id, sizeof(b.opened_by));
	b.opened_at = pb_services_now(ctx->svc);
	r = pb_store_begin(ctx->svc->store, &ctx->err);
	if (r)
		return r;
	r = pb_store_blocker_add(ctx->svc->store, &b, &ctx->err);
	snprintf(detail, sizeof(detail), "#%lld %s: %s", (long long)b.id, pb_severity_name(sev), b.text);
	if (!r)
		r = pb_cmd_audit(ctx, 0, c->id, "blocker.opened", detail);
	if (!r)
		r = mirror(ctx, &b);
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		return r;
	}
	card = pb_cmd_component_card(ctx, c->id, "🚧 Blocker opened");
	pb_card_text(card, "#%lld [%s] %s — opened by %s", (long long)b.id, pb_severity_name(sev), b.text,
		     ctx->caller.name);
	if (sev == PB_SEV_CRITICAL)
		pb_card_field(card, "Effect", "approval and deploy of %s are stopped until it is resolved", c->id);
	pb_card_field(card, "Resolve", "/promote unblock %lld", (long long)b.id);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	return 0;
}
