/* test_ghoutbox.c — the GitHub outbox and the mirror of every step, against the fake GitHub on a fake clock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "github.h"
#include "gh_harness.h"

#define REPO "acme/tta"
#define TOKEN "ghp_outboxtest"

static th h;
static github_fake *fake;
static pb_err err;

static void setup_env(const char *repo, bool external)
{
	char top[768], extra[256], staging[512];

	cr_assert_eq(github_fake_start(&fake), 0);
	github_fake_add_token(fake, TOKEN);
	github_fake_add_repo(fake, REPO);
	github_fake_set_now(fake, TH_EPOCH_MS / 1000);
	setenv("PB_TEST_GITHUB_TOKEN", TOKEN, 1);
	snprintf(top, sizeof(top),
		 "\"github\": {\"api_url\": \"%s\", \"token_env\": \"PB_TEST_GITHUB_TOKEN\", \"timeout_ms\": 1000},"
		 "\"docker\": {\"host\": \"unix:///nonexistent/docker.sock\"},",
		 github_fake_url(fake));
	/* the MATURITY.md path names no file in the fake repository: that step fails for good */
	snprintf(extra, sizeof(extra), "\"github_repo\": \"%s\", \"github_maturity_path\": \"docs/neo4j/MATURITY.md\",",
		 repo);
	/* external: the target "deployed by other tooling" is the fake's own listener (a tcp check) */
	snprintf(staging, sizeof(staging),
		 "{\"deployment\": \"external\", \"healthy_timeout_s\": 1,"
		 " \"environment_url\": \"https://staging.example.org/neo4j\","
		 " \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %s, \"timeout_ms\": 500}}",
		 strrchr(github_fake_url(fake), ':') + 1);
	th_setup_full(&h, NULL, top, external ? staging : NULL, extra);
	ghh_open_client(&h);
	pb_err_init(&err);
}

static void setup_repo(const char *repo)
{
	setup_env(repo, false);
}

static void setup(void)
{
	setup_repo(REPO);
}

static void teardown(void)
{
	ghh_close_client(&h);
	th_teardown(&h);
	github_fake_free(fake);
	fake = NULL;
}

