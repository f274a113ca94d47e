/* check_online.c — the live half of --check-config: GitHub token/App, repositories, labels; Slack auth.test; Docker /_ping. */
#include "check_online.h"
#include "pb_ghops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker.h"
#include "github.h"
#include "pb_ghbody.h"
#include "pb_http.h"
#include "pb_json.h"
#include "pb_store.h"
#include "pb_str.h"
#include "slack_web.h"

#define APP_TOKEN_PREFIX "GitHub App installation token"

/* Where the GitHub credential is configured: findings about it are reported there. */
static const char *auth_path(const pb_github_cfg *g)
{
	return g->app ? "github.app" : g->token_env ? "github.token_env" : "github.token_file";
}

/* A fine-grained PAT ("github_pat_…"): GitHub does not report its permissions back. */
static bool fine_grained(const pb_github_cfg *g)
{
	pb_err e;
	char *tok;
	bool fg;

	if (g->app)
		return false;
	pb_err_init(&e);
	tok = pb_secret_read(g->token_env, g->token_file, &e);
	fg = tok && strncmp(tok, "github_pat_", 11) == 0;
	if (tok)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	return fg;
}

static void check_labels(pb_github *gh, const pb_component *c, const char *path, pb_online_report *out)
{
	static const char *const lifecycle[] = { PB_GH_LABEL_REQUESTED, PB_GH_LABEL_IN_REVIEW, PB_GH_LABEL_BLOCKED,
						 PB_GH_LABEL_APPROVED, PB_GH_LABEL_COMPLETED };
	char **names = NULL, comp[PB_ID_MAX + 16];
	size_t n = 0;
	pb_err e;

	pb_err_init(&e);
	if (pb_github_labels_list(gh, c->github_repo, &names, &n, &e) != 0) {
		pb_problems_add(&out->problems, "%s: cannot list labels: %s", path, pb_err_text(&e));
		return;
	}
	snprintf(comp, sizeof(comp), "component:%s", c->id);
	for (size_t i = 0; i <= sizeof(lifecycle) / sizeof(lifecycle[0]); i++) {
		const char *want = i < sizeof(lifecycle) / sizeof(lifecycle[0]) ? lifecycle[i] : comp;
		bool found = false;

		for (size_t k = 0; k < n && !found; k++)
			found = strcasecmp(names[k], want) == 0;
		if (!found)
			pb_problems_add(&out->warnings, "%s: label %s is missing in %s (the bot creates it when first used)",
					path, want, c->github_repo);
	}
	pb_github_strv_free(names, n);
}

/* Access, permissions and labels of one component's repository. */
static void check_repo(pb_github *gh, const pb_github_cfg *g, const pb_component *c, size_t index, bool fg,
		       pb_online_report *out)
{
	char path[64], api[300];
	cJSON *repo = NULL, *perm;
	pb_err e;
	int r;

	snprintf(path, sizeof(path), "components[%zu].github_repo", index);
	snprintf(api, sizeof(api), "/repos/%s", c->github_repo);
	pb_err_init(&e);
	r = pb_github_request(gh, "GET", api, NULL, true, &repo, &e);
	/* the App's token could not be minted: about the App, not this repository */
	if (r != 0 && strncmp(pb_err_text(&e), APP_TOKEN_PREFIX, strlen(APP_TOKEN_PREFIX)) == 0) {
		pb_problems_add(&out->problems, "%s: %s", auth_path(g), pb_err_text(&e));
		return;
	}
	if (r == PB_E_NOTFOUND) {
		pb_problems_add(&out->problems, "%s: no access to %s (404: it does not exist, or the %s cannot see it)",
				path, c->github_repo, g->app ? "App installation" : "token");
		return;
	}
	if (r != 0) {
		pb_problems_add(&out->problems, "%s: %s", path, pb_err_text(&e));
		return;
	}
	perm = cJSON_GetObjectItemCaseSensitive(repo, "permissions");
	if (g->app || fg || !cJSON_IsObject(perm)) {
		pb_problems_add(&out->notes,
				"%s: the %s's permissions on %s cannot be read back: grant Issues, Contents, "
				"Deployments and Actions read and write, Metadata read",
				path, g->app ? "GitHub App" : fg ? "fine-grained token" : "token", c->github_repo);
	} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(perm, "push")) &&
		   !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(perm, "admin"))) {
		pb_problems_add(&out->problems,
				"%s: the token's user cannot write to %s (no push permission): issues, labels, "
				"contents, deployments and workflow dispatches need it",
				path, c->github_repo);
	}
	cJSON_Delete(repo);
	check_labels(gh, c, path, out);
	if (c->validation.sources & PB_VSRC_GITHUB_WORKFLOW) {
		snprintf(path, sizeof(path), "components[%zu].validation.workflow.file", index);
		pb_check_online_workflow(gh, c->github_repo, c->validation.wf_file, path, out);
	}
}

