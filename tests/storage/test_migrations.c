/* test_migrations.c — every older schema version migrates to the latest with its data intact. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(migrations, .init = st_tmp_init, .fini = st_tmp_fini);

/* The stored schema version, read through a raw connection on either backend. */
static int64_t raw_version(const char *target)
{
	if (!st_pg())
		return st_sql_int(target, "PRAGMA user_version");
	if (st_sql_int(target, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
			       " AND tablename = 'promobot_schema'") == 0)
		return 0;
	return st_sql_int(target, "SELECT version FROM promobot_schema");
}

/* 1 when monitor_state has the events_ns column. */
static int64_t has_events_ns(const char *target)
{
	return st_sql_int(target, st_pg() ? "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
					    " current_schema() AND table_name = 'monitor_state' AND column_name = 'events_ns'"
					  : "SELECT count(*) FROM pragma_table_info('monitor_state') WHERE name = 'events_ns'");
}

/* A second fresh database next to the test's: a file beside it, or another schema. */
static void sibling(const char *suffix, char *out, size_t size)
{
	if (st_pg())
		st_pg_schema_new(suffix, out, size);
	else
		snprintf(out, size, "%s.%s", st_db_path(), suffix);
}

/* Rows a database at version v could hold, written with that version's columns. */
static const char *const rows_at[] = {
	[0] = NULL,
	[1] = "INSERT INTO components(id, stage, updated_at) VALUES ('neo4j', 2, 1700000000);"
	      "INSERT INTO promotions(id, component, from_stage, target_stage, state, requester,"
	      "  justification, revision, thread_ref, channel_ref, issue_number, created_at, updated_at)"
	      "  VALUES (7, 'neo4j', 2, 3, 'in_review', 'U-old', 'legacy row', 'rev9', '123.4', 'C9', 31,"
	      "  1700000000, 1700000050);"
	      "INSERT INTO events(promotion_id, component, actor, kind, from_state, to_state, detail, at)"
	      "  VALUES (7, 'neo4j', 'U-old', 'requested', '', 'requested', 'from v1', 1700000000);",
	[2] = "INSERT INTO approvals(promotion_id, approver, revision, comment, at)"
	      "  VALUES (7, 'U-appr', 'rev9', 'ok', 1700000060);"
	      "INSERT INTO blockers(id, component, severity, text, opened_by, opened_at)"
	      "  VALUES (3, 'neo4j', 'critical', 'v2 blocker', 'U-blk', 1700000070);"
	      "INSERT INTO validations(promotion_id, revision, passed, coverage, result_json, started_at,"
	      "  finished_at) VALUES (7, 'rev9', 1, 80.5, '{\"v\":2}', 1700000080, 1700000090);",
};

