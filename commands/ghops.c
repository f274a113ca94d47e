/* ghops.c — a completion on GitHub: the MATURITY.md commit (contents API, optionally via a PR) and the Project (v2) item. */
#include "pb_ghops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_http.h"
#include "pb_json.h"
#include "pb_maturity.h"
#include "pb_str.h"

#define MATURITY_ATTEMPTS 5 /* GET → edit → PUT rounds before a stale sha counts as "try later" */

static void say(char *summary, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *summary, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!summary || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(summary, size, fmt, ap);
	va_end(ap);
}

/* "components[3]" for messages that name where a setting lives. */
static void comp_path(const pb_config *cfg, const pb_component *comp, char *out, size_t size)
{
	snprintf(out, size, "components[%zu].github_maturity_path", (size_t)(comp - cfg->components));
}

static int find_component(const pb_config *cfg, const pb_ghops_completion *c, const pb_component **out,
			  pb_err *err)
{
	*out = c->component ? pb_config_component(cfg, c->component) : NULL;
	if (!*out)
		return pb_err_set(err, PB_E_INVALID, "GitHub completion: unknown component \"%s\"",
				  c->component ? c->component : "");
	if ((int)c->to < 0 || c->to >= PB_STAGE_COUNT || (int)c->from < 0 || c->from >= PB_STAGE_COUNT)
		return pb_err_set(err, PB_E_INVALID, "GitHub completion of %s: stage out of range", c->component);
	if (!c->date || strlen(c->date) != 10 || c->date[4] != '-' || c->date[7] != '-')
		return pb_err_set(err, PB_E_INVALID, "GitHub completion of %s: date \"%s\" is not YYYY-MM-DD",
				  c->component, c->date ? c->date : "");
	return 0;
}

/* ---- MATURITY.md ------------------------------------------------------- */

typedef struct maturity_job {
	const char *repo;
	const char *path;
	const char *where;          /* "components[2].github_maturity_path" */
	pb_maturity_update u;
	char ref[48];
	char message[256];
} maturity_job;

/*
 * Reads the file on `branch` (NULL = default) and commits the edit when it
 * changes anything. *committed says whether this call committed. A stale
 * sha (409: someone committed in between, or our own earlier PUT whose
 * answer was lost) re-reads and re-applies, so both edits are kept and
 * ours is never committed twice.
 */
static int maturity_commit(pb_github *g, const maturity_job *j, const char *branch, bool *committed, pb_err *err)
{
	int r = PB_E_CONFLICT;

	*committed = false;
	for (int attempt = 0; attempt < MATURITY_ATTEMPTS && r == PB_E_CONFLICT; attempt++) {
		pb_github_content file;
		pb_buf edited;
		bool changed = false;
		pb_err e;

		pb_err_init(&e);
		pb_buf_init(&edited);
		r = pb_github_content_get(g, j->repo, j->path, branch, &file, &e);
		if (r == PB_E_NOTFOUND) {
			pb_github_content_deinit(&file);
			return pb_err_set(err, PB_E_NOTFOUND, "MATURITY.md: %s not found in %s%s%s (%s): %s", j->path,
					  j->repo, branch ? " on branch " : "", branch ? branch : "", j->where,
					  pb_err_text(&e));
		}
		if (r == 0 && pb_maturity_apply(file.data, file.len, &j->u, &edited, &changed))
			r = pb_err_set(&e, -ENOMEM, "out of memory editing %s", j->path);
		if (r == 0 && changed) {
			r = pb_github_content_put(g, j->repo, j->path, pb_buf_str(&edited), edited.len, j->message,
						  file.sha, branch, NULL, &e);
			*committed = r == 0;
		}
		pb_github_content_deinit(&file);
		pb_buf_deinit(&edited);
		if (r && r != PB_E_CONFLICT) {
			pb_err_pass(err, r, &e);
			pb_err_prefix(err, "MATURITY.md %s in %s", j->path, j->repo);
			return r;
		}
	}
	if (r == PB_E_CONFLICT)
		return pb_err_set(err, PB_E_UNAVAILABLE,
				  "MATURITY.md %s in %s: the file changed under every one of %d attempts (409); "
				  "trying again later",
				  j->path, j->repo, MATURITY_ATTEMPTS);
	return 0;
}