TestSuite(ghoutbox, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers (tests/commands/gh_harness.c, bound to this suite's harness and repository) ---- */

#define deliver() ghh_deliver(&h)
#define run_ok(user, cmd) cr_assert_eq(th_run(&h, (user), (cmd)), 0, "%s: %s", (cmd), th_out(&h))
#define issue(n) ghh_issue(fake, REPO, (n))
#define has_label ghh_has_label
#define nlabels ghh_nlabels
#define sval ghh_str
#define issues_created() ghh_issues_created(fake, REPO)
#define pending() ghh_pending(&h)
#define promotion_of(component) ghh_promotion(&h, (component))
#define card_line(p, out) ghh_card_line(&h, (p), (out))

/* ---- the flow ---- */

Test(ghoutbox, request_validate_approve_cancel_mirror_exactly)
{
	pb_promotion p;
	cJSON *is;
	pb_buf line;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging \"because ### Target Stage Production\"");
	cr_assert_eq(github_fake_count(fake, "", 0), 0, "nothing is sent inside the command");
	p = promotion_of("neo4j");
	card_line(&p, &line);
	cr_assert_str_eq(pb_buf_str(&line), "GitHub: issue not opened yet; 1 update pending");
	deliver();
	p = promotion_of("neo4j");
	cr_assert_eq(p.issue_number, 1);
	is = issue(1);
	cr_assert_str_eq(sval(is, "title"), "[PROMOTION] Neo4j: Development → Staging");
	cr_assert(has_label(is, "promotion:requested"));
	cr_assert(has_label(is, "component:neo4j"));
	cr_assert(has_label(is, "target:staging"));
	cr_assert_eq(nlabels(is), 3);
	cr_assert(strstr(sval(is, "body"), "### Component Name\n\nNeo4j\n"));
	cr_assert(strstr(sval(is, "body"), "<!-- promobot:op=1 -->"));
	/* user text cannot open a section of its own: the workflow's /### Target Stage\s+([^\n]+)/ reads Staging */
	{
		const char *at = strstr(sval(is, "body"), "### Target Stage");

		cr_assert_not_null(at);
		at += strlen("### Target Stage");
		at += strspn(at, " \t\r\n");
		cr_assert_eq(strncmp(at, "Staging\n", 8), 0, "%s", sval(is, "body"));
	}
	cJSON_Delete(is);
	card_line(&p, &line);
	cr_assert_str_eq(pb_buf_str(&line), "GitHub: #1 https://github.com/acme/tta/issues/1");
	cr_assert(strstr(th_out(&h), "GitHub: #1 https://github.com/acme/tta/issues/1"), "%s", th_out(&h));
	/* the labels were created once with promobot's colours */
	cr_assert_eq(github_fake_count(fake, "POST /repos/" REPO "/labels", 201), 3);

	run_ok("alice", "/promote validate neo4j");
	deliver();
	is = issue(1);
	cr_assert(has_label(is, "promotion:in-review"));
	cr_assert_not(has_label(is, "promotion:requested"), "in review replaces requested (commands/ghlabels.c)");
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1, "the validation result");
	cJSON_Delete(is);

	run_ok("bob", "/promote approve neo4j looks good");
	deliver();
	is = issue(1);
	cr_assert(has_label(is, "promotion:approved"));
	cr_assert_not(has_label(is, "promotion:in-review"));
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 2, "the approval");
	cr_assert_str_eq(sval(is, "state"), "open");
	cJSON_Delete(is);

	run_ok("alice", "/promote cancel neo4j");
	deliver();
	is = issue(1);
	cr_assert_str_eq(sval(is, "state"), "closed");
	cr_assert_str_eq(sval(is, "state_reason"), "not_planned");
	cJSON_Delete(is);
	cr_assert_eq(pending(), 0);
	cr_assert_eq(issues_created(), 1);
	pb_buf_deinit(&line);
}

Test(ghoutbox, complete_orders_steps_and_a_permanent_failure_does_not_stall_the_group)
{
	pb_promotion p;
	cJSON *is;
	pb_buf line;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	run_ok("bob", "/promote approve neo4j");
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);
	pb_fake_clock_advance(&h.clock, 8LL * 86400 * 1000);
	github_fake_set_now(fake, th_now(&h));
	run_ok("carol", "/promote complete neo4j \"observed by hand\"");
	deliver();
	is = issue(1);
	cr_assert(has_label(is, "promotion:completed"));
	cr_assert_str_eq(sval(is, "state"), "closed");
	cr_assert_str_eq(sval(is, "state_reason"), "completed");
	cJSON_Delete(is);
	/* the MATURITY.md step fails for good (no such file): told, audited, and the rest went on */
	p = promotion_of("neo4j");
	card_line(&p, &line);
	cr_assert(strstr(pb_buf_str(&line), "1 update failed: "), "%s", pb_buf_str(&line));
	cr_assert(strstr(pb_buf_str(&line), "docs/neo4j/MATURITY.md"), "%s", pb_buf_str(&line));
	cr_assert(strstr(th_out(&h), "GitHub update failed"), "%s", th_out(&h));
	/* validation, approval and the summary, once each */
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 3);
	cr_assert_eq(pending(), 0);
	pb_buf_deinit(&line);

	/* the lessons draft: a comment and a file next to MATURITY.md, committed once even when delivered again */
	run_ok("carol", "/promote lessons neo4j");
	deliver();
	cr_assert_eq(pending(), 0);
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 4);
	{
		size_t len = 0;
		char *doc = github_fake_file(fake, REPO, "docs/neo4j/LESSONS-staging-1.md", &len);

		cr_assert_not_null(doc, "the lessons draft was not committed");
		cr_assert(strstr(doc, "# Neo4j Promotion - Lessons Learned"), "%s", doc);
		free(doc);
	}
	cr_assert_eq(github_fake_count(fake, "PUT /repos/" REPO "/contents/docs/neo4j/LESSONS-staging-1.md", 0), 1);
	/* drafted again from the same facts: the file already says it, nothing is committed */
	run_ok("carol", "/promote lessons neo4j");
	deliver();
	cr_assert_eq(pending(), 0);
	cr_assert_eq(github_fake_count(fake, "PUT /repos/" REPO "/contents/docs/neo4j/LESSONS-staging-1.md", 0), 1);
}