static void check_v1_data(pb_store *st)
{
	pb_promotion p;
	pb_event *evs = NULL;
	size_t n = 0;
	int stage = 0;

	cr_assert_eq(pb_store_component_stage(st, "neo4j", &stage, NULL), 0);
	cr_assert_eq(stage, 2);
	cr_assert_eq(pb_store_promotion_get(st, 7, &p, NULL), 0);
	cr_assert_str_eq(p.component, "neo4j");
	cr_assert_eq(p.state, PB_ST_IN_REVIEW);
	cr_assert_str_eq(p.requester, "U-old");
	cr_assert_str_eq(p.justification, "legacy row");
	cr_assert_str_eq(p.revision, "rev9");
	cr_assert_str_eq(p.thread_ref, "123.4");
	cr_assert_eq(p.issue_number, 31);
	cr_assert_eq(p.updated_at, 1700000050);
	cr_assert_eq(p.observing_since, 0); /* column added by v3 with its default */
	cr_assert_eq(pb_store_events_for_promotion(st, 7, &evs, &n, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(evs[0].detail, "from v1");
	free(evs);
	/* The unique open index still holds after migration. */
	memset(&p, 0, sizeof(p));
	p.created_at = ST_NOW;
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.target_stage = 3;
	cr_assert_eq(pb_store_promotion_insert(st, &p, NULL), PB_E_CONFLICT);
}

static void check_v2_data(pb_store *st)
{
	pb_approval *list = NULL;
	pb_validation v;
	pb_blocker b;
	size_t n = 0;

	cr_assert_eq(pb_store_approvals_list(st, 7, "rev9", &list, &n, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].approver, "U-appr");
	free(list);
	cr_assert_eq(pb_store_blocker_get(st, 3, &b, NULL), 0);
	cr_assert_eq(b.severity, PB_SEV_CRITICAL);
	cr_assert_str_eq(b.text, "v2 blocker");
	cr_assert_eq(b.issue_number, 0); /* column added by v3 */
	cr_assert_eq(pb_store_validation_latest(st, 7, &v, NULL), 0);
	cr_assert_str_eq(v.result_json, "{\"v\":2}");
	cr_assert_float_eq(v.coverage, 80.5, 1e-9);
	pb_validation_deinit(&v);
}

static void migrate_from(int version)
{
	pb_store *st = NULL;
	pb_err err;
	int r;

	pb_err_init(&err);
	r = pb_store_create_at_version(st_db_path(), version, &err);
	cr_assert_eq(r, 0, "create at v%d: %d %s", version, r, pb_err_text(&err));
	cr_assert_eq(raw_version(st_db_path()), version);
	for (int v = 1; v <= version && v < (int)(sizeof(rows_at) / sizeof(rows_at[0])); v++)
		cr_assert_eq(st_sql(st_db_path(), rows_at[v]), 0, "rows for v%d", v);

	r = pb_store_open(st_db_path(), &st, &err);
	cr_assert_eq(r, 0, "open from v%d: %d %s", version, r, pb_err_text(&err));
	cr_assert_eq(pb_store_schema_version(st), PB_STORE_SCHEMA_VERSION);
	cr_assert_eq(raw_version(st_db_path()), PB_STORE_SCHEMA_VERSION);
	if (version >= 1)
		check_v1_data(st);
	if (version >= 2)
		check_v2_data(st);
	/* Every table of the latest schema is usable. */
	cr_assert_eq(pb_store_event_id_claim(st, "after-migration", ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_lock_acquire(st, "neo4j", "me", "test", ST_NOW, NULL), 0);
	if (!st_pg()) /* SQLite's own file check; PostgreSQL has none to ask */
		cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
	pb_store_close(st);
}

Test(migrations, from_v0) { migrate_from(0); }
Test(migrations, from_v1) { migrate_from(1); }
Test(migrations, from_v2) { migrate_from(2); }
Test(migrations, at_latest_is_a_no_op) { migrate_from(PB_STORE_SCHEMA_VERSION); }

Test(migrations, each_version_has_exactly_its_tables)
{
#define TABLES                                                                                    \
	" ('components','promotions','events','approvals','blockers','validations',"              \
	"  'deployments','processed_event_ids','component_locks','heartbeats',"                   \
	"  'samples','monitor_state','obs_posts','obs_rollups','gh_ops','gh_drift','leases')"
	const char *q = st_pg() ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
				  " AND table_name IN" TABLES
				: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN" TABLES;
	/* v10 replaces component_locks with leases */
	static const int expected[] = { 0, 3, 6, 9, 10, 14, 14, 15, 16, 16, 16, 16, 16 };

	_Static_assert(sizeof(expected) / sizeof(expected[0]) == PB_STORE_SCHEMA_VERSION + 1, "one row per version");
	cr_assert_eq(pb_store_create_at_version(st_db_path(), 0, NULL), 0);
	for (int v = 0; v <= PB_STORE_SCHEMA_VERSION; v++) {
		char path[4200], sfx[16];

		snprintf(sfx, sizeof(sfx), "v%d", v);
		sibling(sfx, path, sizeof(path));
		cr_assert_eq(pb_store_create_at_version(path, v, NULL), 0);
		cr_assert_eq(st_sql_int(path, q), expected[v], "tables at v%d", v);
		remove(path);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* v6 adds the events cursor to monitor_state; a v5 row keeps its values and reads 0 (not followed yet). */
Test(migrations, v6_adds_the_events_cursor_to_existing_monitor_state)
{
	char path[4200];
	pb_store *st = NULL;
	pb_monitor_state ms;

	sibling("v5", path, sizeof(path));
	cr_assert_eq(pb_store_create_at_version(path, 5, NULL), 0);
	cr_assert_eq(has_events_ns(path), 0);
	cr_assert_eq(pb_store_open(path, &st, NULL), 0);
	cr_assert_eq(pb_store_monitor_get(st, 1, &ms, NULL), 0);
	cr_assert_eq(ms.events_ns, 0);
	pb_store_close(st);
	cr_assert_eq(has_events_ns(path), 1);
	cr_assert_eq(raw_version(path), PB_STORE_SCHEMA_VERSION);
	remove(path);
}

/* v9: a post decided before the upgrade stays pending, never handed (so it is sent without a lookup). */
Test(migrations, v9_keeps_pending_observation_posts_pending_and_never_handed)
{
	char path[4200];
	pb_store *st = NULL;
	pb_obs_post *list = NULL;
	size_t n = 0;

	sibling("v6", path, sizeof(path));
	cr_assert_eq(pb_store_create_at_version(path, 6, NULL), 0);
	cr_assert_eq(st_sql(path, "INSERT INTO promotions(id, component, from_stage, target_stage, state, requester,"
				  " created_at, updated_at) VALUES (1, 'neo4j', 1, 2, 'observing', 'U-old', 1, 1)"), 0);
	cr_assert_gt(st_sql_int(path, "INSERT INTO obs_posts(promotion_id, kind, key, text, created_at)"
				      " VALUES (1, 'down', 60, 'DOWN', 1) RETURNING id"), 0);
	cr_assert_eq(pb_store_open(path, &st, NULL), 0);
	cr_assert_eq(pb_store_obs_posts_pending(st, 0, &list, &n, NULL), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].handed_at, 0);
	cr_assert_str_eq(list[0].chat_ref, "");
	pb_obs_posts_free(list, n);
	pb_store_close(st);
	remove(path);
}

/* What "untouched" means on PostgreSQL: the tables, columns and the stored version are the same. */
#define PG_SHAPE                                                                                  \
	"SELECT count(*) * 1000 + coalesce(sum(length(table_name || column_name)), 0) FROM"          \
	" information_schema.columns WHERE table_schema = current_schema()"

/* v10: a PID lock of before the upgrade becomes an already expired lease, taken over by the next command. */
Test(migrations, v10_turns_component_locks_into_expired_leases)
{
	char path[4200];
	pb_store *st = NULL;
	pb_lease l;
	pb_err err;

	sibling("v9", path, sizeof(path));
	cr_assert_eq(pb_store_create_at_version(path, 9, NULL), 0);
	cr_assert_eq(st_sql(path, "INSERT INTO component_locks VALUES ('neo4j', 'old-owner', 4242, 'host-a',"
				  " 'deploy', 1700000000)"), 0);
	cr_assert_eq(pb_store_open(path, &st, NULL), 0);
	cr_assert_eq(st_sql_int(path, st_pg() ? "SELECT count(*) FROM information_schema.tables WHERE table_schema ="
					       " current_schema() AND table_name = 'component_locks'"
					     : "SELECT count(*) FROM sqlite_master WHERE name = 'component_locks'"),
		     0);
	cr_assert_eq(pb_store_lease_get(st, "component:neo4j", &l, NULL), 0);
	cr_assert_str_eq(l.owner, "old-owner");
	cr_assert_str_eq(l.purpose, "deploy");
	cr_assert_str_eq(l.host, "host-a");
	cr_assert_eq(l.pid, 4242);
	cr_assert_eq(l.expires_at, 1700000000);
	pb_err_init(&err);
	cr_assert_eq(pb_store_lock_acquire(st, "neo4j", "new-owner", "deploy", 1700000001, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(pb_store_lease_get(st, "component:neo4j", &l, NULL), 0);
	cr_assert_str_eq(l.owner, "new-owner");
	pb_store_close(st);
	remove(path);
}

/* v11: the claims of before the upgrade still count (a Slack retry is still a duplicate); one b-tree per claim. */
Test(migrations, v11_keeps_the_claimed_event_ids_in_a_leaner_table)
{
	char path[4200];
	pb_store *st = NULL;
	pb_err err;

	sibling("v10", path, sizeof(path));
	cr_assert_eq(pb_store_create_at_version(path, 10, NULL), 0);
	cr_assert_eq(st_sql(path, "INSERT INTO processed_event_ids(key, seen_at) VALUES ('slack:envelope:old', 100),"
				  " ('slack:event:kept', 1700000000)"), 0);
	cr_assert_eq(pb_store_open(path, &st, NULL), 0);
	pb_err_init(&err);
	cr_assert_eq(pb_store_event_id_claim(st, "slack:event:kept", 1700000001, &err), PB_E_CONFLICT,
		     "a claim from before the upgrade still stops a second run");
	cr_assert_eq(pb_store_event_id_claim(st, "slack:event:new", 1700000001, NULL), 0);
	cr_assert_eq(pb_store_event_ids_prune(st, 1000, NULL), 0);
	cr_assert_eq(st_sql_int(path, "SELECT count(*) FROM processed_event_ids"), 2, "only the old one pruned");
	if (st_pg())
		cr_assert_eq(st_sql_int(path, "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
					      " AND indexname = 'processed_event_ids_seen'"), 0);
	else
		cr_assert_eq(st_sql_int(path, "SELECT count(*) FROM sqlite_master WHERE (name = 'processed_event_ids'"
					      " AND sql LIKE '%WITHOUT ROWID%') OR name = 'processed_event_ids_seen'"), 1,
			     "one b-tree: WITHOUT ROWID, no seen_at index");
	pb_store_close(st);
	remove(path);
}

/* v12: promotions of before keep their thread and have no claim; a new claim works at once. */
Test(migrations, v12_adds_the_thread_claim_to_existing_promotions)
{
	char path[4200];
	pb_store *st = NULL;
	pb_promotion p;
	int64_t held = 0;

	sibling("v11", path, sizeof(path));
	cr_assert_eq(pb_store_create_at_version(path, 11, NULL), 0);
	cr_assert_eq(st_sql(path, "INSERT INTO promotions(id, component, from_stage, target_stage, state, requester,"
				  " justification, revision, thread_ref, channel_ref, issue_number, created_at, updated_at)"
				  " VALUES (1, 'neo4j', 1, 2, 'requested', 'alice', '', '', '111.1', 'C1', 0, 100, 100),"
				  " (2, 'redis', 1, 2, 'requested', 'alice', '', '', '', '', 0, 100, 100)"), 0);
	cr_assert_eq(pb_store_open(path, &st, NULL), 0);
	cr_assert_eq(pb_store_promotion_get(st, 1, &p, NULL), 0);
	cr_assert_str_eq(p.thread_ref, "111.1");
	cr_assert_eq(pb_store_promotion_claim_thread(st, 1, "replica-a", 200, 230, NULL, NULL), PB_E_CONFLICT);
	cr_assert_eq(pb_store_promotion_claim_thread(st, 2, "replica-a", 200, 230, NULL, NULL), 0);
	cr_assert_eq(pb_store_promotion_claim_thread(st, 2, "replica-b", 201, 231, &held, NULL), PB_E_BUSY);
	cr_assert_eq(held, 230);
	pb_store_close(st);
	remove(path);
}

Test(migrations, newer_database_is_refused_untouched)
{
	pb_store *st = NULL;
	size_t n1 = 0, n2 = 0;
	char *before = NULL, *after = NULL;
	int64_t shape = 0;
	char want[96];
	pb_err err;
	int r;

	cr_assert_eq(pb_store_create_at_version(st_db_path(), PB_STORE_SCHEMA_VERSION, NULL), 0);
	if (st_pg()) {
		snprintf(want, sizeof(want), "UPDATE promobot_schema SET version = %d", PB_STORE_SCHEMA_VERSION + 1);
		cr_assert_eq(st_sql(st_db_path(), want), 0);
		shape = st_sql_int(st_db_path(), PG_SHAPE);
	} else {
		snprintf(want, sizeof(want), "PRAGMA user_version = %d", PB_STORE_SCHEMA_VERSION + 1);
		cr_assert_eq(st_sql(st_db_path(), want), 0);
		/* Fold the WAL into the main file so the bytes we compare are the whole DB. */
		cr_assert_eq(st_sql(st_db_path(), "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
		before = slurp(st_db_path(), &n1);
	}

	pb_err_init(&err);
	r = pb_store_open(st_db_path(), &st, &err);
	cr_assert_lt(r, 0);
	cr_assert_null(st);
	snprintf(want, sizeof(want), "schema version %d", PB_STORE_SCHEMA_VERSION + 1);
	cr_assert(strstr(pb_err_text(&err), want), "%s", pb_err_text(&err));
	cr_assert(strstr(pb_err_text(&err), "refusing"), "%s", pb_err_text(&err));

	if (st_pg()) {
		cr_assert_eq(st_sql_int(st_db_path(), PG_SHAPE), shape, "the refused database was modified");
	} else {
		after = slurp(st_db_path(), &n2);
		cr_assert_eq(n1, n2);
		cr_assert(memcmp(before, after, n1) == 0, "the refused database was modified");
		free(before);
		free(after);
	}
	cr_assert_eq(raw_version(st_db_path()), PB_STORE_SCHEMA_VERSION + 1);
}

Test(migrations, create_at_version_checks_its_arguments)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_create_at_version(st_db_path(), -1, &err), -EINVAL);
	cr_assert_eq(pb_store_create_at_version(st_db_path(), PB_STORE_SCHEMA_VERSION + 1, NULL), -EINVAL);
	cr_assert_eq(pb_store_create_at_version(st_db_path(), 1, NULL), 0);
	cr_assert_eq(pb_store_create_at_version(st_db_path(), 2, NULL), -EEXIST);
}
