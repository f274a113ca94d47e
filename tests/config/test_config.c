/* test_config.c — Criterion suite 'config': loader defaults, example config, every validation path, secrets. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pb_config.h"
#include "pb_log.h"

/* A small valid config every error test starts from and breaks in one place. */
static const char *const BASE_JSON =
	"{"
	" \"storage\": { \"path\": \"db/promobot.db\" },"
	" \"users\": { \"alice\": { \"name\": \"Alice\", \"roles\": [\"requester\"] },"
	"              \"bob\": { \"roles\": [\"approver\"] } },"
	" \"components\": ["
	"  { \"id\": \"neo4j\", \"name\": \"Neo4j\","
	"    \"checks\": [ { \"criterion\": \"tests\", \"argv\": [\"true\"] },"
	"                  { \"criterion\": \"coverage\", \"argv\": [\"true\"],"
	"                    \"coverage_regex\": \"([0-9]+)%\" } ],"
	"    \"environments\": { \"staging\": {"
	"      \"image\": \"neo4j:5.13\","
	"      \"ports\": [ { \"container\": 7474, \"host\": 7476 } ],"
	"      \"env\": [ { \"name\": \"A\", \"value\": \"1\" } ],"
	"      \"validation\": { \"kind\": \"http\", \"url\": \"http://127.0.0.1:1/\" } } } },"
	"  { \"id\": \"api\", \"dependencies\": [\"neo4j\"] }"
	" ]"
	"}";

#define BASE_DIR "/srv/promobot/conf"

/* ---- helpers ------------------------------------------------------------ */

/* Follows "a.b[2].c" from root; NULL when any step is missing. */
static cJSON *at(cJSON *root, const char *path)
{
	char buf[256], *save = NULL, *tok;
	cJSON *cur = root;

	if (!path || !path[0])
		return root;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		char *br = strchr(tok, '[');

		if (br)
			*br = '\0';
		if (tok[0])
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		while (br && cur) {
			cur = cJSON_GetArrayItem(cur, atoi(br + 1));
			br = strchr(br + 1, '[');
		}
	}
	return cur;
}

static cJSON *base(void)
{
	cJSON *root = cJSON_Parse(BASE_JSON);

	cr_assert_not_null(root, "BASE_JSON must parse");
	return root;
}

/* Sets parent[key] = parsed `json` (replacing an existing member). */
static void set(cJSON *root, const char *parent, const char *key, const char *json)
{
	cJSON *p = at(root, parent), *v = cJSON_Parse(json);

	cr_assert_not_null(p, "no parent %s", parent);
	cr_assert_not_null(v, "bad test JSON %s", json);
	if (cJSON_GetObjectItemCaseSensitive(p, key))
		cJSON_ReplaceItemInObjectCaseSensitive(p, key, v);
	else
		cJSON_AddItemToObject(p, key, v);
}

static void del(cJSON *root, const char *parent, const char *key)
{
	cJSON *p = at(root, parent);

	cr_assert_not_null(p, "no parent %s", parent);
	cJSON_DeleteItemFromObjectCaseSensitive(p, key);
}

static int parse_root(cJSON *root, pb_config **cfg, pb_problems *probs)
{
	char *json = cJSON_PrintUnformatted(root);
	int r;

	cr_assert_not_null(json);
	r = pb_config_parse(json, strlen(json), BASE_DIR, cfg, probs);
	free(json);
	return r;
}

static bool has_problem(const pb_problems *p, const char *text, bool prefix)
{
	for (size_t i = 0; i < p->count; i++) {
		if (prefix ? strncmp(p->items[i], text, strlen(text)) == 0
			   : strcmp(p->items[i], text) == 0)
			return true;
	}
	return false;
}

static void dump(const pb_problems *p, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->count && used < size; i++) {
		snprintf(out + used, size - used, "\n  %s", p->items[i]);
		used = strlen(out);
	}
}

/* Parses root (consumed) and asserts the load failed with exactly `text` among the problems. */
static void expect_problem_ex(cJSON *root, const char *text, bool prefix)
{
	pb_problems probs = { 0 };
	pb_config *cfg = (pb_config *)1;
	char list[4096];
	int r = parse_root(root, &cfg, &probs);

	cJSON_Delete(root);
	dump(&probs, list, sizeof(list));
	cr_assert_eq(r, PB_E_INVALID, "expected PB_E_INVALID, got %d; problems:%s", r, list);
	cr_assert_null(cfg);
	cr_assert(has_problem(&probs, text, prefix), "missing problem \"%s\"; got:%s", text, list);
	pb_problems_deinit(&probs);
}

static void expect_problem(cJSON *root, const char *text)
{
	expect_problem_ex(root, text, false);
}

static pb_config *parse_ok(cJSON *root)
{
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	char list[4096];
	int r = parse_root(root, &cfg, &probs);

	cJSON_Delete(root);
	dump(&probs, list, sizeof(list));
	cr_assert_eq(r, 0, "expected success, got %d:%s", r, list);
	cr_assert_not_null(cfg);
	cr_assert_eq(probs.count, 0);
	pb_problems_deinit(&probs);
	return cfg;
}

static char *src_path(const char *rel)
{
	const char *src = getenv("PROMOBOT_SRC");
	char *p = NULL;

	cr_assert_not_null(src, "PROMOBOT_SRC must be set (meson test_env)");
	cr_assert_geq(asprintf(&p, "%s/%s", src, rel), 0);
	return p;
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/pb-config-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	cr_assert_not_null(d, "mkdtemp: %s", strerror(errno));
	return strdup(d);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	/* Only our own mkdtemp directories reach here. */
	cr_assert(strncmp(dir, "/tmp/pb-config-test-", 20) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* ---- the example config ------------------------------------------------- */

static bool covers_all_criteria(const pb_component *c)
{
	bool seen[PB_CRIT_COUNT] = { false };

	for (size_t i = 0; i < c->nchecks; i++)
		seen[c->checks[i].criterion] = true;
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		if (!seen[k])
			return false;
	return true;
}

Test(config, example_config_loads_with_expected_values)
{
	char *path = src_path("config/promobot.example.json");
	char *db = src_path("data/promobot.db");
	char *demo = src_path("config/demo");
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	char list[4096];
	int r = pb_config_load(path, &cfg, &probs);
	const pb_component *neo, *api;
	const pb_deploy_cfg *st;
	const pb_user *alice;

	dump(&probs, list, sizeof(list));
	cr_assert_eq(r, 0, "example config must load:%s", list);
	cr_assert_str_eq(cfg->path, path);
	cr_assert_str_eq(cfg->storage_path, db);
	cr_assert_str_eq(cfg->platform, "console");
	cr_assert_not(cfg->docker_enabled, "the example has no engine configured");
	cr_assert_eq(cfg->slack.min_post_interval_ms, 1000);
	cr_assert_null(cfg->slack.ca_file);
	cr_assert_eq(cfg->nusers, 3);
	alice = pb_config_user(cfg, "alice");
	cr_assert_not_null(alice);
	cr_assert_str_eq(alice->name, "Alice");
	cr_assert_eq(alice->roles, PB_ROLE_REQUESTER | PB_ROLE_APPROVER);
	cr_assert_eq(pb_config_user(cfg, "carol")->roles, PB_ROLE_DEPLOYER | PB_ROLE_ADMIN);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_STAGING], 70);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_PRODUCTION], 80);
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		cr_assert(cfg->policy.required[k]);

	neo = pb_config_component(cfg, "neo4j");
	cr_assert_not_null(neo);
	cr_assert_str_eq(neo->name, "Neo4j Graph Database");
	cr_assert_str_eq(neo->group, "Core Infrastructure");
	cr_assert_eq(neo->ndeps, 0);
	cr_assert_eq(neo->initial_stage, PB_STAGE_DEVELOPMENT);
	cr_assert_str_eq(neo->workdir, demo);
	cr_assert_str_eq(neo->revision_value, "neo4j-5.13.0");
	cr_assert(covers_all_criteria(neo));
	st = pb_config_deploy(neo, PB_STAGE_STAGING);
	cr_assert_not_null(st);
	cr_assert_null(pb_config_deploy(neo, PB_STAGE_PRODUCTION));
	cr_assert_str_eq(st->image, "neo4j:5.13");
	cr_assert_str_eq(st->container_name, "neo4j-staging");
	cr_assert_eq(st->ports[0].container_port, 7474);
	cr_assert_eq(st->ports[0].host_port, 7476);
	cr_assert_str_eq(st->env[0].name, "NEO4J_AUTH");
	cr_assert_str_eq(st->env[0].value_env, "NEO4J_STAGING_AUTH");
	cr_assert(st->env[0].secret);
	cr_assert_not(st->env[1].secret);
	cr_assert_eq(st->container_health.ntest, 5);
	cr_assert_str_eq(st->container_health.test[0], "CMD");
	cr_assert_eq(st->health.kind, PB_HEALTH_NEO4J);
	cr_assert_str_eq(st->health.password_env, "NEO4J_STAGING_PASSWORD");
	cr_assert_eq(st->health.queries, 20);

	api = pb_config_component(cfg, "graph-api");
	cr_assert_not_null(api);
	cr_assert_str_eq(api->name, "Graph Query API");
	cr_assert_str_eq(api->group, "Application Services");
	cr_assert_eq(api->ndeps, 1);
	cr_assert_str_eq(api->deps[0], "neo4j");
	cr_assert(covers_all_criteria(api));
	cr_assert_eq(pb_config_deploy(api, PB_STAGE_STAGING)->health.kind, PB_HEALTH_HTTP);
	cr_assert_not(st->external);
	/* the embedded default's monitoring demo: deployed by other tooling, probed every 5 s */
	st = pb_config_deploy(pb_config_component(cfg, "demo-web"), PB_STAGE_STAGING);
	cr_assert_not_null(st);
	cr_assert(st->external);
	cr_assert_null(st->image);
	cr_assert_eq(st->health.kind, PB_HEALTH_HTTP);
	cr_assert_str_eq(st->health.url, "http://127.0.0.1:8099/");
	cr_assert_eq(st->monitoring.interval_s, 5);
	cr_assert_eq(st->monitoring.fail_threshold, cfg->monitoring.fail_threshold, "the rest is inherited");
	for (size_t i = 0; i < cfg->ncomponents; i++) {
		const pb_component *c = &cfg->components[i];

		cr_assert_not_null(c->maturity_path);
		cr_assert_eq(access(c->maturity_path, R_OK), 0, "%s must exist", c->maturity_path);
	}
	pb_config_free(cfg);
	pb_problems_deinit(&probs);
	free(path);
	free(db);
	free(demo);
}

