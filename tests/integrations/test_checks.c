/* test_checks.c — Criterion suite 'integrations': the local check runner (exit codes, signals, timeouts, output cap, coverage). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb_checks.h"
#include "pb_config.h"

static pb_check_result run(const char *const *argv, int timeout_s, size_t max_output,
			   const char *regex, const char *cwd)
{
	pb_check_spec spec = { .argv = argv, .cwd = cwd, .timeout_s = timeout_s,
			       .max_output = max_output, .coverage_regex = regex };
	pb_check_result r;

	cr_assert_eq(pb_check_run(&spec, &r), 0);
	cr_assert_not_null(r.output);
	cr_assert_eq(r.output[r.output_len], '\0', "output is NUL-terminated at output_len");
	return r;
}

/* First line of the output as a pid (the scripts below print $$ / $! first). */
static pid_t pid_on_line(const char *out, int line)
{
	const char *p = out;
	char *end;
	long v;

	for (int i = 0; i < line && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	cr_assert_not_null(p, "no line %d in output: %s", line, out);
	v = strtol(p, &end, 10);
	cr_assert(end != p && *end == '\n' && v > 1, "line %d is not a pid: %s", line, out);
	return (pid_t)v;
}

Test(integrations, check_exit_zero_passes)
{
	const char *const argv[] = { "sh", "-c", "echo hello; echo oops >&2", NULL };
	pb_check_result r = run(argv, 30, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(pb_check_passed(&r));
	cr_assert_str_eq(r.output, "hello\noops\n", "stdout and stderr share one pipe");
	cr_assert_eq(r.output_dropped, 0);
	cr_assert_eq(r.coverage, -1);
	cr_assert_geq(r.duration_ms, 0);
	pb_check_result_deinit(&r);
}

Test(integrations, check_exit_code_is_reported)
{
	const char *const one[] = { "false", NULL };
	const char *const three[] = { "sh", "-c", "exit 3", NULL };
	pb_check_result r = run(one, 30, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 1);
	cr_assert_not(pb_check_passed(&r));
	pb_check_result_deinit(&r);
	r = run(three, 30, 4096, NULL, NULL);
	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 3);
	pb_check_result_deinit(&r);
}

Test(integrations, check_killed_by_signal)
{
	const char *const argv[] = { "sh", "-c", "kill -TERM $$", NULL };
	pb_check_result r = run(argv, 30, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_SIGNALLED);
	cr_assert_eq(r.signal, SIGTERM);
	cr_assert_not(pb_check_passed(&r));
	pb_check_result_deinit(&r);
}

Test(integrations, check_stdin_is_dev_null)
{
	/* cat would block forever on an inherited terminal/pipe. */
	const char *const argv[] = { "cat", NULL };
	pb_check_result r = run(argv, 30, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_eq(r.output_len, 0);
	pb_check_result_deinit(&r);
}

Test(integrations, check_timeout_kills_the_process_group)
{
	const char *const argv[] = { "sh", "-c", "echo $$; exec sleep 30", NULL };
	pb_check_result r = run(argv, 1, 4096, NULL, NULL);
	pid_t pgid;

	cr_assert_eq(r.outcome, PB_CHECK_TIMEOUT);
	cr_assert_not(pb_check_passed(&r));
	pgid = pid_on_line(r.output, 0);
	/* The child led its own group; after the kill and reap nothing is left in it. */
	cr_assert_eq(kill(-pgid, 0), -1, "process group %d still exists", (int)pgid);
	cr_assert_eq(errno, ESRCH);
	pb_check_result_deinit(&r);
}

/* Grandchildren are re-parented to us (subreaper), so we can reap them and see how they died. */
static void expect_killed_grandchild(pid_t gpid)
{
	int status = 0;

	cr_assert_eq(waitpid(gpid, &status, 0), gpid, "grandchild %d: %s", (int)gpid,
		     strerror(errno));
	cr_assert(WIFSIGNALED(status), "grandchild was not killed");
	cr_assert_eq(WTERMSIG(status), SIGKILL);
}

Test(integrations, check_timeout_kills_grandchild_holding_the_pipe)
{
	/* The shell waits; its background sleep also holds stdout open. */
	const char *const argv[] = { "sh", "-c", "echo $$; sleep 30 & echo $!; wait", NULL };
	pb_check_result r;
	pid_t pgid, gpid;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	r = run(argv, 1, 4096, NULL, NULL);
	cr_assert_eq(r.outcome, PB_CHECK_TIMEOUT);
	pgid = pid_on_line(r.output, 0);
	gpid = pid_on_line(r.output, 1);
	expect_killed_grandchild(gpid);
	cr_assert_eq(kill(-pgid, 0), -1);
	cr_assert_eq(errno, ESRCH);
	pb_check_result_deinit(&r);
}

Test(integrations, check_exit_kills_background_job_holding_the_pipe)
{
	/* The shell exits at once; its background job would keep the pipe open for 30 s. */
	const char *const argv[] = { "sh", "-c", "sleep 30 & echo $!; exit 0", NULL };
	pb_check_result r;
	pid_t gpid;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	r = run(argv, 60, 4096, NULL, NULL);
	cr_assert_eq(r.outcome, PB_CHECK_EXITED, "the check itself finished");
	cr_assert_eq(r.exit_code, 0);
	gpid = pid_on_line(r.output, 0);
	expect_killed_grandchild(gpid);
	pb_check_result_deinit(&r);
}

Test(integrations, check_endless_output_still_times_out)
{
	/* yes writes as fast as we can read: the deadline must still be honoured. */
	const char *const argv[] = { "yes", "promobot", NULL };
	pb_check_result r = run(argv, 1, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_TIMEOUT);
	cr_assert_eq(r.output_len, 4096);
	cr_assert_gt(r.output_dropped, 0);
	cr_assert_eq(strncmp(r.output, "promobot\npromobot\n", 18), 0);
	pb_check_result_deinit(&r);
}

Test(integrations, check_does_not_inherit_our_descriptors)
{
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	char script[128];
	const char *argv[] = { "sh", "-c", script, NULL };
	pb_check_result r;

	cr_assert_geq(fd, 3);
	snprintf(script, sizeof(script),
		 "if [ -e /proc/self/fd/%d ]; then echo leaked; else echo clean; fi", fd);
	r = run(argv, 30, 4096, NULL, NULL);
	cr_assert_str_eq(r.output, "clean\n");
	pb_check_result_deinit(&r);
	close(fd);
}

Test(integrations, check_works_with_stdio_closed)
{
	/* A daemonised bot may have no stdin/stdout: the pipes then land on 0 and 1. */
	const char *const argv[] = { "sh", "-c", "echo out; echo err >&2; cat", NULL };
	pb_check_result r;

	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	r = run(argv, 30, 4096, NULL, NULL);
	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_str_eq(r.output, "out\nerr\n");
	pb_check_result_deinit(&r);
}

Test(integrations, check_huge_output_is_capped_and_counted)
{
	const char *const argv[] = { "head", "-c", "50000000", "/dev/zero", NULL };
	pb_check_result r = run(argv, 120, 65536, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_eq(r.exit_code, 0, "the child never blocked on a full pipe");
	cr_assert_eq(r.output_len, 65536);
	cr_assert_eq(r.output_dropped, 50000000 - 65536);
	pb_check_result_deinit(&r);
}

Test(integrations, check_missing_binary_is_not_found)
{
	const char *const argv[] = { "pb-no-such-binary-xyz", "--version", NULL };
	const char *const path[] = { "/nonexistent/bin/tool", NULL };
	pb_check_result r = run(argv, 30, 4096, NULL, NULL);

	cr_assert_eq(r.outcome, PB_CHECK_NOT_FOUND);
	cr_assert_str_eq(r.error, "pb-no-such-binary-xyz: not found");
	cr_assert_not(pb_check_passed(&r));
	pb_check_result_deinit(&r);
	r = run(path, 30, 4096, NULL, NULL);
	cr_assert_eq(r.outcome, PB_CHECK_NOT_FOUND, "exec failure comes back through the pipe");
	cr_assert_str_eq(r.error, "/nonexistent/bin/tool: not found");
	pb_check_result_deinit(&r);
}

Test(integrations, check_not_executable_is_reported)
{
	char dir[] = "/tmp/pb-checks-test-XXXXXX";
	char file[PATH_MAX];
	const char *const argv[] = { "./script", NULL };
	pb_check_result r;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/script", dir);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\necho hi\n", f);
	fclose(f);
	cr_assert_eq(chmod(file, 0644), 0);
	r = run(argv, 30, 4096, NULL, dir);
	/* root may execute nothing without an x bit either: EACCES. */
	cr_assert_eq(r.outcome, PB_CHECK_NOT_FOUND);
	cr_assert_str_eq(r.error, "./script: permission denied");
	pb_check_result_deinit(&r);
	cr_assert_eq(chmod(file, 0755), 0);
	r = run(argv, 30, 4096, NULL, dir);
	cr_assert_eq(r.outcome, PB_CHECK_EXITED, "a relative argv[0] runs from cwd");
	cr_assert_str_eq(r.output, "hi\n");
	pb_check_result_deinit(&r);
	unlink(file);
	rmdir(dir);
}

Test(integrations, check_coverage_extraction)
{
	const char *const argv[] = { "printf", "Name  Stmts  Miss  Cover\nTOTAL   1234   210   83%%\n",
				     NULL };
	const char *const dec[] = { "printf", "TOTAL 77.5%%\n", NULL };
	const char *const none[] = { "echo", "no coverage here", NULL };
	pb_check_result r = run(argv, 30, 4096, "TOTAL.*[^0-9.]([0-9]+(\\.[0-9]+)?)%", NULL);

	cr_assert_float_eq(r.coverage, 83.0, 1e-9);
	pb_check_result_deinit(&r);
	r = run(dec, 30, 4096, "TOTAL[^0-9]*([0-9]+(\\.[0-9]+)?)%", NULL);
	cr_assert_float_eq(r.coverage, 77.5, 1e-9);
	pb_check_result_deinit(&r);
	r = run(none, 30, 4096, "TOTAL[^0-9]*([0-9]+(\\.[0-9]+)?)%", NULL);
	cr_assert_eq(r.coverage, -1, "no match gives -1");
	cr_assert(pb_check_passed(&r));
	pb_check_result_deinit(&r);
	r = run(argv, 30, 4096, NULL, NULL);
	cr_assert_eq(r.coverage, -1, "no regex gives -1");
	pb_check_result_deinit(&r);
}

Test(integrations, check_coverage_that_is_no_percentage_is_none)
{
	/* a regex loose enough to match words: inf and nan must not pass a coverage gate, nor 250 % */
	const char *const outs[] = { "TOTAL inf%%\n", "TOTAL nan%%\n", "TOTAL 1e999%%\n", "TOTAL 250%%\n",
				     "TOTAL -5%%\n" };

	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		const char *const argv[] = { "printf", outs[i], NULL };
		pb_check_result r = run(argv, 30, 4096, "TOTAL ([^%]*)%", NULL);

		cr_expect_eq(r.coverage, -1, "%s gave %g", outs[i], r.coverage);
		pb_check_result_deinit(&r);
	}
}

Test(integrations, check_cwd_is_honoured)
{
	char dir[] = "/tmp/pb-checks-test-XXXXXX";
	char expect[PATH_MAX + 2];
	const char *const argv[] = { "pwd", NULL };
	const char *const bad[] = { "true", NULL };
	pb_check_result r;

	cr_assert_not_null(mkdtemp(dir));
	r = run(argv, 30, 4096, NULL, dir);
	snprintf(expect, sizeof(expect), "%s\n", dir);
	cr_assert_eq(r.outcome, PB_CHECK_EXITED);
	cr_assert_str_eq(r.output, expect);
	pb_check_result_deinit(&r);
	rmdir(dir);
	r = run(bad, 30, 4096, NULL, "/nonexistent/dir");
	cr_assert_eq(r.outcome, PB_CHECK_ERROR);
	cr_assert_str_eq(r.error, "cannot enter /nonexistent/dir: No such file or directory");
	pb_check_result_deinit(&r);
}

Test(integrations, check_invalid_arguments)
{
	const char *const empty[] = { NULL };
	const char *const argv[] = { "true", NULL };
	pb_check_spec spec = { .argv = empty, .timeout_s = 1, .max_output = 10 };
	pb_check_result r;

	cr_assert_lt(pb_check_run(&spec, &r), 0);
	spec.argv = argv;
	spec.timeout_s = 0;
	cr_assert_lt(pb_check_run(&spec, &r), 0);
	spec.timeout_s = 1;
	spec.max_output = 0;
	cr_assert_lt(pb_check_run(&spec, &r), 0);
	cr_assert_lt(pb_check_run(NULL, &r), 0);
	pb_check_result_deinit(&r);
}

/* The example config's demo checks are real commands: run them all. */
static void run_component_checks(const pb_component *c, double *coverage)
{
	*coverage = -1;
	for (size_t i = 0; i < c->nchecks; i++) {
		const pb_check_cfg *chk = &c->checks[i];
		pb_check_spec spec = { .argv = (const char *const *)chk->argv, .cwd = c->workdir,
				       .timeout_s = chk->timeout_s, .max_output = chk->max_output,
				       .coverage_regex = chk->coverage_regex };
		pb_check_result r;

		cr_assert_eq(pb_check_run(&spec, &r), 0);
		cr_assert(pb_check_passed(&r), "%s/%s failed: %s %s", c->id, chk->name, r.error,
			  r.output);
		if (chk->criterion == PB_CRIT_COVERAGE)
			*coverage = r.coverage;
		pb_check_result_deinit(&r);
	}
}

Test(integrations, example_config_demo_checks_pass_and_report_coverage)
{
	const char *src = getenv("PROMOBOT_SRC");
	char path[PATH_MAX];
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	double cov;

	cr_assert_not_null(src, "PROMOBOT_SRC must be set (meson test_env)");
	snprintf(path, sizeof(path), "%s/config/promobot.example.json", src);
	cr_assert_eq(pb_config_load(path, &cfg, &probs), 0);
	unsetenv("DEMO_LOW_COVERAGE");
	unsetenv("DEMO_FAIL");
	run_component_checks(pb_config_component(cfg, "neo4j"), &cov);
	cr_assert_float_eq(cov, 83.0, 1e-9);
	run_component_checks(pb_config_component(cfg, "graph-api"), &cov);
	cr_assert_geq(cov, cfg->policy.coverage_min[PB_STAGE_STAGING]);
	/* The demo knob drives one component below the staging threshold. */
	cr_assert_eq(setenv("DEMO_LOW_COVERAGE", "graph-api", 1), 0);
	run_component_checks(pb_config_component(cfg, "graph-api"), &cov);
	cr_assert_lt(cov, cfg->policy.coverage_min[PB_STAGE_STAGING]);
	unsetenv("DEMO_LOW_COVERAGE");
	pb_config_free(cfg);
	pb_problems_deinit(&probs);
}

typedef struct pinned_run {
	cpu_set_t pin;
	pb_check_result r;
	char thread_cpus[64];
} pinned_run;

/* "Cpus_allowed_list:\t0-1\n" of a /proc status text, as "0-1". */
static void cpus_allowed(const char *status, char *out, size_t size)
{
	const char *at = strstr(status, "Cpus_allowed_list:\t");

	cr_assert_not_null(at, "no Cpus_allowed_list in: %s", status);
	at += strlen("Cpus_allowed_list:\t");
	snprintf(out, size, "%.*s", (int)strcspn(at, "\n"), at);
}

/* The same, of a /proc status file (no size to stat: read line by line). */
static void cpus_allowed_of(const char *path, char *out, size_t size)
{
	char line[256];
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot read %s", path);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:\t", 19))
			cpus_allowed(line, out, size);
	fclose(f);
	cr_assert(out[0], "no Cpus_allowed_list in %s", path);
}