/* ---- ordering ---- */

Test(ghoutbox, a_stuck_head_blocks_only_its_own_group)
{
	pb_ghop op;
	pb_promotion p;

	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	run_ok("carol", "/promote block neo4j high \"disk too small\"");
	/* the promotion issue cannot be created; the blocker issue can */
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_STATUS, 1, 502, 0);
	deliver();
	p = promotion_of("neo4j");
	cr_assert_eq(p.issue_number, 0);
	/* the blocker group went on alone: its issue exists (#1), labelled */
	{
		cJSON *is = issue(1);

		cr_assert(strstr(sval(is, "title"), "[BLOCKER] Neo4j: disk too small"));
		cr_assert(has_label(is, "promotion:blocked"));
		cJSON_Delete(is);
	}
	/* later ops of the promotion group were not attempted */
	for (int64_t id = 2; id <= 6; id++) {
		cr_assert_eq(pb_store_ghop_get(h.store, id, &op, &err), 0);
		if (!strcmp(op.group, "promotion:1"))
			cr_assert_eq(op.attempts, 0, "op %lld (%s) ran before its head", (long long)id, op.kind);
		pb_ghop_deinit(&op);
	}
	/* the head retries after its backoff: not before */
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 0);
	pb_fake_clock_advance(&h.clock, 5000);
	deliver();
	p = promotion_of("neo4j");
	cr_assert_eq(p.issue_number, 2);
	cr_assert_eq(pending(), 0);
	/* in order: the link comment names the blocker issue */
	cr_assert_eq(github_fake_comment_count(fake, REPO, 2), 2, "validation + blocker link");
	{
		cJSON *is = issue(2);

		cr_assert(has_label(is, "promotion:in-review"));
		cJSON_Delete(is);
	}
}

/* ---- retries ---- */

Test(ghoutbox, server_errors_back_off_on_the_clock_and_the_card_says_so)
{
	pb_promotion p;
	pb_ghop op;
	pb_buf line;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging");
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_STATUS, 3, 502, 0);
	deliver();
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	cr_assert_eq(op.state, PB_GHOP_PENDING);
	cr_assert_eq(op.attempts, 1);
	cr_assert_eq(op.last_status, 502);
	cr_assert(op.maybe_sent, "a 5xx on a create may have been applied");
	cr_assert_geq(op.next_at, th_now(&h) + 2);
	cr_assert_leq(op.next_at, th_now(&h) + 3);
	pb_ghop_deinit(&op);
	p = promotion_of("neo4j");
	card_line(&p, &line);
	cr_assert_str_eq(pb_buf_str(&line), "GitHub: issue not opened yet; 1 update pending (502, retrying)");
	/* second and third attempts: the backoff grows */
	pb_fake_clock_advance(&h.clock, 3000);
	deliver();
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	cr_assert_eq(op.attempts, 2);
	cr_assert_geq(op.next_at, th_now(&h) + 4);
	pb_ghop_deinit(&op);
	pb_fake_clock_advance(&h.clock, 6000);
	deliver();
	pb_fake_clock_advance(&h.clock, 11000);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
	cr_assert_eq(issues_created(), 1, "looked before each repeat: one issue");
	pb_buf_deinit(&line);
}

Test(ghoutbox, a_rate_limit_beyond_the_wait_bound_retries_at_its_reset)
{
	pb_ghop op;
	int64_t reset = th_now(&h) + 7200;

	run_ok("alice", "/promote request neo4j staging");
	github_fake_fault(fake, GITHUB_FAULT_RATE_LIMIT, 1, 403, reset);
	deliver();
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	cr_assert_eq(op.state, PB_GHOP_PENDING);
	cr_assert_eq(op.next_at, reset);
	pb_ghop_deinit(&op);
	pb_fake_clock_advance(&h.clock, 7200 * 1000);
	github_fake_set_now(fake, reset);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
}