/* ---- defaults and paths ---------------------------------------------------- */

Test(config, worker_cpus_zero_lifts_the_cap)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "worker_cpus", "0");
	cfg = parse_ok(root);
	cr_assert_eq(pb_config_worker_cpus(cfg), 0, "0: the command pool runs without CPU lanes");
	pb_config_free(cfg);
}

Test(config, defaults_fill_every_optional_setting)
{
	pb_config *cfg = parse_ok(base());
	const pb_component *neo = &cfg->components[0];
	const pb_deploy_cfg *st = pb_config_deploy(neo, PB_STAGE_STAGING);

	cr_assert_str_eq(cfg->platform, "console");
	cr_assert_eq(cfg->workers, 4);
	cr_assert_eq(cfg->worker_nice, 19, "worker threads yield to the loop thread by default");
	cr_assert(!cfg->worker_idle, "SCHED_IDLE is asked for, never the default");
	cr_assert(cfg->worker_pin, "the lanes' threads leave the first CPUs to the loop by default");
	{
		cpu_set_t set;
		int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;

		cr_assert_eq(cfg->worker_cpus, -1, "not set: chosen at start from the CPUs the process may use");
		cr_assert_eq(pb_config_worker_cpus(cfg), n > 1 ? n - 1 : 1, "one CPU is left to the loop, at least one lane");
	}
	cr_assert_str_eq(cfg->slack.api_url, "https://slack.com/api/");
	cr_assert_str_eq(cfg->slack.app_token_env, "SLACK_APP_TOKEN");
	cr_assert_str_eq(cfg->slack.bot_token_env, "SLACK_BOT_TOKEN");
	cr_assert_eq(cfg->slack.min_post_interval_ms, 1000);
	cr_assert_null(cfg->slack.channel);
	cr_assert_not(cfg->docker_enabled);
	cr_assert_str_eq(cfg->docker.host, "unix:///var/run/docker.sock");
	cr_assert_eq(cfg->docker.timeout_s, 60);
	cr_assert_eq(cfg->policy.required_approvals, 1);
	cr_assert_not(cfg->policy.self_approval);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_STAGING], 70);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_PRODUCTION], 80);
	cr_assert_eq(cfg->policy.observation_days, 7);
	cr_assert_float_eq(cfg->policy.uptime_target, 99.5, 1e-9);
	cr_assert_eq(cfg->ha.lease_s, 30);
	cr_assert_eq(cfg->ha.leader_lease_s, 15);
	for (int k = 0; k < PB_CRIT_COUNT; k++)
		cr_assert(cfg->policy.required[k]);
	cr_assert_str_eq(pb_config_user(cfg, "bob")->name, "bob");
	cr_assert_eq(neo->initial_stage, PB_STAGE_DEVELOPMENT);
	cr_assert_str_eq(neo->workdir, BASE_DIR);
	cr_assert_str_eq(neo->group, "Other");
	cr_assert_str_eq(cfg->components[1].name, "api");
	cr_assert_null(neo->maturity_path);
	cr_assert_null(neo->revision_value);
	cr_assert_null(neo->revision_argv);
	cr_assert_str_eq(neo->checks[0].name, "tests");
	cr_assert_eq(neo->checks[0].timeout_s, 300);
	cr_assert_eq(neo->checks[0].max_output, 64 * 1024);
	cr_assert_eq(neo->checks[0].argc, 1);
	cr_assert_null(neo->checks[0].argv[1], "argv is NULL-terminated");
	cr_assert_null(neo->checks[0].coverage_regex);
	cr_assert_not_null(st);
	cr_assert_eq(st->stage, PB_STAGE_STAGING);
	cr_assert_str_eq(st->container_name, "neo4j-staging");
	cr_assert_eq(st->pull, PB_PULL_MISSING);
	cr_assert_str_eq(st->ports[0].host_ip, "127.0.0.1");
	cr_assert_str_eq(st->ports[0].proto, "tcp");
	cr_assert_str_eq(st->network_mode, "bridge");
	cr_assert_str_eq(st->restart_policy, "unless-stopped");
	cr_assert_eq(st->healthy_timeout_s, 120);
	cr_assert_null(st->container_health.test);
	cr_assert_eq(st->health.expect_status, 200);
	cr_assert_eq(st->health.timeout_ms, 5000);
	cr_assert_null(pb_config_deploy(&cfg->components[1], PB_STAGE_STAGING));
	pb_config_free(cfg);
}

Test(config, docker_section_enables_the_engine)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "docker", "{ \"host\": \"tcp://127.0.0.1:2375\", \"timeout_s\": 5 }");
	cfg = parse_ok(root);
	cr_assert(cfg->docker_enabled);
	cr_assert_str_eq(cfg->docker.host, "tcp://127.0.0.1:2375");
	cr_assert_eq(cfg->docker.timeout_s, 5);
	pb_config_free(cfg);

	root = base();
	set(root, "", "docker", "{}");
	cfg = parse_ok(root);
	cr_assert(cfg->docker_enabled);
	cr_assert_str_eq(cfg->docker.host, "unix:///var/run/docker.sock");
	pb_config_free(cfg);
}

Test(config, relative_paths_resolve_against_the_config_folder)
{
	cJSON *root = base();
	const pb_deploy_cfg *st;
	pb_config *cfg;

	set(root, "storage", "path", "\"../data/./promobot.db\"");
	set(root, "components[0]", "workdir", "\"demo\"");
	set(root, "components[0]", "maturity_file", "\"components/neo4j/MATURITY.md\"");
	set(root, "components[1]", "workdir", "\"/opt/api\"");
	set(root, "components[0].environments.staging", "env",
	    "[ { \"name\": \"P\", \"value_file\": \"secrets/p.txt\" } ]");
	set(root, "components[0].environments.staging", "validation",
	    "{ \"kind\": \"neo4j\", \"url\": \"http://127.0.0.1:7476\","
	    "  \"password_file\": \"../secrets/neo4j\" }");
	set(root, "", "chat", "{ \"slack\": { \"ca_file\": \"ca.pem\" } }");
	cfg = parse_ok(root);
	st = pb_config_deploy(&cfg->components[0], PB_STAGE_STAGING);
	cr_assert_str_eq(cfg->base_dir, BASE_DIR);
	cr_assert_str_eq(cfg->storage_path, "/srv/promobot/data/promobot.db");
	cr_assert_str_eq(cfg->components[0].workdir, BASE_DIR "/demo");
	cr_assert_str_eq(cfg->components[0].maturity_path, BASE_DIR "/components/neo4j/MATURITY.md");
	cr_assert_str_eq(cfg->components[1].workdir, "/opt/api");
	cr_assert_str_eq(st->env[0].value_file, BASE_DIR "/secrets/p.txt");
	cr_assert(st->env[0].secret);
	cr_assert_str_eq(st->health.password_file, "/srv/promobot/secrets/neo4j");
	cr_assert_str_eq(st->health.user, "neo4j");
	cr_assert_str_eq(st->health.database, "neo4j");
	cr_assert_str_eq(cfg->slack.ca_file, BASE_DIR "/ca.pem");
	pb_config_free(cfg);
}

Test(config, storage_url_picks_the_backend)
{
	cJSON *root = base();
	pb_config *cfg;

	cfg = parse_ok(root);
	cr_assert_str_eq(cfg->storage_url, cfg->storage_path); /* storage.path: SQLite */
	pb_config_free(cfg);

	root = base();
	del(root, "storage", "path");
	set(root, "storage", "url", "\"sqlite:///var/lib/promobot/p.db\"");
	cfg = parse_ok(root);
	cr_assert_str_eq(cfg->storage_path, "/var/lib/promobot/p.db");
	cr_assert_str_eq(cfg->storage_url, "/var/lib/promobot/p.db");
	pb_config_free(cfg);

	root = base();
	del(root, "storage", "path");
	set(root, "storage", "url", "\"postgresql://promobot@db.internal/promobot?sslmode=verify-full\"");
	set(root, "storage", "password_env", "\"PROMOBOT_DB_PASSWORD\"");
	cfg = parse_ok(root);
	cr_assert_null(cfg->storage_path);
	cr_assert_str_eq(cfg->storage_url, "postgresql://promobot@db.internal/promobot?sslmode=verify-full");
	cr_assert_str_eq(cfg->storage_password_env, "PROMOBOT_DB_PASSWORD");
	pb_config_free(cfg);
}

