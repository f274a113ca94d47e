/* cmd_unblock.c — /promote unblock <blocker-id>: resolve a blocker. */
#include "pb_workflow.h"

#include <stdio.h>

#include "pb_ghout.h"

int pb_cmd_unblock(pb_cmd_ctx *ctx, int argc, char **argv)
{
	pb_blocker b;
	pb_card *card;
	char detail[PB_TEXT_MAX];
	long id;
	int r;

	(void)argc;
	if (pb_parse_long(argv[1][0] == '#' ? argv[1] + 1 : argv[1], 1, 0x7fffffffL, &id))
		return pb_err_set(&ctx->err, PB_E_INVALID, "\"%s\" is not a blocker id (a number, e.g. 12)", argv[1]);
	r = pb_store_blocker_get(ctx->svc->store, id, &b, &ctx->err);
	if (r == PB_E_NOTFOUND) /* lookups carry no text: the wording is ours */
		return pb_err_set(&ctx->err, PB_E_NOTFOUND, "no blocker #%ld", id);
	if (r)
		return r;
	if (b.resolved_at)
		return pb_err_set(&ctx->err, PB_E_REFUSED, "blocker #%ld was already resolved by %s", id,
				  b.resolved_by);
	if (ctx->dry_run) {
		pb_cmd_dry_run(ctx, "would resolve blocker #%ld on %s: %s", id, b.component, b.text);
		return 0;
	}
	r = pb_store_begin(ctx->svc->store, &ctx->err);
	if (r)
		return r;
	r = pb_store_blocker_resolve(ctx->svc->store, id, ctx->caller.id, pb_services_now(ctx->svc), &ctx->err);
	snprintf(detail, sizeof(detail), "#%ld %s", id, b.text);
	if (!r)
		r = pb_cmd_audit(ctx, 0, b.component, "blocker.resolved", detail);
	if (!r)
		r = pb_ghout_blocker_resolved(ctx->svc, &b, ctx->caller.name, &ctx->err);
	if (!r)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		/* resolved meanwhile by someone else: storage's text names who and when */
		return r == PB_E_CONFLICT ? PB_E_REFUSED : r;
	}
	card = pb_cmd_component_card(ctx, b.component, "✅ Blocker resolved");
	pb_card_text(card, "#%ld [%s] %s — resolved by %s", id, pb_severity_name(b.severity), b.text,
		     ctx->caller.name);
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	return 0;
}