/* A command worker pinned to the lanes' CPU (bot/lanes.h) runs a check. */
static void *run_pinned(void *arg)
{
	static const char *const argv[] = { "cat", "/proc/self/status", NULL };
	pinned_run *p = arg;
	char path[64];

	cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof(p->pin), &p->pin), 0);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
	cpus_allowed_of(path, p->thread_cpus, sizeof(p->thread_cpus));
	p->r = run(argv, 30, 65536, NULL, NULL);
	return NULL;
}

Test(integrations, a_check_started_by_a_pinned_worker_gets_the_process_cpus)
{
	pinned_run p;
	cpu_set_t all;
	pthread_t t;
	char child[64], want[64];

	cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&p.pin);
	for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
		if (CPU_ISSET(cpu, &all)) {
			CPU_SET(cpu, &p.pin); /* the last CPU, as worker_pin does with one lane */
			break;
		}
	cpus_allowed_of("/proc/self/status", want, sizeof(want));
	cr_assert_eq(pthread_create(&t, NULL, run_pinned, &p), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert(pb_check_passed(&p.r), "%s", p.r.output);
	cpus_allowed(p.r.output, child, sizeof(child));
	if (CPU_COUNT(&all) > 1)
		cr_assert_str_neq(p.thread_cpus, want, "the worker thread itself is pinned (%s)", p.thread_cpus);
	cr_assert_str_eq(child, want, "the check runs on the process's CPUs %s, not the worker's %s", want,
			 p.thread_cpus);
	pb_check_result_deinit(&p.r);
}