/* ---- unknown outcomes ---- */

Test(ghoutbox, a_dropped_issue_create_is_adopted_not_repeated)
{
	run_ok("alice", "/promote request neo4j staging");
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_DROP, 1, 0, 0);
	deliver();
	cr_assert_eq(issues_created(), 0, "the drop answers nothing");
	{
		char *one = github_fake_issue_json(fake, REPO, 1);

		cr_assert_not_null(one, "but GitHub made it");
		free(one);
	}
	cr_assert_eq(promotion_of("neo4j").issue_number, 0);
	pb_fake_clock_advance(&h.clock, 5000);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
	{
		char *two = github_fake_issue_json(fake, REPO, 2);

		cr_assert_null(two, "a second issue was opened");
	}
}

Test(ghoutbox, a_dropped_comment_is_not_posted_twice)
{
	run_ok("alice", "/promote request neo4j staging");
	deliver();
	run_ok("alice", "/promote validate neo4j");
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues/1/comments", GITHUB_FAULT_DROP, 1, 0, 0);
	deliver();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1);
	pb_fake_clock_advance(&h.clock, 5000);
	deliver();
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1, "looked, found its marker, did not repeat");
	cr_assert_eq(pending(), 0);
	{
		cJSON *is = issue(1);

		cr_assert(has_label(is, "promotion:in-review"), "the group went on after the adopted comment");
		cJSON_Delete(is);
	}
}

Test(ghoutbox, a_hung_create_times_out_and_is_looked_up)
{
	pb_promotion p;
	pb_buf line;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging");
	github_fake_fault_on(fake, "POST /repos/" REPO "/issues", GITHUB_FAULT_HANG, 1, 0, 0);
	deliver();
	p = promotion_of("neo4j");
	cr_assert_eq(p.issue_number, 0);
	/* no HTTP status: the card keeps the end of the client's text, where curl says why */
	card_line(&p, &line);
	cr_assert(strstr(pb_buf_str(&line), "1 update pending (retrying: GitHub: POST http://127.0.0.1:"), "%s",
		  pb_buf_str(&line));
	cr_assert(strstr(pb_buf_str(&line), "Timeout was reached"), "%s", pb_buf_str(&line));
	pb_buf_deinit(&line);
	pb_fake_clock_advance(&h.clock, 5000);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
	cr_assert_eq(issues_created(), 1);
}

Test(ghoutbox, a_completed_promotion_still_owing_updates_says_so_in_status)
{
	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	run_ok("bob", "/promote approve neo4j");
	deliver();
	th_force_state(&h, "neo4j", PB_ST_OBSERVING);
	pb_fake_clock_advance(&h.clock, 8LL * 86400 * 1000);
	github_fake_set_now(fake, th_now(&h));
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 100000, 502, 0);
	run_ok("carol", "/promote complete neo4j \"observed by hand\"");
	deliver();
	run_ok("bob", "/promote status neo4j");
	cr_assert(strstr(th_out(&h), "No open promotion"), "%s", th_out(&h));
	cr_assert(strstr(th_out(&h), "GitHub: promotion #1 (completed): #1 https://github.com/acme/tta/issues/1; 5 "
				     "updates pending (502, retrying)"),
		  "%s", th_out(&h));
	github_fake_fault_clear(fake);
	pb_fake_clock_advance(&h.clock, 60 * 1000);
	deliver();
	cr_assert_eq(pending(), 0);
	run_ok("bob", "/promote status neo4j");
	cr_assert_null(strstr(th_out(&h), "GitHub"), "nothing owed, nothing said: %s", th_out(&h));
}

/* ---- permanent errors ---- */

static void setup_gone(void)
{
	setup_repo("acme/gone");
}

TestSuite(ghoutbox_gone, .init = setup_gone, .fini = teardown, .timeout = 120);