Test(config, storage_url_problems)
{
	cJSON *root = base();

	del(root, "storage", "path");
	set(root, "storage", "url", "\"postgres://promobot:hunter2@db/promobot\"");
	expect_problem_ex(root, "storage.url: must not contain a password", true);
	root = base();
	del(root, "storage", "path");
	set(root, "storage", "url", "\"postgres:///promobot?host=/run/pg&password=hunter2\"");
	expect_problem_ex(root, "storage.url: must not contain a password", true);
	root = base();
	del(root, "storage", "path");
	set(root, "storage", "url", "\"mysql://db/promobot\"");
	expect_problem_ex(root, "storage.url: expected sqlite:///path, postgres://", true);
	root = base();
	set(root, "storage", "url", "\"postgres://db/promobot\"");
	expect_problem(root, "storage: use only one of path, url");
	root = base();
	del(root, "storage", "path");
	set(root, "storage", "url", "\"postgres://db/promobot\"");
	set(root, "storage", "password_env", "\"A\"");
	set(root, "storage", "password_file", "\"/etc/promobot/db-password\"");
	expect_problem(root, "storage: use only one of password_env, password_file");
	root = base();
	set(root, "storage", "password_env", "\"A\"");
	expect_problem(root, "storage: password_env/password_file apply to a PostgreSQL url only");
}

Test(config, relative_base_dir_and_relative_file_name_become_absolute)
{
	char *dir = make_tmpdir(), *sub = NULL, *file = NULL, *json;
	char cwd[PATH_MAX], expect[PATH_MAX + 64];
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	cJSON *root = base();

	cr_assert_geq(asprintf(&sub, "%s/conf", dir), 0);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_geq(asprintf(&file, "%s/promobot.json", sub), 0);
	json = cJSON_Print(root);
	write_file(file, json, strlen(json));
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(dir), 0);

	cr_assert_eq(pb_config_load("conf/promobot.json", &cfg, &probs), 0);
	cr_assert_str_eq(cfg->base_dir, sub);
	cr_assert_str_eq(cfg->path, file);
	snprintf(expect, sizeof(expect), "%s/db/promobot.db", sub);
	cr_assert_str_eq(cfg->storage_path, expect);
	pb_config_free(cfg);

	cr_assert_eq(pb_config_parse(json, strlen(json), ".", &cfg, &probs), 0);
	cr_assert_str_eq(cfg->base_dir, dir);
	cr_assert_null(cfg->path);
	pb_config_free(cfg);

	cr_assert_eq(chdir(cwd), 0);
	rm_tree(dir);
	cJSON_free(json);
	cJSON_Delete(root);
	free(file);
	free(sub);
	free(dir);
}

Test(config, policy_and_optional_values_are_read)
{
	cJSON *root = base();
	pb_config *cfg;
	const pb_component *neo;

	set(root, "", "policy",
	    "{ \"required_approvals\": 2, \"self_approval\": true, \"observation_days\": 3,"
	    "  \"uptime_target\": 99.9, \"coverage\": { \"staging\": 60, \"production\": 90 },"
	    "  \"required_checks\": [\"tests\", \"lint\"] }");
	set(root, "", "workers", "8");
	set(root, "", "worker_nice", "0");
	set(root, "", "worker_idle", "true");
	set(root, "", "worker_cpus", "3");
	set(root, "", "worker_pin", "false");
	set(root, "components[0]", "revision", "{ \"command\": [\"git\", \"rev-parse\", \"HEAD\"] }");
	set(root, "components[0]", "stage", "\"staging\"");
	set(root, "components[0].environments.staging", "pull", "\"never\"");
	cfg = parse_ok(root);
	cr_assert_eq(cfg->policy.required_approvals, 2);
	cr_assert_eq(cfg->worker_nice, 0);
	cr_assert(cfg->worker_idle);
	cr_assert_eq(pb_config_worker_cpus(cfg), 3);
	cr_assert_not(cfg->worker_pin);
	cr_assert(cfg->policy.self_approval);
	cr_assert_eq(cfg->policy.observation_days, 3);
	cr_assert_float_eq(cfg->policy.uptime_target, 99.9, 1e-9);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_STAGING], 60);
	cr_assert_eq(cfg->policy.coverage_min[PB_STAGE_PRODUCTION], 90);
	cr_assert(cfg->policy.required[PB_CRIT_TESTS]);
	cr_assert(cfg->policy.required[PB_CRIT_LINT]);
	cr_assert_not(cfg->policy.required[PB_CRIT_COVERAGE]);
	cr_assert_not(cfg->policy.required[PB_CRIT_TYPES]);
	cr_assert_not(cfg->policy.required[PB_CRIT_SECURITY]);
	cr_assert_eq(cfg->workers, 8);
	neo = pb_config_component(cfg, "NEO4J");
	cr_assert_not_null(neo, "component lookup ignores case");
	cr_assert_eq(neo->initial_stage, PB_STAGE_STAGING);
	cr_assert_str_eq(neo->revision_argv[2], "HEAD");
	cr_assert_null(neo->revision_argv[3]);
	cr_assert_eq(pb_config_deploy(neo, PB_STAGE_STAGING)->pull, PB_PULL_NEVER);
	cr_assert_null(pb_config_component(cfg, "neo5j"));
	cr_assert_null(pb_config_user(cfg, "mallory"));
	pb_config_free(cfg);
}

Test(config, slack_platform_with_channel_loads)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "chat",
	    "{ \"platform\": \"slack\", \"slack\": { \"channel\": \"C1\","
	    "  \"api_url\": \"http://127.0.0.1:9/api/\", \"min_post_interval_ms\": 0 } }");
	cfg = parse_ok(root);
	cr_assert_str_eq(cfg->platform, "slack");
	cr_assert_str_eq(cfg->slack.channel, "C1");
	cr_assert_str_eq(cfg->slack.api_url, "http://127.0.0.1:9/api/");
	cr_assert_eq(cfg->slack.min_post_interval_ms, 0);
	pb_config_free(cfg);
}

/* ---- every validation path -------------------------------------------------- */

Test(config, missing_required_values)
{
	cJSON *root = base();

	del(root, "components[0].environments.staging", "image");
	expect_problem(root, "components[0].environments.staging.image: missing");
	root = base();
	del(root, "", "storage");
	expect_problem(root, "storage: missing");
	root = base();
	set(root, "", "storage", "{}");
	expect_problem(root, "storage.path: missing");
	root = base();
	del(root, "", "users");
	expect_problem(root, "users: missing");
	root = base();
	del(root, "", "components");
	expect_problem(root, "components: missing");
	root = base();
	del(root, "components[1]", "id");
	expect_problem(root, "components[1].id: missing");
	root = base();
	del(root, "components[0].checks[0]", "criterion");
	expect_problem(root, "components[0].checks[0].criterion: missing");
	root = base();
	del(root, "components[0].checks[0]", "argv");
	expect_problem(root, "components[0].checks[0].argv: missing");
	root = base();
	del(root, "components[0].environments.staging.env[0]", "name");
	expect_problem(root, "components[0].environments.staging.env[0].name: missing");
	root = base();
	del(root, "components[0].environments.staging.validation", "url");
	expect_problem(root, "components[0].environments.staging.validation.url: missing");
	root = base();
	set(root, "components[0].environments.staging", "validation", "{ \"kind\": \"tcp\" }");
	expect_problem(root, "components[0].environments.staging.validation.port: missing");
	root = base();
	set(root, "components[0].environments.staging", "healthcheck", "{ \"retries\": 3 }");
	expect_problem(root, "components[0].environments.staging.healthcheck.test: missing");
}

Test(config, unknown_roles_criteria_stages_and_dependencies)
{
	cJSON *root = base();

	set(root, "users.bob", "roles", "[\"approver\", \"aprover\"]");
	expect_problem(root, "users.bob.roles[1]: unknown role \"aprover\" "
			     "(requester, approver, deployer, admin)");
	root = base();
	set(root, "components[1]", "dependencies", "[\"neo5j\"]");
	expect_problem(root, "components[1].dependencies[0]: unknown component \"neo5j\"");
	root = base();
	set(root, "components[0].checks[0]", "criterion", "\"unit\"");
	expect_problem(root, "components[0].checks[0].criterion: unknown criterion \"unit\" "
			     "(tests, coverage, lint, types, security)");
	root = base();
	set(root, "", "policy", "{ \"required_checks\": [\"tests\", \"lnt\"] }");
	expect_problem(root, "policy.required_checks[1]: unknown criterion \"lnt\" "
			     "(tests, coverage, lint, types, security)");
	root = base();
	set(root, "components[0]", "stage", "\"dev\"");
	expect_problem(root, "components[0].stage: unknown stage \"dev\" "
			     "(development, staging, production)");
	root = base();
	set(root, "components[0].environments", "qa", "{ \"image\": \"x\" }");
	expect_problem(root, "components[0].environments.qa: unknown environment (staging, production)");
	root = base();
	set(root, "components[0].environments", "development", "{ \"image\": \"x\" }");
	expect_problem(root, "components[0].environments.development: unknown environment "
			     "(staging, production)");
	root = base();
	set(root, "components[0].environments.staging", "pull", "\"sometimes\"");
	expect_problem(root, "components[0].environments.staging.pull: unknown pull policy "
			     "\"sometimes\" (always, missing, never)");
	root = base();
	set(root, "components[0].environments.staging.validation", "kind", "\"grpc\"");
	expect_problem(root, "components[0].environments.staging.validation.kind: unknown kind "
			     "\"grpc\" (neo4j, http, tcp, none)");
	root = base();
	set(root, "components[0].environments.staging", "restart_policy", "\"sometimes\"");
	expect_problem_ex(root, "components[0].environments.staging.restart_policy: unknown policy",
			  true);
}

