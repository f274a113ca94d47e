/* pb_config.c — config loader entry points: file reading, top-level sections, lookups, names. */
#include "config_internal.h"

#include "pb_str.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The config is hand-written; anything bigger is a mistake (or not a config). */
#define CFG_FILE_MAX (1024 * 1024)

static const char *const stage_names[PB_STAGE_COUNT] = { "development", "staging", "production" };
static const char *const stage_titles[PB_STAGE_COUNT] = { "Development", "Staging", "Production" };
static const char *const crit_names[PB_CRIT_COUNT] = { "tests", "coverage", "lint", "types",
						       "security" };
static const char *const role_names[] = { "requester", "approver", "deployer", "admin" };

const char *pb_stage_name(pb_stage s)
{
	return (unsigned)s < PB_STAGE_COUNT ? stage_names[s] : "unknown";
}

const char *pb_stage_title(pb_stage s)
{
	return (unsigned)s < PB_STAGE_COUNT ? stage_titles[s] : "Unknown";
}

int pb_stage_parse(const char *s, pb_stage *out)
{
	for (int i = 0; s && i < PB_STAGE_COUNT; i++) {
		if (strcasecmp(s, stage_names[i]) == 0) {
			*out = (pb_stage)i;
			return 0;
		}
	}
	return PB_E_INVALID;
}

const char *pb_criterion_name(pb_criterion c)
{
	return (unsigned)c < PB_CRIT_COUNT ? crit_names[c] : "unknown";
}

int pb_criterion_parse(const char *s, pb_criterion *out)
{
	for (int i = 0; s && i < PB_CRIT_COUNT; i++) {
		if (strcasecmp(s, crit_names[i]) == 0) {
			*out = (pb_criterion)i;
			return 0;
		}
	}
	return PB_E_INVALID;
}

void pb_roles_fmt(unsigned roles, char *out, size_t size)
{
	size_t used = 0;

	if (!out || !size)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (!(roles & (1u << i)))
			continue;
		snprintf(out + used, size - used, "%s%s", used ? ", " : "", role_names[i]);
		used = strlen(out);
	}
	if (!used)
		snprintf(out, size, "none");
}

static int role_parse(const char *s, unsigned *bit)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*bit = 1u << i;
			return 0;
		}
	}
	return PB_E_INVALID;
}

void pb_problems_add(pb_problems *p, const char *fmt, ...)
{
	char **items;
	char *s = NULL;
	va_list ap;
	int n;

	if (!p)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return; /* out of memory: the problem is lost, the count still says invalid elsewhere */
	items = realloc(p->items, (p->count + 1) * sizeof(*items));
	if (!items) {
		free(s);
		return;
	}
	items[p->count++] = s;
	p->items = items;
}

void pb_problems_deinit(pb_problems *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->count; i++)
		free(p->items[i]);
	free(p->items);
	p->items = NULL;
	p->count = 0;
}

int pb_config_worker_cpus(const pb_config *cfg)
{
	cpu_set_t set;
	int n;

	if (cfg->worker_cpus >= 0)
		return cfg->worker_cpus;
	/* the affinity mask, not the machine: taskset and cgroup cpusets narrow it */
	n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 1 ? n - 1 : 1;
}

const pb_user *pb_config_user(const pb_config *cfg, const char *id)
{
	if (!cfg || !id)
		return NULL;
	for (size_t i = 0; i < cfg->nusers; i++)
		if (strcmp(cfg->users[i].id, id) == 0)
			return &cfg->users[i];
	return NULL;
}

static int by_id_cmp(const void *a, const void *b)
{
	return strcasecmp((*(const pb_component *const *)a)->id, (*(const pb_component *const *)b)->id);
}

static int id_key_cmp(const void *key, const void *elem)
{
	return strcasecmp(key, (*(const pb_component *const *)elem)->id);
}

