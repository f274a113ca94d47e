/*
 * fuzz_ghbody.c — any justification, blocker text and stored validation result through the issue-form
 * builders (rolled back after each input), with the promises GitHub's side relies on checked: the validation workflow's own parse
 * (tests/commands/ghform.h) still reads the true Component Name / Current Stage / Target Stage, no user
 * text adds a "### " line or an HTML comment ("<!--"), the blocker's Severity reads back as written,
 * titles stay within 256 characters of valid UTF-8 on one line.
 *
 * Input: up to three parts split at NUL bytes — the justification, the blocker text, a validation's
 * result_json (stored as is when present). The first byte also picks the blocker's severity.
 */
#include <stdio.h>
#include <unistd.h>

#include "../commands/ghform.h"
#include "fuzz_util.h"
#include "pb_ghbody.h"
#include "pb_services.h"
#include "pb_store.h"

#define PROMISE(c)                                                                  \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "fuzz_ghbody: promise broken: %s\n", #c); \
			abort();                                                    \
		}                                                                   \
	} while (0)

#define CONFIG_FMT \
	"{\"storage\": {\"path\": \"%s/promobot.db\"}," \
	"\"chat\": {\"platform\": \"console\"}," \
	"\"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]}}," \
	"\"components\": [" \
	" {\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core Infrastructure\", \"stage\": \"development\"," \
	"  \"revision\": {\"value\": \"rev-1\"}}," \
	" {\"id\": \"graph-api\", \"name\": \"Graph API\", \"group\": \"Apps\", \"stage\": \"development\"," \
	"  \"dependencies\": [\"neo4j\"], \"revision\": {\"value\": \"v1\"}}]}"

#define NOW 1795597200LL   /* 2026-11-25 09:00 UTC */

static char dir[256];
static pb_config *cfg;
static pb_store *store;
static pb_services svc;
static pb_promotion prom;