Test(ghoutbox_gone, a_missing_repository_fails_for_good_and_says_so)
{
	pb_promotion p;
	pb_buf line;
	pb_event *ev = NULL;
	size_t nev = 0;
	bool audited = false;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j"); /* chat keeps working */
	deliver();
	cr_assert_eq(pending(), 0, "every op failed; none stalls");
	p = promotion_of("neo4j");
	card_line(&p, &line);
	cr_assert(strstr(pb_buf_str(&line), "updates failed"), "%s", pb_buf_str(&line));
	cr_assert(strstr(pb_buf_str(&line), "Not Found (HTTP 404)") || strstr(pb_buf_str(&line), "no GitHub issue"),
		  "%s", pb_buf_str(&line));
	cr_assert(strstr(th_out(&h), "GitHub update failed"));
	cr_assert_eq(pb_store_events_for_promotion(h.store, p.id, &ev, &nev, &err), 0);
	for (size_t i = 0; i < nev; i++)
		audited |= !strcmp(ev[i].kind, "github.failed");
	free(ev);
	cr_assert(audited);
	pb_buf_deinit(&line);
}

/* ---- GitHub down mid-flow, and a restart ---- */

Test(ghoutbox, github_down_for_a_while_then_the_exact_end_state)
{
	pb_promotion p;
	pb_buf line;
	cJSON *is;

	pb_buf_init(&line);
	run_ok("alice", "/promote request neo4j staging");
	deliver();
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 100000, 502, 0);
	run_ok("alice", "/promote validate neo4j");
	run_ok("bob", "/promote approve neo4j");
	for (int i = 0; i < 5; i++) {
		deliver();
		pb_fake_clock_advance(&h.clock, 60 * 1000);
	}
	p = promotion_of("neo4j");
	card_line(&p, &line);
	cr_assert(strstr(pb_buf_str(&line), "updates pending (502, retrying)"), "%s", pb_buf_str(&line));
	run_ok("alice", "/promote status neo4j");
	cr_assert(strstr(th_out(&h), "updates pending (502, retrying)"), "%s", th_out(&h));
	github_fake_fault_clear(fake);
	pb_fake_clock_advance(&h.clock, 11 * 60 * 1000);
	deliver();
	cr_assert_eq(pending(), 0);
	is = issue(1);
	cr_assert(has_label(is, "promotion:approved"));
	cr_assert(has_label(is, "component:neo4j"));
	cr_assert(has_label(is, "target:staging"));
	cr_assert_eq(nlabels(is), 3, "requested and in-review each replaced by the next");
	cJSON_Delete(is);
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 2, "validation + approval, once each");
	cr_assert_eq(issues_created(), 1);
	pb_buf_deinit(&line);
}

Test(ghoutbox, a_restart_mid_delivery_ends_in_the_exact_state)
{
	pb_ghop op;
	cJSON *is;

	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	run_ok("bob", "/promote approve neo4j");
	/* a process took the issue op, GitHub made the issue, and the process died before recording it */
	cr_assert_eq(pb_store_ghop_claim(h.store, 1, "dead-process", th_now(&h), th_now(&h) + 120, NULL, &err), 0);
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	{
		char body[256];
		pb_github_issue made;
		const char *labels[] = { "promotion:requested" };

		snprintf(body, sizeof(body), "### Component Name\n\nNeo4j\n\n<!-- promobot:op=%lld -->", (long long)op.id);
		pb_err_init(&err);
		cr_assert_eq(pb_github_issue_create(h.svc.github, REPO, "[PROMOTION] Neo4j: Development → Staging", body,
						    labels, 1, &made, &err), 0, "%s", pb_err_text(&err));
		pb_github_issue_deinit(&made);
		/* the component label too, as the dead process sent it */
		cr_assert_eq(pb_github_labels_add(h.svc.github, REPO, 1, (const char *[]){ "component:neo4j" }, 1, &err), 0);
	}
	pb_ghop_deinit(&op);
	/* restart: everything closed and opened again */
	ghh_close_client(&h);
	pb_store_close(h.store);
	cr_assert_eq(pb_store_open(h.cfg->storage_path, &h.store, &err), 0);
	h.svc.store = h.store;
	ghh_open_client(&h);
	pb_err_init(&err);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 0, "leased by the dead process: not before it expires");
	pb_fake_clock_advance(&h.clock, 121 * 1000);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1, "adopted by its marker");
	cr_assert_eq(issues_created(), 1);
	cr_assert_eq(pending(), 0);
	is = issue(1);
	cr_assert(has_label(is, "promotion:approved"));
	cr_assert_not(has_label(is, "promotion:in-review"));
	cJSON_Delete(is);
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 2);
}