Test(config, range_checks)
{
	cJSON *root = base();

	set(root, "", "policy", "{ \"coverage\": { \"staging\": 101 } }");
	expect_problem(root, "policy.coverage.staging: must be 0..100");
	root = base();
	set(root, "", "policy", "{ \"coverage\": { \"production\": -1 } }");
	expect_problem(root, "policy.coverage.production: must be 0..100");
	root = base();
	set(root, "", "policy", "{ \"required_approvals\": 0 }");
	expect_problem_ex(root, "policy.required_approvals: must be 1..", true);
	root = base();
	set(root, "", "policy", "{ \"uptime_target\": 100.5 }");
	expect_problem(root, "policy.uptime_target: must be 0..100");
	root = base();
	set(root, "components[0].environments.staging.ports[0]", "container", "0");
	expect_problem(root, "components[0].environments.staging.ports[0].container: must be 1..65535");
	root = base();
	set(root, "components[0].environments.staging.ports[0]", "host", "65536");
	expect_problem(root, "components[0].environments.staging.ports[0].host: must be 1..65535");
	root = base();
	set(root, "components[0].environments.staging", "validation",
	    "{ \"kind\": \"tcp\", \"port\": 70000 }");
	expect_problem(root, "components[0].environments.staging.validation.port: must be 1..65535");
	root = base();
	set(root, "", "workers", "0");
	expect_problem(root, "workers: must be 1..64");
	root = base();
	set(root, "", "workers", "2.5");
	expect_problem(root, "workers: expected integer");
	root = base();
	set(root, "", "worker_nice", "20");
	expect_problem(root, "worker_nice: must be 0..19");
	root = base();
	set(root, "", "worker_idle", "1");
	expect_problem(root, "worker_idle: expected boolean");
	root = base();
	set(root, "", "worker_cpus", "-1");
	expect_problem(root, "worker_cpus: must be 0..64");
	root = base();
	set(root, "", "worker_pin", "0");
	expect_problem(root, "worker_pin: expected boolean");
	/* a lease shorter than this cannot be renewed reliably: a third of it between attempts */
	root = base();
	set(root, "", "ha", "{ \"leader_lease_s\": 2 }");
	expect_problem(root, "ha.leader_lease_s: must be 3..600");
	root = base();
	set(root, "", "ha", "{ \"lease_s\": 4 }");
	expect_problem(root, "ha.lease_s: must be 5..3600");
	root = base();
	set(root, "", "ha", "{ \"lease\": 30 }");
	expect_problem(root, "ha.lease: unknown key");
	{
		pb_config *cfg;

		root = base();
		set(root, "", "ha", "{ \"lease_s\": 5, \"leader_lease_s\": 3 }");
		cfg = parse_ok(root);
		cr_assert_eq(cfg->ha.lease_s, 5);
		cr_assert_eq(cfg->ha.leader_lease_s, 3);
		pb_config_free(cfg);
	}
}

Test(config, unknown_keys_anywhere_are_reported)
{
	cJSON *root = base();

	set(root, "", "storag", "{}");
	set(root, "storage", "pth", "\"x\"");
	set(root, "users.alice", "role", "[]");
	set(root, "components[0]", "dependecies", "[]");
	set(root, "components[0].checks[0]", "timeout", "5");
	set(root, "components[0].environments.staging", "imgae", "\"x\"");
	set(root, "components[0].environments.staging.ports[0]", "hostport", "1");
	set(root, "components[0].environments.staging.validation", "port", "1");
	set(root, "", "chat", "{ \"slack\": { \"chanel\": \"C1\" } }");
	{
		pb_problems probs = { 0 };
		pb_config *cfg = NULL;
		static const char *const want[] = {
			"storag: unknown key",
			"storage.pth: unknown key",
			"users.alice.role: unknown key",
			"components[0].dependecies: unknown key",
			"components[0].checks[0].timeout: unknown key",
			"components[0].environments.staging.imgae: unknown key",
			"components[0].environments.staging.ports[0].hostport: unknown key",
			"components[0].environments.staging.validation.port: unknown key",
			"chat.slack.chanel: unknown key",
		};
		char list[4096];

		cr_assert_eq(parse_root(root, &cfg, &probs), PB_E_INVALID);
		dump(&probs, list, sizeof(list));
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			cr_assert(has_problem(&probs, want[i], false), "missing \"%s\"; got:%s", want[i], list);
		cr_assert_eq(probs.count, sizeof(want) / sizeof(want[0]),
			     "every problem is collected, nothing else:%s", list);
		pb_problems_deinit(&probs);
		cJSON_Delete(root);
	}
}

Test(config, wrong_types_are_reported)
{
	cJSON *root = base();

	set(root, "storage", "path", "42");
	expect_problem(root, "storage.path: expected string");
	root = base();
	set(root, "", "storage", "\"x.db\"");
	expect_problem(root, "storage: expected object");
	root = base();
	set(root, "", "policy", "{ \"self_approval\": \"no\" }");
	expect_problem(root, "policy.self_approval: expected boolean");
	root = base();
	set(root, "", "components", "{}");
	expect_problem(root, "components: expected array");
	root = base();
	set(root, "", "users", "[]");
	expect_problem(root, "users: expected object");
	root = base();
	set(root, "users", "bob", "\"approver\"");
	expect_problem(root, "users.bob: expected object");
	root = base();
	set(root, "components[0]", "dependencies", "\"api\"");
	expect_problem(root, "components[0].dependencies: expected array");
	root = base();
	set(root, "components[0].environments.staging.ports[0]", "container", "\"7474\"");
	expect_problem(root, "components[0].environments.staging.ports[0].container: expected integer");
	root = base();
	set(root, "", "policy", "{ \"uptime_target\": \"high\" }");
	expect_problem(root, "policy.uptime_target: expected number");
}

Test(config, component_ids_are_unique_and_well_formed)
{
	cJSON *root = base();

	set(root, "components[1]", "id", "\"neo4j\"");
	expect_problem(root, "components[1].id: duplicate id \"neo4j\" (also components[0])");
	root = base();
	set(root, "components[1]", "id", "\"Graph API\"");
	expect_problem(root, "components[1].id: invalid id \"Graph API\" "
			     "(must match [a-z0-9][a-z0-9_-]{0,63})");
	root = base();
	set(root, "components[1]", "id", "\"-api\"");
	expect_problem_ex(root, "components[1].id: invalid id \"-api\"", true);
	root = base();
	/* 64 characters is the longest id allowed, 65 is one too many. */
	set(root, "components[1]", "id",
	    "\"a1234567890123456789012345678901234567890123456789012345678901234\"");
	expect_problem_ex(root, "components[1].id: invalid id", true);
	root = base();
	set(root, "components[1]", "id",
	    "\"a123456789012345678901234567890123456789012345678901234567890123\"");
	pb_config_free(parse_ok(root));
}

Test(config, dependency_cycles_and_self_dependencies)
{
	cJSON *root = base();

	set(root, "components[0]", "dependencies", "[\"api\"]");
	expect_problem(root, "components[0].dependencies: dependency cycle neo4j -> api -> neo4j");
	root = base();
	set(root, "components[0]", "dependencies", "[\"neo4j\"]");
	expect_problem(root, "components[0].dependencies[0]: depends on itself");
	root = base();
	set(root, "components[0]", "dependencies", "[\"etl\"]");
	cJSON_AddItemToArray(at(root, "components"),
			     cJSON_Parse("{ \"id\": \"etl\", \"dependencies\": [\"api\"] }"));
	expect_problem(root, "components[0].dependencies: dependency cycle neo4j -> etl -> api -> neo4j");
	root = base();
	set(root, "components[1]", "dependencies", "[\"neo4j\", \"neo4j\"]");
	expect_problem(root, "components[1].dependencies[1]: duplicate dependency \"neo4j\"");
	/* A diamond is not a cycle. */
	root = base();
	cJSON_AddItemToArray(at(root, "components"),
			     cJSON_Parse("{ \"id\": \"etl\", \"dependencies\": [\"api\", \"neo4j\"] }"));
	pb_config_free(parse_ok(root));
}

Test(config, env_vars_need_exactly_one_source)
{
	cJSON *root = base();

	del(root, "components[0].environments.staging.env[0]", "value");
	expect_problem(root, "components[0].environments.staging.env[0]: needs exactly one of value, "
			     "value_env, value_file");
	root = base();
	set(root, "components[0].environments.staging.env[0]", "value_env", "\"A_SECRET\"");
	expect_problem(root, "components[0].environments.staging.env[0]: needs exactly one of value, "
			     "value_env, value_file");
	root = base();
	set(root, "components[0].environments.staging", "validation",
	    "{ \"kind\": \"neo4j\", \"url\": \"http://127.0.0.1:7476\","
	    "  \"password_env\": \"P\", \"password_file\": \"p\" }");
	expect_problem(root, "components[0].environments.staging.validation: use only one of "
			     "password_env, password_file");
	root = base();
	set(root, "components[0]", "revision", "{ \"value\": \"1\", \"command\": [\"git\"] }");
	expect_problem(root, "components[0].revision: needs exactly one of value, command");
	root = base();
	set(root, "components[0]", "revision", "{}");
	expect_problem(root, "components[0].revision: needs exactly one of value, command");
}

