/* config_validation.c — components[].validation: validation sources (local, GitHub checks, GitHub workflow). */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#define WF_MAX_INPUTS 25 /* GitHub's limit on workflow_dispatch inputs */

static const struct {
	const char *name;
	unsigned bit;
} sources[] = {
	{ "local", PB_VSRC_LOCAL },
	{ "github_checks", PB_VSRC_GITHUB_CHECKS },
	{ "github_workflow", PB_VSRC_GITHUB_WORKFLOW },
};

static void parse_sources(cfg_ctx *c, const cJSON *v, const char *p, pb_validation_cfg *out)
{
	const cJSON *arr = cfg_get_arr(c, v, p, "source", false);
	const cJSON *it;
	size_t i = 0;

	out->sources = PB_VSRC_LOCAL;
	if (!arr)
		return;
	out->sources = 0;
	if (cJSON_GetArraySize(arr) == 0)
		pb_problems_add(c->probs, "%s.source: must name at least one source (local, github_checks, github_workflow)", p);
	cJSON_ArrayForEach(it, arr) {
		unsigned bit = 0;

		for (size_t k = 0; k < sizeof(sources) / sizeof(sources[0]); k++)
			if (cJSON_IsString(it) && strcmp(it->valuestring, sources[k].name) == 0)
				bit = sources[k].bit;
		if (!bit)
			pb_problems_add(c->probs,
					"%s.source[%zu]: unknown source %s%s%s (local, github_checks, github_workflow)",
					p, i, cJSON_IsString(it) ? "\"" : "", cJSON_IsString(it) ? it->valuestring : "(not a string)",
					cJSON_IsString(it) ? "\"" : "");
		else if (out->sources & bit)
			pb_problems_add(c->probs, "%s.source[%zu]: duplicate source \"%s\"", p, i, it->valuestring);
		out->sources |= bit;
		i++;
	}
}

static void parse_patterns(cfg_ctx *c, const cJSON *v, const char *p, pb_validation_cfg *out)
{
	const cJSON *o = cfg_get_obj(c, v, p, "checks", false);
	const cJSON *it;
	char cp[CFG_PATH_MAX];

	if (!o)
		return;
	cfg_path_key(cp, sizeof(cp), p, "checks");
	cJSON_ArrayForEach(it, o) {
		pb_criterion k;

		if (pb_criterion_parse(it->string, &k) != 0 || strcmp(it->string, pb_criterion_name(k)) != 0) {
			pb_problems_add(c->probs,
					"%s.%s: unknown criterion (tests, coverage, lint, types, security)", cp,
					it->string);
			continue;
		}
		if (out->patterns[k]) {
			pb_problems_add(c->probs, "%s.%s: duplicate key", cp, it->string);
			continue;
		}
		if (!cfg_get_strv(c, o, cp, it->string, false, &out->patterns[k], &out->npatterns[k]))
			continue;
		if (out->npatterns[k] == 0)
			pb_problems_add(c->probs, "%s.%s: must list at least one check name or pattern", cp,
					it->string);
		for (size_t i = 0; i < out->npatterns[k]; i++)
			if (!out->patterns[k][i][0])
				pb_problems_add(c->probs, "%s.%s[%zu]: must not be empty", cp, it->string, i);
	}
}

static void parse_inputs(cfg_ctx *c, const cJSON *w, const char *wp, pb_validation_cfg *out)
{
	const cJSON *o = cfg_get_obj(c, w, wp, "inputs", false);
	const cJSON *it;
	size_t n;

	if (!o || (n = (size_t)cJSON_GetArraySize(o)) == 0)
		return;
	if (n > WF_MAX_INPUTS - 2)
		pb_problems_add(c->probs, "%s.inputs: at most %d inputs (GitHub accepts %d; the bot sends "
				"component and target_stage)", wp, WF_MAX_INPUTS - 2, WF_MAX_INPUTS);
	out->wf_input_names = calloc(n + 1, sizeof(char *));
	out->wf_input_values = calloc(n + 1, sizeof(char *));
	if (!out->wf_input_names || !out->wf_input_values) {
		c->oom = 1;
		return;
	}
	cJSON_ArrayForEach(it, o) {
		if (!cJSON_IsString(it)) {
			pb_problems_add(c->probs, "%s.inputs.%s: expected string (workflow inputs are passed as strings)",
					wp, it->string);
			continue;
		}
		if (!strcmp(it->string, "component") || !strcmp(it->string, "target_stage")) {
			pb_problems_add(c->probs, "%s.inputs.%s: set by the bot for each validation", wp, it->string);
			continue;
		}
		out->wf_input_names[out->wf_ninputs] = cfg_strdup(c, it->string);
		out->wf_input_values[out->wf_ninputs++] = cfg_strdup(c, it->valuestring);
	}
}