/* ---- a leader change ---- */

/* A token of another process (what pb_lease_token makes on another host). */
#define A_PROCESS "host-a:4242:0badf00d:"

/* The head op of the promotion's group (asserts there is one). */
static pb_ghop head_op(void)
{
	pb_ghop *due = NULL, op;
	size_t n = 0;

	cr_assert_eq(pb_store_ghops_due(h.store, th_now(&h), 0, &due, &n, &err), 0, "%s", pb_err_text(&err));
	cr_assert_geq(n, 1, "nothing due");
	op = due[0];
	memset(&due[0], 0, sizeof(due[0]));
	pb_ghops_free(due, n);
	return op;
}

/*
 * Leader A (another process, its own services on the same store) holds the
 * scheduler lease, claims the validation comment, sends it — GitHub makes it —
 * and dies before recording it. Its claim would last 60 s. B takes the expired
 * scheduler lease over 16 s later and releases A's claims: B delivers the op
 * once A's lease expiry + github.timeout_ms (+1 s) has passed, not before, and
 * looks for the comment's marker first: one comment on GitHub, the group goes on.
 */
Test(ghoutbox, a_new_leader_delivers_the_dead_leaders_claimed_op_after_the_bound_once)
{
	pb_services a;
	pb_lease prev;
	pb_ghop op;
	char own[192], body[128], marker[64];
	int64_t t0, until = 0, cid = 0;
	size_t released = 0;
	int lookups;

	run_ok("alice", "/promote request neo4j staging");
	deliver();
	run_ok("alice", "/promote validate neo4j");

	memset(&a, 0, sizeof(a));
	cr_assert_eq(pb_services_open(&a, h.cfg, &h.clock.clock, "a", PB_SVC_NO_ENGINE, &err), 0, "%s",
		     pb_err_text(&err));
	a.lock_owner = A_PROCESS "slack-bg-0";
	t0 = th_now(&h);
	cr_assert_eq(pb_store_lease_acquire(a.store, "scheduler", A_PROCESS "slack-scheduler", "scheduler leader", t0,
					    15, NULL, &err), 0, "%s", pb_err_text(&err));
	/* A delivers up to the comment, claims it, GitHub makes it, A dies */
	for (op = head_op(); strcmp(op.kind, "comment") != 0; op = head_op()) {
		pb_ghop_deinit(&op);
		cr_assert_eq(pb_ghout_deliver(&a, 1, NULL, &err), 0, "%s", pb_err_text(&err));
	}
	cr_assert_eq(pb_store_ghop_claim(a.store, op.id, a.lock_owner, t0, t0 + 60, NULL, &err), 0, "%s",
		     pb_err_text(&err));
	pb_ghout_marker(op.id, marker, sizeof(marker));
	snprintf(body, sizeof(body), "Validated.\n\n%s", marker);
	cr_assert_eq(pb_github_comment_create(a.github, REPO, 1, body, &cid, &err), 0, "%s", pb_err_text(&err));
	pb_services_close(&a);
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1);

	/* B: the lease expired at t0 + 15; B takes it over */
	pb_fake_clock_advance(&h.clock, 16 * 1000);
	pb_lease_token("test-scheduler", own, sizeof(own));
	cr_assert_eq(pb_store_lease_acquire(h.store, "scheduler", own, "scheduler leader", th_now(&h), 15, &prev, &err),
		     0, "%s", pb_err_text(&err));
	cr_assert_str_eq(prev.owner, A_PROCESS "slack-scheduler");
	cr_assert_eq(pb_ghout_takeover(h.store, h.cfg, &prev, own, &released, &until, &err), 0, "%s",
		     pb_err_text(&err));
	cr_assert_eq(released, 1);
	cr_assert_eq(until, t0 + 15 + 1 + 1, "expiry + github.timeout_ms (1 s) + 1 s");
	cr_assert_lt(until, t0 + 60, "far sooner than the claim");

	/* not before the bound: A's request could still be landing */
	lookups = github_fake_count(fake, "GET /repos/" REPO "/issues/1/comments", 0);
	deliver();
	cr_assert_eq(github_fake_count(fake, "GET /repos/" REPO "/issues/1/comments", 0), lookups);
	cr_assert_eq(pending(), 2, "the comment and the label change after it wait: %zu", pending());
	{
		int64_t id = op.id;

		pb_ghop_deinit(&op);
		cr_assert_eq(pb_store_ghop_get(h.store, id, &op, &err), 0);
	}
	cr_assert_eq(op.state, PB_GHOP_PENDING);
	pb_ghop_deinit(&op);

	pb_fake_clock_advance(&h.clock, (until - th_now(&h)) * 1000);
	deliver();
	cr_assert_gt(github_fake_count(fake, "GET /repos/" REPO "/issues/1/comments", 0), lookups, "no lookup");
	cr_assert_eq(github_fake_comment_count(fake, REPO, 1), 1, "the comment twice");
	cr_assert_eq(pending(), 0);
	{
		cJSON *is = issue(1);

		cr_assert(has_label(is, "promotion:in-review"), "the group went on");
		cJSON_Delete(is);
	}
	/* a takeover from this very process releases nothing */
	cr_assert_eq(pb_ghout_takeover(h.store, h.cfg, &prev, A_PROCESS "other-worker", &released, NULL, &err), 0);
	cr_assert_eq(released, 0);
}

