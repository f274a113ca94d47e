/* pb_lessons.h — the step-12 lessons-learned document, drafted from the audit trail and the observation (pure). */
#ifndef PB_LESSONS_H
#define PB_LESSONS_H

#include <stddef.h>
#include <stdint.h>

#include "pb_obs.h"
#include "pb_store.h"
#include "pb_str.h"

/* Everything the draft is computed from; the command reads it from storage. */
typedef struct pb_lessons_input {
	const pb_promotion *p;
	const char *component_name;        /* "Neo4j Graph Database" */
	const char *date;                  /* the document's date, YYYY-MM-DD */
	int64_t now;                       /* for "in progress: N days so far" and open blockers */
	const pb_event *events;            /* the promotion's audit events, oldest first */
	size_t nevents;
	const pb_validation *validations;  /* its validation runs, oldest first */
	size_t nvalidations;
	const pb_blocker *blockers;        /* the component's blockers opened during the promotion */
	size_t nblockers;
	const pb_deployment *deployments;  /* its deployments, oldest first */
	size_t ndeployments;
	const pb_obs_rollup *days;         /* figures of each observed local day (pb_monitor_day_figures) */
	size_t ndays;
	int observation_days;
	double uptime_target;
} pb_lessons_input;

/* The figures the Metrics section states (seconds; -1 when there is nothing to measure). */
typedef struct pb_lessons_metrics {
	int64_t promotion_s;               /* request → completion, or so far */
	bool completed;
	int blockers, blockers_resolved;
	double blocker_mean_s;             /* over the resolved ones; -1 when none */
	int validation_runs, validation_failed_before_pass;
	int64_t validation_total_s;
	int deploys;
	int64_t deploy_total_s;
	uint32_t expected, up;             /* summed over the observed days */
	double uptime_pct;                 /* 100 * up / expected; -1 when nothing was observed */
	uint32_t outages;
	int rollbacks;
} pb_lessons_metrics;

void pb_lessons_compute(const pb_lessons_input *in, pb_lessons_metrics *out);

/*
 * The document in the guide's template — title, Date/Component/Promotion,
 * What Went Well, What Could Be Improved, Blockers Encountered, Process
 * Improvements, Recommendations, Metrics — with the facts pre-filled (each
 * section keeps its placeholder for what only people know), then an
 * Observation section: uptime, outages and the p95 trend per day.
 * Appends to out; 0 or -ENOMEM.
 */
int pb_lessons_render(const pb_lessons_input *in, pb_buf *out);

/* "45 s", "12 min", "3.5 hours", "1.5 days". */
void pb_lessons_duration(int64_t seconds, char *out, size_t size);

#endif