/* Sorts pointers to the components by id (unique, validated) for pb_config_component. */
static int index_components(pb_config *cfg)
{
	if (!cfg->ncomponents)
		return 0;
	cfg->by_id = malloc(cfg->ncomponents * sizeof(*cfg->by_id));
	if (!cfg->by_id)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->ncomponents; i++)
		cfg->by_id[i] = &cfg->components[i];
	qsort(cfg->by_id, cfg->ncomponents, sizeof(*cfg->by_id), by_id_cmp);
	return 0;
}

const pb_component *pb_config_component(const pb_config *cfg, const char *id)
{
	const pb_component *const *hit;

	if (!cfg || !id)
		return NULL;
	/* Ids are lower-case by validation; people type "Neo4j" too. */
	if (cfg->by_id) {
		hit = bsearch(id, cfg->by_id, cfg->ncomponents, sizeof(*cfg->by_id), id_key_cmp);
		return hit ? *hit : NULL;
	}
	for (size_t i = 0; i < cfg->ncomponents; i++)  /* during validation, before the index exists */
		if (strcasecmp(cfg->components[i].id, id) == 0)
			return &cfg->components[i];
	return NULL;
}

const pb_deploy_cfg *pb_config_deploy(const pb_component *c, pb_stage stage)
{
	if (!c || (unsigned)stage >= PB_STAGE_COUNT || !c->deploy[stage].present)
		return NULL;
	return &c->deploy[stage];
}

static void deploy_free(pb_deploy_cfg *d)
{
	free(d->image);
	free(d->container_name);
	free(d->environment_url);
	for (size_t i = 0; i < d->nports; i++) {
		free(d->ports[i].host_ip);
		free(d->ports[i].proto);
	}
	free(d->ports);
	for (size_t i = 0; i < d->nenv; i++) {
		free(d->env[i].name);
		free(d->env[i].value);
		free(d->env[i].value_env);
		free(d->env[i].value_file);
	}
	free(d->env);
	cfg_strv_free(d->volumes, d->nvolumes);
	cfg_strv_free(d->cmd, d->ncmd);
	free(d->network_mode);
	free(d->restart_policy);
	cfg_strv_free(d->container_health.test, d->container_health.ntest);
	free(d->health.url);
	free(d->health.host);
	free(d->health.user);
	free(d->health.password_env);
	free(d->health.password_file);
	free(d->health.database);
	cfg_monitoring_free(&d->monitoring);
}

static void component_free(pb_component *c)
{
	free(c->id);
	free(c->name);
	free(c->group);
	cfg_strv_free(c->deps, c->ndeps);
	free(c->maturity_path);
	free(c->workdir);
	if (c->revision_argv) {
		for (size_t i = 0; c->revision_argv[i]; i++)
			free(c->revision_argv[i]);
		free(c->revision_argv);
	}
	free(c->revision_value);
	for (size_t i = 0; i < c->nchecks; i++) {
		free(c->checks[i].name);
		cfg_strv_free(c->checks[i].argv, c->checks[i].argc);
		free(c->checks[i].coverage_regex);
	}
	free(c->checks);
	for (int s = 0; s < PB_STAGE_COUNT; s++)
		deploy_free(&c->deploy[s]);
	free(c->github_repo);
	cfg_validation_free(&c->validation);
	free(c->github_maturity_path);
}

void pb_config_free(pb_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->storage_path);
	free(cfg->storage_url);
	free(cfg->storage_password_env);
	free(cfg->storage_password_file);
	free(cfg->platform);
	free(cfg->slack.api_url);
	free(cfg->slack.app_token_env);
	free(cfg->slack.bot_token_env);
	free(cfg->slack.channel);
	free(cfg->slack.ca_file);
	cfg_github_free(&cfg->github);
	free(cfg->docker.host);
	free(cfg->http.listen_host);
	cfg_monitoring_free(&cfg->monitoring);
	for (size_t i = 0; i < cfg->nusers; i++) {
		free(cfg->users[i].id);
		free(cfg->users[i].name);
	}
	free(cfg->users);
	for (size_t i = 0; i < cfg->ncomponents; i++)
		component_free(&cfg->components[i]);
	free(cfg->components);
	free(cfg->by_id);
	free(cfg);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* true when a libpq URI carries a password (user:password@… or password=…). */
