/* test_runtime.c — the shared runtime: /healthz follows the storage probe, /metrics shows the pools. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_clock.h"
#include "pb_config.h"
#include "pb_str.h"
#include "runtime.h"
#include "testproc.h"

static char DIR_[64];
static pb_config *CFG;
static pb_runtime *RT;
static pthread_t LOOP;

static void *loop_main(void *arg)
{
	pb_err e;

	(void)arg;
	pb_err_init(&e);
	pb_runtime_run(RT, &e);
	return NULL;
}

static void setup(void)
{
	char json[1024];
	pb_problems probs = { 0 };
	pb_err e;

	snprintf(DIR_, sizeof(DIR_), "/tmp/promobot-rt-XXXXXX");
	cr_assert_not_null(mkdtemp(DIR_));
	snprintf(json, sizeof(json),
		 "{\"storage\": {\"path\": \"%s/promobot.db\"}, \"chat\": {\"platform\": \"console\"},"
		 " \"http\": {\"listen\": \"127.0.0.1:0\", \"health_write_s\": 1},"
		 " \"schedule\": {\"probe_interval_s\": 1}, \"ha\": {\"leader_lease_s\": 3},"
		 " \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\"]}},"
		 " \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"stage\": \"development\","
		 "   \"revision\": {\"value\": \"v1\"}, \"checks\": []}]}",
		 DIR_);
	cr_assert_eq(pb_config_parse(json, strlen(json), DIR_, &CFG, &probs), 0);
	pb_problems_deinit(&probs);
	pb_err_init(&e);
	cr_assert_eq(pb_runtime_new(CFG, "test", &RT, &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(pb_runtime_start(RT, &e), 0, "%s", pb_err_text(&e));
	cr_assert_gt(pb_runtime_admin_port(RT), 0);
	cr_assert_eq(pthread_create(&LOOP, NULL, loop_main, NULL), 0);
}

static void teardown(void)
{
	pb_runtime_stop(RT);
	pthread_join(LOOP, NULL);
	pb_runtime_free(RT);
	pb_config_free(CFG);
	tp_remove_dir(DIR_);
}

TestSuite(runtime, .init = setup, .fini = teardown, .timeout = 90);

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	pb_buf_append(ud, p, size * n);
	return size * n;
}

/* GET path; returns the HTTP status, the body in *body. */
static long get(const char *path, pb_buf *body)
{
	char url[128];
	CURL *h = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", pb_runtime_admin_port(RT), path);
	pb_buf_reset(body);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

/* Asks /healthz until it answers `want` (the probe runs every second), bounded. */
static bool healthz_becomes(long want, pb_buf *body, int timeout_ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + timeout_ms;

	while (pb_clock_mono_ms(NULL) < deadline) {
		struct timespec pause = { 0, 50 * 1000000L };

		if (get("/healthz", body) == want)
			return true;
		nanosleep(&pause, NULL); /* polling an HTTP endpoint, not synchronising threads */
	}
	return false;
}

Test(runtime, healthz_turns_503_when_storage_takes_no_writes_and_recovers)
{
	pb_buf body;
	char db[128];
	sqlite3 *h;

	pb_buf_init(&body);
	cr_assert(healthz_becomes(200, &body, 20000), "never healthy: %s", pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "\"ok\""), "%s", pb_buf_str(&body));
	/* another process holds the database's write lock: the probe's write cannot finish */
	snprintf(db, sizeof(db), "%s/promobot.db", DIR_);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	/* the runtime may be mid-write (a probe, a sweep): wait for it like any writer, then hold the lock */
	sqlite3_busy_timeout(h, 10000);
	cr_assert_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	cr_assert(healthz_becomes(503, &body, 20000), "still healthy with storage locked: %s", pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "storage"), "the reason names storage: %s", pb_buf_str(&body));
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	cr_assert(healthz_becomes(200, &body, 30000), "did not recover: %s", pb_buf_str(&body));
	pb_buf_deinit(&body);
}

Test(runtime, metrics_show_the_pools_and_the_probe)
{
	pb_buf body;

	pb_buf_init(&body);
	cr_assert(healthz_becomes(200, &body, 20000), "%s", pb_buf_str(&body)); /* a probe has run */
	cr_assert_eq(get("/metrics", &body), 200);
	cr_expect(strstr(pb_buf_str(&body), "promobot_queue_depth{pool=\"background\"}"), "%s", pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "promobot_jobs_dropped_total{pool=\"background\"} 0"), "%s",
		  pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "process_resident_memory_bytes"), "%s", pb_buf_str(&body));
	pb_buf_deinit(&body);
}

/* Polls (bounded) until pb_runtime_is_leader(rt) == want. */
static bool leader_becomes(pb_runtime *rt, bool want, int timeout_ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + timeout_ms;

	while (pb_clock_mono_ms(NULL) < deadline) {
		struct timespec pause = { 0, 20 * 1000000L };

		if (pb_runtime_is_leader(rt) == want)
			return true;
		nanosleep(&pause, NULL); /* polling a flag with a bound, not synchronising */
	}
	return false;
}

/* Runs `sql` on the test's own connection to the runtime's database. */
static void db_exec(const char *sql)
{
	char db[128];
	sqlite3 *h;

	snprintf(db, sizeof(db), "%s/promobot.db", DIR_);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

/*
 * The only replica leads (/healthz role, promobot_leader 1). When another
 * replica holds the scheduler lease (its row, as another process would
 * write it) this one steps down at its next renewal and follows; when that
 * lease goes, it leads again. (Two runtimes in one process would share
 * libwebsockets' global TLS state: the two-process failover is in tests/e2e.)
 */
Test(runtime, the_leader_steps_down_when_another_replica_holds_the_lease_and_leads_again_after)
{
	pb_buf body;

	pb_buf_init(&body);
	cr_assert(leader_becomes(RT, true, 20000), "the only replica never led");
	cr_assert(healthz_becomes(200, &body, 20000), "%s", pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "\"role\":\"leader\""), "%s", pb_buf_str(&body));
	cr_assert_eq(get("/metrics", &body), 200);
	cr_expect(strstr(pb_buf_str(&body), "promobot_leader 1"), "%s", pb_buf_str(&body));
	db_exec("UPDATE leases SET owner = 'other-host:1:0:slack-scheduler', expires_at = 4102444800"
		" WHERE name = 'scheduler'");
	cr_assert(leader_becomes(RT, false, 5000), "still leading under another replica's lease");
	cr_assert(healthz_becomes(200, &body, 20000), "%s", pb_buf_str(&body));
	cr_expect(strstr(pb_buf_str(&body), "\"role\":\"follower\""), "%s", pb_buf_str(&body));
	cr_assert_eq(get("/metrics", &body), 200);
	cr_expect(strstr(pb_buf_str(&body), "promobot_leader 0"), "%s", pb_buf_str(&body));
	db_exec("DELETE FROM leases WHERE name = 'scheduler'");
	cr_assert(leader_becomes(RT, true, 5000), "did not lead again once the lease was free");
	pb_buf_deinit(&body);
}
