/* cmd_report.c — /promote report <component> [day|date]: a day's monitoring report on demand. */
#include "pb_monitor.h"
#include "pb_workflow.h"

#include <errno.h>
#include <string.h>

/* The promotion being (or last) observed: the open one, else the latest that reached observing. */
static int observed_promotion(pb_cmd_ctx *ctx, const pb_component *c, pb_promotion *p)
{
	int r = pb_store_promotion_open_for(ctx->svc->store, c->id, p, &ctx->err);

	if (r == PB_E_NOTFOUND)
		r = pb_store_promotion_latest(ctx->svc->store, c->id, p, &ctx->err);
	if (r == PB_E_NOTFOUND || (r == 0 && !p->observing_since))
		return pb_err_set(&ctx->err, PB_E_NOTFOUND, "%s has no deployment under observation yet", c->id);
	return r;
}

int pb_cmd_report(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_promotion p;
	pb_card *card;
	pb_buf text;
	int r;

	r = pb_cmd_component(ctx, argv[1], &c);
	if (!r)
		r = observed_promotion(ctx, c, &p);
	if (r)
		return r;
	pb_buf_init(&text);
	r = pb_monitor_report_text(ctx->svc, &p, argc > 2 ? argv[2] : NULL, &text, &ctx->err);
	if (r == 0 && text.oom)
		r = pb_err_set(&ctx->err, -ENOMEM, "report: out of memory");
	if (r == 0) {
		card = pb_cmd_caller_card("📊 Monitoring report");
		pb_card_text(card, "%s", pb_buf_str(&text));
		pb_sink_emit(ctx->sink, card);
		pb_card_free(card);
	}
	pb_buf_deinit(&text);
	return r;
}
