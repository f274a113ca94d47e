/* cmd_blockers.c — /promote blockers <component>: the open blockers, most severe first. */
#include "pb_workflow.h"

#include <stdlib.h>

int pb_cmd_blockers(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_blocker *list = NULL;
	size_t n = 0;
	pb_card *card;
	char when[64];
	int r;

	(void)argc;
	r = pb_cmd_component(ctx, argv[1], &c);
	if (!r)
		r = pb_store_blockers_open(ctx->svc->store, c->id, &list, &n, &ctx->err);
	if (r)
		return r;
	card = pb_cmd_caller_card("Open blockers");
	pb_card_field(card, "Component", "%s", c->id);
	if (!n)
		pb_card_text(card, "No open blockers.");
	for (size_t i = 0; i < n; i++) {
		pb_time_fmt(list[i].opened_at, when, sizeof(when));
		pb_card_item(card, PB_ITEM_FAIL, "#%lld [%s] %s — %s, %s", (long long)list[i].id,
			     pb_severity_name(list[i].severity), list[i].text, list[i].opened_by, when);
	}
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	free(list);
	return 0;
}