/* The repository's default branch and its head commit. */
static int default_head(pb_github *g, const char *repo, char *branch, size_t bsize, char sha[41], pb_err *err)
{
	char path[300], ref[300];
	cJSON *j = NULL;
	const char *b;
	int r;

	snprintf(path, sizeof(path), "/repos/%s", repo);
	r = pb_github_request(g, "GET", path, NULL, true, &j, err);
	b = r == 0 ? pb_json_str(j, "default_branch") : NULL;
	if (r == 0 && (!b || !b[0] || strlen(b) >= bsize))
		r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: %s answered without a usable default_branch", repo);
	if (r == 0) {
		pb_strlcpy(branch, b, bsize);
		snprintf(ref, sizeof(ref), "heads/%s", branch);
		r = pb_github_ref_sha(g, repo, ref, sha, err);
	}
	cJSON_Delete(j);
	return r;
}

/* refs/heads/<branch> at sha; an existing branch is reused (422 "Reference already exists"). */
static int branch_ensure(pb_github *g, const char *repo, const char *branch, const char *sha, pb_err *err)
{
	char path[300], ref[300], have[41];
	cJSON *b = cJSON_CreateObject();
	pb_err e;
	int r;

	if (!b)
		return -ENOMEM;
	pb_err_init(&e);
	snprintf(path, sizeof(path), "/repos/%s/git/refs", repo);
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	cJSON_AddStringToObject(b, "ref", ref);
	cJSON_AddStringToObject(b, "sha", sha);
	r = pb_github_request(g, "POST", path, b, false, NULL, &e);
	cJSON_Delete(b);
	if (r == PB_E_INVALID || (r == PB_E_UNAVAILABLE && pb_github_maybe_sent(g))) {
		/* Already there (a repeat, or a POST whose answer was lost): look instead of guessing. */
		pb_err e2;
		int r2;

		pb_err_init(&e2);
		snprintf(ref, sizeof(ref), "heads/%s", branch);
		r2 = pb_github_ref_sha(g, repo, ref, have, &e2);
		if (r2 == 0)
			r = 0;
	}
	return pb_err_pass(err, r, &e);
}

/* The hidden marker that makes our pull request recognisable. */
static void pr_marker(const pb_ghops_completion *c, char *out, size_t size)
{
	snprintf(out, size, "<!-- promobot:maturity component=%s promotion=%" PRId64 " -->", c->component,
		 c->promotion_id);
}

