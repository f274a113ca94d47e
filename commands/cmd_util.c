/* cmd_util.c — lookups, transitions with audit, and card helpers shared by command handlers. */
#include "pb_workflow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_ghout.h"
#include "pb_log.h"
#include "pb_str.h"
#include "pb_tz.h"

int pb_cmd_component(pb_cmd_ctx *ctx, const char *id, const pb_component **out)
{
	const pb_component *c = pb_config_component(ctx->svc->cfg, id);
	pb_buf known;

	if (c) {
		*out = c;
		return 0;
	}
	pb_buf_init(&known);
	for (size_t i = 0; i < ctx->svc->cfg->ncomponents; i++)
		pb_buf_printf(&known, "%s%s", i ? ", " : "", ctx->svc->cfg->components[i].id);
	pb_err_set(&ctx->err, PB_E_NOTFOUND, "unknown component \"%s\" (known: %s)", id,
		   pb_buf_str(&known));
	pb_buf_deinit(&known);
	return PB_E_NOTFOUND;
}

int pb_cmd_component_stage(pb_cmd_ctx *ctx, const pb_component *c, pb_stage *out)
{
	int stage, r;

	r = pb_store_component_ensure(ctx->svc->store, c->id, (int)c->initial_stage, pb_services_now(ctx->svc),
				      &ctx->err);
	if (r)
		return r;
	r = pb_store_component_stage(ctx->svc->store, c->id, &stage, &ctx->err);
	if (r)
		return r;
	if (stage < 0 || stage >= PB_STAGE_COUNT)
		return pb_err_set(&ctx->err, -EINVAL, "storage: %s has an invalid stage %d", c->id, stage);
	*out = (pb_stage)stage;
	return 0;
}

int pb_cmd_component_stage_read(pb_cmd_ctx *ctx, const pb_component *c, pb_stage *out)
{
	int stage, r;

	r = pb_store_component_stage(ctx->svc->store, c->id, &stage, &ctx->err);
	if (r == PB_E_NOTFOUND) { /* never seeded: what seeding would store, without the write */
		*out = c->initial_stage;
		return 0;
	}
	if (r)
		return r;
	if (stage < 0 || stage >= PB_STAGE_COUNT)
		return pb_err_set(&ctx->err, -EINVAL, "storage: %s has an invalid stage %d", c->id, stage);
	*out = (pb_stage)stage;
	return 0;
}

int pb_cmd_open_promotion(pb_cmd_ctx *ctx, const pb_component *c, pb_promotion *out)
{
	int r = pb_store_promotion_open_for(ctx->svc->store, c->id, out, &ctx->err);

	if (r == PB_E_NOTFOUND) /* storage's NOTFOUND has no text: the user's wording is ours */
		return pb_err_set(&ctx->err, PB_E_NOTFOUND,
				  "%s has no open promotion; start one with /promote request %s <stage>",
				  c->id, c->id);
	return r;
}

int pb_cmd_lookup(pb_cmd_ctx *ctx, const char *id, const pb_component **c, pb_promotion *p)
{
	int r = pb_cmd_component(ctx, id, c);

	return r ? r : pb_cmd_open_promotion(ctx, *c, p);
}

int pb_cmd_audit(pb_cmd_ctx *ctx, int64_t promotion_id, const char *component,
		 const char *kind, const char *detail)
{
	pb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = promotion_id;
	pb_strlcpy(ev.component, component, sizeof(ev.component));
	pb_strlcpy(ev.actor, ctx->caller.id ? ctx->caller.id : "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, kind, sizeof(ev.kind));
	pb_strlcpy(ev.detail, detail ? detail : "", sizeof(ev.detail));
	ev.at = pb_services_now(ctx->svc);
	return pb_store_event_append(ctx->svc->store, &ev, &ctx->err);
}

int pb_cmd_refuse_state(pb_cmd_ctx *ctx, const pb_promotion *p, const char *verb)
{
	char next[256], label[160];

	pb_workflow_next_verbs(p->state, next, sizeof(next));
	pb_cmd_thread_label(p, label, sizeof(label));
	return pb_err_set(&ctx->err, PB_E_REFUSED, "%s is %s: %s is not possible now (allowed next: %s)",
			  label, pb_state_name(p->state), verb, next);
}

int pb_cmd_transition_in_tx(pb_cmd_ctx *ctx, pb_promotion *p, pb_state next, const char *detail)
{
	pb_event ev;
	pb_err e;
	int r;

	if (!pb_workflow_allowed(p->state, next)) {
		char allowed[256];

		pb_workflow_next_verbs(p->state, allowed, sizeof(allowed));
		return pb_err_set(&ctx->err, PB_E_REFUSED, "illegal transition %s → %s (allowed next: %s)",
				  pb_state_name(p->state), pb_state_name(next), allowed);
	}
	/* a lost compare-and-swap is worded for the user here, with storage's detail appended */
	pb_err_init(&e);
	r = pb_store_promotion_set_state(ctx->svc->store, p->id, p->state, next, pb_services_now(ctx->svc), &e);
	if (r == PB_E_CONFLICT)
		return pb_err_set(&ctx->err, PB_E_CONFLICT,
				  "promotion #%lld changed while this command ran (%s); check /promote status %s",
				  (long long)p->id, pb_err_text(&e), p->component);
	if (r)
		return pb_err_pass(&ctx->err, r, &e);
	memset(&ev, 0, sizeof(ev));
	ev.promotion_id = p->id;
	pb_strlcpy(ev.component, p->component, sizeof(ev.component));
	pb_strlcpy(ev.actor, ctx->caller.id ? ctx->caller.id : "promobot", sizeof(ev.actor));
	pb_strlcpy(ev.kind, "state", sizeof(ev.kind));
	pb_strlcpy(ev.from_state, pb_state_name(p->state), sizeof(ev.from_state));
	pb_strlcpy(ev.to_state, pb_state_name(next), sizeof(ev.to_state));
	pb_strlcpy(ev.detail, detail ? detail : "", sizeof(ev.detail));
	ev.at = pb_services_now(ctx->svc);
	r = pb_store_event_append(ctx->svc->store, &ev, &ctx->err);
	/* the GitHub mirror of the step is decided in the same transaction */
	if (r == 0)
		r = pb_ghout_transition(ctx->svc, p, p->state, next, ctx->caller.name ? ctx->caller.name : ev.actor,
					detail, &ctx->err);
	if (r)
		return r;
	p->state = next;
	p->updated_at = ev.at;
	return 0;
}

int pb_cmd_transition(pb_cmd_ctx *ctx, pb_promotion *p, pb_state next, const char *detail)
{
	pb_state before = p->state;
	int r = pb_store_begin(ctx->svc->store, &ctx->err);

	if (r)
		return r;
	r = pb_cmd_transition_in_tx(ctx, p, next, detail);
	if (r == 0)
		r = pb_store_commit(ctx->svc->store, &ctx->err);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		p->state = before;
	}
	return r;
}