static bool uri_has_password(const char *uri)
{
	const char *auth = strstr(uri, "://");
	const char *end, *at, *colon;

	if (strstr(uri, "password="))
		return true;
	if (!auth)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	return colon != NULL;
}

/*
 * storage.path (SQLite) or storage.url: "sqlite:///abs/file.db" or a libpq
 * URI "postgres://…" / "postgresql://…". cfg->storage_url is what the store
 * opens; cfg->storage_path the SQLite file (NULL on PostgreSQL).
 */
static void parse_storage(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "path", "url", "password_env", "password_file", NULL };
	const cJSON *st = cfg_get_obj(c, root, "", "storage", true);
	char *url = NULL;

	if (!st)
		return;
	cfg_check_keys(c, st, "storage", keys);
	if (!cJSON_GetObjectItemCaseSensitive(st, "url")) {
		/* the SQLite file; "storage.path: missing" when neither is given */
		if (cfg_get_str(c, st, "storage", "path", true, NULL, &cfg->storage_path))
			cfg_resolve_field(c, &cfg->storage_path);
	} else if (cJSON_GetObjectItemCaseSensitive(st, "path")) {
		pb_problems_add(c->probs, "storage: use only one of path, url");
	} else if (cfg_get_str(c, st, "storage", "url", true, NULL, &url)) {
		if (has_prefix(url, "sqlite://")) {
			cfg->storage_path = cfg_strdup(c, url + strlen("sqlite://"));
			if (cfg->storage_path && !cfg->storage_path[0])
				pb_problems_add(c->probs, "storage.url: sqlite:// needs a file path (sqlite:///path/file.db)");
			cfg_resolve_field(c, &cfg->storage_path);
		} else if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
			if (uri_has_password(url))
				pb_problems_add(c->probs, "storage.url: must not contain a password (use "
					       "storage.password_env, storage.password_file or a libpq service/.pgpass file)");
			cfg->storage_url = url;
			url = NULL;
		} else {
			pb_problems_add(c->probs, "storage.url: expected sqlite:///path, postgres://… or postgresql://…");
		}
	}
	free(url);
	if (!cfg->storage_url && cfg->storage_path)
		cfg->storage_url = cfg_strdup(c, cfg->storage_path);
	cfg_get_str(c, st, "storage", "password_env", false, NULL, &cfg->storage_password_env);
	if (cfg_get_str(c, st, "storage", "password_file", false, NULL, &cfg->storage_password_file))
		cfg_resolve_field(c, &cfg->storage_password_file);
	if (cfg->storage_password_env && cfg->storage_password_file)
		pb_problems_add(c->probs, "storage: use only one of password_env, password_file");
	if ((cfg->storage_password_env || cfg->storage_password_file) && cfg->storage_path)
		pb_problems_add(c->probs, "storage: password_env/password_file apply to a PostgreSQL url only");
}

static void parse_slack(cfg_ctx *c, const cJSON *chat, pb_config *cfg, bool is_slack)
{
	static const char *const keys[] = { "api_url", "app_token_env", "bot_token_env", "channel",
					    "ca_file", "min_post_interval_ms", NULL };
	const char *p = "chat.slack";
	const cJSON *sl = cfg_get_obj(c, chat, "chat", "slack", is_slack);
	pb_slack_cfg *s = &cfg->slack;

	cfg_check_keys(c, sl, p, keys);
	/* Defaults are filled even without a section so adapters never see NULL. */
	cfg_get_str(c, sl, p, "api_url", false, "https://slack.com/api/", &s->api_url);
	cfg_get_str(c, sl, p, "app_token_env", false, "SLACK_APP_TOKEN", &s->app_token_env);
	cfg_get_str(c, sl, p, "bot_token_env", false, "SLACK_BOT_TOKEN", &s->bot_token_env);
	if (sl) /* a missing section was already reported when slack is the platform */
		cfg_get_str(c, sl, p, "channel", is_slack, NULL, &s->channel);
	if (cfg_get_str(c, sl, p, "ca_file", false, NULL, &s->ca_file))
		cfg_resolve_field(c, &s->ca_file);
	cfg_get_int(c, sl, p, "min_post_interval_ms", false, 1000, 0, 60000,
		    &s->min_post_interval_ms);
	if (s->api_url && !has_prefix(s->api_url, "http://") && !has_prefix(s->api_url, "https://"))
		pb_problems_add(c->probs, "%s.api_url: must start with http:// or https://", p);
	if (s->app_token_env && !s->app_token_env[0])
		pb_problems_add(c->probs, "%s.app_token_env: must not be empty", p);
	if (s->bot_token_env && !s->bot_token_env[0])
		pb_problems_add(c->probs, "%s.bot_token_env: must not be empty", p);
}

