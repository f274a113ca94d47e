/*
 * fuzz_dispatch.c — chat text through the whole dispatcher (parse, authorise, run the command) on a real
 * SQLite store: one fresh database per input, and after every command PRAGMA integrity_check and the
 * storage invariants (one open promotion per component and target, no lock left held, no self-approval,
 * every promotion audited, foreign keys hold).
 *
 * Input: up to 24 lines; a line's first byte picks the user (a alice, b bob, c carol, d dave, e erin,
 * anything else an unknown user), the rest is the command text. Between commands the clock moves
 * by (first byte % 8) hours so deadlines and observation days can pass.
 */
#include <assert.h>
#include <stdio.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fuzz_util.h"
#include "pb_cmd.h"
#include "pb_store.h"

#define CHECKS \
	"\"checks\": [" \
	"{\"name\":\"unit\",\"criterion\":\"tests\",\"argv\":[\"true\"]}," \
	"{\"name\":\"cov\",\"criterion\":\"coverage\",\"argv\":[\"echo\",\"TOTAL 120 10 85%%\"]," \
	" \"coverage_regex\":\"TOTAL[^%%]* ([0-9.]+)%%\"}," \
	"{\"name\":\"lint\",\"criterion\":\"lint\",\"argv\":[\"true\"]}," \
	"{\"name\":\"types\",\"criterion\":\"types\",\"argv\":[\"true\"]}," \
	"{\"name\":\"sec\",\"criterion\":\"security\",\"argv\":[\"true\"]}]"

#define CONFIG_FMT \
	"{\"storage\": {\"path\": \"%s/promobot.db\"}," \
	"\"chat\": {\"platform\": \"console\"}," \
	"\"users\": {" \
	"  \"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]}," \
	"  \"bob\": {\"name\": \"Bob\", \"roles\": [\"approver\"]}," \
	"  \"erin\": {\"name\": \"Erin\", \"roles\": [\"approver\"]}," \
	"  \"carol\": {\"name\": \"Carol\", \"roles\": [\"deployer\", \"admin\"]}," \
	"  \"dave\": {\"name\": \"Dave\", \"roles\": [\"requester\"]}}," \
	"\"policy\": {\"required_approvals\": 2}," \
	"\"components\": [" \
	" {\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core Infrastructure\", \"stage\": \"development\"," \
	"  \"revision\": {\"value\": \"rev-1\"}, " CHECKS "," \
	"  \"environments\": {\"staging\": {\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\"," \
	"   \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 1}}}}," \
	" {\"id\": \"graph-api\", \"name\": \"Graph API\", \"group\": \"Apps\", \"stage\": \"development\"," \
	"  \"dependencies\": [\"neo4j\"], \"revision\": {\"value\": \"v1\"}, " CHECKS "}]}"

#define FZ_EPOCH_MS 1795597200000LL  /* 2026-11-25 09:00 UTC */
#define FZ_MAX_LINES 24

static char dir[256];
static pb_config *cfg;
static char *tmpl;        /* a migrated, empty database file: copied per input (migrating costs more) */
static size_t tmpl_len;

static void drop(pb_sink *sink, const pb_card *card)
{
	(void)sink;
	(void)card;
}

static void remove_db(void)
{
	static const char *const files[] = { "promobot.db", "promobot.db-wal", "promobot.db-shm" };
	char path[320];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
}

static void cleanup(void)
{
	remove_db();
	rmdir(dir);
	pb_config_free(cfg);
	free(tmpl);
}

static void make_template(void)
{
	char path[320];
	pb_store *store = NULL;
	pb_err err;
	FILE *f;
	long n;

	pb_err_init(&err);
	if (pb_store_open(cfg->storage_path, &store, &err)) {
		fprintf(stderr, "fuzz_dispatch: %s\n", pb_err_text(&err));
		abort();
	}
	pb_store_close(store);   /* the last connection checkpoints the WAL into the file */
	snprintf(path, sizeof(path), "%s/promobot.db", dir);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		abort();
	tmpl = malloc((size_t)n);
	if (!tmpl || fread(tmpl, 1, (size_t)n, f) != (size_t)n)
		abort();
	tmpl_len = (size_t)n;
	fclose(f);
}