/* The open pull request from `branch` (html_url into url), PB_E_NOTFOUND when there is none. */
static int pr_find(pb_github *g, const char *repo, const char *branch, char *url, size_t size, pb_err *err)
{
	char owner[64], head[400], path[600];
	char *esc;
	cJSON *list = NULL, *pr;
	int r;

	snprintf(owner, sizeof(owner), "%.*s", (int)(strchr(repo, '/') - repo), repo);
	snprintf(head, sizeof(head), "%s:%s", owner, branch);
	esc = pb_http_escape(head);
	if (!esc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/repos/%s/pulls?state=open&head=%s", repo, esc);
	free(esc);
	r = pb_github_get_all(g, path, NULL, 100, &list, err);
	if (r == 0) {
		pr = cJSON_GetArrayItem(list, 0);
		if (!pr)
			r = PB_E_NOTFOUND;
		else
			pb_strlcpy(url, pb_json_str(pr, "html_url") ? pb_json_str(pr, "html_url") : "", size);
	}
	cJSON_Delete(list);
	return r;
}

static int pr_open(pb_github *g, const maturity_job *j, const pb_ghops_completion *c, const char *branch,
		   const char *base, char *url, size_t size, pb_err *err)
{
	char path[300], title[256], marker[160];
	pb_buf body;
	cJSON *b, *out = NULL;
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pr_find(g, j->repo, branch, url, size, &e);
	if (r != PB_E_NOTFOUND)
		return pb_err_pass(err, r, &e);
	b = cJSON_CreateObject();
	pb_buf_init(&body);
	pr_marker(c, marker, sizeof(marker));
	snprintf(title, sizeof(title), "MATURITY.md: %s promoted to %s (%s)", c->component, j->u.stage, j->ref);
	pb_buf_printf(&body,
		      "Records the completed promotion of **%s** from %s to %s in `%s` (%s, %s).\n\n"
		      "Opened by promobot because `github.maturity.via_pull_request` is set.\n\n%s\n",
		      c->component, j->u.from, j->u.stage, j->path, j->ref, j->u.date, marker);
	if (!b || body.oom) {
		cJSON_Delete(b);
		pb_buf_deinit(&body);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(b, "title", title);
	cJSON_AddStringToObject(b, "head", branch);
	cJSON_AddStringToObject(b, "base", base);
	cJSON_AddStringToObject(b, "body", pb_buf_str(&body));
	snprintf(path, sizeof(path), "/repos/%s/pulls", j->repo);
	pb_err_init(&e);
	r = pb_github_request(g, "POST", path, b, false, &out, &e);
	if (r == 0) {
		pb_strlcpy(url, pb_json_str(out, "html_url") ? pb_json_str(out, "html_url") : "", size);
	} else if (r == PB_E_INVALID || (r == PB_E_UNAVAILABLE && pb_github_maybe_sent(g))) {
		/* 422 "A pull request already exists", or a lost answer: the list says which. */
		pb_err e2;

		pb_err_init(&e2);
		if (pr_find(g, j->repo, branch, url, size, &e2) == 0)
			r = 0;
	}
	cJSON_Delete(b);
	cJSON_Delete(out);
	pb_buf_deinit(&body);
	return pb_err_pass(err, r, &e);
}

static int maturity_via_pr(pb_github *g, const pb_config *cfg, const maturity_job *j, const pb_ghops_completion *c,
			   char *summary, size_t size, pb_err *err)
{
	char base[256], head_sha[41], branch[300], url[512] = "";
	bool committed = false;
	pb_github_content file;
	pb_buf edited;
	bool changed = true;
	int r;

	/* Merged already (or edited by hand on the default branch): nothing to propose. */
	pb_buf_init(&edited);
	r = pb_github_content_get(g, j->repo, j->path, NULL, &file, err);
	if (r == PB_E_NOTFOUND)
		pb_err_prefix(err, "MATURITY.md: %s not found in %s (%s)", j->path, j->repo, j->where);
	if (r == 0 && pb_maturity_apply(file.data, file.len, &j->u, &edited, &changed))
		r = -ENOMEM;
	pb_github_content_deinit(&file);
	pb_buf_deinit(&edited);
	if (r)
		return r;
	if (!changed) {
		say(summary, size, "MATURITY.md in %s already up to date (%s)", j->repo, j->path);
		return 0;
	}
	snprintf(branch, sizeof(branch), "%s%s-%" PRId64, cfg->github.maturity.branch_prefix, c->component,
		 c->promotion_id);
	r = default_head(g, j->repo, base, sizeof(base), head_sha, err);
	if (r == 0)
		r = branch_ensure(g, j->repo, branch, head_sha, err);
	if (r == 0)
		r = maturity_commit(g, j, branch, &committed, err);
	if (r == 0)
		r = pr_open(g, j, c, branch, base, url, sizeof(url), err);
	if (r == 0)
		say(summary, size, "MATURITY.md: pull request %s (%s → %s in %s)", url, branch, base, j->repo);
	return r;
}

int pb_ghops_maturity(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary, size_t size,
		      pb_err *err)
{
	const pb_component *comp;
	char where[96];
	maturity_job j;
	bool committed = false;
	int r;

	say(summary, size, "%s", "");
	r = find_component(cfg, c, &comp, err);
	if (r)
		return r;
	if (!comp->github_repo || !comp->github_maturity_path) {
		say(summary, size, "MATURITY.md: %s has no github_maturity_path, nothing to commit", comp->id);
		return 0;
	}
	memset(&j, 0, sizeof(j));
	comp_path(cfg, comp, where, sizeof(where));
	j.repo = comp->github_repo;
	j.path = comp->github_maturity_path;
	j.where = where;
	if (c->issue_number > 0)
		snprintf(j.ref, sizeof(j.ref), "Issue #%" PRId64, c->issue_number);
	else
		snprintf(j.ref, sizeof(j.ref), "Promotion #%" PRId64, c->promotion_id);
	j.u = (pb_maturity_update){ .stage = pb_stage_title(c->to), .from = pb_stage_title(c->from),
				    .date = c->date, .ref = j.ref };
	snprintf(j.message, sizeof(j.message), "%s: promoted to %s (%s, promotion #%" PRId64 ")", comp->id,
		 j.u.stage, j.ref, c->promotion_id);
	if (cfg->github.maturity.via_pull_request)
		return maturity_via_pr(g, cfg, &j, c, summary, size, err);
	r = maturity_commit(g, &j, NULL, &committed, err);
	if (r == 0 && committed)
		say(summary, size, "MATURITY.md updated in %s (%s: %s to %s, %s)", j.repo, j.path, comp->id, j.u.stage,
		    j.ref);
	else if (r == 0)
		say(summary, size, "MATURITY.md in %s already up to date (%s)", j.repo, j.path);
	return r;
}

/* ---- Project (v2) ------------------------------------------------------ */

static const char fields_query[] =
	"query($id: ID!) { node(id: $id) { __typename ... on ProjectV2 { fields(first: 100) { nodes { "
	"... on ProjectV2FieldCommon { id name dataType } "
	"... on ProjectV2SingleSelectField { options { id name } } } } } } }";

static const char add_item_mutation[] =
	"mutation($projectId: ID!, $contentId: ID!) { addProjectV2ItemById(input: {projectId: $projectId, "
	"contentId: $contentId}) { item { id } } }";

static const char update_mutation[] =
	"mutation($projectId: ID!, $itemId: ID!, $fieldId: ID!, $value: ProjectV2FieldValue!) { "
	"updateProjectV2ItemFieldValue(input: {projectId: $projectId, itemId: $itemId, fieldId: $fieldId, "
	"value: $value}) { projectV2Item { id } } }";

/* One field value to set: the field's id and the ProjectV2FieldValue member. */
typedef struct field_set {
	char field_id[128];
	const char *value_key;       /* singleSelectOptionId | text | date */
	char value[256];
	char shown[256];             /* what the summary says */
} field_set;

/* GraphQL errors that mean "later" (the client calls them invalid). */
static int graphql_code(int r, const pb_err *e)
{
	if (r == PB_E_INVALID && (strstr(pb_err_text(e), "RATE_LIMITED") || strstr(pb_err_text(e), "rate limit")))
		return PB_E_UNAVAILABLE;
	return r;
}

static const cJSON *field_find(const cJSON *nodes, const char *name)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, nodes) {
		const char *n = pb_json_str(f, "name");

		if (n && strcmp(n, name) == 0)
			return f;
	}
	return NULL;
}