/* The gate of a replica that lost its lease: closed before the first try, or halfway through an op. */
static bool gate_tries(void *ud)
{
	int *left = ud;

	return (*left)-- > 0;
}

Test(ghoutbox, a_replica_no_longer_sure_it_leads_starts_no_request)
{
	int left = 0, sent;
	pb_ghop op;

	run_ok("alice", "/promote request neo4j staging");
	pb_github_set_gate(h.svc.github, gate_tries, &left);
	deliver();
	cr_assert_eq(github_fake_count(fake, "", 0), 0, "a request went out");
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	cr_assert_eq(op.attempts, 0, "claimed without sending: the op would wait out a claim");
	pb_ghop_deinit(&op);

	/* the check before the claim and one try pass, then the deadline passes in the middle of the op */
	left = 2;
	deliver();
	sent = github_fake_count(fake, "", 0);
	cr_assert_eq(sent, 1, "a request after the gate closed");
	cr_assert_eq(pb_store_ghop_get(h.store, 1, &op, &err), 0);
	cr_assert_eq(op.state, PB_GHOP_PENDING);
	cr_assert(op.maybe_sent, "its first request may have acted: look before repeating");
	cr_assert(strstr(op.last_error, "not sent"), "%s", op.last_error);
	pb_ghop_deinit(&op);

	pb_github_set_gate(h.svc.github, NULL, NULL);
	pb_fake_clock_advance(&h.clock, 600 * 1000);
	deliver();
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
	cr_assert_eq(issues_created(), 1);
	cr_assert_eq(pending(), 0);
}

/* ---- not configured: today's behaviour ---- */

static void setup_plain(void)
{
	cr_assert_eq(github_fake_start(&fake), 0);
	th_setup(&h, NULL);
}

TestSuite(ghoutbox_off, .init = setup_plain, .fini = teardown, .timeout = 60);

Test(ghoutbox_off, nothing_is_enqueued_without_a_github_repo)
{
	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	cr_assert_eq(pending(), 0);
	cr_assert_null(strstr(th_out(&h), "GitHub"));
}

/* ---- exec's wait ---- */