static void fresh_db(void)
{
	char path[320];
	FILE *f;

	remove_db();
	snprintf(path, sizeof(path), "%s/promobot.db", dir);
	f = fopen(path, "wb");
	if (!f || fwrite(tmpl, 1, tmpl_len, f) != tmpl_len || fclose(f))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pb_problems probs = { 0 };
	char json[8192];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/promobot-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(json, sizeof(json), CONFIG_FMT, dir);
	if (pb_config_parse(json, strlen(json), dir, &cfg, &probs)) {
		for (size_t i = 0; i < probs.count; i++)
			fprintf(stderr, "fuzz_dispatch config: %s\n", probs.items[i]);
		abort();
	}
	pb_problems_deinit(&probs);
	atexit(cleanup);
	make_template();
	return 0;
}

/* One integer from a query (first column of the first row). */
static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A second, read-only connection, as another process would see the file (opened once per input). */
static sqlite3 *check_open(void)
{
	char path[320];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/promobot.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		abort();
	return db;
}

static void check_invariants(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		abort();
	assert(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
	sqlite3_finalize(st);
	assert(q1(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
	/* the dispatcher releases every component lock it took */
	assert(q1(db, "SELECT count(*) FROM leases WHERE name LIKE 'component:%'") == 0);
	/* one open promotion per component and target (the index says so; check what it holds) */
	assert(q1(db, "SELECT count(*) FROM (SELECT component, target_stage FROM promotions WHERE state NOT IN "
		      "('completed','failed','rolled_back','cancelled') GROUP BY 1, 2 HAVING count(*) > 1)") == 0);
	/* every promotion has its audit trail; nobody approved their own request */
	assert(q1(db, "SELECT count(*) FROM promotions p WHERE NOT EXISTS "
		      "(SELECT 1 FROM events e WHERE e.promotion_id = p.id)") == 0);
	assert(q1(db, "SELECT count(*) FROM approvals a JOIN promotions p ON p.id = a.promotion_id "
		      "WHERE a.approver = p.requester") == 0);
	assert(q1(db, "SELECT count(*) FROM components WHERE stage NOT BETWEEN 0 AND 2") == 0);
	/* a promotion leaves requested only after a validation */
	assert(q1(db, "SELECT count(*) FROM promotions p WHERE p.state IN ('approved','deploying','observing','completed') "
		      "AND NOT EXISTS (SELECT 1 FROM validations v WHERE v.promotion_id = p.id AND v.passed = 1)") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = { "alice", "bob", "carol", "dave", "erin" };
	char *text = fz_strdup(data, size), *line, *save = NULL;
	pb_fake_clock clock;
	pb_services svc;
	pb_sink sink = { .emit = drop };
	pb_store *store = NULL;
	sqlite3 *db;
	pb_err err;
	int n = 0;

	fresh_db();
	pb_err_init(&err);
	if (pb_store_open(cfg->storage_path, &store, &err)) {
		fprintf(stderr, "fuzz_dispatch: %s\n", pb_err_text(&err));
		abort();
	}
	db = check_open();
	pb_fake_clock_init(&clock, FZ_EPOCH_MS);
	memset(&svc, 0, sizeof(svc));
	svc.cfg = cfg;
	svc.store = store;
	svc.clock = &clock.clock;
	svc.lock_owner = "fuzz-owner";
	for (line = strtok_r(text, "\n", &save); line && n < FZ_MAX_LINES; line = strtok_r(NULL, "\n", &save), n++) {
		unsigned char who = (unsigned char)line[0];
		const char *user = who >= 'a' && who <= 'e' ? users[who - 'a'] : "mallory";
		pb_caller caller = pb_caller_for(cfg, user, user);

		(void)pb_dispatch(&svc, &caller, line + 1, &sink);
		check_invariants(db);
		pb_fake_clock_advance(&clock, (int64_t)(who % 8) * 3600 * 1000);
	}
	sqlite3_close(db);
	pb_store_close(store);
	pb_fake_clock_deinit(&clock);
	free(text);
	return 0;
}