Test(config, chat_settings_are_validated)
{
	cJSON *root = base();

	set(root, "", "chat", "{ \"platform\": \"irc\" }");
	expect_problem(root, "chat.platform: unknown platform \"irc\" (console, slack)");
	root = base();
	set(root, "", "chat", "{ \"platform\": \"slack\", \"slack\": {} }");
	expect_problem(root, "chat.slack.channel: missing");
	root = base();
	set(root, "", "chat", "{ \"platform\": \"slack\" }");
	expect_problem(root, "chat.slack: missing");
	root = base();
	set(root, "", "chat", "{ \"slack\": { \"api_url\": \"ftp://slack.com/api/\" } }");
	expect_problem(root, "chat.slack.api_url: must start with http:// or https://");
	root = base();
	set(root, "", "chat", "{ \"platform\": \"slack\","
			      "  \"slack\": { \"channel\": \"C1\", \"api_url\": \"slack.com/api\" } }");
	expect_problem(root, "chat.slack.api_url: must start with http:// or https://");
	root = base();
	set(root, "", "docker", "{ \"host\": \"/var/run/docker.sock\" }");
	expect_problem(root, "docker.host: must start with unix:// or tcp://");
}

Test(config, check_argv_and_coverage_regex)
{
	cJSON *root = base();

	set(root, "components[0].checks[0]", "argv", "[]");
	expect_problem(root, "components[0].checks[0].argv: must be a non-empty array of strings");
	root = base();
	set(root, "components[0].checks[0]", "argv", "[\"sh\", 5]");
	expect_problem(root, "components[0].checks[0].argv[1]: expected string");
	root = base();
	set(root, "components[0].checks[0]", "argv", "\"sh check.sh\"");
	expect_problem(root, "components[0].checks[0].argv: expected array");
	root = base();
	set(root, "components[0].checks[1]", "coverage_regex", "\"TOTAL ([0-9]+%\"");
	expect_problem_ex(root, "components[0].checks[1].coverage_regex: invalid regular expression: ",
			  true);
	root = base();
	set(root, "components[0].checks[1]", "coverage_regex", "\"TOTAL [0-9]+%\"");
	expect_problem(root, "components[0].checks[1].coverage_regex: needs a capture group "
			     "(group 1 is the percentage)");
	root = base();
	del(root, "components[0].checks[1]", "coverage_regex");
	expect_problem(root, "components[0].checks[1].coverage_regex: missing "
			     "(a coverage check must extract the percentage)");
	root = base();
	set(root, "components[0].checks[0]", "timeout_s", "0");
	expect_problem(root, "components[0].checks[0].timeout_s: must be 1..86400");
}

Test(config, emptiness_rules)
{
	cJSON *root = base();

	set(root, "", "components", "[]");
	expect_problem(root, "components: must have at least one component");
	root = base();
	set(root, "", "users", "{}");
	expect_problem(root, "users: must not be empty");
	root = base();
	set(root, "storage", "path", "\"\"");
	expect_problem(root, "storage.path: must not be empty");
	root = base();
	set(root, "components[0].environments.staging", "container_name", "\"-bad name\"");
	expect_problem_ex(root, "components[0].environments.staging.container_name: invalid name", true);
	root = base();
	set(root, "components[0].environments.staging.ports[0]", "host_ip", "\"\"");
	expect_problem(root, "components[0].environments.staging.ports[0].host_ip: not an IP address \"\"");
	root = base();
	set(root, "components[0].environments.staging.ports[0]", "host_ip", "\"::1\"");
	pb_config_free(parse_ok(root));
	root = base();
	set(root, "components[0]", "github_repo", "\"tta\"");
	expect_problem_ex(root, "components[0].github_repo: must be \"owner/repo\"", true);
}

Test(config, every_problem_is_collected_in_one_pass)
{
	cJSON *root = base();
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	char list[4096];

	del(root, "", "storage");
	set(root, "users.bob", "roles", "[\"aprover\"]");
	set(root, "components[1]", "dependencies", "[\"neo5j\"]");
	del(root, "components[0].environments.staging", "image");
	set(root, "", "policy", "{ \"coverage\": { \"staging\": 170 } }");
	cr_assert_eq(parse_root(root, &cfg, &probs), PB_E_INVALID);
	dump(&probs, list, sizeof(list));
	cr_assert_eq(probs.count, 5, "five problems expected:%s", list);
	cr_assert(has_problem(&probs, "storage: missing", false));
	cr_assert(has_problem(&probs, "components[0].environments.staging.image: missing", false));
	cr_assert(has_problem(&probs, "policy.coverage.staging: must be 0..100", false));
	pb_problems_deinit(&probs);
	cJSON_Delete(root);
}

Test(config, duplicate_keys_are_reported)
{
	const char *json = "{ \"storage\": { \"path\": \"a\", \"path\": \"b\" },"
			   "  \"users\": { \"a\": {} }, \"components\": [ { \"id\": \"x\" } ] }";
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;

	cr_assert_eq(pb_config_parse(json, strlen(json), "/", &cfg, &probs), PB_E_INVALID);
	cr_assert(has_problem(&probs, "storage.path: duplicate key", false));
	pb_problems_deinit(&probs);
}

/* ---- malformed files -------------------------------------------------------- */

static void expect_parse_problem_ex(const char *json, const char *text, bool prefix)
{
	pb_problems probs = { 0 };
	pb_config *cfg = (pb_config *)1;
	char list[1024];

	cr_assert_eq(pb_config_parse(json, strlen(json), "/", &cfg, &probs), PB_E_INVALID);
	cr_assert_null(cfg);
	dump(&probs, list, sizeof(list));
	cr_assert_eq(probs.count, 1, "one problem for a syntax error:%s", list);
	if (prefix)
		cr_assert(strncmp(probs.items[0], text, strlen(text)) == 0, "got %s", probs.items[0]);
	else
		cr_assert_str_eq(probs.items[0], text);
	pb_problems_deinit(&probs);
}

static void expect_parse_problem(const char *json, const char *text)
{
	expect_parse_problem_ex(json, text, false);
}

Test(config, invalid_json_reports_line_and_column)
{
	/* cJSON reports the offset where it gave up: the column is approximate ("near"). */
	expect_parse_problem_ex("{\n  \"storage\": {\n    \"path\": \"x\",\n  }\n}",
				"file: invalid JSON near line 4, column ", true);
	expect_parse_problem_ex("{\n\n\n\n\n\n\n\n\n\n\n  \"workers\": 4 4\n}",
				"file: invalid JSON near line 12, column ", true);
	expect_parse_problem("{ \"a\": 1 }\n\n  ]", "file: invalid JSON near line 3, column 3 "
						      "(text after the top-level value)");
	expect_parse_problem("", "file: invalid JSON near line 1, column 1");
	expect_parse_problem("[1, 2]", "file: the top level must be a JSON object");
	expect_parse_problem("{ \"storage\": \"\xff\" }", "file: not valid UTF-8");
}

Test(config, missing_file_is_one_problem)
{
	pb_problems probs = { 0 };
	pb_config *cfg = (pb_config *)1;

	cr_assert_eq(pb_config_load("/nonexistent/promobot.json", &cfg, &probs), PB_E_INVALID);
	cr_assert_null(cfg);
	cr_assert_eq(probs.count, 1);
	cr_assert_str_eq(probs.items[0],
			 "file: cannot read /nonexistent/promobot.json: No such file or directory");
	pb_problems_deinit(&probs);
}

Test(config, huge_file_is_refused)
{
	char *dir = make_tmpdir(), *file = NULL, *expect = NULL;
	size_t len = 1024 * 1024 + 1;
	pb_problems probs = { 0 };
	pb_config *cfg = (pb_config *)1;
	char *data = malloc(len);

	cr_assert_not_null(data);
	/* Valid JSON padded with whitespace: only the size is wrong. */
	memset(data, ' ', len);
	memcpy(data, "{}", 2);
	cr_assert_geq(asprintf(&file, "%s/big.json", dir), 0);
	write_file(file, data, len);
	cr_assert_eq(pb_config_load(file, &cfg, &probs), PB_E_INVALID);
	cr_assert_null(cfg);
	cr_assert_eq(probs.count, 1);
	cr_assert_geq(asprintf(&expect, "file: %s is larger than 1 MiB", file), 0);
	cr_assert_str_eq(probs.items[0], expect);
	pb_problems_deinit(&probs);
	rm_tree(dir);
	free(expect);
	free(file);
	free(data);
	free(dir);
}

Test(config, directory_is_not_a_config_file)
{
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;

	cr_assert_eq(pb_config_load("/tmp", &cfg, &probs), PB_E_INVALID);
	cr_assert_eq(probs.count, 1);
	cr_assert_str_eq(probs.items[0], "file: cannot read /tmp: not a regular file");
	pb_problems_deinit(&probs);
}

/* ---- secrets -------------------------------------------------------------- */

Test(config, secret_from_env_is_returned_and_redacted)
{
	char line[128];
	pb_err err;
	char *v;

	pb_err_init(&err);
	cr_assert_eq(setenv("PB_TEST_SECRET", "s3cr3t-value\n", 1), 0);
	v = pb_secret_read("PB_TEST_SECRET", NULL, &err);
	cr_assert_not_null(v, "%s", pb_err_text(&err));
	cr_assert_str_eq(v, "s3cr3t-value", "trailing newline stripped");
	snprintf(line, sizeof(line), "token=%s end", v);
	pb_log_redact(line, sizeof(line));
	cr_assert_str_eq(line, "token=*** end", "the value is registered with the redactor");
	free(v);
	pb_log_clear_secrets();
}

