/* test_samples.c — observation storage: samples round trip, one per slot, monitor state, the outbox, rollups, retention. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(samples, .init = st_fixture_init, .fini = st_fixture_fini);

static pb_sample sample_at(int64_t promotion_id, int64_t slot, pb_sample_state state, int32_t latency_us)
{
	pb_sample s;

	memset(&s, 0, sizeof(s));
	s.promotion_id = promotion_id;
	s.slot = slot;
	s.state = (uint8_t)state;
	s.cls = state == PB_SAMPLE_DOWN ? PB_CHK_TIMEOUT : PB_CHK_OK;
	s.latency_us = latency_us;
	s.cpu_dpct = -1;
	s.mem_kb = -1;
	return s;
}

/* Records in one transaction as the scheduler does; returns the record's code. */
static int record(const pb_sample *s, const pb_monitor_state *ms)
{
	pb_err err;
	int r;

	pb_err_init(&err);
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	r = pb_store_sample_record(st_store, s, ms, &err);
	if (r)
		pb_store_rollback(st_store);
	else
		cr_assert_eq(pb_store_commit(st_store, &err), 0, "%s", pb_err_text(&err));
	return r;
}

Test(samples, every_field_round_trips_and_none_figures_stay_none)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_monitor_state ms;
	pb_sample a = sample_at(id, ST_NOW, PB_SAMPLE_UP, 4123), b = sample_at(id, ST_NOW + 60, PB_SAMPLE_DOWN, -1);
	pb_sample *got = NULL;
	size_t n = 0;

	cr_assert_eq(pb_store_monitor_get(st_store, id, &ms, NULL), 0);
	cr_assert_eq(ms.checks, 0);
	cr_assert_eq(ms.restart_count, -1, "a promotion never checked has no known restart count");
	a.cpu_dpct = 12345;
	a.mem_kb = 524288;
	a.log_critical = 3;
	a.log_warning = 65535;
	a.flags = PB_SAMPLE_F_STATS | PB_SAMPLE_F_OOM | PB_SAMPLE_F_RESTART | PB_SAMPLE_F_UNHEALTHY;
	a.restarts = 255;
	a.ooms = 2;
	b.cls = PB_CHK_AUTH;
	ms.checks = 1;
	ms.events_ns = 1796586056704562539LL;
	cr_assert_eq(record(&a, &ms), 0);
	ms.checks = 2;
	cr_assert_eq(record(&b, &ms), 0);

	cr_assert_eq(pb_store_samples_range(st_store, id, ST_NOW, ST_NOW + 120, &got, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(got[0].slot, ST_NOW);
	cr_assert_eq(got[0].promotion_id, id);
	cr_assert_eq(got[0].state, PB_SAMPLE_UP);
	cr_assert_eq(got[0].latency_us, 4123);
	cr_assert_eq(got[0].cpu_dpct, 12345);
	cr_assert_eq(got[0].mem_kb, 524288);
	cr_assert_eq(got[0].log_critical, 3);
	cr_assert_eq(got[0].log_warning, 65535);
	cr_assert_eq(got[0].flags, PB_SAMPLE_F_STATS | PB_SAMPLE_F_OOM | PB_SAMPLE_F_RESTART | PB_SAMPLE_F_UNHEALTHY);
	cr_assert_eq(got[0].restarts, 255);
	cr_assert_eq(got[0].ooms, 2);
	cr_assert_eq(pb_sample_restarts(&got[0]), 255);
	cr_assert_eq(got[1].restarts + got[1].ooms, 0);
	cr_assert_eq(pb_sample_restarts(&got[1]), 0);
	cr_assert_eq(got[1].state, PB_SAMPLE_DOWN);
	cr_assert_eq(got[1].cls, PB_CHK_AUTH);
	cr_assert_eq(got[1].latency_us, -1);
	cr_assert_eq(got[1].cpu_dpct, -1);
	cr_assert_eq(got[1].mem_kb, -1);
	cr_assert_eq(got[1].log_critical + got[1].log_warning, 0);
	free(got);
	cr_assert_eq(pb_store_monitor_get(st_store, id, &ms, NULL), 0);
	cr_assert_eq(ms.checks, 2);
	cr_assert_eq(ms.events_ns, 1796586056704562539LL, "the events cursor keeps its nanoseconds");
	cr_assert_str_eq(pb_check_class_name(PB_CHK_TIMEOUT), "probe timeout");
}

Test(samples, a_slot_is_recorded_once_and_a_rerun_changes_nothing)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_monitor_state ms, got;
	pb_sample a = sample_at(id, ST_NOW, PB_SAMPLE_UP, 1000), again = sample_at(id, ST_NOW, PB_SAMPLE_DOWN, -1);
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_monitor_get(st_store, id, &ms, NULL), 0);
	ms.checks = 1;
	ms.health = PB_SAMPLE_UP;
	cr_assert_eq(record(&a, &ms), 0);
	ms.checks = 99;
	ms.health = PB_SAMPLE_DOWN;
	cr_assert_eq(pb_store_begin(st_store, &err), 0);
	cr_assert_eq(pb_store_sample_record(st_store, &again, &ms, &err), PB_E_CONFLICT);
	cr_assert(!err.set, "an expected conflict carries no text");
	pb_store_rollback(st_store);
	cr_assert_eq(pb_store_monitor_get(st_store, id, &got, NULL), 0);
	cr_assert_eq(got.checks, 1, "the state written with the first sample stays");
	cr_assert_eq(got.health, PB_SAMPLE_UP);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM samples"), 1);
}