static void parse_workflow(cfg_ctx *c, const cJSON *v, const char *p, pb_validation_cfg *out)
{
	static const char *const keys[] = { "mode", "file", "ref", "inputs", NULL };
	const cJSON *w = cfg_get_obj(c, v, p, "workflow", false);
	char wp[CFG_PATH_MAX];
	char *mode = NULL;

	cfg_path_key(wp, sizeof(wp), p, "workflow");
	out->wf_mode = PB_WF_ISSUE;
	cfg_check_keys(c, w, wp, keys);
	cfg_get_str(c, w, wp, "file", false, "component-promotion-validation.yml", &out->wf_file);
	cfg_get_str(c, w, wp, "ref", false, "main", &out->wf_ref);
	if (out->wf_file && (!out->wf_file[0] || strchr(out->wf_file, '/')))
		pb_problems_add(c->probs, "%s.file: a workflow file name in .github/workflows (no '/') or its id", wp);
	if (out->wf_ref && !out->wf_ref[0])
		pb_problems_add(c->probs, "%s.ref: must not be empty", wp);
	if (cfg_get_str(c, w, wp, "mode", false, "issue", &mode)) {
		if (strcmp(mode, "dispatch") == 0)
			out->wf_mode = PB_WF_DISPATCH;
		else if (strcmp(mode, "issue") != 0)
			pb_problems_add(c->probs, "%s.mode: unknown mode \"%s\" (issue, dispatch)", wp, mode);
	}
	free(mode);
	if (w)
		parse_inputs(c, w, wp, out);
	if (out->wf_ninputs && out->wf_mode != PB_WF_DISPATCH)
		pb_problems_add(c->probs, "%s.inputs: only mode \"dispatch\" sends inputs", wp);
}

void cfg_parse_component_validation(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	static const char *const keys[] = { "source", "ref", "checks", "timeout_s", "poll_s", "workflow", NULL };
	const cJSON *v = cfg_get_obj(c, o, path, "validation", false);
	pb_validation_cfg *out = &comp->validation;
	char p[CFG_PATH_MAX];
	size_t npat = 0;

	cfg_path_key(p, sizeof(p), path, "validation");
	cfg_check_keys(c, v, p, keys);
	parse_sources(c, v, p, out);
	cfg_get_str(c, v, p, "ref", false, "heads/main", &out->ref);
	if (out->ref && strncmp(out->ref, "heads/", 6) != 0 && strncmp(out->ref, "tags/", 5) != 0)
		pb_problems_add(c->probs, "%s.ref: must name a branch (\"heads/main\") or a tag (\"tags/v1.2\")", p);
	/* The wait holds an interactive worker and the component lock: bounded to 2 h. */
	cfg_get_int(c, v, p, "timeout_s", false, 1800, 1, 7200, &out->timeout_s);
	cfg_get_int(c, v, p, "poll_s", false, 15, 1, 3600, &out->poll_s);
	if (out->poll_s > out->timeout_s)
		pb_problems_add(c->probs, "%s.poll_s: must not exceed timeout_s (%d)", p, out->timeout_s);
	parse_patterns(c, v, p, out);
	parse_workflow(c, v, p, out);
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		npat += out->npatterns[k];
	if ((out->sources & PB_VSRC_GITHUB_CHECKS) && npat == 0)
		pb_problems_add(c->probs, "%s.checks: github_checks needs at least one criterion's check names", p);
	if (npat && !(out->sources & PB_VSRC_GITHUB_CHECKS))
		pb_problems_add(c->probs, "%s.checks: only used by the github_checks source", p);
	if (out->sources & (PB_VSRC_GITHUB_CHECKS | PB_VSRC_GITHUB_WORKFLOW)) {
		if (!c->github || !c->github->enabled)
			pb_problems_add(c->probs, "%s.source: a GitHub source needs the top-level github section", p);
		if (!comp->github_repo)
			pb_problems_add(c->probs, "%s.source: a GitHub source needs %s.github_repo", p, path);
	}
}

void cfg_validation_free(pb_validation_cfg *v)
{
	free(v->ref);
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		cfg_strv_free(v->patterns[k], v->npatterns[k]);
	free(v->wf_file);
	free(v->wf_ref);
	cfg_strv_free(v->wf_input_names, v->wf_ninputs);
	cfg_strv_free(v->wf_input_values, v->wf_ninputs);
	memset(v, 0, sizeof(*v));
}