static void parse_chat(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "platform", "slack", NULL };
	const cJSON *chat = cfg_get_obj(c, root, "", "chat", false);
	bool is_slack;

	cfg_check_keys(c, chat, "chat", keys);
	cfg_get_str(c, chat, "chat", "platform", false, "console", &cfg->platform);
	if (cfg->platform && strcmp(cfg->platform, "console") != 0 &&
	    strcmp(cfg->platform, "slack") != 0)
		pb_problems_add(c->probs, "chat.platform: unknown platform \"%s\" (console, slack)",
				cfg->platform);
	is_slack = cfg->platform && strcmp(cfg->platform, "slack") == 0;
	parse_slack(c, chat, cfg, is_slack);
}

static void parse_docker(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "host", "timeout_s", NULL };
	const cJSON *d = cfg_get_obj(c, root, "", "docker", false);

	cfg->docker_enabled = d != NULL;
	cfg_check_keys(c, d, "docker", keys);
	cfg_get_str(c, d, "docker", "host", false, "unix:///var/run/docker.sock", &cfg->docker.host);
	cfg_get_int(c, d, "docker", "timeout_s", false, 60, 1, 3600, &cfg->docker.timeout_s);
	if (cfg->docker.host && !has_prefix(cfg->docker.host, "unix://") &&
	    !has_prefix(cfg->docker.host, "tcp://"))
		pb_problems_add(c->probs, "docker.host: must start with unix:// or tcp://");
}

static void parse_user(cfg_ctx *c, const cJSON *u, const char *path, pb_user *out)
{
	static const char *const keys[] = { "name", "roles", NULL };
	char rp[CFG_PATH_MAX], ip[CFG_PATH_MAX];
	const cJSON *roles, *it;
	size_t i = 0;

	out->id = cfg_strdup(c, u->string);
	if (!cJSON_IsObject(u)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, u, path, keys);
	cfg_get_str(c, u, path, "name", false, u->string, &out->name);
	roles = cfg_get_arr(c, u, path, "roles", false);
	cfg_path_key(rp, sizeof(rp), path, "roles");
	cJSON_ArrayForEach(it, roles) {
		unsigned bit;

		cfg_path_index(ip, sizeof(ip), rp, i++);
		if (!cJSON_IsString(it))
			pb_problems_add(c->probs, "%s: expected string", ip);
		else if (role_parse(it->valuestring, &bit) != 0)
			pb_problems_add(c->probs,
					"%s: unknown role \"%s\" (requester, approver, deployer, admin)",
					ip, it->valuestring);
		else
			out->roles |= bit;
	}
}

