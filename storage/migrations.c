/* migrations.c — the SQLite schema as forward-only steps, and the migration runner of every backend. */
#include <errno.h>
#include <stdio.h>

#include "store_priv.h"

/*
 * migrations[v] takes a database from version v-1 to v. Never edit a step
 * that has shipped: add a new one and bump PB_STORE_SCHEMA_VERSION.
 */
const char *const pb_sqlite_migrations[PB_STORE_SCHEMA_VERSION + 1] = {
	[0] = NULL,
	/* v1: components, promotions, audit events. */
	[1] =
	"CREATE TABLE components ("
	"  id TEXT PRIMARY KEY,"
	"  stage INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE promotions ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  component TEXT NOT NULL,"
	"  from_stage INTEGER NOT NULL,"
	"  target_stage INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('requested','validating','in_review','blocked',"
	"    'approved','deploying','observing','completed','failed','rolled_back','cancelled')),"
	"  requester TEXT NOT NULL,"
	"  justification TEXT NOT NULL DEFAULT '',"
	"  revision TEXT NOT NULL DEFAULT '',"
	"  thread_ref TEXT NOT NULL DEFAULT '',"
	"  channel_ref TEXT NOT NULL DEFAULT '',"
	"  issue_number INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	/* One open promotion per (component, target), enforced by the database
	 * itself so two processes cannot both win the race. */
	"CREATE UNIQUE INDEX promotions_one_open ON promotions(component, target_stage)"
	"  WHERE state NOT IN " PB_SQL_TERMINAL ";"
	"CREATE INDEX promotions_by_component ON promotions(component, id);"
	"CREATE INDEX promotions_by_thread ON promotions(channel_ref, thread_ref);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  promotion_id INTEGER REFERENCES promotions(id),"
	"  component TEXT NOT NULL DEFAULT '',"
	"  actor TEXT NOT NULL DEFAULT '',"
	"  kind TEXT NOT NULL,"
	"  from_state TEXT NOT NULL DEFAULT '',"
	"  to_state TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX events_by_component ON events(component, id);"
	"CREATE INDEX events_by_promotion ON events(promotion_id, id);"
	/* The audit trail is append-only even for someone holding the sqlite3 shell. */
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
	/* v2: approvals, blockers, validations. */
	[2] =
	"CREATE TABLE approvals ("
	"  promotion_id INTEGER NOT NULL REFERENCES promotions(id),"
	"  approver TEXT NOT NULL,"
	"  revision TEXT NOT NULL,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (promotion_id, revision, approver));"
	"CREATE TABLE blockers ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  component TEXT NOT NULL,"
	"  severity TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),"
	"  text TEXT NOT NULL,"
	"  opened_by TEXT NOT NULL,"
	"  resolved_by TEXT NOT NULL DEFAULT '',"
	"  opened_at INTEGER NOT NULL,"
	"  resolved_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX blockers_open ON blockers(component) WHERE resolved_at = 0;"
	"CREATE TABLE validations ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  promotion_id INTEGER NOT NULL REFERENCES promotions(id),"
	"  revision TEXT NOT NULL DEFAULT '',"
	"  passed INTEGER NOT NULL CHECK (passed IN (0, 1)),"
	"  coverage REAL NOT NULL DEFAULT -1,"
	"  result_json TEXT,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX validations_by_promotion ON validations(promotion_id, id);",
	/* v3: deployments, processed event ids, component locks; two ALTERs for
	 * columns the first versions lacked. */
	[3] =
	"ALTER TABLE promotions ADD COLUMN observing_since INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE blockers ADD COLUMN issue_number INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE deployments ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  promotion_id INTEGER REFERENCES promotions(id),"
	"  component TEXT NOT NULL,"
	"  environment TEXT NOT NULL DEFAULT '',"
	"  container_id TEXT NOT NULL DEFAULT '',"
	"  container_name TEXT NOT NULL DEFAULT '',"
	"  image TEXT NOT NULL DEFAULT '',"
	"  image_id TEXT NOT NULL DEFAULT '',"
	"  previous_container TEXT NOT NULL DEFAULT '',"
	"  ports TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX deployments_by_promotion ON deployments(promotion_id, id);"
	"CREATE TABLE processed_event_ids ("
	"  key TEXT PRIMARY KEY,"
	"  seen_at INTEGER NOT NULL);"
	"CREATE INDEX processed_event_ids_seen ON processed_event_ids(seen_at);"
	"CREATE TABLE component_locks ("
	"  component TEXT PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  purpose TEXT NOT NULL DEFAULT '',"
	"  acquired_at INTEGER NOT NULL);",
	[4] =
	/* v4: each running bot process proves storage takes its writes (the /healthz probe) */
	"CREATE TABLE heartbeats ("
	"  owner TEXT PRIMARY KEY,"
	"  at INTEGER NOT NULL);",
	/*
	 * v5: observation. Samples are the bulk (one per check: 1,440 a day per
	 * component at 60 s), so they are a WITHOUT ROWID table keyed by
	 * (promotion, slot) — no second index, the key is the order reports read
	 * — with -1 figures stored as NULL (0 bytes) and state, class and flags
	 * packed in one small integer.
	 */
	"CREATE TABLE samples ("
	"  promotion_id INTEGER NOT NULL,"
	"  slot INTEGER NOT NULL,"
	"  packed INTEGER NOT NULL,"
	"  latency_us INTEGER,"
	"  cpu INTEGER,"
	"  mem INTEGER,"
	"  logs INTEGER,"
	"  PRIMARY KEY (promotion_id, slot)) WITHOUT ROWID;"
	"CREATE TABLE monitor_state ("
	"  promotion_id INTEGER PRIMARY KEY REFERENCES promotions(id),"
	"  health INTEGER NOT NULL, fails INTEGER NOT NULL, oks INTEGER NOT NULL,"
	"  down_since INTEGER NOT NULL, down_cls INTEGER NOT NULL, last_remind INTEGER NOT NULL,"
	"  last_slot INTEGER NOT NULL, checks INTEGER NOT NULL, restart_count INTEGER NOT NULL,"
	"  started_at TEXT NOT NULL, log_since INTEGER NOT NULL, last_at INTEGER NOT NULL,"
	"  last_latency_us INTEGER NOT NULL, last_state INTEGER NOT NULL, last_cls INTEGER NOT NULL);"
	"CREATE TABLE obs_posts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  promotion_id INTEGER NOT NULL REFERENCES promotions(id),"
	"  kind TEXT NOT NULL,"
	"  key INTEGER NOT NULL,"
	"  text TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  posted_at INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (promotion_id, kind, key));"
	"CREATE INDEX obs_posts_pending ON obs_posts(id) WHERE posted_at = 0;"
	"CREATE TABLE obs_rollups ("
	"  promotion_id INTEGER NOT NULL REFERENCES promotions(id),"
	"  day INTEGER NOT NULL, day_index INTEGER NOT NULL,"
	"  expected INTEGER NOT NULL, up INTEGER NOT NULL, down INTEGER NOT NULL, unknown INTEGER NOT NULL,"
	"  p50 REAL NOT NULL, p95 REAL NOT NULL, p99 REAL NOT NULL,"
	"  log_critical INTEGER NOT NULL, log_warning INTEGER NOT NULL, ooms INTEGER NOT NULL,"
	"  restarts INTEGER NOT NULL, outages INTEGER NOT NULL, cpu_avg REAL NOT NULL, mem_avg REAL NOT NULL,"
	"  PRIMARY KEY (promotion_id, day));",
	/*
	 * v6: the engine's events are read in windows during each check; the end
	 * of the last window is stored with the sample that counted its events,
	 * so a crash neither loses nor repeats one.
	 */
	[6] = "ALTER TABLE monitor_state ADD COLUMN events_ns INTEGER NOT NULL DEFAULT 0;",
	/*
	 * v7: the GitHub outbox. Every side effect on GitHub is a row written in
	 * the transaction of the state change it belongs to; a background job
	 * delivers the head of each ordering group ("promotion:<id>",
	 * "blocker:<id>") in id order, with retries (next_at) and a lease so two
	 * processes never deliver one op at once. maybe_sent says the last
	 * attempt may have reached GitHub: the next one looks before repeating.
	 * ref_id names the local object an op is about (blocker, deployment) so
	 * later ops find what it created (result). promotions.issue_url is shown
	 * on the card next to issue_number.
	 */
	[7] =
	"CREATE TABLE gh_ops ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  promotion_id INTEGER REFERENCES promotions(id),"
	"  grp TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  ref_id INTEGER NOT NULL DEFAULT 0,"
	"  payload TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  maybe_sent INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  lease_owner TEXT NOT NULL DEFAULT '',"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  done_at INTEGER NOT NULL DEFAULT 0);"
	/* the head of each group: the lowest pending id per grp */
	"CREATE INDEX gh_ops_pending ON gh_ops(grp, id) WHERE state = 'pending';"
	"CREATE INDEX gh_ops_by_promotion ON gh_ops(promotion_id, id);"
	"CREATE INDEX gh_ops_by_ref ON gh_ops(grp, kind, ref_id);"
	"ALTER TABLE promotions ADD COLUMN issue_url TEXT NOT NULL DEFAULT '';",
	/*
	 * v8: reading GitHub back. gh_drift holds, per open promotion, what its
	 * issue contradicts (closed by hand, a lifecycle label removed/added,
	 * deleted); `confirmed` once two polls in a row saw it against the same
	 * promotion state, so an update still on its way to GitHub is no drift.
	 * Blocker issues people open on GitHub are found by issue number.
	 */
	[8] =
	"CREATE TABLE gh_drift ("
	"  promotion_id INTEGER PRIMARY KEY REFERENCES promotions(id),"
	"  issue_number INTEGER NOT NULL,"
	"  text TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  confirmed INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),"
	"  first_seen_at INTEGER NOT NULL,"
	"  checked_at INTEGER NOT NULL);"
	"CREATE INDEX blockers_by_issue ON blockers(component, issue_number) WHERE issue_number > 0;",
	/*
	 * v9: an observation post is marked delivered only when the chat
	 * confirmed it; handed_at says it may have been sent (after a restart
	 * the chat is searched for it by its id before it is sent again) and
	 * chat_ref keeps where it landed (Slack: the message's ts).
	 */
	[9] = "ALTER TABLE obs_posts ADD COLUMN handed_at INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE obs_posts ADD COLUMN chat_ref TEXT NOT NULL DEFAULT '';",
	/*
	 * v10: leases instead of PID locks. A lease has an owner token and an
	 * expiry on the callers' clock, so it works across hosts (a PID only
	 * means something on the host that wrote it): component mutations take
	 * `component:<id>`, the scheduler leader takes `scheduler`. The
	 * component_locks table is replaced, not kept beside it (two places
	 * for one fact would drift); its rows come over already expired — their
	 * holders predate the upgrade, so they are dead — and are taken over
	 * (with a warning) by the next command on the component.
	 */
	[10] =
	"CREATE TABLE leases ("
	"  name TEXT PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  purpose TEXT NOT NULL DEFAULT '',"
	"  acquired_at INTEGER NOT NULL,"
	"  renewed_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  host TEXT NOT NULL DEFAULT '',"
	"  pid INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO leases(name, owner, purpose, acquired_at, renewed_at, expires_at, host, pid)"
	"  SELECT 'component:' || component, owner, purpose, acquired_at, acquired_at, acquired_at, host, pid"
	"  FROM component_locks;"
	"DROP TABLE component_locks;",
	/*
	 * v11: the de-dup claim every Slack command writes touches one b-tree
	 * instead of three. As a rowid table with a TEXT primary key and an
	 * index on seen_at, each claim wrote three pages to the WAL (table,
	 * key index, seen_at index; ~78k instructions and three WAL frames per
	 * command, measured by bench/cmd_cost.sh); WITHOUT ROWID keeps the
	 * rows in the key's own b-tree. The seen_at index only served the
	 * prune at start-up, which now scans the table once (a week of ids).
	 */
	[11] =
	"CREATE TABLE processed_event_ids_v11 ("
	"  key TEXT PRIMARY KEY,"
	"  seen_at INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO processed_event_ids_v11(key, seen_at) SELECT key, seen_at FROM processed_event_ids;"
	"DROP TABLE processed_event_ids;"
	"ALTER TABLE processed_event_ids_v11 RENAME TO processed_event_ids;",
	/*
	 * v12: who may post a promotion's thread parent, and until when
	 * (pb_store_promotion_claim_thread): between replicas, a card emitted
	 * before the parent's ts is stored waits instead of opening a second
	 * thread. Promotions of before have their thread or none: no claim.
	 */
	[12] =
	"ALTER TABLE promotions ADD COLUMN thread_claim TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE promotions ADD COLUMN thread_claim_until INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(pb_sqlite_migrations) / sizeof(pb_sqlite_migrations[0]) == PB_STORE_SCHEMA_VERSION + 1,
	       "one migration per schema version");

