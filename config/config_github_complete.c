/* config_github_complete.c — what a completion writes on GitHub: github.maturity, github.project, github_maturity_path. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAT_P "github.maturity"
#define PROJ_P "github.project"

/* The option names of the promotion guide's board ("🧪 Staging"). */
static const char *const default_options[PB_STAGE_COUNT] = { "🔧 Development", "🧪 Staging", "🚀 Production" };

/*
 * A branch-name prefix git accepts (git check-ref-format, for the parts a
 * prefix can break): no control characters, space, ~ ^ : ? * [ \, no "..",
 * "@{", "//", no leading '/' or '-', no ".lock" component.
 */
static bool branch_prefix_valid(const char *s)
{
	if (!s[0] || s[0] == '/' || s[0] == '-' || s[0] == '.' || strstr(s, "..") || strstr(s, "@{") ||
	    strstr(s, "//") || strstr(s, ".lock/") || strstr(s, "/."))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f || strchr("~^:?*[\\", *p))
			return false;
	return true;
}

static void parse_maturity(cfg_ctx *c, const cJSON *gh, pb_github_maturity_cfg *m)
{
	static const char *const keys[] = { "via_pull_request", "branch_prefix", NULL };
	const cJSON *o = cfg_get_obj(c, gh, "github", "maturity", false);

	cfg_check_keys(c, o, MAT_P, keys);
	cfg_get_bool(c, o, MAT_P, "via_pull_request", false, &m->via_pull_request);
	cfg_get_str(c, o, MAT_P, "branch_prefix", false, "promobot/maturity-", &m->branch_prefix);
	if (m->branch_prefix && !branch_prefix_valid(m->branch_prefix))
		pb_problems_add(c->probs,
				MAT_P ".branch_prefix: \"%s\" is not a valid git branch prefix (no spaces, ~^:?*[\\, "
				"\"..\", \"//\", leading '/', '-' or '.')",
				m->branch_prefix);
}

/* A field name: a non-empty string (defaults when absent). */
static void get_field(cfg_ctx *c, const cJSON *o, const char *key, const char *def, char **out)
{
	if (cfg_get_str(c, o, PROJ_P, key, false, def, out) && !(*out)[0])
		pb_problems_add(c->probs, PROJ_P ".%s: must not be empty", key);
}

static void parse_stage_options(cfg_ctx *c, const cJSON *proj, pb_github_project_cfg *p)
{
	static const char *const keys[] = { "development", "staging", "production", NULL };
	const char *op = PROJ_P ".stage_options";
	const cJSON *o = cfg_get_obj(c, proj, PROJ_P, "stage_options", false);

	cfg_check_keys(c, o, op, keys);
	for (int s = 0; s < PB_STAGE_COUNT; s++)
		if (cfg_get_str(c, o, op, pb_stage_name((pb_stage)s), false, default_options[s], &p->stage_options[s]) &&
		    !p->stage_options[s][0])
			pb_problems_add(c->probs, "%s.%s: must not be empty", op, pb_stage_name((pb_stage)s));
}

static void parse_project(cfg_ctx *c, const cJSON *gh, pb_github_project_cfg *p)
{
	static const char *const keys[] = { "id", "status_field", "stage_options", "current_stage_field",
					    "last_updated_field", NULL };
	const cJSON *o = cfg_get_obj(c, gh, "github", "project", false);

	if (!o)
		return;
	cfg_check_keys(c, o, PROJ_P, keys);
	/* GraphQL global ids are opaque but printable and short ("PVT_kwDOB…"). */
	if (cfg_get_str(c, o, PROJ_P, "id", true, NULL, &p->id) && strpbrk(p->id, " \t\r\n\"\\"))
		pb_problems_add(c->probs, PROJ_P ".id: \"%s\" is not a GraphQL node id (e.g. \"PVT_kwDOAB12cd\")",
				p->id);
	get_field(c, o, "status_field", "Status", &p->status_field);
	get_field(c, o, "current_stage_field", "Current Stage", &p->current_stage_field);
	get_field(c, o, "last_updated_field", "Last Updated", &p->last_updated_field);
	parse_stage_options(c, o, p);
}

void cfg_parse_github_completion(cfg_ctx *c, const cJSON *gh, pb_github_cfg *g)
{
	parse_maturity(c, gh, &g->maturity);
	parse_project(c, gh, &g->project);
}

void cfg_github_completion_free(pb_github_cfg *g)
{
	free(g->maturity.branch_prefix);
	free(g->project.id);
	free(g->project.status_field);
	free(g->project.current_stage_field);
	free(g->project.last_updated_field);
	for (int s = 0; s < PB_STAGE_COUNT; s++)
		free(g->project.stage_options[s]);
}

/* A path inside the repository: relative, no empty, "." or ".." segments, no backslash. */
static bool repo_path_valid(const char *s)
{
	const char *seg = s;

	if (!s[0] || strchr(s, '\\'))
		return false;
	for (const char *p = s;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (!*p)
				return true;
			seg = p + 1;
		} else if ((unsigned char)*p < 0x20) {
			return false;
		}
	}
}

void cfg_parse_github_maturity_path(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	if (!cfg_get_str(c, o, path, "github_maturity_path", false, NULL, &comp->github_maturity_path))
		return;
	if (!repo_path_valid(comp->github_maturity_path))
		pb_problems_add(c->probs,
				"%s.github_maturity_path: \"%s\" must be a path inside the repository "
				"(\"docs/components/neo4j/MATURITY.md\": no leading '/', no empty, '.' or '..' parts)",
				path, comp->github_maturity_path);
	else if (!comp->github_repo)
		pb_problems_add(c->probs, "%s.github_maturity_path: needs github_repo (the repository it is in)", path);
}