static void cleanup(void)
{
	static const char *const files[] = { "promobot.db", "promobot.db-wal", "promobot.db-shm" };
	char path[320];

	pb_store_close(store);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	pb_config_free(cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pb_problems probs = { 0 };
	char json[4096];
	pb_err err;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/promobot-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(json, sizeof(json), CONFIG_FMT, dir);
	if (pb_config_parse(json, strlen(json), dir, &cfg, &probs)) {
		for (size_t i = 0; i < probs.count; i++)
			fprintf(stderr, "fuzz_ghbody config: %s\n", probs.items[i]);
		abort();
	}
	pb_problems_deinit(&probs);
	pb_err_init(&err);
	if (pb_store_open(cfg->storage_path, &store, &err)) {
		fprintf(stderr, "fuzz_ghbody: %s\n", pb_err_text(&err));
		abort();
	}
	atexit(cleanup);
	svc.cfg = cfg;
	svc.store = store;
	pb_strlcpy(prom.component, "graph-api", sizeof(prom.component));
	prom.from_stage = PB_STAGE_DEVELOPMENT;
	prom.target_stage = PB_STAGE_STAGING;
	pb_strlcpy(prom.requester, "alice", sizeof(prom.requester));
	prom.created_at = prom.updated_at = NOW;
	if (pb_store_promotion_insert(store, &prom, &err)) {
		fprintf(stderr, "fuzz_ghbody: %s\n", pb_err_text(&err));
		abort();
	}
	return 0;
}

static void check_title(const pb_buf *t)
{
	PROMISE(pb_utf8_valid(pb_buf_str(t), t->len));
	PROMISE(pb_utf8_len(pb_buf_str(t)) <= 256);
	PROMISE(!strchr(pb_buf_str(t), '\n') && !strchr(pb_buf_str(t), '\r'));
}

/* The next NUL-separated part of the input, as a C string (its own NUL ends it). */
static const char *part(char **cursor, const char *end)
{
	const char *p = *cursor;

	if (*cursor >= end)
		return "";
	*cursor += strlen(*cursor) + 1;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_strdup(data, size), *cur = text;
	const char *just = part(&cur, text + size), *btext = part(&cur, text + size);
	const char *rjson = part(&cur, text + size);
	const pb_component *g = pb_config_component(cfg, "graph-api");
	pb_severity sev = size ? (pb_severity)(data[0] % PB_SEV_COUNT) : PB_SEV_HIGH;
	pb_blocker b = { 0 };
	pb_buf body, title;
	char v[256];
	pb_err err;

	pb_err_init(&err);
	pb_buf_init(&body);
	pb_buf_init(&title);
	pb_strlcpy(prom.justification, just, sizeof(prom.justification));

	/*
	 * An open blocker with the text (listed in the promotion body) and the validation, in a
	 * transaction rolled back at the end: the builders read them on this connection, and every
	 * input starts from the same store without a commit's cost.
	 */
	PROMISE(pb_store_begin(store, &err) == 0);
	pb_strlcpy(b.component, "graph-api", sizeof(b.component));
	b.severity = sev;
	pb_strlcpy(b.text, btext, sizeof(b.text));
	pb_strlcpy(b.opened_by, "alice", sizeof(b.opened_by));
	b.opened_at = NOW;
	b.issue_number = size > 1 ? data[1] : 0;
	PROMISE(pb_store_blocker_add(store, &b, &err) == 0);
	if (*rjson) {
		pb_validation val = { .promotion_id = prom.id, .passed = size > 2 && (data[2] & 1),
				      .coverage = size > 3 ? data[3] - 1.0 : -1, .result_json = (char *)rjson,
				      .started_at = NOW, .finished_at = NOW };

		pb_strlcpy(val.revision, btext, sizeof(val.revision));
		PROMISE(pb_store_validation_add(store, &val, &err) == 0);
	}

	PROMISE(pb_ghbody_promotion_body(&svc, g, &prom, "promobot:op=1", &body, &err) == 0);
	PROMISE(pb_utf8_valid(pb_buf_str(&body), body.len));
	PROMISE(ghform_field(pb_buf_str(&body), "Component Name", v, sizeof(v)) && !strcmp(v, "Graph API"));
	PROMISE(ghform_field(pb_buf_str(&body), "Current Stage", v, sizeof(v)) && !strcmp(v, "Development"));
	PROMISE(ghform_field(pb_buf_str(&body), "Target Stage", v, sizeof(v)) && !strcmp(v, "Staging"));
	PROMISE(ghform_lines_starting(pb_buf_str(&body), "### ") == 15);
	PROMISE(ghform_occurrences(pb_buf_str(&body), "<!--") == 1);
	PROMISE(ghform_lines_starting(pb_buf_str(&body), "<!-- promobot:op=1 -->") == 1);
	PROMISE(pb_ghbody_promotion_title(g, &prom, &title) == 0);
	check_title(&title);

	pb_buf_reset(&body);
	pb_buf_reset(&title);
	PROMISE(pb_ghbody_blocker_body(g, &b, PB_STAGE_STAGING, "promobot:op=2", &body) == 0);
	PROMISE(pb_utf8_valid(pb_buf_str(&body), body.len));
	PROMISE(ghform_lines_starting(pb_buf_str(&body), "### ") == 13);
	PROMISE(ghform_occurrences(pb_buf_str(&body), "<!--") == 1);
	PROMISE(pb_ghbody_blocker_severity(pb_buf_str(&body)) == sev);
	PROMISE(ghform_field(pb_buf_str(&body), "Component Name", v, sizeof(v)) && !strcmp(v, "Graph API"));
	PROMISE(ghform_field(pb_buf_str(&body), "Target Stage", v, sizeof(v)) && !strcmp(v, "Staging"));
	PROMISE(pb_ghbody_blocker_title(g, &b, &title) == 0);
	check_title(&title);

	/* whatever the text, the escaped paragraph starts no block: its lines begin with no marker */
	pb_buf_reset(&body);
	PROMISE(pb_ghbody_escape(just, &body) == 0);
	PROMISE(ghform_lines_starting(pb_buf_str(&body), "#") == 0 && ghform_lines_starting(pb_buf_str(&body), "- ") == 0 &&
		ghform_lines_starting(pb_buf_str(&body), "`") == 0 && ghform_lines_starting(pb_buf_str(&body), "|") == 0 &&
		ghform_lines_starting(pb_buf_str(&body), " ") == 0 && !strstr(pb_buf_str(&body), "<!"));

	pb_store_rollback(store);
	pb_buf_deinit(&body);
	pb_buf_deinit(&title);
	free(text);
	return 0;
}