Test(ghoutbox, wait_delivers_within_the_bound_or_says_what_is_pending)
{
	int64_t mark = 0;

	cr_assert_eq(pb_store_ghops_max_id(h.store, &mark, &err), 0);
	run_ok("alice", "/promote request neo4j staging");
	pb_err_init(&err);
	cr_assert_eq(pb_ghout_wait(&h.svc, mark, 30000, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(promotion_of("neo4j").issue_number, 1);
	cr_assert_eq(pb_store_ghops_max_id(h.store, &mark, &err), 0);
	github_fake_fault(fake, GITHUB_FAULT_STATUS, 100000, 502, 0);
	run_ok("alice", "/promote validate neo4j");
	pb_err_init(&err);
	cr_assert_eq(pb_ghout_wait(&h.svc, mark, 10000, &err), PB_E_BUSY);
	cr_assert(strstr(pb_err_text(&err), "still pending"), "%s", pb_err_text(&err));
	cr_assert(strstr(pb_err_text(&err), "HTTP 502"), "%s", pb_err_text(&err));
}

/* ---- deploy: a GitHub Deployment with its statuses ---- */

static void setup_external(void)
{
	setup_env(REPO, true);
}

TestSuite(ghoutbox_deploy, .init = setup_external, .fini = teardown, .timeout = 120);

Test(ghoutbox_deploy, deploy_creates_a_deployment_of_the_validated_revision_with_statuses)
{
	cJSON *is;

	github_fake_set_ref(fake, REPO, "rev-1", "0123456789abcdef0123456789abcdef01234567");
	run_ok("alice", "/promote request neo4j staging");
	run_ok("alice", "/promote validate neo4j");
	run_ok("bob", "/promote approve neo4j");
	run_ok("carol", "/promote deploy neo4j");
	cr_assert_eq(th_state(&h, "neo4j"), PB_ST_OBSERVING, "%s", th_out(&h));
	/* the first attempt's answer is lost: the deployment is looked up by its payload, not made twice */
	github_fake_fault_on(fake, "POST /repos/" REPO "/deployments", GITHUB_FAULT_DROP, 1, 0, 0);
	deliver();
	pb_fake_clock_advance(&h.clock, 5000);
	deliver();
	cr_assert_eq(pending(), 0);
	cr_assert_eq(github_fake_count(fake, "POST /repos/" REPO "/deployments", 0) -
			     github_fake_count(fake, "POST /repos/" REPO "/deployments/", 0),
		     1, "one create, adopted after the drop");
	cr_assert_eq(github_fake_count(fake, "GET /repos/" REPO "/deployments", 200), 1);
	cr_assert_eq(github_fake_count(fake, "POST /repos/" REPO "/deployments/", 201), 2, "in_progress, success");
	{
		pb_err e;
		cJSON *list = NULL, *d, *st;

		pb_err_init(&e);
		cr_assert_eq(pb_github_get_all(h.svc.github, "/repos/" REPO "/deployments", NULL, 0, &list, &e), 0);
		cr_assert_eq(cJSON_GetArraySize(list), 1);
		d = cJSON_GetArrayItem(list, 0);
		cr_assert_str_eq(sval(d, "ref"), "rev-1");
		cr_assert_str_eq(sval(d, "environment"), "staging");
		{
			char path[256];

			snprintf(path, sizeof(path), "/repos/" REPO "/deployments/%lld/statuses",
				 (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "id")));
			cJSON_Delete(list);
			list = NULL;
			cr_assert_eq(pb_github_get_all(h.svc.github, path, NULL, 0, &list, &e), 0);
		}
		cr_assert_eq(cJSON_GetArraySize(list), 2);
		st = cJSON_GetArrayItem(list, 0); /* newest first */
		cr_assert_str_eq(sval(st, "state"), "success");
		cr_assert_str_eq(sval(st, "environment_url"), "https://staging.example.org/neo4j");
		cr_assert_str_eq(sval(cJSON_GetArrayItem(list, 1), "state"), "in_progress");
		cJSON_Delete(list);
	}
	is = issue(1);
	cr_assert(has_label(is, "promotion:approved"));
	cJSON_Delete(is);
}
