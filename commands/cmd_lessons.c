/* cmd_lessons.c — /promote lessons <component>: drafts the step-12 lessons-learned document of the latest promotion. */
#include "pb_file.h"
#include "pb_lessons.h"
#include "pb_ghout.h"
#include "pb_log.h"
#include "pb_monitor.h"
#include "pb_workflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the draft is computed from, read from storage; freed by sources_free. */
typedef struct sources {
	pb_event *events;
	size_t nevents;
	pb_validation *validations;
	size_t nvalidations;
	pb_blocker *blockers;
	size_t nblockers;
	pb_deployment *deployments;
	size_t ndeployments;
	pb_obs_rollup *days;
	size_t ndays;
} sources;

static void sources_free(sources *s)
{
	free(s->events);
	pb_validations_free(s->validations, s->nvalidations);
	free(s->blockers);
	free(s->deployments);
	free(s->days);
}

/* The end of the promotion's window for blockers: its last transition when closed, else now. */
static int64_t window_end(const pb_promotion *p, const sources *s, int64_t now)
{
	int64_t end = 0;

	if (pb_state_is_open(p->state))
		return now + 1;
	for (size_t i = 0; i < s->nevents; i++)
		if (!strcmp(s->events[i].kind, "state") && s->events[i].at > end)
			end = s->events[i].at;
	return (end ? end : p->updated_at) + 1;
}

static int read_sources(pb_cmd_ctx *ctx, const pb_promotion *p, sources *s)
{
	pb_store *st = ctx->svc->store;
	int r;

	memset(s, 0, sizeof(*s));
	r = pb_store_events_for_promotion(st, p->id, &s->events, &s->nevents, &ctx->err);
	if (!r)
		r = pb_store_validations_of(st, p->id, &s->validations, &s->nvalidations, &ctx->err);
	/* blockers belong to the component: those opened while this promotion ran are its blockers */
	if (!r)
		r = pb_store_blockers_opened_between(st, p->component, p->created_at,
						     window_end(p, s, pb_services_now(ctx->svc)), &s->blockers,
						     &s->nblockers, &ctx->err);
	if (!r)
		r = pb_store_deployments_of(st, p->id, &s->deployments, &s->ndeployments, &ctx->err);
	if (!r)
		r = pb_monitor_day_figures(ctx->svc, p, &s->days, &s->ndays, &ctx->err);
	return r;
}

/* "<folder of MATURITY.md>/LESSONS-staging-3.md"; false when no maturity_file is configured. */
static bool lessons_path(const pb_component *c, const pb_promotion *p, char *out, size_t size)
{
	const char *slash;

	if (!c->maturity_path)
		return false;
	slash = strrchr(c->maturity_path, '/');
	snprintf(out, size, "%.*sLESSONS-%s-%lld.md", slash ? (int)(slash - c->maturity_path + 1) : 0, c->maturity_path,
		 pb_stage_name((pb_stage)p->target_stage), (long long)p->id);
	return true;
}

/* The draft as a comment on the promotion issue and a file next to MATURITY.md in the repository; like the
 * local file, a failure costs the copy, not the reply. */
static void mirror_draft(pb_cmd_ctx *ctx, const pb_promotion *p, const pb_buf *doc)
{
	pb_err e;
	int r;

	if (!pb_ghout_wanted(ctx->svc, p->component))
		return;
	pb_err_init(&e);
	r = pb_store_begin(ctx->svc->store, &e);
	if (r == 0)
		r = pb_ghout_comment(ctx->svc, p, pb_buf_str(doc), &e);
	if (r == 0) {
		char name[128];

		snprintf(name, sizeof(name), "LESSONS-%s-%lld.md", pb_stage_name((pb_stage)p->target_stage),
			 (long long)p->id);
		r = pb_ghout_lessons_file(ctx->svc, p, name, pb_buf_str(doc), &e);
	}
	if (r == 0)
		r = pb_store_commit(ctx->svc->store, &e);
	if (r) {
		pb_store_rollback(ctx->svc->store);
		pb_warn("lessons", "%s: the draft is not queued for GitHub: %s", p->component, pb_err_text(&e));
	}
}

int pb_cmd_lessons(pb_cmd_ctx *ctx, int argc, char **argv)
{
	const pb_component *c;
	pb_lessons_input in;
	pb_promotion p;
	char date[16], path[4096], where[4200] = "";
	pb_card *card = NULL;
	sources src;
	pb_buf doc;
	bool has_path;
	int r;

	(void)argc;
	r = pb_cmd_component(ctx, argv[1], &c);
	if (r)
		return r;
	r = pb_store_promotion_latest(ctx->svc->store, c->id, &p, &ctx->err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(&ctx->err, PB_E_NOTFOUND, "%s has no promotion to draft lessons for; start one with "
				  "/promote request %s <stage>", c->id, c->id);
	if (r)
		return r;
	pb_buf_init(&doc);
	r = read_sources(ctx, &p, &src);
	if (r)
		goto out;
	pb_cmd_local_date(ctx->svc, &p, pb_services_now(ctx->svc), date, sizeof(date));
	in = (pb_lessons_input){
		.p = &p, .component_name = c->name, .date = date, .now = pb_services_now(ctx->svc),
		.events = src.events, .nevents = src.nevents, .validations = src.validations,
		.nvalidations = src.nvalidations, .blockers = src.blockers, .nblockers = src.nblockers,
		.deployments = src.deployments, .ndeployments = src.ndeployments, .days = src.days, .ndays = src.ndays,
		.observation_days = ctx->svc->cfg->policy.observation_days,
		.uptime_target = ctx->svc->cfg->policy.uptime_target,
	};
	if (pb_lessons_render(&in, &doc)) {
		r = pb_err_set(&ctx->err, -ENOMEM, "lessons: out of memory");
		goto out;
	}
	has_path = lessons_path(c, &p, path, sizeof(path));
	if (!has_path) {
		snprintf(where, sizeof(where), "not written to a file: %s has no maturity_file configured", c->id);
	} else if (ctx->dry_run) {
		snprintf(where, sizeof(where), "would be written to %s", path);
	} else {
		pb_err e;

		pb_err_init(&e);
		if (pb_file_write_atomic(path, pb_buf_str(&doc), doc.len, &e) == 0) {
			snprintf(where, sizeof(where), "written to %s", path);
			if (pb_cmd_audit(ctx, p.id, c->id, "lessons.drafted", path))
				pb_warn("lessons", "%s: draft written, its audit event was not recorded: %s", c->id,
					pb_err_text(&ctx->err));
		} else {
			/* the draft is still in the reply: nothing is lost, the person saves it by hand */
			pb_error("lessons", "%s: %s", c->id, pb_err_text(&e));
			snprintf(where, sizeof(where), "⚠️ NOT written: %s (copy the draft below)", pb_err_text(&e));
		}
	}
	if (!ctx->dry_run)
		mirror_draft(ctx, &p, &doc);
	if (ctx->dry_run) {
		card = pb_cmd_caller_card("Dry run — nothing was changed");
	} else {
		card = pb_cmd_thread_card(&p, "📝 Lessons learned — draft");
	}
	pb_card_text(card, "Lessons learned of %s → %s #%lld, drafted from the audit trail and the observation; "
		     "the [bracketed] lines are for the team to fill in.", c->id, pb_stage_name(p.target_stage),
		     (long long)p.id);
	pb_card_field(card, "Document", "%s", where);
	pb_card_pre(card, pb_buf_str(&doc));
	pb_sink_emit(ctx->sink, card);
out:
	pb_card_free(card);
	sources_free(&src);
	pb_buf_deinit(&doc);
	return r;
}