static void check_github(const pb_config *cfg, pb_online_report *out)
{
	const pb_github_cfg *g = &cfg->github;
	pb_github *gh = NULL;
	bool fg = fine_grained(g);
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_github_new(g, NULL, &gh, &e);
	if (r != 0) {
		pb_problems_add(&out->problems, "%s: %s", auth_path(g), pb_err_text(&e));
		return;
	}
	if (!g->app) {
		cJSON *user = NULL;

		r = pb_github_request(gh, "GET", "/user", NULL, true, &user, &e);
		cJSON_Delete(user);
		if (r != 0) {
			pb_problems_add(&out->problems, "%s: %s", auth_path(g), pb_err_text(&e));
			pb_github_free(gh);
			return; /* every other call would fail the same way */
		}
	}
	for (size_t i = 0; i < cfg->ncomponents; i++)
		if (cfg->components[i].github_repo)
			check_repo(gh, g, &cfg->components[i], i, fg, out);
	if (g->project.id && pb_ghops_project_check(gh, cfg, &e) != 0)
		pb_problems_add(&out->problems, "github.project: %s", pb_err_text(&e));
	pb_github_free(gh);
}

void pb_check_online_workflow(pb_github *gh, const char *repo, const char *file, const char *path,
			      pb_online_report *out)
{
	cJSON *wf = NULL;
	char *esc;
	pb_buf api;
	pb_err e;
	int r;

	pb_buf_init(&api);
	pb_err_init(&e);
	/* the file name is the config's, never user text; still percent-encoded as one path segment */
	esc = pb_http_escape(file);
	if (esc)
		pb_buf_printf(&api, "/repos/%s/actions/workflows/%s", repo, esc);
	r = !esc || api.oom ? -ENOMEM : 0;
	free(esc);
	if (r == 0)
		r = pb_github_request(gh, "GET", pb_buf_str(&api), NULL, true, &wf, &e);
	if (r == PB_E_NOTFOUND)
		pb_problems_add(&out->problems, "%s: workflow %s not found in %s (.github/workflows/%s)", path, file,
				repo, file);
	else if (r != 0)
		pb_problems_add(&out->problems, "%s: workflow %s: %s", path, file,
				r == -ENOMEM ? "out of memory" : pb_err_text(&e));
	else if (pb_json_str(wf, "state") && strcmp(pb_json_str(wf, "state"), "active") != 0)
		pb_problems_add(&out->problems, "%s: workflow %s is %s in %s (enable it)", path, file,
				pb_json_str(wf, "state"), repo);
	cJSON_Delete(wf);
	pb_buf_deinit(&api);
}

/* One node(id:) lookup; true when GitHub knows the id. */
static bool node_exists(pb_github *gh, const char *id, const char *path, const char *what, pb_online_report *out)
{
	cJSON *vars = cJSON_CreateObject(), *data = NULL;
	pb_err e;
	bool ok = false;
	int r;

	pb_err_init(&e);
	if (!vars || !cJSON_AddStringToObject(vars, "id", id)) {
		cJSON_Delete(vars);
		pb_problems_add(&out->problems, "%s: out of memory", path);
		return false;
	}
	r = pb_github_graphql(gh, "query($id: ID!) { node(id: $id) { __typename id } }", vars, &data, &e);
	if (r == 0 && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(data, "node")))
		ok = true;
	else if (r == 0 || r == PB_E_INVALID || r == PB_E_NOTFOUND)
		pb_problems_add(&out->problems, "%s: %s %s not found (%s)", path, what, id,
				r ? pb_err_text(&e) : "GitHub answered null");
	else
		pb_problems_add(&out->problems, "%s: %s %s: %s", path, what, id, pb_err_text(&e));
	cJSON_Delete(vars);
	cJSON_Delete(data);
	return ok;
}

