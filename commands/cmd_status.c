/* cmd_status.c — /promote status [component]: the overview table, or one component in detail. */
#include "pb_ghout.h"
#include "pb_log.h"
#include "pb_workflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* " ⚠ drift" when the promotion's GitHub issue contradicts it (details: status <component>). */
static const char *gh_drift_mark(pb_cmd_ctx *ctx, const pb_promotion *p)
{
	pb_gh_drift d;
	pb_err e;

	pb_err_init(&e);
	return p->issue_number && pb_store_gh_drift_get(ctx->svc->store, p->id, &d, &e) == 0 && d.confirmed
		       ? " ⚠ drift"
		       : "";
}

static int status_table(pb_cmd_ctx *ctx)
{
	pb_card *card = pb_cmd_caller_card("Components");
	pb_buf b;
	int r = 0;

	pb_buf_init(&b);
	pb_buf_printf(&b, "%-16s %-12s %-24s %s\n", "COMPONENT", "STAGE", "PROMOTION", "BLOCKERS");
	for (size_t i = 0; i < ctx->svc->cfg->ncomponents && !r; i++) {
		const pb_component *c = &ctx->svc->cfg->components[i];
		pb_blocker *bl = NULL;
		size_t nb = 0;
		pb_promotion p;
		pb_stage st;
		char promo[64] = "-";

		r = pb_cmd_component_stage_read(ctx, c, &st);
		if (!r)
			r = pb_store_blockers_open(ctx->svc->store, c->id, &bl, &nb, &ctx->err);
		free(bl);
		if (!r)
			r = pb_store_promotion_open_for(ctx->svc->store, c->id, &p, &ctx->err);
		if (r == 0)
			snprintf(promo, sizeof(promo), "#%lld %s %s%s", (long long)p.id,
				 pb_stage_name(p.target_stage), pb_state_name(p.state), gh_drift_mark(ctx, &p));
		else if (r == PB_E_NOTFOUND)
			r = 0; /* no open promotion: the "-" row */
		if (r)
			break; /* a storage failure is reported, never shown as "-" */
		pb_buf_printf(&b, "%-16s %-12s %-24s %zu\n", c->id, pb_stage_name(st), promo, nb);
	}
	if (!r) {
		pb_card_pre(card, pb_buf_str(&b));
		pb_sink_emit(ctx->sink, card);
	}
	pb_card_free(card);
	pb_buf_deinit(&b);
	return r;
}

static int add_dependencies(pb_cmd_ctx *ctx, pb_card *card, const pb_component *c)
{
	pb_buf b;
	int r = 0;

	if (!c->ndeps)
		return 0;
	pb_buf_init(&b);
	for (size_t i = 0; i < c->ndeps && !r; i++) {
		const pb_component *d = pb_config_component(ctx->svc->cfg, c->deps[i]);
		pb_stage st = PB_STAGE_DEVELOPMENT;

		/* config validation guarantees d exists; storage failing here fails the status */
		if (d)
			r = pb_cmd_component_stage_read(ctx, d, &st);
		pb_buf_printf(&b, "%s%s (%s)", i ? ", " : "", c->deps[i], pb_stage_name(st));
	}
	if (!r)
		pb_card_field(card, "Depends on", "%s", pb_buf_str(&b));
	pb_buf_deinit(&b);
	return r;
}

static int add_blockers(pb_cmd_ctx *ctx, pb_card *card, const pb_component *c)
{
	pb_blocker *bl = NULL;
	size_t nb = 0;
	int r = pb_store_blockers_open(ctx->svc->store, c->id, &bl, &nb, &ctx->err);

	if (r)
		return r;
	for (size_t i = 0; i < nb; i++)
		pb_card_item(card, PB_ITEM_FAIL, "blocker #%lld [%s] %s", (long long)bl[i].id,
			     pb_severity_name(bl[i].severity), bl[i].text);
	pb_card_field(card, "Open blockers", "%zu", nb);
	free(bl);
	return 0;
}

/*
 * A finished promotion whose GitHub mirror still owes updates (completed or
 * cancelled while GitHub was down) says so: its card is no longer shown here.
 */
static void add_finished_github(pb_cmd_ctx *ctx, pb_card *card, const pb_component *c)
{
	pb_ghops_summary s;
	pb_promotion p;
	pb_buf line;
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_store_promotion_latest(ctx->svc->store, c->id, &p, &e);
	if (r == PB_E_NOTFOUND)
		return;
	if (r == 0)
		r = pb_store_ghops_summary(ctx->svc->store, p.id, &s, &e);
	if (r == 0 && !s.pending)
		return;
	pb_buf_init(&line);
	if (r == 0)
		r = pb_ghout_describe(ctx->svc, &p, &line, &e);
	if (r) {
		pb_warn("status", "%s: GitHub state unavailable: %s", c->id, pb_err_text(&e));
		pb_card_field(card, "GitHub", "unavailable (storage error; see the bot's log)");
	} else if (line.len) {
		pb_card_field(card, "GitHub", "promotion #%lld (%s): %s", (long long)p.id, pb_state_name(p.state),
			      pb_buf_str(&line) + strlen("GitHub: "));
	}
	pb_buf_deinit(&line);
}

static int status_one(pb_cmd_ctx *ctx, const char *id)
{
	const pb_component *c;
	pb_promotion p;
	pb_card *card;
	pb_stage st;
	int r;

	r = pb_cmd_component(ctx, id, &c);
	if (!r)
		r = pb_cmd_component_stage_read(ctx, c, &st);
	if (r)
		return r;
	r = pb_store_promotion_open_for(ctx->svc->store, c->id, &p, &ctx->err);
	if (r != 0 && r != PB_E_NOTFOUND)
		return r;
	if (r == 0) {
		card = pb_promotion_card(ctx, &p, PB_THREAD_REPLY);
		if (card)
			card->audience = PB_AUDIENCE_CALLER;
	} else {
		card = pb_cmd_caller_card(c->name);
		pb_card_text(card, "No open promotion. /promote request %s %s to start one.", c->id,
			     st + 1 < PB_STAGE_COUNT ? pb_stage_name(st + 1) : "<stage>");
		if (card)
			add_finished_github(ctx, card, c);
	}
	if (!card)
		return pb_err_set(&ctx->err, -ENOMEM, "status: out of memory");
	pb_card_field(card, "Component", "%s (%s)", c->id, c->group ? c->group : "no group");
	pb_card_field(card, "Current stage", "%s", pb_stage_title(st));
	r = add_dependencies(ctx, card, c);
	if (!r)
		r = add_blockers(ctx, card, c);
	if (!r)
		pb_sink_emit(ctx->sink, card);
	pb_card_free(card);
	return r;
}

int pb_cmd_status(pb_cmd_ctx *ctx, int argc, char **argv)
{
	return argc > 1 ? status_one(ctx, argv[1]) : status_table(ctx);
}
