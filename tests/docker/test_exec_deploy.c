/* test_exec_deploy.c — deploy through the real `promobot exec` against a real engine: flow, lock, refusals. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_config.h"
#include "fixture.h"
#include "pb_str.h"
#include "testproc.h"

#define PW "exec-deploy-pw-77"

static char dir[256], config_path[320], component[96];
static char *env_secrets[] = { "PB_TEST_NEO4J_AUTH=neo4j/" PW, "PB_TEST_NEO4J_PW=" PW, NULL };

static cJSON *check(const char *name, const char *criterion, const char *const *argv)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "criterion", criterion);
	cJSON_AddItemToObject(c, "argv", fx_str_array(argv));
	return c;
}

static void write_config(const char *docker_host, int port)
{
	cJSON *root = cJSON_CreateObject(), *comps, *c, *checks, *envs;
	char db[300];

	snprintf(db, sizeof(db), "%s/promobot.db", dir);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "storage"), "path", db);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "chat"), "platform", "console");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "docker"), "host", docker_host);
	cJSON_AddItemToObject(root, "users", fx_users(false));
	comps = cJSON_AddArrayToObject(root, "components");
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(comps, c);
	cJSON_AddStringToObject(c, "id", component);
	cJSON_AddStringToObject(c, "name", "Graph DB under test");
	cJSON_AddStringToObject(c, "stage", "development");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "revision"), "value", "v-test");
	checks = cJSON_AddArrayToObject(c, "checks");
	cJSON_AddItemToArray(checks, check("unit", "tests", (const char *[]){ "true", NULL }));
	cJSON *cov = check("cov", "coverage", (const char *[]){ "echo", "TOTAL 100 5 95%", NULL });
	cJSON_AddStringToObject(cov, "coverage_regex", "TOTAL.* ([0-9]+)%");
	cJSON_AddItemToArray(checks, cov);
	cJSON_AddItemToArray(checks, check("lint", "lint", (const char *[]){ "true", NULL }));
	cJSON_AddItemToArray(checks, check("types", "types", (const char *[]){ "true", NULL }));
	cJSON_AddItemToArray(checks, check("sec", "security", (const char *[]){ "true", NULL }));
	envs = cJSON_AddObjectToObject(c, "environments");
	cJSON_AddItemToObject(envs, "staging", fx_neo4j_staging(component, port));
	snprintf(config_path, sizeof(config_path), "%s/promobot.json", dir);
	e2e_config_write(config_path, root);
	cJSON_Delete(root);
}

static int exec_as(const char *user, const char *cmd, pb_buf *out)
{
	char *args[] = { "exec", "--config", config_path, "--as", (char *)user, (char *)cmd, NULL };

	return tp_run(args, env_secrets, NULL, out);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/promobot-xd-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(component, sizeof(component), "%sx%ld", fx_prefix(), (long)getpid()); /* unique per test process */
	write_config(getenv("DOCKER_HOST"), fx_free_port());
}

static void teardown(void)
{
	tp_remove_dir(dir);
}

TestSuite(exec_deploy, .init = setup, .fini = teardown, .timeout = 300);

#define EXPECT_IN(buf, needle) \
	cr_expect(strstr(pb_buf_str(&(buf)), (needle)), "missing \"%s\" in:\n%s", (needle), pb_buf_str(&(buf)))

static void approve_it(pb_buf *out)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "/promote request %s staging", component);
	cr_assert_eq(exec_as("alice", cmd, out), 0, "%s", out->data);
	snprintf(cmd, sizeof(cmd), "/promote validate %s", component);
	cr_assert_eq(exec_as("alice", cmd, out), 0, "%s", out->data);
	snprintf(cmd, sizeof(cmd), "/promote approve %s", component);
	cr_assert_eq(exec_as("bob", cmd, out), 0, "%s", out->data);
}