Test(config, secret_env_missing_or_empty_names_the_variable)
{
	pb_err err;

	pb_err_init(&err);
	unsetenv("PB_TEST_ABSENT");
	cr_assert_null(pb_secret_read("PB_TEST_ABSENT", NULL, &err));
	cr_assert_str_eq(pb_err_text(&err), "environment variable PB_TEST_ABSENT is not set");
	pb_err_init(&err);
	cr_assert_eq(setenv("PB_TEST_EMPTY", "\n", 1), 0);
	cr_assert_null(pb_secret_read("PB_TEST_EMPTY", NULL, &err));
	cr_assert_str_eq(pb_err_text(&err), "environment variable PB_TEST_EMPTY is empty");
	pb_err_init(&err);
	cr_assert_null(pb_secret_read(NULL, NULL, &err));
	cr_assert(err.set);
	pb_err_init(&err);
	cr_assert_null(pb_secret_read("A", "/b", &err));
	cr_assert(err.set);
}

Test(config, secret_from_file)
{
	char *dir = make_tmpdir(), *file = NULL, *big = NULL, *empty = NULL, *expect = NULL;
	char *data = malloc(64 * 1024 + 1);
	pb_err err;
	char *v;

	cr_assert_not_null(data);
	cr_assert_geq(asprintf(&file, "%s/pw", dir), 0);
	cr_assert_geq(asprintf(&big, "%s/big", dir), 0);
	cr_assert_geq(asprintf(&empty, "%s/empty", dir), 0);
	write_file(file, "file-password-1\r\n", 17);
	pb_err_init(&err);
	v = pb_secret_read(NULL, file, &err);
	cr_assert_not_null(v, "%s", pb_err_text(&err));
	cr_assert_str_eq(v, "file-password-1");
	free(v);

	memset(data, 'x', 64 * 1024 + 1);
	write_file(big, data, 64 * 1024 + 1);
	pb_err_init(&err);
	cr_assert_null(pb_secret_read(NULL, big, &err));
	cr_assert_geq(asprintf(&expect, "secret file %s is larger than 64 KiB", big), 0);
	cr_assert_str_eq(pb_err_text(&err), expect);
	free(expect);
	/* Exactly 64 KiB is accepted. */
	write_file(big, data, 64 * 1024);
	pb_err_init(&err);
	v = pb_secret_read(NULL, big, &err);
	cr_assert_not_null(v, "%s", pb_err_text(&err));
	cr_assert_eq(strlen(v), 64 * 1024);
	free(v);

	write_file(empty, "", 0);
	pb_err_init(&err);
	cr_assert_null(pb_secret_read(NULL, empty, &err));
	cr_assert_geq(asprintf(&expect, "secret file %s is empty", empty), 0);
	cr_assert_str_eq(pb_err_text(&err), expect);
	free(expect);

	pb_err_init(&err);
	cr_assert_null(pb_secret_read(NULL, "/nonexistent/pw", &err));
	cr_assert_str_eq(pb_err_text(&err),
			 "cannot read secret file /nonexistent/pw: No such file or directory");
	pb_log_clear_secrets();
	rm_tree(dir);
	free(data);
	free(file);
	free(big);
	free(empty);
	free(dir);
}

/* ---- names and small helpers --------------------------------------------- */

Test(config, stage_criterion_and_role_names)
{
	pb_stage st;
	pb_criterion cr;
	char buf[64];

	cr_assert_str_eq(pb_stage_name(PB_STAGE_STAGING), "staging");
	cr_assert_str_eq(pb_stage_title(PB_STAGE_PRODUCTION), "Production");
	cr_assert_eq(pb_stage_parse("Staging", &st), 0);
	cr_assert_eq(st, PB_STAGE_STAGING);
	cr_assert_eq(pb_stage_parse("qa", &st), PB_E_INVALID);
	cr_assert_eq(pb_stage_parse(NULL, &st), PB_E_INVALID);
	cr_assert_str_eq(pb_criterion_name(PB_CRIT_SECURITY), "security");
	cr_assert_eq(pb_criterion_parse("LINT", &cr), 0);
	cr_assert_eq(cr, PB_CRIT_LINT);
	cr_assert_eq(pb_criterion_parse("style", &cr), PB_E_INVALID);
	pb_roles_fmt(PB_ROLE_REQUESTER | PB_ROLE_APPROVER, buf, sizeof(buf));
	cr_assert_str_eq(buf, "requester, approver");
	pb_roles_fmt(0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "none");
	pb_roles_fmt(PB_ROLE_DEPLOYER | PB_ROLE_ADMIN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "deployer, admin");
	pb_roles_fmt(PB_ROLE_REQUESTER | PB_ROLE_APPROVER, buf, 8);
	cr_assert_str_eq(buf, "request", "truncated, still terminated");
}

Test(config, problems_list_collects_and_frees)
{
	pb_problems p = { 0 };

	pb_problems_add(&p, "%s: %d", "a", 1);
	pb_problems_add(&p, "b");
	cr_assert_eq(p.count, 2);
	cr_assert_str_eq(p.items[0], "a: 1");
	pb_problems_deinit(&p);
	cr_assert_eq(p.count, 0);
	cr_assert_null(p.items);
	pb_problems_deinit(NULL);
	pb_config_free(NULL);
}

/* ---- monitoring ---------------------------------------------------------- */

Test(config, monitoring_defaults_and_environment_overrides_inherit_the_rest)
{
	cJSON *root = base();
	pb_config *cfg;
	const pb_monitor_cfg *g, *m;

	set(root, "", "monitoring",
	    "{ \"interval_s\": 30, \"timezone\": \"Europe/Berlin\", \"report_time\": \"07:45\","
	    " \"mention\": \"<!subteam^S01>\" }");
	set(root, "components[0].environments.staging", "monitoring",
	    "{ \"interval_s\": 10, \"log_critical\": [\"SEVERE\"] }");
	cfg = parse_ok(root);
	g = &cfg->monitoring;
	cr_assert_eq(g->interval_s, 30);
	cr_assert_eq(g->deadline_ms, 10000);
	cr_assert_eq(g->fail_threshold, 2);
	cr_assert_eq(g->success_threshold, 2);
	cr_assert_eq(g->stats_every, 5);
	cr_assert_eq(g->remind_every_min, 30);
	cr_assert_eq(g->raw_retention_days, 30);
	cr_assert_float_eq(g->min_coverage, 99.0, 1e-9);
	cr_assert_eq(g->report_hour, 7);
	cr_assert_eq(g->report_min, 45);
	cr_assert_str_eq(g->timezone, "Europe/Berlin");
	cr_assert_eq(g->nlog_critical, 2);
	cr_assert_str_eq(g->log_critical[0], "ERROR");
	m = &cfg->components[0].deploy[PB_STAGE_STAGING].monitoring;
	cr_assert_eq(m->interval_s, 10);
	cr_assert_eq(m->deadline_ms, 5000, "a new interval recomputes the default deadline");
	cr_assert_str_eq(m->timezone, "Europe/Berlin");
	cr_assert_str_eq(m->mention, "<!subteam^S01>");
	cr_assert_eq(m->report_hour, 7);
	cr_assert_eq(m->nlog_critical, 1);
	cr_assert_str_eq(m->log_critical[0], "SEVERE");
	cr_assert_str_eq(m->log_warning[1], "WARNING");
	pb_config_free(cfg);
}

Test(config, monitoring_values_are_validated)
{
	cJSON *root = base();

	set(root, "", "monitoring", "{ \"interval_s\": 5, \"deadline_ms\": 5000 }");
	expect_problem(root, "monitoring.deadline_ms: must be shorter than interval_s (5 s)");
	root = base();
	set(root, "", "monitoring", "{ \"report_time\": \"9:00\" }");
	expect_problem(root, "monitoring.report_time: expected HH:MM (24-hour), e.g. \"09:00\"");
	root = base();
	set(root, "", "monitoring", "{ \"report_time\": \"24:00\" }");
	expect_problem(root, "monitoring.report_time: expected HH:MM (24-hour), e.g. \"09:00\"");
	root = base();
	set(root, "", "monitoring", "{ \"timezone\": \"../../etc/passwd\" }");
	expect_problem(root, "monitoring.timezone: \"../../etc/passwd\" is not an IANA zone name (e.g. Europe/Berlin)");
	root = base();
	set(root, "", "monitoring", "{ \"timezone\": \"Mars/Olympus_Mons\" }");
	expect_problem_ex(root, "monitoring.timezone: unknown zone \"Mars/Olympus_Mons\"", true);
	root = base();
	set(root, "components[0].environments.staging", "monitoring", "{ \"log_entry_regex\": \"^[A-Z]+\" }");
	expect_problem(root, "components[0].environments.staging.monitoring.log_entry_regex: needs a capture group (group 1 is the level)");
	root = base();
	set(root, "", "monitoring", "{ \"fail_threshold\": 0, \"color\": 1 }");
	expect_problem(root, "monitoring.fail_threshold: must be 1..100");
	root = base();
	set(root, "", "monitoring", "{ \"color\": 1 }");
	expect_problem(root, "monitoring.color: unknown key");
}

/* ---- the github section (issue 8) -------------------------------------- */

Test(config, github_is_off_by_default_with_defaults_filled)
{
	pb_config *cfg = parse_ok(base());

	cr_assert_not(cfg->github.enabled);
	cr_assert_str_eq(cfg->github.api_url, "https://api.github.com");
	cr_assert_str_eq(cfg->github.user_agent, "promobot/" PROMOBOT_VERSION);
	cr_assert_eq(cfg->github.timeout_ms, 30000);
	cr_assert_eq(cfg->github.content_writes_per_min, 80);
	cr_assert_null(cfg->github.token_env);
	cr_assert_not(cfg->github.app);
	pb_config_free(cfg);
}

