/* pb_vsources.h — validation sources on GitHub (check runs + statuses, the validation workflow) for validate. */
#ifndef PB_VSOURCES_H
#define PB_VSOURCES_H

#include <cjson/cJSON.h>

#include "pb_cmd.h"

/* What one source says about one criterion. */
typedef enum { PB_V_NONE = 0, PB_V_PASS, PB_V_FAIL } pb_vstate;

typedef struct pb_vcrit {
	pb_vstate state;
	char summary[400];
} pb_vcrit;

/*
 * The outcome of one source. A source never passes what it did not see: a
 * GitHub error, a timeout or a missing answer is a FAIL with the reason.
 * `gate` is a row of its own that must pass whatever the policy requires
 * (the workflow's verdict: "never a pass the workflow did not give").
 */
typedef struct pb_vsource_out {
	pb_vcrit crit[PB_CRIT_COUNT];
	bool has_gate;
	pb_vcrit gate;
	double coverage;            /* -1 when the source stated none */
	char revision[PB_ID_MAX];   /* the commit the source validated ("" none) */
	cJSON *json;                /* what was read (names, conclusions, URLs, run id); owned */
} pb_vsource_out;

void pb_vsource_out_init(pb_vsource_out *o);
void pb_vsource_out_deinit(pb_vsource_out *o);

/*
 * github_checks: resolves validation.ref to its sha, reads every check run
 * (paginated) and the combined status, maps them to criteria by the
 * configured patterns and polls pending ones every poll_s up to timeout_s on
 * the services' clock, posting progress to ctx->sink. Returns 0 (the verdicts
 * say pass/fail) or <0 on a fatal error (out of memory).
 */
int pb_vsrc_github_checks(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, int threshold,
			  pb_vsource_out *out);

/*
 * github_workflow: mode dispatch (dispatch, find the run it caused, poll it)
 * or issue (find the `issues` run for the promotion issue, poll it, read its
 * comment and the labels it set). Same returns as above.
 */
int pb_vsrc_github_workflow(pb_cmd_ctx *ctx, const pb_component *c, const pb_promotion *p, int threshold,
			    pb_vsource_out *out);

/* The first "N%" / "N.N %" in text (0..100), -1 when there is none. Exposed for tests. */
double pb_vsrc_percentage(const char *text);

#endif