Test(exec_deploy, full_flow_deploy_then_rollback)
{
	char cmd[200];
	pb_buf out;

	pb_buf_init(&out);
	snprintf(cmd, sizeof(cmd), "/promote deploy %s", component);
	cr_assert_eq(exec_as("carol", cmd, &out), 1, "deploying before approval is refused");
	EXPECT_IN(out, "has no open promotion");
	snprintf(cmd, sizeof(cmd), "/promote request %s staging", component);
	cr_assert_eq(exec_as("alice", cmd, &out), 0, "%s", out.data);
	snprintf(cmd, sizeof(cmd), "/promote deploy %s", component);
	cr_assert_eq(exec_as("carol", cmd, &out), 1, "unapproved promotion refused");
	EXPECT_IN(out, "is requested: deploy is not possible now");
	snprintf(cmd, sizeof(cmd), "/promote validate %s", component);
	cr_assert_eq(exec_as("alice", cmd, &out), 0, "%s", out.data);
	snprintf(cmd, sizeof(cmd), "/promote approve %s", component);
	cr_assert_eq(exec_as("bob", cmd, &out), 0, "%s", out.data);
	snprintf(cmd, sizeof(cmd), "/promote deploy %s --dry-run", component);
	cr_assert_eq(exec_as("carol", cmd, &out), 0, "%s", out.data);
	EXPECT_IN(out, "NEO4J_AUTH");
	cr_expect_null(strstr(out.data, PW), "dry run never shows secret values");
	snprintf(cmd, sizeof(cmd), "/promote deploy %s", component);
	cr_assert_eq(exec_as("carol", cmd, &out), 0, "%s", out.data);
	EXPECT_IN(out, "observing");
	cr_expect_null(strstr(out.data, PW), "the secret never reaches chat");
	snprintf(cmd, sizeof(cmd), "/promote history %s", component);
	cr_assert_eq(exec_as("bob", cmd, &out), 0);
	EXPECT_IN(out, "approved → deploying");
	EXPECT_IN(out, "deploying → observing");
	snprintf(cmd, sizeof(cmd), "/promote rollback %s", component);
	cr_assert_eq(exec_as("carol", cmd, &out), 0, "%s", out.data);
	snprintf(cmd, sizeof(cmd), "/promote history %s", component);
	cr_assert_eq(exec_as("bob", cmd, &out), 0);
	EXPECT_IN(out, "observing → rolled_back");
	pb_buf_deinit(&out);
}

Test(exec_deploy, two_concurrent_deploys_one_runs)
{
	char cmd[200], *args[] = { "exec", "--config", config_path, "--as", "carol", cmd, NULL };
	pb_buf out1, out2;
	int fd1, fd2, s1, s2;
	pid_t p1, p2;

	pb_buf_init(&out1);
	pb_buf_init(&out2);
	approve_it(&out1);
	snprintf(cmd, sizeof(cmd), "/promote deploy %s", component);
	p1 = tp_start(args, env_secrets, NULL, &fd1);
	p2 = tp_start(args, env_secrets, NULL, &fd2);
	s1 = tp_finish(p1, fd1, &out1);
	s2 = tp_finish(p2, fd2, &out2);
	cr_assert_eq(s1 + s2, 1, "exactly one deploy runs (got %d and %d):\n%s\n---\n%s", s1, s2, out1.data, out2.data);
	/* the loser is refused either by the lock (overlap) or by the state (it came second) */
	pb_buf *lost = s1 ? &out1 : &out2;
	cr_expect(strstr(lost->data, "is busy: deploy by") || strstr(lost->data, "deploy is not possible now"),
		  "%s", lost->data);
	pb_buf_deinit(&out1);
	pb_buf_deinit(&out2);
}

Test(exec_deploy, unreachable_engine_changes_nothing)
{
	char cmd[200], *env[] = { "DOCKER_HOST=unix:///nonexistent/docker.sock", env_secrets[0], env_secrets[1], NULL };
	char *args[] = { "exec", "--config", config_path, "--as", "carol", cmd, NULL };
	pb_buf out;

	pb_buf_init(&out);
	approve_it(&out);
	snprintf(cmd, sizeof(cmd), "/promote deploy %s", component);
	cr_assert_eq(tp_run(args, env, NULL, &out), 1, "%s", out.data);
	EXPECT_IN(out, "/nonexistent/docker.sock");
	snprintf(cmd, sizeof(cmd), "/promote status %s", component);
	cr_assert_eq(exec_as("bob", cmd, &out), 0);
	EXPECT_IN(out, "State: approved");
	pb_buf_deinit(&out);
}

int main(int argc, char *argv[])
{
	return fx_main(argc, argv, "docker/exec_deploy");
}