/* The option named `name` (exactly) of a single-select field; "" when absent, the list of names in `have`. */
static const char *option_find(const cJSON *field, const char *name, pb_buf *have)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(field, "options")) {
		const char *n = pb_json_str(o, "name");

		if (n && strcmp(n, name) == 0 && pb_json_str(o, "id"))
			return pb_json_str(o, "id");
		if (n)
			pb_buf_printf(have, "%s\"%s\"", have->len ? ", " : "", n);
	}
	return NULL;
}

/*
 * Resolves one configured field into what to send. `option` is the option
 * name a single-select field needs, `text` the text/date value. PB_E_INVALID
 * (permanent) names the field, the config key and the Project.
 */
static int field_resolve(const cJSON *nodes, const pb_github_project_cfg *p, const char *name, const char *key,
			 const char *option, const char *option_key, const char *text, bool date_ok,
			 field_set *out, pb_err *err)
{
	const cJSON *f = field_find(nodes, name);
	const char *type, *id;

	memset(out, 0, sizeof(*out));
	if (!f)
		return pb_err_set(err, PB_E_INVALID, "Project %s has no field \"%s\" (github.project.%s)", p->id, name,
				  key);
	type = pb_json_str(f, "dataType");
	id = pb_json_str(f, "id");
	if (!type || !id || strlen(id) >= sizeof(out->field_id))
		return pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: field \"%s\" of Project %s came without id/dataType",
				  name, p->id);
	pb_strlcpy(out->field_id, id, sizeof(out->field_id));
	if (strcmp(type, "SINGLE_SELECT") == 0 && option) {
		pb_buf have;
		const char *oid;

		pb_buf_init(&have);
		oid = option_find(f, option, &have);
		if (!oid) {
			int r = pb_err_set(err, PB_E_INVALID,
					   "Project %s: field \"%s\" (github.project.%s) has no option \"%s\" "
					   "(github.project.%s); it has %s",
					   p->id, name, key, option, option_key, have.len ? pb_buf_str(&have) : "none");

			pb_buf_deinit(&have);
			return r;
		}
		pb_buf_deinit(&have);
		out->value_key = "singleSelectOptionId";
		pb_strlcpy(out->value, oid, sizeof(out->value));
		pb_strlcpy(out->shown, option, sizeof(out->shown));
	} else if (strcmp(type, "TEXT") == 0 && text) {
		out->value_key = "text";
		pb_strlcpy(out->value, text, sizeof(out->value));
	} else if (strcmp(type, "DATE") == 0 && text && date_ok) {
		out->value_key = "date";
		pb_strlcpy(out->value, text, sizeof(out->value));
	} else {
		return pb_err_set(err, PB_E_INVALID,
				  "Project %s: field \"%s\" (github.project.%s) is of type %s; expected %s", p->id, name,
				  key, type,
				  option && text ? "single select or text" : option ? "single select" : "date or text");
	}
	if (!out->shown[0])
		pb_strlcpy(out->shown, out->value, sizeof(out->shown));
	return 0;
}