void pb_cmd_thread_label(const pb_promotion *p, char *out, size_t size)
{
	snprintf(out, size, "%s → %s #%lld", p->component,
		 pb_stage_name((pb_stage)p->target_stage), (long long)p->id);
}

pb_card *pb_cmd_thread_card(const pb_promotion *p, const char *title)
{
	pb_card *c = pb_card_new(title);
	char label[160];

	if (!c)
		return NULL;
	pb_cmd_thread_label(p, label, sizeof(label));
	pb_card_thread(c, p->id, label, PB_THREAD_REPLY);
	c->audience = PB_AUDIENCE_THREAD;
	return c;
}

pb_card *pb_cmd_component_card(pb_cmd_ctx *ctx, const char *component, const char *title)
{
	pb_promotion p;
	pb_err e;
	int r;

	/* Only where the card goes depends on this read: a failure costs the thread, not the command. */
	pb_err_init(&e);
	r = pb_store_promotion_open_for(ctx->svc->store, component, &p, &e);
	if (r == 0)
		return pb_cmd_thread_card(&p, title);
	if (r != PB_E_NOTFOUND)
		pb_warn("cmd", "%s: card goes to the caller, its thread is unknown: %s", component, pb_err_text(&e));
	return pb_cmd_caller_card(title);
}

pb_card *pb_cmd_caller_card(const char *title)
{
	pb_card *c = pb_card_new(title);

	if (c)
		c->audience = PB_AUDIENCE_CALLER;
	return c;
}

/* One caller-only card with formatted text: shared by pb_cmd_say and pb_cmd_dry_run. */
static void say_v(pb_cmd_ctx *ctx, const char *title, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void say_v(pb_cmd_ctx *ctx, const char *title, const char *fmt, va_list ap)
{
	pb_card *c = pb_cmd_caller_card(title);
	char text[2048];

	if (!c)
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	pb_card_text(c, "%s", text);
	pb_sink_emit(ctx->sink, c);
	pb_card_free(c);
}

void pb_cmd_say(pb_cmd_ctx *ctx, const char *title, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_v(ctx, title, fmt, ap);
	va_end(ap);
}

void pb_cmd_dry_run(pb_cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_v(ctx, "Dry run — nothing was changed", fmt, ap);
	va_end(ap);
}

int pb_cmd_approval_count(pb_cmd_ctx *ctx, const pb_promotion *p, size_t *count)
{
	pb_approval *list = NULL;
	int r = pb_store_approvals_list(ctx->svc->store, p->id, p->revision, &list, count, &ctx->err);

	free(list);
	return r;
}

int pb_cmd_refuse_if_critical(pb_cmd_ctx *ctx, const char *component, const char *action)
{
	pb_blocker *list = NULL;
	size_t n = 0;
	int r = pb_store_blockers_open(ctx->svc->store, component, &list, &n, &ctx->err);

	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (list[i].severity != PB_SEV_CRITICAL)
			continue;
		r = pb_err_set(&ctx->err, PB_E_REFUSED,
			       "%s is blocked by critical blocker #%lld (\"%s\"): resolve it with "
			       "/promote unblock %lld before %s",
			       component, (long long)list[i].id, list[i].text, (long long)list[i].id, action);
		break;
	}
	free(list);
	return r;
}

void pb_cmd_local_date(const pb_services *svc, const pb_promotion *p, int64_t t, char *out, size_t size)
{
	const pb_component *c = pb_config_component(svc->cfg, p->component);
	const pb_deploy_cfg *d = c ? pb_config_deploy(c, (pb_stage)p->target_stage) : NULL;
	const char *zone = d ? d->monitoring.timezone : svc->cfg->monitoring.timezone;
	pb_tz *tz = NULL;
	pb_civil lc;
	pb_err e;

	pb_err_init(&e);
	if (pb_tz_load(zone ? zone : "UTC", &tz, &e) != 0) {
		pb_warn("cmd", "%s; dates in UTC", pb_err_text(&e));
		(void)pb_tz_load("UTC", &tz, &e);
	}
	if (!tz) {
		snprintf(out, size, "1970-01-01");
		return;
	}
	pb_tz_local(tz, t, &lc);
	snprintf(out, size, "%04d-%02d-%02d", lc.year, lc.month, lc.day);
	pb_tz_free(tz);
}
