/* config_github.c — the global `github` section: API base, PAT or GitHub App auth, limits. */
#include "config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pb_json.h"

#define GH_P "github"

bool cfg_github_repo_valid(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t olen, nlen;

	if (!slash)
		return false;
	olen = (size_t)(slash - s);
	nlen = strlen(slash + 1);
	if (olen < 1 || olen > 39 || nlen < 1 || nlen > 100 || s[0] == '-')
		return false;
	for (const char *p = s; p < slash; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
	for (const char *p = slash + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return strcmp(slash + 1, ".") != 0 && strcmp(slash + 1, "..") != 0;
}

/* A positive 64-bit id (App ids and installation ids outgrow nothing smaller). */
static void get_id(cfg_ctx *c, const cJSON *o, const char *path, const char *key, int64_t *out)
{
	int r = pb_json_int(o, key, 1, INT64_C(9007199254740991), out);

	if (r == PB_E_NOTFOUND)
		pb_problems_add(c->probs, "%s.%s: missing", path, key);
	else if (r != 0)
		pb_problems_add(c->probs, "%s.%s: expected a positive integer id", path, key);
}

static void parse_app(cfg_ctx *c, const cJSON *app, pb_github_cfg *g)
{
	static const char *const keys[] = { "app_id", "private_key_file", "installation_id", NULL };
	const char *p = GH_P ".app";

	g->app = true;
	cfg_check_keys(c, app, p, keys);
	get_id(c, app, p, "app_id", &g->app_id);
	get_id(c, app, p, "installation_id", &g->installation_id);
	if (cfg_get_str(c, app, p, "private_key_file", true, NULL, &g->private_key_file))
		cfg_resolve_field(c, &g->private_key_file);
}

/* Reading GitHub back (commands/ghpoll.c): conditional GETs, so a short period costs little. */
static void parse_poll(cfg_ctx *c, const cJSON *gh, pb_github_cfg *g)
{
	cfg_get_int(c, gh, GH_P, "poll_interval_s", false, 60, 5, 86400, &g->poll_interval_s);
}

void cfg_parse_github(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "api_url", "token_env", "token_file", "app", "timeout_ms",
					    "ca_file", "user_agent", "content_writes_per_min", "maturity",
					    "project", "poll_interval_s", NULL };
	const cJSON *gh = cfg_get_obj(c, root, "", "github", false);
	pb_github_cfg *g = &cfg->github;
	const cJSON *app;
	int sources;

	g->enabled = gh != NULL;
	cfg_check_keys(c, gh, GH_P, keys);
	cfg_get_str(c, gh, GH_P, "api_url", false, "https://api.github.com", &g->api_url);
	cfg_get_int(c, gh, GH_P, "timeout_ms", false, 30000, 1000, 600000, &g->timeout_ms);
	cfg_get_str(c, gh, GH_P, "user_agent", false, "promobot/" PROMOBOT_VERSION, &g->user_agent);
	cfg_get_int(c, gh, GH_P, "content_writes_per_min", false, 80, 1, 1000,
		    &g->content_writes_per_min);
	parse_poll(c, gh, g);
	if (cfg_get_str(c, gh, GH_P, "ca_file", false, NULL, &g->ca_file))
		cfg_resolve_field(c, &g->ca_file);
	if (g->api_url) {
		size_t n = strlen(g->api_url);

		if (strncmp(g->api_url, "http://", 7) != 0 && strncmp(g->api_url, "https://", 8) != 0)
			pb_problems_add(c->probs, GH_P ".api_url: must start with http:// or https://");
		/* Paths are appended as "/repos/…": one form, without the trailing slash. */
		while (n > 1 && g->api_url[n - 1] == '/')
			g->api_url[--n] = '\0';
	}
	if (g->user_agent && !g->user_agent[0])
		pb_problems_add(c->probs, GH_P ".user_agent: must not be empty (GitHub refuses requests without one)");
	cfg_parse_github_completion(c, gh, g);
	if (!gh)
		return;
	cfg_get_str(c, gh, GH_P, "token_env", false, NULL, &g->token_env);
	if (cfg_get_str(c, gh, GH_P, "token_file", false, NULL, &g->token_file))
		cfg_resolve_field(c, &g->token_file);
	if (g->token_env && !g->token_env[0])
		pb_problems_add(c->probs, GH_P ".token_env: must not be empty");
	app = cfg_get_obj(c, gh, GH_P, "app", false);
	if (app)
		parse_app(c, app, g);
	sources = !!g->token_env + !!g->token_file + !!app;
	if (sources != 1)
		pb_problems_add(c->probs,
				GH_P ": needs exactly one of token_env, token_file, app (found %d)",
				sources);
}

void cfg_github_free(pb_github_cfg *g)
{
	free(g->api_url);
	free(g->token_env);
	free(g->token_file);
	free(g->private_key_file);
	free(g->ca_file);
	free(g->user_agent);
	cfg_github_completion_free(g);
}