/*
 * One GraphQL call with string variables (name, value pairs, NULL-ended)
 * plus an optional `value` object; *data gets the answer. Failures are
 * prefixed with `what`. Takes `value`.
 */
static int gql_call(pb_github *g, const char *doc, const char *const *vars, cJSON *value, cJSON **data,
		    const char *what, pb_err *err)
{
	cJSON *v = cJSON_CreateObject();
	pb_err e;
	int r;

	if (!v) {
		cJSON_Delete(value);
		return -ENOMEM;
	}
	for (size_t i = 0; vars[i]; i += 2)
		cJSON_AddStringToObject(v, vars[i], vars[i + 1]);
	if (value)
		cJSON_AddItemToObject(v, "value", value);
	pb_err_init(&e);
	r = graphql_code(pb_github_graphql(g, doc, v, data, &e), &e);
	cJSON_Delete(v);
	if (r) {
		pb_err_pass(err, r, &e);
		pb_err_prefix(err, "%s", what);
	}
	return r;
}

/* Reads the Project's fields and resolves Status, Current Stage and Last Updated. */
static int project_fields(pb_github *g, const pb_github_project_cfg *p, const pb_ghops_completion *c,
			  field_set set[3], pb_err *err)
{
	const char *const vars[] = { "id", p->id, NULL };
	cJSON *data = NULL;
	const cJSON *node, *nodes;
	const char *stage_opt = p->stage_options[c->to];
	char okey[64], what[160];
	int r;

	snprintf(what, sizeof(what), "Project %s (github.project.id)", p->id);
	r = gql_call(g, fields_query, vars, NULL, &data, what, err);
	if (r)
		goto out;
	node = cJSON_GetObjectItemCaseSensitive(data, "node");
	nodes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(node, "fields"), "nodes");
	if (!cJSON_IsObject(node) || !cJSON_IsArray(nodes)) {
		r = pb_err_set(err, PB_E_INVALID, "github.project.id: %s is not a Project (v2) (GitHub calls it %s)",
			       p->id, cJSON_IsObject(node) && pb_json_str(node, "__typename")
					      ? pb_json_str(node, "__typename")
					      : "nothing");
		goto out;
	}
	snprintf(okey, sizeof(okey), "stage_options.%s", pb_stage_name(c->to));
	r = field_resolve(nodes, p, p->status_field, "status_field", stage_opt, okey, NULL, false, &set[0], err);
	if (r == 0) {
		/* A single-select "Current Stage" uses the board's option names; a text field the stage's name. */
		const cJSON *cs = field_find(nodes, p->current_stage_field);
		const char *t = pb_json_str(cs, "dataType");

		if (t && strcmp(t, "SINGLE_SELECT") == 0) {
			pb_buf have;

			pb_buf_init(&have);
			if (!option_find(cs, stage_opt, &have) && option_find(cs, pb_stage_title(c->to), &have))
				stage_opt = pb_stage_title(c->to);
			pb_buf_deinit(&have);
		}
		r = field_resolve(nodes, p, p->current_stage_field, "current_stage_field", stage_opt, okey,
				  pb_stage_title(c->to), false, &set[1], err);
	}
	if (r == 0)
		r = field_resolve(nodes, p, p->last_updated_field, "last_updated_field", NULL, NULL, c->date, true,
				  &set[2], err);
