/* config_components.c — parses the "components" list: identity, checks, revision, environments. */
#include "config_internal.h"

#include <arpa/inet.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids are what people type in chat and what labels/containers are named after. */
static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Docker's own rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (we allow one char). */
static bool container_name_valid(const char *s)
{
	if (!s[0])
		return false;
	for (size_t i = 0; s[i]; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static bool ip_literal_valid(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

static bool is_http_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static void check_regex(cfg_ctx *c, const char *path, const char *re)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED);

	if (rc != 0) {
		char msg[128];

		regerror(rc, &rx, msg, sizeof(msg));
		pb_problems_add(c->probs, "%s.coverage_regex: invalid regular expression: %s", path,
				msg);
		return;
	}
	if (rx.re_nsub < 1)
		pb_problems_add(c->probs,
				"%s.coverage_regex: needs a capture group (group 1 is the percentage)",
				path);
	regfree(&rx);
}

static void parse_check(cfg_ctx *c, const cJSON *o, const char *path, pb_check_cfg *chk)
{
	static const char *const keys[] = { "name", "criterion", "argv", "timeout_s", "max_output",
					    "coverage_regex", NULL };
	char *crit = NULL;
	bool argv_ok;

	if (!cJSON_IsObject(o)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, o, path, keys);
	if (cfg_get_str(c, o, path, "criterion", true, NULL, &crit) &&
	    pb_criterion_parse(crit, &chk->criterion) != 0)
		pb_problems_add(c->probs,
				"%s.criterion: unknown criterion \"%s\" (tests, coverage, lint, types, security)",
				path, crit);
	cfg_get_str(c, o, path, "name", false, crit ? crit : "check", &chk->name);
	argv_ok = cfg_get_strv(c, o, path, "argv", true, &chk->argv, &chk->argc);
	if (argv_ok && chk->argc == 0)
		pb_problems_add(c->probs, "%s.argv: must be a non-empty array of strings", path);
	cfg_get_int(c, o, path, "timeout_s", false, 300, 1, 86400, &chk->timeout_s);
	cfg_get_size(c, o, path, "max_output", 64 * 1024, 1, 64 * 1024 * 1024, &chk->max_output);
	if (cfg_get_str(c, o, path, "coverage_regex", false, NULL, &chk->coverage_regex))
		check_regex(c, path, chk->coverage_regex);
	else if (crit && chk->criterion == PB_CRIT_COVERAGE && !chk->coverage_regex)
		pb_problems_add(c->probs,
				"%s.coverage_regex: missing (a coverage check must extract the percentage)",
				path);
	free(crit);
}

static void parse_checks(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	const cJSON *arr = cfg_get_arr(c, o, path, "checks", false);
	const cJSON *it;
	char p[CFG_PATH_MAX];
	size_t n;

	if (!arr || (n = (size_t)cJSON_GetArraySize(arr)) == 0)
		return;
	comp->checks = calloc(n, sizeof(*comp->checks));
	if (!comp->checks) {
		c->oom = 1;
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		snprintf(p, sizeof(p), "%s.checks[%zu]", path, comp->nchecks);
		parse_check(c, it, p, &comp->checks[comp->nchecks++]);
	}
}

static void parse_revision(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	static const char *const keys[] = { "value", "command", NULL };
	const cJSON *rev = cfg_get_obj(c, o, path, "revision", false);
	char p[CFG_PATH_MAX];
	size_t n = 0;

	if (!rev)
		return;
	cfg_path_key(p, sizeof(p), path, "revision");
	cfg_check_keys(c, rev, p, keys);
	cfg_get_str(c, rev, p, "value", false, NULL, &comp->revision_value);
	if (cfg_get_strv(c, rev, p, "command", false, &comp->revision_argv, &n) && n == 0)
		pb_problems_add(c->probs, "%s.command: must be a non-empty array of strings", p);
	if (!comp->revision_value == !comp->revision_argv)
		pb_problems_add(c->probs, "%s: needs exactly one of value, command", p);
}

static void parse_port(cfg_ctx *c, const cJSON *o, const char *path, pb_port_cfg *port)
{
	static const char *const keys[] = { "container", "host", "host_ip", "proto", NULL };

	if (!cJSON_IsObject(o)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, o, path, keys);
	cfg_get_int(c, o, path, "container", true, 0, 1, 65535, &port->container_port);
	cfg_get_int(c, o, path, "host", false, port->container_port, 1, 65535, &port->host_port);
	/* An empty HostIp makes Docker publish on every interface: require an address. */
	if (cfg_get_str(c, o, path, "host_ip", false, "127.0.0.1", &port->host_ip) &&
	    !ip_literal_valid(port->host_ip))
		pb_problems_add(c->probs, "%s.host_ip: not an IP address \"%s\"", path, port->host_ip);
	cfg_get_str(c, o, path, "proto", false, "tcp", &port->proto);
	if (port->proto && strcmp(port->proto, "tcp") != 0 && strcmp(port->proto, "udp") != 0 &&
	    strcmp(port->proto, "sctp") != 0)
		pb_problems_add(c->probs, "%s.proto: unknown protocol \"%s\" (tcp, udp, sctp)", path,
				port->proto);
}

static void parse_envvar(cfg_ctx *c, const cJSON *o, const char *path, pb_envvar_cfg *ev)
{
	static const char *const keys[] = { "name", "value", "value_env", "value_file", NULL };
	int sources;

	if (!cJSON_IsObject(o)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, o, path, keys);
	cfg_get_str(c, o, path, "name", true, NULL, &ev->name);
	cfg_get_str(c, o, path, "value", false, NULL, &ev->value);
	cfg_get_str(c, o, path, "value_env", false, NULL, &ev->value_env);
	cfg_get_str(c, o, path, "value_file", false, NULL, &ev->value_file);
	cfg_resolve_field(c, &ev->value_file);
	sources = !!ev->value + !!ev->value_env + !!ev->value_file;
	if (sources != 1)
		pb_problems_add(c->probs, "%s: needs exactly one of value, value_env, value_file",
				path);
	ev->secret = ev->value_env || ev->value_file;
}

/* Arrays of objects share one shape: allocate, then parse each element. */
typedef void (*elem_parser)(cfg_ctx *, const cJSON *, const char *, void *);

static void *parse_objects(cfg_ctx *c, const cJSON *o, const char *path, const char *key,
			   size_t elem_size, elem_parser parse, size_t *count)
{
	const cJSON *arr = cfg_get_arr(c, o, path, key, false);
	const cJSON *it;
	char p[CFG_PATH_MAX];
	size_t n;
	char *items;

	*count = 0;
	if (!arr || (n = (size_t)cJSON_GetArraySize(arr)) == 0)
		return NULL;
	items = calloc(n, elem_size);
	if (!items) {
		c->oom = 1;
		return NULL;
	}
	cJSON_ArrayForEach(it, arr) {
		snprintf(p, sizeof(p), "%s.%s[%zu]", path, key, *count);
		parse(c, it, p, items + *count * elem_size);
		(*count)++;
	}
	return items;
}

static void port_parser(cfg_ctx *c, const cJSON *o, const char *p, void *out)
{
	parse_port(c, o, p, out);
}

static void envvar_parser(cfg_ctx *c, const cJSON *o, const char *p, void *out)
{
	parse_envvar(c, o, p, out);
}

static void parse_container_health(cfg_ctx *c, const cJSON *o, const char *path,
				   pb_container_health_cfg *h)
{
	static const char *const keys[] = { "test", "interval_s", "timeout_s", "retries",
					    "start_period_s", NULL };
	const cJSON *hc = cfg_get_obj(c, o, path, "healthcheck", false);
	char p[CFG_PATH_MAX];

	cfg_path_key(p, sizeof(p), path, "healthcheck");
	cfg_check_keys(c, hc, p, keys);
	cfg_get_int(c, hc, p, "interval_s", false, 10, 1, 3600, &h->interval_s);
	cfg_get_int(c, hc, p, "timeout_s", false, 5, 1, 3600, &h->timeout_s);
	cfg_get_int(c, hc, p, "retries", false, 3, 0, 1000, &h->retries);
	cfg_get_int(c, hc, p, "start_period_s", false, 0, 0, 3600, &h->start_period_s);
	if (!hc)
		return;
	if (!cfg_get_strv(c, hc, p, "test", true, &h->test, &h->ntest))
		return;
	if (h->ntest == 0)
		pb_problems_add(c->probs, "%s.test: must be a non-empty array of strings", p);
	else if (strcmp(h->test[0], "CMD") != 0 && strcmp(h->test[0], "CMD-SHELL") != 0 &&
		 strcmp(h->test[0], "NONE") != 0)
		pb_problems_add(c->probs, "%s.test[0]: must be CMD, CMD-SHELL or NONE", p);
}

static void parse_health_neo4j(cfg_ctx *c, const cJSON *v, const char *p, pb_health_cfg *h)
{
	static const char *const keys[] = { "kind", "url", "user", "password_env", "password_file",
					    "database", "queries", "timeout_ms", NULL };

	cfg_check_keys(c, v, p, keys);
	cfg_get_str(c, v, p, "url", true, NULL, &h->url);
	cfg_get_str(c, v, p, "user", false, "neo4j", &h->user);
	cfg_get_str(c, v, p, "password_env", false, NULL, &h->password_env);
	cfg_get_str(c, v, p, "password_file", false, NULL, &h->password_file);
	cfg_resolve_field(c, &h->password_file);
	if (h->password_env && h->password_file)
		pb_problems_add(c->probs, "%s: use only one of password_env, password_file", p);
	cfg_get_str(c, v, p, "database", false, "neo4j", &h->database);
	cfg_get_int(c, v, p, "queries", false, 20, 1, 10000, &h->queries);
}

static void parse_health_http(cfg_ctx *c, const cJSON *v, const char *p, pb_health_cfg *h)
{
	static const char *const keys[] = { "kind", "url", "expect_status", "timeout_ms", NULL };

	cfg_check_keys(c, v, p, keys);
	cfg_get_str(c, v, p, "url", true, NULL, &h->url);
	cfg_get_int(c, v, p, "expect_status", false, 200, 100, 599, &h->expect_status);
}

static void parse_health_tcp(cfg_ctx *c, const cJSON *v, const char *p, pb_health_cfg *h)
{
	static const char *const keys[] = { "kind", "host", "port", "timeout_ms", NULL };

	cfg_check_keys(c, v, p, keys);
	cfg_get_str(c, v, p, "host", false, "127.0.0.1", &h->host);
	cfg_get_int(c, v, p, "port", true, 0, 1, 65535, &h->port);
}

static void parse_validation(cfg_ctx *c, const cJSON *o, const char *path, pb_health_cfg *h)
{
	static const char *const none_keys[] = { "kind", NULL };
	const cJSON *v = cfg_get_obj(c, o, path, "validation", false);
	char p[CFG_PATH_MAX];
	char *kind = NULL;

	/* Defaults every consumer may read whatever the kind. */
	h->kind = PB_HEALTH_NONE;
	h->expect_status = 200;
	h->queries = 20;
	h->timeout_ms = 5000;
	if (!v)
		return;
	cfg_path_key(p, sizeof(p), path, "validation");
	if (!cfg_get_str(c, v, p, "kind", true, NULL, &kind))
		return;
	if (strcmp(kind, "neo4j") == 0) {
		h->kind = PB_HEALTH_NEO4J;
		parse_health_neo4j(c, v, p, h);
	} else if (strcmp(kind, "http") == 0) {
		h->kind = PB_HEALTH_HTTP;
		parse_health_http(c, v, p, h);
	} else if (strcmp(kind, "tcp") == 0) {
		h->kind = PB_HEALTH_TCP;
		parse_health_tcp(c, v, p, h);
	} else if (strcmp(kind, "none") == 0) {
		cfg_check_keys(c, v, p, none_keys);
	} else {
		pb_problems_add(c->probs, "%s.kind: unknown kind \"%s\" (neo4j, http, tcp, none)", p,
				kind);
	}
	if (h->kind != PB_HEALTH_NONE)
		cfg_get_int(c, v, p, "timeout_ms", false, 5000, 1, 600000, &h->timeout_ms);
	if (h->url && !is_http_url(h->url))
		pb_problems_add(c->probs, "%s.url: must start with http:// or https://", p);
	free(kind);
}

static void parse_pull(cfg_ctx *c, const cJSON *o, const char *path, pb_deploy_cfg *d)
{
	char *pull = NULL;

	d->pull = PB_PULL_MISSING;
	if (!cfg_get_str(c, o, path, "pull", false, NULL, &pull))
		return;
	if (strcmp(pull, "missing") == 0)
		d->pull = PB_PULL_MISSING;
	else if (strcmp(pull, "always") == 0)
		d->pull = PB_PULL_ALWAYS;
	else if (strcmp(pull, "never") == 0)
		d->pull = PB_PULL_NEVER;
	else
		pb_problems_add(c->probs, "%s.pull: unknown pull policy \"%s\" (always, missing, never)",
				path, pull);
	free(pull);
}

static void parse_names(cfg_ctx *c, const cJSON *o, const char *path, const pb_component *comp,
			pb_deploy_cfg *d)
{
	char def[128];

	cfg_get_str(c, o, path, "image", true, NULL, &d->image);
	snprintf(def, sizeof(def), "%s-%s", comp->id ? comp->id : "component",
		 pb_stage_name(d->stage));
	if (cfg_get_str(c, o, path, "container_name", false, def, &d->container_name) &&
	    !container_name_valid(d->container_name))
		pb_problems_add(c->probs,
				"%s.container_name: invalid name \"%s\" (must match [a-zA-Z0-9][a-zA-Z0-9_.-]*)",
				path, d->container_name);
	cfg_get_str(c, o, path, "network_mode", false, "bridge", &d->network_mode);
	cfg_get_str(c, o, path, "restart_policy", false, "unless-stopped", &d->restart_policy);
	if (d->restart_policy && strcmp(d->restart_policy, "no") != 0 &&
	    strcmp(d->restart_policy, "always") != 0 &&
	    strcmp(d->restart_policy, "unless-stopped") != 0 &&
	    strcmp(d->restart_policy, "on-failure") != 0)
		pb_problems_add(c->probs,
				"%s.restart_policy: unknown policy \"%s\" (no, always, unless-stopped, on-failure)",
				path, d->restart_policy);
}

/* "deployment": "docker" (default) or "external". */
static void parse_deployment(cfg_ctx *c, const cJSON *o, const char *path, pb_deploy_cfg *d)
{
	char *kind = NULL;

	d->external = false;
	if (!cfg_get_str(c, o, path, "deployment", false, NULL, &kind))
		return;
	if (strcmp(kind, "external") == 0)
		d->external = true;
	else if (strcmp(kind, "docker") != 0)
		pb_problems_add(c->probs, "%s.deployment: unknown deployment \"%s\" (docker, external)", path, kind);
	free(kind);
}

/*
 * An external deployment is done by other tooling: promobot validates the
 * running target and watches it. Container settings would silently do
 * nothing, so they are errors; without a validation there is nothing to
 * check or to observe.
 */
static void parse_external(cfg_ctx *c, const cJSON *o, const char *path, pb_deploy_cfg *d)
{
	static const char *const docker_only[] = { "image", "container_name", "pull", "ports", "env",
						   "volumes", "cmd", "network_mode", "restart_policy",
						   "healthcheck", NULL };

	for (size_t i = 0; docker_only[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, docker_only[i]);

		if (v && !cJSON_IsNull(v))
			pb_problems_add(c->probs, "%s.%s: not used by an external deployment (promobot does not "
					"touch its container)", path, docker_only[i]);
	}
	parse_validation(c, o, path, &d->health);
	if (d->health.kind == PB_HEALTH_NONE)
		pb_problems_add(c->probs, "%s.validation: required for an external deployment (kind neo4j, http "
				"or tcp: it is what deploy checks and the observation probes)", path);
}

static void parse_deploy(cfg_ctx *c, const cJSON *o, const char *path, const pb_component *comp,
			 pb_deploy_cfg *d)
{
	static const char *const keys[] = { "deployment", "image", "container_name", "pull", "ports", "env",
					    "volumes", "cmd", "network_mode", "restart_policy",
					    "healthcheck", "validation", "healthy_timeout_s",
					    "monitoring", NULL };

	d->present = true;
	if (!cJSON_IsObject(o)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, o, path, keys);
	parse_deployment(c, o, path, d);
	if (d->external) {
		parse_external(c, o, path, d);
	} else {
		parse_names(c, o, path, comp, d);
		parse_pull(c, o, path, d);
		d->ports = parse_objects(c, o, path, "ports", sizeof(*d->ports), port_parser, &d->nports);
		d->env = parse_objects(c, o, path, "env", sizeof(*d->env), envvar_parser, &d->nenv);
		cfg_get_strv(c, o, path, "volumes", false, &d->volumes, &d->nvolumes);
		cfg_get_strv(c, o, path, "cmd", false, &d->cmd, &d->ncmd);
		parse_container_health(c, o, path, &d->container_health);
		parse_validation(c, o, path, &d->health);
	}
	/* external: the target already runs, so validation waits briefly for a first answer */
	cfg_get_int(c, o, path, "healthy_timeout_s", false, d->external ? 10 : 120, 1, 3600, &d->healthy_timeout_s);
	cfg_parse_monitoring(c, o, path, c->monitoring, &d->monitoring);
}

static void parse_environments(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	const cJSON *envs = cfg_get_obj(c, o, path, "environments", false);
	const cJSON *it;
	char p[CFG_PATH_MAX];

	for (int s = 0; s < PB_STAGE_COUNT; s++)
		comp->deploy[s].stage = (pb_stage)s;
	cJSON_ArrayForEach(it, envs) {
		const char *key = it->string ? it->string : "";
		pb_stage st;

		snprintf(p, sizeof(p), "%s.environments.%s", path, key);
		/* Development is where components start: nothing deploys to it. */
		if (pb_stage_parse(key, &st) != 0 || st == PB_STAGE_DEVELOPMENT ||
		    strcmp(key, pb_stage_name(st)) != 0) {
			pb_problems_add(c->probs, "%s: unknown environment (staging, production)", p);
			continue;
		}
		if (comp->deploy[st].present) {
			pb_problems_add(c->probs, "%s: duplicate key", p);
			continue;
		}
		parse_deploy(c, it, p, comp, &comp->deploy[st]);
	}
}

static void parse_identity(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	char *stage = NULL;

	if (cfg_get_str(c, o, path, "id", true, NULL, &comp->id) && !id_valid(comp->id))
		pb_problems_add(c->probs,
				"%s.id: invalid id \"%s\" (must match [a-z0-9][a-z0-9_-]{0,63})", path,
				comp->id);
	cfg_get_str(c, o, path, "name", false, comp->id, &comp->name);
	cfg_get_str(c, o, path, "group", false, "Other", &comp->group);
	cfg_get_strv(c, o, path, "dependencies", false, &comp->deps, &comp->ndeps);
	comp->initial_stage = PB_STAGE_DEVELOPMENT;
	if (cfg_get_str(c, o, path, "stage", false, NULL, &stage) &&
	    (pb_stage_parse(stage, &comp->initial_stage) != 0 ||
	     strcmp(stage, pb_stage_name(comp->initial_stage)) != 0))
		pb_problems_add(c->probs,
				"%s.stage: unknown stage \"%s\" (development, staging, production)",
				path, stage);
	free(stage);
	if (cfg_get_str(c, o, path, "github_repo", false, NULL, &comp->github_repo) &&
	    !cfg_github_repo_valid(comp->github_repo))
		pb_problems_add(c->probs,
				"%s.github_repo: must be \"owner/repo\" (owner [A-Za-z0-9-], repo [A-Za-z0-9._-])",
				path);
}

static void parse_component(cfg_ctx *c, const cJSON *o, const char *path, pb_component *comp)
{
	static const char *const keys[] = { "id", "name", "group", "dependencies", "stage",
					    "maturity_file", "workdir", "github_repo", "revision",
					    "checks", "environments", "validation", NULL };

	for (int s = 0; s < PB_STAGE_COUNT; s++)
		comp->deploy[s].stage = (pb_stage)s;
	if (!cJSON_IsObject(o)) {
		pb_problems_add(c->probs, "%s: expected object", path);
		return;
	}
	cfg_check_keys(c, o, path, keys);
	parse_identity(c, o, path, comp);
	if (cfg_get_str(c, o, path, "maturity_file", false, NULL, &comp->maturity_path))
		cfg_resolve_field(c, &comp->maturity_path);
	/* Checks run in the config's folder unless told otherwise. */
	cfg_get_str(c, o, path, "workdir", false, ".", &comp->workdir);
	cfg_resolve_field(c, &comp->workdir);
	parse_revision(c, o, path, comp);
	parse_checks(c, o, path, comp);
	parse_environments(c, o, path, comp);
	cfg_parse_component_validation(c, o, path, comp);
}

void cfg_parse_components(cfg_ctx *c, const cJSON *root, pb_config *cfg)
{
	const cJSON *arr = cfg_get_arr(c, root, "", "components", true);
	const cJSON *it;
	char p[CFG_PATH_MAX];
	size_t n;

	if (!arr)
		return;
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		pb_problems_add(c->probs, "components: must have at least one component");
		return;
	}
	cfg->components = calloc(n, sizeof(*cfg->components));
	if (!cfg->components) {
		c->oom = 1;
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		cfg_path_index(p, sizeof(p), "components", cfg->ncomponents);
		parse_component(c, it, p, &cfg->components[cfg->ncomponents++]);
	}
}