Test(config, github_token_and_enterprise_settings_load)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "github", "{ \"api_url\": \"https://ghe.example.com/api/v3/\","
				" \"token_file\": \"secrets/gh\", \"timeout_ms\": 5000,"
				" \"ca_file\": \"ca.pem\", \"user_agent\": \"acme-bot\","
				" \"content_writes_per_min\": 20 }");
	set(root, "components[0]", "github_repo", "\"acme-org/infra.tools_x\"");
	cfg = parse_ok(root);
	cr_assert(cfg->github.enabled);
	cr_assert_str_eq(cfg->github.api_url, "https://ghe.example.com/api/v3");
	cr_assert_str_eq(cfg->github.token_file, BASE_DIR "/secrets/gh");
	cr_assert_str_eq(cfg->github.ca_file, BASE_DIR "/ca.pem");
	cr_assert_str_eq(cfg->github.user_agent, "acme-bot");
	cr_assert_eq(cfg->github.timeout_ms, 5000);
	cr_assert_eq(cfg->github.content_writes_per_min, 20);
	cr_assert_str_eq(cfg->components[0].github_repo, "acme-org/infra.tools_x");
	pb_config_free(cfg);
}

Test(config, github_app_loads_with_large_ids)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "github", "{ \"app\": { \"app_id\": 123456, \"installation_id\": 4294967297,"
				" \"private_key_file\": \"keys/app.pem\" } }");
	cfg = parse_ok(root);
	cr_assert(cfg->github.app);
	cr_assert_eq(cfg->github.app_id, 123456);
	cr_assert_eq(cfg->github.installation_id, INT64_C(4294967297));
	cr_assert_str_eq(cfg->github.private_key_file, BASE_DIR "/keys/app.pem");
	pb_config_free(cfg);
}

Test(config, github_settings_are_validated)
{
	cJSON *root = base();

	set(root, "", "github", "{}");
	expect_problem(root, "github: needs exactly one of token_env, token_file, app (found 0)");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"app\": { \"app_id\": 1,"
				" \"installation_id\": 2, \"private_key_file\": \"k\" } }");
	expect_problem(root, "github: needs exactly one of token_env, token_file, app (found 2)");
	root = base();
	set(root, "", "github", "{ \"app\": { \"app_id\": 1.5, \"private_key_file\": \"k\" } }");
	expect_problem(root, "github.app.app_id: expected a positive integer id");
	root = base();
	set(root, "", "github", "{ \"app\": { \"app_id\": 1, \"private_key_file\": \"k\" } }");
	expect_problem(root, "github.app.installation_id: missing");
	root = base();
	set(root, "", "github", "{ \"app\": { \"app_id\": 1, \"installation_id\": 2 } }");
	expect_problem(root, "github.app.private_key_file: missing");
	root = base();
	set(root, "", "github", "{ \"app\": { \"app_id\": 1, \"installation_id\": 2,"
				" \"private_key_file\": \"k\", \"secret\": 1 } }");
	expect_problem(root, "github.app.secret: unknown key");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"api_url\": \"api.github.com\" }");
	expect_problem(root, "github.api_url: must start with http:// or https://");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"user_agent\": \"\" }");
	expect_problem(root, "github.user_agent: must not be empty (GitHub refuses requests without one)");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"content_writes_per_min\": 0 }");
	expect_problem_ex(root, "github.content_writes_per_min:", true);
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"timeout_ms\": 10 }");
	expect_problem_ex(root, "github.timeout_ms:", true);
	root = base();
	set(root, "", "github", "{ \"token\": \"ghp_literal\" }");
	expect_problem(root, "github.token: unknown key");
}

Test(config, github_repo_shape_is_checked)
{
	static const char *const bad[] = { "\"noslash\"", "\"/repo\"", "\"owner/\"", "\"a/b/c\"",
					   "\"-owner/repo\"", "\"own er/repo\"", "\"owner/..\"",
					   "\"owner/re$po\"" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *root = base();

		set(root, "components[0]", "github_repo", bad[i]);
		expect_problem_ex(root, "components[0].github_repo: must be \"owner/repo\"", true);
	}
}

/* ---- components[].validation (sources) ------------------------------------ */

static cJSON *gh_base(void)
{
	cJSON *root = base();

	set(root, "", "github", "{ \"token_env\": \"GH\" }");
	set(root, "components[0]", "github_repo", "\"acme/tta\"");
	return root;
}

Test(config, validation_sources_default_to_local)
{
	pb_config *cfg = parse_ok(base());
	const pb_validation_cfg *v = &cfg->components[0].validation;

	cr_assert_eq(v->sources, PB_VSRC_LOCAL);
	cr_assert_str_eq(v->ref, "heads/main");
	cr_assert_eq(v->timeout_s, 1800);
	cr_assert_eq(v->poll_s, 15);
	cr_assert_eq(v->wf_mode, PB_WF_ISSUE);
	cr_assert_str_eq(v->wf_file, "component-promotion-validation.yml");
	cr_assert_str_eq(v->wf_ref, "main");
	pb_config_free(cfg);
}

Test(config, validation_github_sources_load)
{
	cJSON *root = gh_base();
	pb_config *cfg;
	const pb_validation_cfg *v;

	set(root, "components[0]", "validation",
	    "{ \"source\": [\"local\", \"github_checks\", \"github_workflow\"], \"ref\": \"tags/v1.2\","
	    " \"checks\": { \"tests\": [\"unit (*)\", \"e2e\"], \"coverage\": [\"codecov/project\"] },"
	    " \"timeout_s\": 600, \"poll_s\": 30,"
	    " \"workflow\": { \"mode\": \"dispatch\", \"file\": \"validate.yml\", \"ref\": \"release\","
	    " \"inputs\": { \"level\": \"full\" } } }");
	cfg = parse_ok(root);
	v = &cfg->components[0].validation;
	cr_assert_eq(v->sources, PB_VSRC_LOCAL | PB_VSRC_GITHUB_CHECKS | PB_VSRC_GITHUB_WORKFLOW);
	cr_assert_str_eq(v->ref, "tags/v1.2");
	cr_assert_eq(v->npatterns[PB_CRIT_TESTS], 2);
	cr_assert_str_eq(v->patterns[PB_CRIT_TESTS][0], "unit (*)");
	cr_assert_str_eq(v->patterns[PB_CRIT_COVERAGE][0], "codecov/project");
	cr_assert_eq(v->npatterns[PB_CRIT_LINT], 0);
	cr_assert_eq(v->timeout_s, 600);
	cr_assert_eq(v->poll_s, 30);
	cr_assert_eq(v->wf_mode, PB_WF_DISPATCH);
	cr_assert_str_eq(v->wf_file, "validate.yml");
	cr_assert_str_eq(v->wf_ref, "release");
	cr_assert_eq(v->wf_ninputs, 1);
	cr_assert_str_eq(v->wf_input_names[0], "level");
	cr_assert_str_eq(v->wf_input_values[0], "full");
	pb_config_free(cfg);
}