out:
	cJSON_Delete(data);
	return r;
}

int pb_ghops_project_check(pb_github *g, const pb_config *cfg, pb_err *err)
{
	const pb_github_project_cfg *p = &cfg->github.project;
	field_set set[3];
	int r = 0;

	if (!p->id)
		return 0;
	/* every stage a promotion can reach: its option must exist as well as the three fields */
	for (int s = PB_STAGE_STAGING; s < PB_STAGE_COUNT && r == 0; s++) {
		pb_ghops_completion c = { .component = "", .from = (pb_stage)(s - 1), .to = (pb_stage)s,
					  .date = "2026-01-01" };

		r = project_fields(g, p, &c, set, err);
	}
	return r;
}

static int project_add_item(pb_github *g, const char *project, const char *content, char *item, size_t size,
			    pb_err *err)
{
	const char *const vars[] = { "projectId", project, "contentId", content, NULL };
	char what[256];
	cJSON *data = NULL;
	const char *id;
	int r;

	snprintf(what, sizeof(what), "Project %s: adding the issue", project);
	r = gql_call(g, add_item_mutation, vars, NULL, &data, what, err);
	id = r == 0 ? pb_json_str(cJSON_GetObjectItemCaseSensitive(
					  cJSON_GetObjectItemCaseSensitive(data, "addProjectV2ItemById"), "item"),
				  "id")
		    : NULL;
	if (r == 0 && (!id || !id[0] || strlen(id) >= size))
		r = pb_err_set(err, PB_E_UNAVAILABLE, "%s: addProjectV2ItemById answered without an item id", what);
	if (r == 0)
		pb_strlcpy(item, id, size);
	cJSON_Delete(data);
	return r;
}

static int project_set(pb_github *g, const char *project, const char *item, const field_set *f, const char *name,
		       pb_err *err)
{
	const char *const vars[] = { "projectId", project, "itemId", item, "fieldId", f->field_id, NULL };
	cJSON *value = cJSON_CreateObject(), *data = NULL;
	char what[256];
	int r;

	if (!value)
		return -ENOMEM;
	cJSON_AddStringToObject(value, f->value_key, f->value);
	snprintf(what, sizeof(what), "Project %s: setting \"%s\"", project, name);
	r = gql_call(g, update_mutation, vars, value, &data, what, err);
	cJSON_Delete(data);
	return r;
}

int pb_ghops_project(pb_github *g, const pb_config *cfg, const pb_ghops_completion *c, char *summary, size_t size,
		     pb_err *err)
{
	const pb_github_project_cfg *p = &cfg->github.project;
	const pb_component *comp;
	const char *names[3];
	pb_github_issue issue;
	field_set set[3];
	char item[128];
	int r;

	say(summary, size, "%s", "");
	r = find_component(cfg, c, &comp, err);
	if (r)
		return r;
	if (!p->id) {
		say(summary, size, "Project: github.project is not configured, nothing to update");
		return 0;
	}
	if (c->issue_number <= 0) {
		say(summary, size, "Project: promotion #%" PRId64 " has no issue, nothing to add", c->promotion_id);
		return 0;
	}
	if (!comp->github_repo) {
		say(summary, size, "Project: %s has no github_repo, nothing to add", comp->id);
		return 0;
	}
	memset(&issue, 0, sizeof(issue));
	r = pb_github_issue_get(g, comp->github_repo, c->issue_number, &issue, err);
	if (r == 0 && !issue.node_id[0])
		r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: issue #%" PRId64 " in %s came without a node_id",
			       c->issue_number, comp->github_repo);
	/* Everything that can be wrong in the config is found before the item is added. */
	if (r == 0)
		r = project_fields(g, p, c, set, err);
	if (r == 0)
		r = project_add_item(g, p->id, issue.node_id, item, sizeof(item), err);
	names[0] = p->status_field;
	names[1] = p->current_stage_field;
	names[2] = p->last_updated_field;
	for (int i = 0; i < 3 && r == 0; i++)
		r = project_set(g, p->id, item, &set[i], names[i], err);
	if (r == 0)
		say(summary, size, "Project: %s set to %s, %s to %s, %s to %s (issue #%" PRId64 ")", names[0],
		    set[0].shown, names[1], set[1].shown, names[2], set[2].shown, c->issue_number);
	pb_github_issue_deinit(&issue);
	return r;
}