Test(samples, range_is_half_open_and_prune_keeps_newer_slots)
{
	int64_t id = st_promotion(st_store, "neo4j", 2), other = st_promotion(st_store, "graph-api", 2);
	pb_monitor_state ms;
	pb_sample *got = NULL;
	size_t n = 0;
	int64_t deleted = 0;

	cr_assert_eq(pb_store_monitor_get(st_store, id, &ms, NULL), 0);
	for (int i = 0; i < 10; i++) {
		pb_sample s = sample_at(id, ST_NOW + i * 60, PB_SAMPLE_UP, 100 + i);
		pb_sample t = sample_at(other, ST_NOW + i * 60, PB_SAMPLE_DOWN, -1);

		cr_assert_eq(record(&s, &ms), 0);
		ms.promotion_id = other;
		cr_assert_eq(record(&t, &ms), 0);
		ms.promotion_id = id;
	}
	cr_assert_eq(pb_store_samples_range(st_store, id, ST_NOW + 60, ST_NOW + 180, &got, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(got[0].latency_us, 101);
	cr_assert_eq(got[1].latency_us, 102);
	free(got);
	cr_assert_eq(pb_store_samples_prune(st_store, ST_NOW + 300, &deleted, NULL), 0);
	cr_assert_eq(deleted, 10, "5 old slots of each promotion");
	cr_assert_eq(pb_store_samples_range(st_store, id, 0, ST_NOW * 2, &got, &n, NULL), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(got[0].slot, ST_NOW + 300);
	free(got);
}

Test(samples, outbox_decides_once_and_remembers_delivery)
{
	int64_t id = st_promotion(st_store, "neo4j", 2), pid = 0, pid2 = 0;
	pb_obs_post *list = NULL, one;
	size_t n = 0;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_obs_post_add(st_store, id, "down", ST_NOW, "🔴 DOWN", ST_NOW, &pid, &err), 0);
	cr_assert_eq(pb_store_obs_post_add(st_store, id, "down", ST_NOW, "again", ST_NOW, NULL, &err), PB_E_CONFLICT);
	cr_assert_eq(pb_store_obs_post_add(st_store, id, "report", 20600, "## Day 1", ST_NOW, &pid2, &err), 0);
	cr_assert_eq(pb_store_obs_post_add(st_store, 999, "report", 1, "x", ST_NOW, NULL, &err), PB_E_NOTFOUND);

	cr_assert_eq(pb_store_obs_posts_pending(st_store, 0, &list, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(list[0].text, "🔴 DOWN");
	cr_assert_str_eq(list[1].kind, "report");
	pb_obs_posts_free(list, n);

	/* handed (it may have been sent): still pending, the first handing is kept */
	cr_assert_eq(pb_store_obs_post_handed(st_store, pid, ST_NOW + 1, &err), 0);
	cr_assert_eq(pb_store_obs_post_handed(st_store, pid, ST_NOW + 5, &err), 0);
	cr_assert_eq(pb_store_obs_posts_pending(st_store, 0, &list, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].handed_at, ST_NOW + 1);
	cr_assert_eq(list[0].posted_at, 0);
	cr_assert_eq(list[1].handed_at, 0);
	pb_obs_posts_free(list, n);

	/* confirmed by the chat: delivered, with where it landed */
	cr_assert_eq(pb_store_obs_post_done(st_store, pid, ST_NOW + 1, "1700000000.000100", &err), 0);
	cr_assert_eq(pb_store_obs_posts_pending(st_store, 10, &list, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].id, pid2);
	pb_obs_posts_free(list, n);

	cr_assert_eq(pb_store_obs_post_get(st_store, id, "report", 20600, &one, &err), 0);
	cr_assert_str_eq(one.text, "## Day 1");
	cr_assert_eq(one.posted_at, 0);
	free(one.text);
	cr_assert_eq(pb_store_obs_post_get(st_store, id, "report", 20601, &one, &err), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_obs_posts_of(st_store, id, "down", &list, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].posted_at, ST_NOW + 1);
	cr_assert_eq(list[0].handed_at, ST_NOW + 1);
	cr_assert_str_eq(list[0].chat_ref, "1700000000.000100");
	pb_obs_posts_free(list, n);
	cr_assert_eq(pb_store_obs_posts_of(st_store, id, NULL, &list, &n, &err), 0);
	cr_assert_eq(n, 2);
	pb_obs_posts_free(list, n);
}

Test(samples, rollups_replace_their_day)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_obs_rollup r = {.promotion_id = id, .day = 20600, .day_index = 1, .expected = 1440, .up = 1439,
			   .unknown = 1, .p50_ms = 4, .p95_ms = 9, .p99_ms = 31, .cpu_avg = 2.5, .mem_avg_mb = 512};
	pb_obs_rollup *got = NULL;
	size_t n = 0;

	cr_assert_eq(pb_store_obs_rollup_put(st_store, &r, NULL), 0);
	r.up = 1438;
	r.down = 1;
	cr_assert_eq(pb_store_obs_rollup_put(st_store, &r, NULL), 0);
	r.day = 20601;
	r.day_index = 2;
	cr_assert_eq(pb_store_obs_rollup_put(st_store, &r, NULL), 0);
	cr_assert_eq(pb_store_obs_rollups(st_store, id, &got, &n, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(got[0].up, 1438);
	cr_assert_eq(got[0].down, 1);
	cr_assert_float_eq(got[0].p99_ms, 31, 1e-9);
	cr_assert_eq(got[1].day_index, 2);
	free(got);
}