int pb_store_user_version(pb_store *st, int *out, pb_err *err)
{
	return st->ops->version_read(st, out, err);
}

/* One step in its own write transaction; re-reads the version under the
 * write lock so a concurrent process that migrated first is not repeated. */
static int migrate_step(pb_store *st, int v, pb_err *err)
{
	char what[64];
	int current = 0;
	int r;

	snprintf(what, sizeof(what), "migration to schema v%d", v);
	r = st->ops->begin_write(st, what, err);
	if (r)
		return r;
	r = pb_store_user_version(st, &current, err);
	if (r || current >= v)
		goto out;
	if (current != v - 1) {
		r = pb_err_set(err, -EIO, "storage: %s: database is at v%d", what, current);
		goto out;
	}
	r = pb_sql_exec(st, st->ops->migrations[v], what, err);
	if (r == 0)
		r = st->ops->version_write(st, v, err);
out:
	if (r) {
		pb_store_rollback(st);
		return r;
	}
	r = pb_sql_exec(st, "COMMIT", what, err);
	if (r)
		pb_store_rollback(st);
	return r;
}

int pb_store_migrate(pb_store *st, int target, pb_err *err)
{
	int current = 0;
	int r;

	r = pb_store_user_version(st, &current, err);
	if (r)
		return r;
	for (int v = current + 1; v <= target; v++) {
		r = migrate_step(st, v, err);
		if (r)
			return r;
	}
	return 0;
}