static void parse_users(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	const cJSON *users = cfg_get_obj(c, root, "", "users", true);
	const cJSON *it;
	char p[CFG_PATH_MAX];
	size_t n;

	if (!users)
		return;
	n = (size_t)cJSON_GetArraySize(users);
	if (n == 0) {
		pb_problems_add(c->probs, "users: must not be empty");
		return;
	}
	cfg->users = calloc(n, sizeof(*cfg->users));
	if (!cfg->users) {
		c->oom = 1;
		return;
	}
	cJSON_ArrayForEach(it, users) {
		cfg_path_key(p, sizeof(p), "users", it->string ? it->string : "");
		if (!it->string || !it->string[0]) {
			pb_problems_add(c->probs, "%s: user id must not be empty", p);
			continue;
		}
		if (pb_config_user(cfg, it->string)) {
			pb_problems_add(c->probs, "%s: duplicate user", p);
			continue;
		}
		parse_user(c, it, p, &cfg->users[cfg->nusers]);
		/* Counted even when half-parsed so every string is freed. */
		if (cfg->users[cfg->nusers].id)
			cfg->nusers++;
	}
}

static void parse_required_checks(cfg_ctx *c, const cJSON *pol, pb_policy *p)
{
	const cJSON *arr = cfg_get_arr(c, pol, "policy", "required_checks", false);
	const cJSON *it;
	char ip[CFG_PATH_MAX];
	size_t i = 0;

	for (int k = 0; k < PB_CRIT_COUNT; k++)
		p->required[k] = arr == NULL; /* default: every criterion must pass */
	cJSON_ArrayForEach(it, arr) {
		pb_criterion crit;

		cfg_path_index(ip, sizeof(ip), "policy.required_checks", i++);
		if (!cJSON_IsString(it))
			pb_problems_add(c->probs, "%s: expected string", ip);
		else if (pb_criterion_parse(it->valuestring, &crit) != 0)
			pb_problems_add(c->probs,
					"%s: unknown criterion \"%s\" (tests, coverage, lint, types, security)",
					ip, it->valuestring);
		else
			p->required[crit] = true;
	}
}

static void parse_policy(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "required_approvals", "self_approval", "coverage",
					    "observation_days", "uptime_target", "required_checks",
					    NULL };
	static const char *const cov_keys[] = { "development", "staging", "production", NULL };
	const cJSON *pol = cfg_get_obj(c, root, "", "policy", false);
	const cJSON *cov;
	pb_policy *p = &cfg->policy;

	cfg_check_keys(c, pol, "policy", keys);
	cfg_get_int(c, pol, "policy", "required_approvals", false, 1, 1, 100,
		    &p->required_approvals);
	cfg_get_bool(c, pol, "policy", "self_approval", false, &p->self_approval);
	cfg_get_int(c, pol, "policy", "observation_days", false, 7, 0, 365, &p->observation_days);
	cfg_get_double(c, pol, "policy", "uptime_target", 99.5, 0, 100, &p->uptime_target);
	cov = cfg_get_obj(c, pol, "policy", "coverage", false);
	cfg_check_keys(c, cov, "policy.coverage", cov_keys);
	for (int s = 0; s < PB_STAGE_COUNT; s++) {
		static const int defaults[PB_STAGE_COUNT] = { 0, 70, 80 };

		cfg_get_int(c, cov, "policy.coverage", stage_names[s], false, defaults[s], 0, 100,
			    &p->coverage_min[s]);
	}
	parse_required_checks(c, pol, p);
}