Test(config, validation_settings_are_validated)
{
	static const struct {
		const char *json;
		const char *problem;
	} cases[] = {
		{ "{ \"source\": [\"jenkins\"] }", "components[0].validation.source[0]: unknown source \"jenkins\"" },
		{ "{ \"source\": [] }", "components[0].validation.source: must name at least one source" },
		{ "{ \"source\": [\"local\", \"local\"] }", "components[0].validation.source[1]: duplicate source \"local\"" },
		{ "{ \"source\": [\"github_checks\"] }", "components[0].validation.checks: github_checks needs" },
		{ "{ \"source\": [\"github_checks\"], \"checks\": { \"style\": [\"x\"] } }",
		  "components[0].validation.checks.style: unknown criterion" },
		{ "{ \"source\": [\"github_checks\"], \"checks\": { \"lint\": [] } }",
		  "components[0].validation.checks.lint: must list at least one" },
		{ "{ \"checks\": { \"lint\": [\"ruff\"] } }", "components[0].validation.checks: only used by" },
		{ "{ \"ref\": \"main\" }", "components[0].validation.ref: must name a branch" },
		{ "{ \"poll_s\": 60, \"timeout_s\": 30 }", "components[0].validation.poll_s: must not exceed" },
		{ "{ \"timeout_s\": 0 }", "components[0].validation.timeout_s:" },
		{ "{ \"interval\": 5 }", "components[0].validation.interval: unknown key" },
		{ "{ \"workflow\": { \"mode\": \"push\" } }", "components[0].validation.workflow.mode: unknown mode \"push\"" },
		{ "{ \"workflow\": { \"file\": \".github/workflows/x.yml\" } }", "components[0].validation.workflow.file:" },
		{ "{ \"workflow\": { \"mode\": \"issue\", \"inputs\": { \"a\": \"b\" } } }",
		  "components[0].validation.workflow.inputs: only mode \"dispatch\"" },
		{ "{ \"workflow\": { \"mode\": \"dispatch\", \"inputs\": { \"a\": 1 } } }",
		  "components[0].validation.workflow.inputs.a: expected string" },
		{ "{ \"workflow\": { \"mode\": \"dispatch\", \"inputs\": { \"component\": \"x\" } } }",
		  "components[0].validation.workflow.inputs.component: set by the bot" },
		{ "{ \"workflow\": { \"when\": 1 } }", "components[0].validation.workflow.when: unknown key" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *root = gh_base();

		set(root, "components[0]", "validation", cases[i].json);
		expect_problem_ex(root, cases[i].problem, true);
	}
}

Test(config, github_sources_need_the_github_section_and_a_repository)
{
	cJSON *root = base();

	set(root, "components[0]", "github_repo", "\"acme/tta\"");
	set(root, "components[0]", "validation", "{ \"source\": [\"github_workflow\"] }");
	expect_problem(root, "components[0].validation.source: a GitHub source needs the top-level github section");
	root = gh_base();
	del(root, "components[0]", "github_repo");
	set(root, "components[0]", "validation", "{ \"source\": [\"github_workflow\"] }");
	expect_problem(root, "components[0].validation.source: a GitHub source needs components[0].github_repo");
}

/* ---- external deployments ------------------------------------------------ */

Test(config, external_deployment_needs_only_a_validation)
{
	cJSON *root = base();
	pb_config *cfg;
	const pb_deploy_cfg *d;

	set(root, "components[1]", "environments",
	    "{ \"staging\": { \"deployment\": \"external\","
	    "  \"validation\": { \"kind\": \"tcp\", \"port\": 9001 },"
	    "  \"monitoring\": { \"interval_s\": 5 } } }");
	set(root, "components[0].environments.staging", "deployment", "\"docker\"");
	cfg = parse_ok(root);
	d = pb_config_deploy(&cfg->components[1], PB_STAGE_STAGING);
	cr_assert_not_null(d);
	cr_assert(d->external);
	cr_assert_null(d->image);
	cr_assert_null(d->container_name);
	cr_assert_eq(d->nports, 0);
	cr_assert_eq(d->health.kind, PB_HEALTH_TCP);
	cr_assert_str_eq(d->health.host, "127.0.0.1");
	cr_assert_eq(d->healthy_timeout_s, 10, "an external target already runs: a short first-contact wait");
	cr_assert_eq(d->monitoring.interval_s, 5);
	d = pb_config_deploy(&cfg->components[0], PB_STAGE_STAGING);
	cr_assert_not(d->external, "\"docker\" is the default spelled out");
	cr_assert_eq(d->healthy_timeout_s, 120);
	cr_assert_str_eq(d->image, "neo4j:5.13");
	pb_config_free(cfg);
}

Test(config, external_deployment_is_validated)
{
	cJSON *root = base();

	set(root, "components[0].environments.staging", "deployment", "\"external\"");
	/* every container setting would silently do nothing: each is named */
	expect_problem(root, "components[0].environments.staging.image: not used by an external deployment "
		       "(promobot does not touch its container)");
	root = base();
	set(root, "components[0].environments.staging", "deployment", "\"external\"");
	expect_problem(root, "components[0].environments.staging.ports: not used by an external deployment "
		       "(promobot does not touch its container)");
	root = base();
	set(root, "components[1]", "environments", "{ \"staging\": { \"deployment\": \"external\" } }");
	expect_problem(root, "components[1].environments.staging.validation: required for an external deployment "
		       "(kind neo4j, http or tcp: it is what deploy checks and the observation probes)");
	root = base();
	set(root, "components[1]", "environments",
	    "{ \"staging\": { \"deployment\": \"external\", \"validation\": { \"kind\": \"none\" } } }");
	expect_problem_ex(root, "components[1].environments.staging.validation: required for an external", true);
	root = base();
	set(root, "components[0].environments.staging", "deployment", "\"kubernetes\"");
	expect_problem(root, "components[0].environments.staging.deployment: unknown deployment \"kubernetes\" "
		       "(docker, external)");
	root = base();
	set(root, "components[0].environments.staging", "deployment", "7");
	expect_problem(root, "components[0].environments.staging.deployment: expected string");
	root = base();
	set(root, "components[1]", "environments",
	    "{ \"staging\": { \"deployment\": \"external\", \"image\": null,"
	    "  \"validation\": { \"kind\": \"http\", \"url\": \"http://127.0.0.1:1/\" } } }");
	pb_config_free(parse_ok(root)); /* null means not set */
}

/* ---- what a completion writes on GitHub (github.maturity, github.project, github_maturity_path) ---- */

Test(config, github_completion_defaults)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "github", "{ \"token_env\": \"GH\" }");
	cfg = parse_ok(root);
	cr_assert_not(cfg->github.maturity.via_pull_request);
	cr_assert_str_eq(cfg->github.maturity.branch_prefix, "promobot/maturity-");
	cr_assert_null(cfg->github.project.id, "no project unless configured");
	cr_assert_null(cfg->components[0].github_maturity_path);
	pb_config_free(cfg);
}

Test(config, github_completion_settings_load)
{
	cJSON *root = base();
	pb_config *cfg;

	set(root, "", "github", "{ \"token_env\": \"GH\","
				" \"maturity\": { \"via_pull_request\": true, \"branch_prefix\": \"bot/mat-\" },"
				" \"project\": { \"id\": \"PVT_kwDOAB12cd\", \"status_field\": \"Stage\","
				"   \"stage_options\": { \"staging\": \"Staging 🧪\" },"
				"   \"current_stage_field\": \"Now\", \"last_updated_field\": \"Changed\" } }");
	set(root, "components[0]", "github_repo", "\"acme/tta\"");
	set(root, "components[0]", "github_maturity_path", "\"docs/components/neo4j/MATURITY.md\"");
	cfg = parse_ok(root);
	cr_assert(cfg->github.maturity.via_pull_request);
	cr_assert_str_eq(cfg->github.maturity.branch_prefix, "bot/mat-");
	cr_assert_str_eq(cfg->github.project.id, "PVT_kwDOAB12cd");
	cr_assert_str_eq(cfg->github.project.status_field, "Stage");
	cr_assert_str_eq(cfg->github.project.stage_options[PB_STAGE_STAGING], "Staging 🧪");
	cr_assert_str_eq(cfg->github.project.stage_options[PB_STAGE_PRODUCTION], "🚀 Production", "default kept");
	cr_assert_str_eq(cfg->github.project.stage_options[PB_STAGE_DEVELOPMENT], "🔧 Development");
	cr_assert_str_eq(cfg->github.project.current_stage_field, "Now");
	cr_assert_str_eq(cfg->github.project.last_updated_field, "Changed");
	cr_assert_str_eq(cfg->components[0].github_maturity_path, "docs/components/neo4j/MATURITY.md",
			 "a repository path, not resolved against the config folder");
	pb_config_free(cfg);
}

Test(config, github_completion_settings_are_validated)
{
	cJSON *root = base();

	set(root, "", "github", "{ \"token_env\": \"GH\", \"maturity\": { \"branch_prefix\": \"a b\", \"x\": 1 } }");
	expect_problem(root, "github.maturity.branch_prefix: \"a b\" is not a valid git branch prefix (no spaces, "
			     "~^:?*[\\, \"..\", \"//\", leading '/', '-' or '.')");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"maturity\": { \"x\": 1 } }");
	expect_problem(root, "github.maturity.x: unknown key");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"maturity\": { \"via_pull_request\": \"yes\" } }");
	expect_problem(root, "github.maturity.via_pull_request: expected boolean");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"project\": { \"status_field\": \"Status\" } }");
	expect_problem(root, "github.project.id: missing");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"project\": { \"id\": \"PVT 1\" } }");
	expect_problem(root, "github.project.id: \"PVT 1\" is not a GraphQL node id (e.g. \"PVT_kwDOAB12cd\")");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"project\": { \"id\": \"PVT_1\","
				" \"stage_options\": { \"qa\": \"QA\" } } }");
	expect_problem(root, "github.project.stage_options.qa: unknown key");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"project\": { \"id\": \"PVT_1\","
				" \"stage_options\": { \"staging\": \"\" } } }");
	expect_problem(root, "github.project.stage_options.staging: must not be empty");
	root = base();
	set(root, "", "github", "{ \"token_env\": \"GH\", \"project\": { \"id\": \"PVT_1\", \"last_updated_field\": \"\" } }");
	expect_problem(root, "github.project.last_updated_field: must not be empty");
	root = base();
	set(root, "components[0]", "github_maturity_path", "\"docs/MATURITY.md\"");
	expect_problem(root, "components[0].github_maturity_path: needs github_repo (the repository it is in)");
	root = base();
	set(root, "components[0]", "github_repo", "\"acme/tta\"");
	set(root, "components[0]", "github_maturity_path", "\"/docs/../MATURITY.md\"");
	expect_problem(root, "components[0].github_maturity_path: \"/docs/../MATURITY.md\" must be a path inside the "
			     "repository (\"docs/components/neo4j/MATURITY.md\": no leading '/', no empty, '.' or '..' parts)");
}

/* environments.<stage>.environment_url: the GitHub deployment statuses' link, a http(s) URL. */
Test(config, environment_url_is_read_and_checked)
{
	cJSON *root = base();
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;

	set(root, "components[0].environments.staging", "environment_url", "\"https://staging.example.org/neo4j\"");
	cr_assert_eq(parse_root(root, &cfg, &probs), 0);
	cr_assert_str_eq(cfg->components[0].deploy[PB_STAGE_STAGING].environment_url, "https://staging.example.org/neo4j");
	cr_assert_null(cfg->components[0].deploy[PB_STAGE_PRODUCTION].environment_url);
	pb_config_free(cfg);
	pb_problems_deinit(&probs);
	cJSON_Delete(root);
	root = base();
	set(root, "components[0].environments.staging", "environment_url", "\"ftp://x\"");
	expect_problem(root, "components[0].environments.staging.environment_url: must start with http:// or https://");
}
