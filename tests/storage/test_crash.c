/* test_crash.c — SIGKILL a writer mid-stream; every commit it reported survives, nothing is half done. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_helpers.h"

TestSuite(crash, .init = st_tmp_init, .fini = st_tmp_fini, .timeout = 100);

static const pb_state chain[] = {
	PB_ST_REQUESTED, PB_ST_VALIDATING, PB_ST_IN_REVIEW, PB_ST_APPROVED,
	PB_ST_DEPLOYING, PB_ST_OBSERVING,  PB_ST_COMPLETED,
};
#define CHAIN_LEN (sizeof(chain) / sizeof(chain[0]))

/* PB_CRASH_WRITER, else the crash_writer built next to this test executable. */
static void writer_path(char *out, size_t size)
{
	const char *env = getenv("PB_CRASH_WRITER");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(n, 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	snprintf(out, size, "%s/crash_writer", dirname(self));
	cr_assert_eq(access(out, X_OK), 0, "crash writer %s not found: %s", out, strerror(errno));
}

/*
 * Runs the writer on the test database. pause_at == 0: SIGKILL it once it has
 * reported `kill_after` commits (wherever it is by then). pause_at > 0: the
 * writer stops inside transaction pause_at and says "paused"; it is killed
 * exactly there. Returns the last commit number it reported.
 */
static long run_and_kill(long kill_after, long pause_at)
{
	char path[PATH_MAX], line[64], pause_arg[32];
	long last = 0, seen = 0;
	int out[2], in[2], status = 0;
	bool paused = false;
	FILE *rd;
	pid_t pid;

	writer_path(path, sizeof(path));
	snprintf(pause_arg, sizeof(pause_arg), "%ld", pause_at);
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(in), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(out[0]);
		close(in[1]);
		if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(in[0], STDIN_FILENO) < 0)
			_exit(126);
		close(out[1]);
		close(in[0]);
		if (pause_at > 0)
			execl(path, path, st_db_path(), pause_arg, (char *)NULL);
		else
			execl(path, path, st_db_path(), (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	rd = fdopen(out[0], "r");
	cr_assert_not_null(rd);
	while ((pause_at > 0 || seen < kill_after) && fgets(line, sizeof(line), rd)) {
		char *end = NULL;

		if (strcmp(line, "paused\n") == 0) {
			paused = true;
			break;
		}
		last = strtol(line, &end, 10);
		cr_assert(end && *end == '\n', "bad line from writer: %s", line);
		seen++;
	}
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	fclose(rd);
	close(in[1]);
	if (pause_at > 0) {
		cr_assert(paused, "writer never paused (status %d)", status);
		cr_assert_eq(seen, pause_at - 1);
	} else {
		cr_assert_eq(seen, kill_after, "writer stopped early (status %d)", status);
	}
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer exited on its own: %d",
		  status);
	return last;
}

static size_t chain_index(pb_state s)
{
	for (size_t i = 0; i < CHAIN_LEN; i++)
		if (chain[i] == s)
			return i;
	cr_assert_fail("state %s is not on the writer's path", pb_state_name(s));
	return 0;
}

/* Checks the invariants; returns the number of audit events (= commits). */
static size_t check_invariants(void)
{
	pb_state all[PB_ST_COUNT];
	pb_promotion *ps = NULL;
	size_t np = 0, total = 0;
	pb_store *st;
	pb_err err;

	if (!st_pg()) /* SQLite's file check; on PostgreSQL the server owns durability */
		cr_assert_eq(st_sql_int(st_db_path(),
					"SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
			     1, "integrity_check is not ok");
	st = st_open();
	for (int i = 0; i < PB_ST_COUNT; i++)
		all[i] = (pb_state)i;
	pb_err_init(&err);
	cr_assert_eq(pb_store_promotions_in_state(st, all, PB_ST_COUNT, &ps, &np, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_gt(np, 0);
	for (size_t i = 0; i < np; i++) {
		pb_event *ev = NULL;
		size_t ne = 0, idx = chain_index(ps[i].state);

		cr_assert_eq(pb_store_events_for_promotion(st, ps[i].id, &ev, &ne, &err), 0);
		/* No half transition: one event per step taken, in order. */
		cr_assert_eq(ne, idx + 1, "promotion #%lld is %s with %zu events", (long long)ps[i].id,
			     pb_state_name(ps[i].state), ne);
		cr_assert_str_eq(ev[0].kind, "requested", "promotion #%lld lacks its requested event",
				 (long long)ps[i].id);
		for (size_t k = 1; k < ne; k++) {
			cr_assert_str_eq(ev[k].kind, "state");
			cr_assert_str_eq(ev[k].from_state, ev[k - 1].to_state);
			cr_assert_str_eq(ev[k].to_state, pb_state_name(chain[k]));
		}
		cr_assert_str_eq(ev[ne - 1].to_state, pb_state_name(ps[i].state));
		cr_assert_eq(ps[i].observing_since > 0, idx >= chain_index(PB_ST_OBSERVING));
		total += ne;
		free(ev);
	}
	free(ps);
	/* At most one open promotion per component (the writer's components). */
	cr_assert_eq(st_sql_int(st_db_path(),
				"SELECT count(*) FROM (SELECT component FROM promotions WHERE state NOT IN"
				" ('completed','failed','rolled_back','cancelled') GROUP BY component"
				" HAVING count(*) > 1) AS dup"),
		     0);
	cr_assert_eq((int64_t)total, st_sql_int(st_db_path(), "SELECT count(*) FROM events"));
	pb_store_close(st);
	return total;
}

static void crash_once(long kill_after)
{
	long last = run_and_kill(kill_after, 0);
	size_t commits = check_invariants();

	cr_assert_eq(last, kill_after);
	/* Every commit the writer reported is durable (one event per commit). */
	cr_assert_geq((long)commits, last, "reported %ld commits, found %zu", last, commits);
}

/* Killed inside a transaction: exactly the reported commits exist, none of the half one. */
static void crash_in_tx(long pause_at)
{
	long last = run_and_kill(0, pause_at);
	size_t commits = check_invariants();

	cr_assert_eq(last, pause_at - 1);
	cr_assert_eq((long)commits, last, "expected exactly %ld commits, found %zu", last, commits);
}

Test(crash, kill_after_50) { crash_once(50); }
Test(crash, kill_after_200) { crash_once(200); }
Test(crash, kill_after_500) { crash_once(500); }
/* With 7 components and 7 commits per promotion: commits 5 and 301 insert a
 * promotion (301 into a slot freed by a completed one), 60 and 305 transition. */
Test(crash, kill_inside_insert_tx) { crash_in_tx(5); }
Test(crash, kill_inside_transition_tx) { crash_in_tx(60); }
Test(crash, kill_inside_late_insert_tx) { crash_in_tx(301); }
Test(crash, kill_inside_late_transition_tx) { crash_in_tx(305); }

/* A clean run to the end: the sanitizer build turns a leak into a non-zero exit. */
Test(crash, clean_exit_is_leak_free)
{
	char path[PATH_MAX];
	int status = 0, devnull;
	pid_t pid;

	writer_path(path, sizeof(path));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
			_exit(126);
		execl(path, path, st_db_path(), "0", "300", (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
	cr_assert_eq(check_invariants(), 300);
}

/* Restarting on the recovered database continues cleanly, several times. */
Test(crash, repeated_kills_on_the_same_database)
{
	static const long points[] = { 50, 200, 500, 120 };
	size_t before = 0;

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		long last = run_and_kill(points[i], 0);
		size_t commits = check_invariants();

		cr_assert_geq((long)commits, (long)before + last, "round %zu lost commits", i);
		before = commits;
	}
}