/* Absolute form of base_dir (which may be "." or relative to the cwd). */
static char *absolute_dir(const char *base_dir)
{
	char cwd[4096];

	if (!base_dir || !base_dir[0])
		base_dir = ".";
	if (base_dir[0] == '/')
		return cfg_resolve_path(NULL, base_dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	return cfg_resolve_path(cwd, base_dir);
}

/* "line 12, column 5" of a byte offset, for JSON syntax errors. */
static void report_json_error(pb_problems *probs, const char *json, size_t len, size_t pos,
			      const char *what)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < pos && i < len; i++) {
		if (json[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	pb_problems_add(probs, "file: invalid JSON near line %zu, column %zu%s", line, col, what);
}

static cJSON *parse_json(const char *json, size_t len, pb_problems *probs)
{
	const char *end = NULL;
	cJSON *root;
	size_t pos;

	if (memchr(json, '\0', len)) {
		pb_problems_add(probs, "file: contains a NUL byte (not a JSON text file)");
		return NULL;
	}
	if (!pb_utf8_valid(json, len)) {
		pb_problems_add(probs, "file: not valid UTF-8");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		pos = end && end >= json ? (size_t)(end - json) : 0;
		report_json_error(probs, json, len, pos, "");
		return NULL;
	}
	pos = end && end >= json ? (size_t)(end - json) : len;
	while (pos < len && strchr(" \t\r\n", json[pos]))
		pos++;
	if (pos < len) {
		report_json_error(probs, json, len, pos, " (text after the top-level value)");
		cJSON_Delete(root);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		pb_problems_add(probs, "file: the top level must be a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* "HOST:PORT" (an IPv4/hostname; the listener is meant for loopback or an internal network). */
static void parse_listen(cfg_ctx *c, const char *listen, pb_config *cfg)
{
	const char *colon = strrchr(listen, ':');
	long port;

	if (!colon || colon == listen || pb_parse_long(colon + 1, 0, 65535, &port)) {
		pb_problems_add(c->probs, "http.listen: expected HOST:PORT, e.g. 127.0.0.1:9464");
		return;
	}
	cfg->http.listen_host = strndup(listen, (size_t)(colon - listen));
	if (!cfg->http.listen_host)
		c->oom = 1;
	cfg->http.listen_port = (int)port;
}

static void parse_http(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "listen", "health_write_s", NULL };
	const cJSON *h = cfg_get_obj(c, root, "", "http", false);
	char *listen = NULL;

	cfg_check_keys(c, h, "http", keys);
	cfg_get_str(c, h, "http", "listen", false, NULL, &listen);
	cfg_get_int(c, h, "http", "health_write_s", false, 5, 1, 300, &cfg->http.health_write_s);
	if (listen && listen[0])
		parse_listen(c, listen, cfg);
	free(listen);
}

static void parse_schedule(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "check_interval_s", "probe_interval_s", NULL };
	const cJSON *s = cfg_get_obj(c, root, "", "schedule", false);

	cfg_check_keys(c, s, "schedule", keys);
	cfg_get_int(c, s, "schedule", "check_interval_s", false, 1, 1, 60, &cfg->schedule.check_interval_s);
	cfg_get_int(c, s, "schedule", "probe_interval_s", false, 10, 1, 3600, &cfg->schedule.probe_interval_s);
}

static void parse_ha(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "lease_s", "leader_lease_s", NULL };
	const cJSON *h = cfg_get_obj(c, root, "", "ha", false);

	cfg_check_keys(c, h, "ha", keys);
	cfg_get_int(c, h, "ha", "lease_s", false, 30, 5, 3600, &cfg->ha.lease_s);
	cfg_get_int(c, h, "ha", "leader_lease_s", false, 15, 3, 600, &cfg->ha.leader_lease_s);
}

static void parse_root(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	static const char *const keys[] = { "storage", "chat", "github", "docker", "workers", "worker_nice", "worker_idle", "worker_cpus", "worker_pin", "http", "schedule", "ha",
					    "monitoring", "users", "policy", "components", NULL };

	cfg_check_keys(c, root, "", keys);
	parse_storage(c, root, cfg);
	parse_chat(c, root, cfg);
	cfg_parse_github(c, root, cfg);
	c->github = &cfg->github;
	parse_docker(c, root, cfg);
	cfg_get_int(c, root, "", "workers", false, 4, 1, 64, &cfg->workers);
	cfg_get_int(c, root, "", "worker_nice", false, 19, 0, 19, &cfg->worker_nice);
	cfg_get_bool(c, root, "", "worker_idle", false, &cfg->worker_idle);
	cfg_get_int(c, root, "", "worker_cpus", false, -1, 0, 64, &cfg->worker_cpus);
	cfg_get_bool(c, root, "", "worker_pin", true, &cfg->worker_pin);
	parse_http(c, root, cfg);
	parse_schedule(c, root, cfg);
	parse_ha(c, root, cfg);
	cfg_parse_monitoring(c, root, "", NULL, &cfg->monitoring);
	c->monitoring = &cfg->monitoring;
	parse_users(c, root, cfg);
	parse_policy(c, root, cfg);
	cfg_parse_components(c, root, cfg);
	if (!c->oom)
		cfg_validate_components(c, cfg);
}

/* Shared by parse and load: `path` (may be NULL) is recorded in the result. */
static int parse_with_path(const char *json, size_t len, const char *base_dir, const char *path,
			   pb_config **out, pb_problems *probs)
{
	pb_problems local = { 0 };
	pb_problems *pr = probs ? probs : &local;
	size_t before = pr->count;
	cfg_ctx c = { .probs = pr };
	pb_config *cfg = NULL;
	cJSON *root = NULL;
	int r;

	*out = NULL;
	if (!json)
		return -EINVAL;
	root = parse_json(json, len, pr);
	if (!root) {
		r = PB_E_INVALID;
		goto out;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		r = -ENOMEM;
		goto out;
	}
	cfg->base_dir = absolute_dir(base_dir);
	cfg->path = path ? cfg_resolve_path(cfg->base_dir, path) : NULL;
	if (!cfg->base_dir || (path && !cfg->path)) {
		r = -ENOMEM;
		goto out;
	}
	c.base_dir = cfg->base_dir;
	parse_root(&c, root, cfg);
	if (c.oom)
		r = -ENOMEM;
	else if (pr->count != before)
		r = PB_E_INVALID;
	else
		r = index_components(cfg);
out:
	cJSON_Delete(root);
	if (r == 0) {
		*out = cfg;
	} else {
		pb_config_free(cfg);
		if (r < 0 && pr->count == before)
			pb_problems_add(pr, "file: %s", strerror(-r));
	}
	pb_problems_deinit(&local);
	return r;
}

int pb_config_parse(const char *json, size_t len, const char *base_dir,
		    pb_config **out, pb_problems *probs)
{
	return parse_with_path(json, len, base_dir, NULL, out, probs);
}

/* Reads at most CFG_FILE_MAX bytes; PB_E_INVALID with a problem when unreadable or too big. */
static int read_capped(const char *path, char **data, size_t *len, pb_problems *probs)
{
	size_t cap = CFG_FILE_MAX + 1, got = 0;
	struct stat st;
	char *buf;
	int fd;

	*data = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pb_problems_add(probs, "file: cannot read %s: %s", path, strerror(errno));
		return PB_E_INVALID;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		pb_problems_add(probs, "file: cannot read %s: not a regular file", path);
		close(fd);
		return PB_E_INVALID;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pb_problems_add(probs, "file: cannot read %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return PB_E_INVALID;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > CFG_FILE_MAX) {
		pb_problems_add(probs, "file: %s is larger than 1 MiB", path);
		free(buf);
		return PB_E_INVALID;
	}
	*data = buf;
	*len = got;
	return 0;
}

int pb_config_load(const char *path, pb_config **out, pb_problems *probs)
{
	pb_problems local = { 0 };
	pb_problems *pr = probs ? probs : &local;
	char *data = NULL, *dir = NULL, *slash;
	size_t len = 0;
	int r;

	*out = NULL;
	if (!path || !path[0])
		return -EINVAL;
	r = read_capped(path, &data, &len, pr);
	if (r != 0)
		goto out;
	/* The folder of the file as named; absolute_dir() anchors it to the cwd. */
	dir = strdup(path);
	if (!dir) {
		r = -ENOMEM;
		goto out;
	}
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	r = parse_with_path(data, len, dir, path[0] == '/' ? path : NULL, out, pr);
	if (*out && !(*out)->path) {
		/* Relative name: record it against the cwd, like base_dir. */
		(*out)->path = absolute_dir(path);
		if (!(*out)->path) {
			pb_config_free(*out);
			*out = NULL;
			r = -ENOMEM;
		}
	}
out:
	free(data);
	free(dir);
	pb_problems_deinit(&local);
	return r;
}
