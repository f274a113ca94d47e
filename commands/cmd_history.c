/* cmd_history.c — /promote history <component>: the audit trail, oldest first. */
#include "pb_workflow.h"

#include <stdlib.h>

#define HISTORY_MAX 200 /* newest events shown; older ones are still stored */

int pb_cmd_history(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_event *ev = NULL;
	size_t n = 0;
	pb_card *card;
	char when[64];
	pb_buf b;
	int r;

	(void)argc;
	r = pb_cmd_component(ctx, argv[1], &c);
	if (!r)
		r = pb_store_events_for_component(ctx->svc->store, c->id, HISTORY_MAX, &ev, &n, &ctx->err);
	if (r)
		return r;
	pb_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		pb_time_fmt(ev[i].at, when, sizeof(when));
		pb_buf_printf(&b, "%s  %-8s ", when, ev[i].actor);
		if (ev[i].promotion_id)
			pb_buf_printf(&b, "#%lld ", (long long)ev[i].promotion_id);
		if (ev[i].to_state[0])
			pb_buf_printf(&b, "%s → %s", ev[i].from_state, ev[i].to_state);
		else
			pb_buf_puts(&b, ev[i].kind);
		if (ev[i].detail[0])
			pb_buf_printf(&b, " — %s", ev[i].detail);
		pb_buf_puts(&b, "\n");
	}
	card = pb_cmd_caller_card("History");
	pb_card_field(card, "Component", "%s", c->id);
	if (n)
		pb_card_pre(card, pb_buf_str(&b));
	else
		pb_card_text(card, "No events yet.");
	pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	pb_buf_deinit(&b);
	free(ev);
	return 0;
}
