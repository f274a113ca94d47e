/* staging_uptime.c — the staging → production criterion "7-day uptime in staging ≥ 99.5 %", read from the stored observation. */
#include "pb_obs.h"
#include "pb_workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Where the figure comes from: the completion event of the component's
 * staging promotion (pb_obs_stored_verdict_read). complete writes
 * "observation <verdict summary>" on a PASS and "override of <kind> (…)" when
 * an admin completed without one; that event commits with the stage change,
 * so it is exactly "completed with a PASS verdict". Not recomputed from
 * samples: raw samples are pruned after raw_retention_days, and a pruned week
 * would read as 0 % uptime. The stored uptime has two decimals; the PASS was
 * decided on the exact figure against the target of that time.
 */
static void judge(const pb_services *svc, int64_t id, const pb_obs_stored_verdict *v, pb_staging_uptime *out,
		  const char *head)
{
	int days = svc->cfg->policy.observation_days;

	if (v->override) {
		snprintf(out->summary, sizeof(out->summary),
			 "%s: staging promotion #%lld was completed by an admin override of %s, not on a PASS verdict",
			 head, (long long)id, v->override_of);
	} else if (!v->found) {
		snprintf(out->summary, sizeof(out->summary), "%s: staging promotion #%lld has no stored verdict", head,
			 (long long)id);
	} else if (v->kind != PB_VERDICT_PASS) {
		snprintf(out->summary, sizeof(out->summary), "%s: staging promotion #%lld has a %s verdict, not PASS", head,
			 (long long)id, pb_verdict_name(v->kind));
	} else if ((out->uptime_pct = v->uptime_pct) < svc->cfg->policy.uptime_target) {
		snprintf(out->summary, sizeof(out->summary),
			 "%s: staging uptime %.2f %% over %d day%s (promotion #%lld) is below the target", head,
			 v->uptime_pct, days, days == 1 ? "" : "s", (long long)id);
	} else {
		out->met = true;
		snprintf(out->summary, sizeof(out->summary), "%s: staging uptime %.2f %% over %d day%s (promotion #%lld)",
			 head, v->uptime_pct, days, days == 1 ? "" : "s", (long long)id);
	}
}

int pb_cmd_staging_uptime(const pb_services *svc, const pb_promotion *p, pb_staging_uptime *out, pb_err *err)
{
	pb_obs_stored_verdict v;
	pb_promotion staging;
	pb_event *events = NULL;
	size_t n = 0;
	char head[96];
	int r;

	memset(out, 0, sizeof(*out));
	out->uptime_pct = -1;
	if (p->target_stage != PB_STAGE_PRODUCTION)
		return 0;
	out->applies = true;
	snprintf(head, sizeof(head), "%d-day uptime in staging ≥ %g %%", svc->cfg->policy.observation_days,
		 svc->cfg->policy.uptime_target);
	r = pb_store_promotion_latest_in(svc->store, p->component, PB_STAGE_STAGING, PB_ST_COMPLETED, &staging, err);
	if (r == PB_E_NOTFOUND) {
		snprintf(out->summary, sizeof(out->summary), "%s: %s has no completed staging promotion to read it from",
			 head, p->component);
		return 0;
	}
	if (r)
		return r;
	out->promotion_id = staging.id;
	r = pb_store_events_for_promotion(svc->store, staging.id, &events, &n, err);
	if (r)
		return r;
	pb_obs_stored_verdict_read(events, n, &v);
	judge(svc, staging.id, &v, out, head);
	free(events);
	return 0;
}

int pb_cmd_refuse_if_staging_uptime_unmet(pb_cmd_ctx *ctx, const pb_promotion *p, const char *action)
{
	pb_staging_uptime su;
	int r = pb_cmd_staging_uptime(ctx->svc, p, &su, &ctx->err);

	if (r || !su.applies || su.met)
		return r;
	return pb_err_set(&ctx->err, PB_E_REFUSED, "%s of %s to production needs the staging observation: %s",
			  action, p->component, su.summary);
}