void pb_check_online_project(pb_github *gh, const char *project_id, const char *const *field_ids,
			     size_t nfields, const char *path, pb_online_report *out)
{
	if (!node_exists(gh, project_id, path, "Project", out))
		return;
	for (size_t i = 0; i < nfields; i++)
		node_exists(gh, field_ids[i], path, "field", out);
}

static void check_slack(const pb_config *cfg, pb_online_report *out)
{
	const char *env = cfg->slack.bot_token_env ? cfg->slack.bot_token_env : "SLACK_BOT_TOKEN";
	pb_slack_web w;
	char code[64] = "";
	char *tok;
	pb_err e;
	int r;

	pb_err_init(&e);
	tok = pb_secret_read(env, NULL, &e);
	if (!tok) {
		pb_problems_add(&out->problems, "chat.slack.bot_token_env: %s", pb_err_text(&e));
		return;
	}
	r = pb_slack_web_init(&w, cfg->slack.api_url, tok, cfg->slack.ca_file, NULL);
	if (r == 0) {
		w.transport_retries = 0;
		w.max_429_retries = 1;
		r = pb_slack_web_call(&w, "auth.test", NULL, NULL, NULL, code, sizeof(code), &e);
		pb_slack_web_deinit(&w);
	} else {
		pb_err_set(&e, r, "cannot set up HTTP");
	}
	if (r != 0)
		pb_problems_add(&out->problems, "chat.slack.bot_token_env: %s", pb_err_text(&e));
	explicit_bzero(tok, strlen(tok));
	free(tok);
}

static void check_docker(const pb_config *cfg, pb_online_report *out)
{
	pb_docker *d = NULL;
	pb_err e;

	pb_err_init(&e);
	if (pb_docker_new(cfg->docker.host, 10000, &d, &e) != 0 || pb_docker_ping(d, &e) != 0)
		pb_problems_add(&out->problems, "docker.host: %s", pb_err_text(&e));
	pb_docker_free(d);
}

/* Connects (no migration, no write) and says which backend and schema version answered. */
static void check_storage(const pb_config *cfg, pb_online_report *out)
{
	char *password = NULL;
	int version = 0, r;
	pb_err e;

	pb_err_init(&e);
	if (cfg->storage_password_env || cfg->storage_password_file) {
		password = pb_secret_read(cfg->storage_password_env, cfg->storage_password_file, &e);
		if (!password) {
			pb_problems_add(&out->problems, "storage: the PostgreSQL password: %s", pb_err_text(&e));
			snprintf(out->storage, sizeof(out->storage), "postgres: not connected (no password)");
			return;
		}
	}
	r = pb_store_probe(cfg->storage_url, password, &version, &e);
	if (r == PB_E_NOTFOUND) {
		snprintf(out->storage, sizeof(out->storage), "sqlite: %s", pb_err_text(&e));
	} else if (r) {
		pb_problems_add(&out->problems, "storage: %s", pb_err_text(&e));
		snprintf(out->storage, sizeof(out->storage), "%s: not connected", cfg->storage_path ? "sqlite" : "postgres");
	} else {
		snprintf(out->storage, sizeof(out->storage), "%s: connected, schema v%d (this promobot: v%d)",
			 cfg->storage_path ? "sqlite" : "postgres", version, PB_STORE_SCHEMA_VERSION);
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
}

int pb_check_online(const pb_config *cfg, pb_online_report *out)
{
	memset(out, 0, sizeof(*out));
	check_storage(cfg, out);
	if (cfg->github.enabled)
		check_github(cfg, out);
	else
		for (size_t i = 0; i < cfg->ncomponents; i++)
			if (cfg->components[i].github_repo)
				pb_problems_add(&out->notes, "components[%zu].github_repo: not checked: no github section",
						i);
	if (!strcmp(cfg->platform, "slack"))
		check_slack(cfg, out);
	if (cfg->docker_enabled)
		check_docker(cfg, out);
	return 0;
}

void pb_online_report_deinit(pb_online_report *r)
{
	if (!r)
		return;
	pb_problems_deinit(&r->problems);
	pb_problems_deinit(&r->warnings);
	pb_problems_deinit(&r->notes);
}
