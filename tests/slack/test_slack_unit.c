/* test_slack_unit.c — Slack adapter pieces without the bot: envelopes, blocks, backoff, workers, Web API vs the fake. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fake_slack.h"
#include "pb_card.h"
#include "pb_err.h"
#include "slack_blocks.h"
#include "slack_envelope.h"
#include "slack_web.h"
#include "workers.h"

/* ---- envelopes ---- */

Test(slack_envelope, slash_command)
{
	const char *j = "{\"envelope_id\":\"e1\",\"type\":\"slash_commands\",\"accepts_response_payload\":true,"
			"\"payload\":{\"command\":\"/promote\",\"text\":\"status neo4j\",\"user_id\":\"U1\","
			"\"user_name\":\"alice\",\"channel_id\":\"C1\"}}";
	pb_slack_msg m;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_slack_msg_parse(j, strlen(j), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_COMMAND);
	cr_assert_str_eq(m.envelope_id, "e1");
	cr_assert_str_eq(m.text, "status neo4j");
	cr_assert_str_eq(m.user_id, "U1");
	cr_assert_str_eq(m.channel_id, "C1");
	cr_assert(m.accepts_response_payload);
	pb_slack_msg_deinit(&m);
}

Test(slack_envelope, app_mention_strips_the_mention)
{
	const char *j = "{\"envelope_id\":\"e2\",\"type\":\"events_api\",\"retry_attempt\":1,"
			"\"payload\":{\"event_id\":\"Ev1\",\"event\":{\"type\":\"app_mention\",\"user\":\"U2\","
			"\"channel\":\"C1\",\"text\":\"<@U0BOT>  status neo4j\"}}}";
	pb_slack_msg m;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_slack_msg_parse(j, strlen(j), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_COMMAND);
	cr_assert_str_eq(m.text, "status neo4j");
	cr_assert_str_eq(m.event_id, "Ev1");
	pb_slack_msg_deinit(&m);
}

Test(slack_envelope, bot_messages_and_other_events_are_ignored)
{
	const char *j = "{\"envelope_id\":\"e3\",\"type\":\"events_api\",\"payload\":{\"event_id\":\"Ev2\","
			"\"event\":{\"type\":\"app_mention\",\"bot_id\":\"B1\",\"user\":\"U2\",\"channel\":\"C1\",\"text\":\"x\"}}}";
	const char *k = "{\"envelope_id\":\"e4\",\"type\":\"some_future_type\",\"payload\":{}}";
	pb_slack_msg m;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_slack_msg_parse(j, strlen(j), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_IGNORED);
	pb_slack_msg_deinit(&m);
	cr_assert_eq(pb_slack_msg_parse(k, strlen(k), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_IGNORED);
	cr_assert_str_eq(m.envelope_id, "e4");
	pb_slack_msg_deinit(&m);
}

Test(slack_envelope, block_actions)
{
	const char *j = "{\"envelope_id\":\"e5\",\"type\":\"interactive\",\"payload\":{\"type\":\"block_actions\","
			"\"user\":{\"id\":\"U3\",\"username\":\"bob\"},\"channel\":{\"id\":\"C1\"},"
			"\"container\":{\"type\":\"message\",\"message_ts\":\"1.2\",\"channel_id\":\"C1\"},"
			"\"message\":{\"ts\":\"1.2\",\"blocks\":[{\"type\":\"divider\"}]},"
			"\"actions\":[{\"action_id\":\"approve:0\",\"value\":\"neo4j\",\"type\":\"button\",\"action_ts\":\"9.9\"}]}}";
	pb_slack_msg m;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_slack_msg_parse(j, strlen(j), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_ACTION);
	cr_assert_str_eq(m.action, "approve");
	cr_assert_str_eq(m.action_value, "neo4j");
	cr_assert_str_eq(m.message_ts, "1.2");
	cr_assert_str_eq(m.message_channel, "C1");
	cr_assert_str_eq(m.action_ts, "9.9");
	cr_assert_not_null(m.message_blocks);
	pb_slack_msg_deinit(&m);
}

Test(slack_envelope, malformed_frames_are_reported_not_fatal)
{
	static const char *const bad[] = {
		"not json", "[1,2]", "{}", "{\"type\":\"slash_commands\"}",
		"{\"envelope_id\":\"e6\",\"type\":\"slash_commands\"}",
		"{\"envelope_id\":\"e7\",\"type\":\"slash_commands\",\"payload\":{\"text\":\"x\"}}",
		"{\"envelope_id\":\"e8\",\"type\":\"interactive\",\"payload\":{\"type\":\"block_actions\",\"actions\":[]}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_slack_msg m;
		pb_err e;

		pb_err_init(&e);
		cr_assert_eq(pb_slack_msg_parse(bad[i], strlen(bad[i]), &m, &e), PB_E_INVALID, "%s", bad[i]);
		cr_assert_eq(m.kind, PB_SLACK_MSG_INVALID);
		cr_assert(e.set);
		pb_slack_msg_deinit(&m);
	}
	{
		/* The envelope id survives a broken payload so the frame can still be acked. */
		const char *j = bad[5];
		pb_slack_msg m;
		pb_err e;

		pb_err_init(&e);
		pb_slack_msg_parse(j, strlen(j), &m, &e);
		cr_assert_str_eq(m.envelope_id, "e7");
		pb_slack_msg_deinit(&m);
	}
}

Test(slack_envelope, hello_and_disconnect)
{
	const char *h = "{\"type\":\"hello\",\"num_connections\":1}";
	const char *d = "{\"type\":\"disconnect\",\"reason\":\"refresh_requested\"}";
	pb_slack_msg m;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_slack_msg_parse(h, strlen(h), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_HELLO);
	pb_slack_msg_deinit(&m);
	cr_assert_eq(pb_slack_msg_parse(d, strlen(d), &m, &e), 0);
	cr_assert_eq(m.kind, PB_SLACK_MSG_DISCONNECT);
	cr_assert_str_eq(m.reason, "refresh_requested");
	pb_slack_msg_deinit(&m);
}

Test(slack_envelope, ack_json)
{
	char *a = pb_slack_ack_json("e\"1", NULL);
	char *b = pb_slack_ack_json("e2", "busy");

	cr_assert_str_eq(a, "{\"envelope_id\":\"e\\\"1\"}");
	cr_assert_str_eq(b, "{\"envelope_id\":\"e2\",\"payload\":{\"text\":\"busy\"}}");
	free(a);
	free(b);
}

Test(slack_envelope, permanent_errors)
{
	cr_assert(pb_slack_error_is_permanent("invalid_auth"));
	cr_assert(pb_slack_error_is_permanent("not_authed"));
	cr_assert(pb_slack_error_is_permanent("account_inactive"));
	cr_assert(pb_slack_error_is_permanent("link_disabled"));
	cr_assert_not(pb_slack_error_is_permanent("ratelimited"));
	cr_assert_not(pb_slack_error_is_permanent("internal_error"));
	cr_assert_not(pb_slack_error_is_permanent(NULL));
}

Test(slack_backoff, grows_with_jitter_and_caps)
{
	unsigned prev_max = 0;

	for (unsigned a = 0; a < 12; a++) {
		unsigned lo = pb_slack_backoff_ms(a, 0), hi = pb_slack_backoff_ms(a, ~0u);

		cr_assert_leq(lo, hi);
		cr_assert_leq(hi, 30000u);
		cr_assert_geq(lo, 250u);
		cr_assert_geq(hi, prev_max / 2, "attempt %u", a);
		prev_max = hi;
		for (unsigned r = 0; r < 1000; r += 37) {
			unsigned d = pb_slack_backoff_ms(a, r * 7919u);

			cr_assert(d >= lo / 1 && d <= 30000u);
		}
	}
	cr_assert_geq(pb_slack_backoff_ms(20, 0), 15000u);
	cr_assert_lt(pb_slack_backoff_ms(0, ~0u), 1000u);
}

/* ---- blocks ---- */

static const cJSON *block_of_type(const cJSON *blocks, const char *type, int nth)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, blocks) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");

		if (cJSON_IsString(t) && !strcmp(t->valuestring, type) && nth-- == 0)
			return b;
	}
	return NULL;
}

/* ---- the head scan: what the loop acks on ---- */

static bool scan(const char *j, pb_slack_head *h)
{
	return pb_slack_head_scan(j, strlen(j), h);
}

Test(slack_envelope, head_scan_reads_the_top_level_fields)
{
	const char *j = "{\"envelope_id\":\"e1-x\",\"type\":\"slash_commands\",\"accepts_response_payload\":true,"
			"\"payload\":{\"envelope_id\":\"inner\",\"type\":\"inner\",\"text\":\"a \\\"quoted\\\" } ] {\","
			"\"list\":[1,-2.5e3,true,null,{\"k\":[]}]}}";
	pb_slack_head h;

	cr_assert(scan(j, &h));
	cr_expect_str_eq(h.envelope_id, "e1-x");
	cr_expect_str_eq(h.type, "slash_commands");
	cr_expect(h.accepts_response_payload);
	cr_assert(scan(" {\"type\" : \"events_api\" , \"payload\":{}, \"envelope_id\":\"e2\"}\n", &h), "spaces");
	cr_expect_str_eq(h.envelope_id, "e2");
	cr_expect_not(h.accepts_response_payload, "absent means false");
	cr_assert(scan("{\"envelope_id\":\"a\",\"envelope_id\":\"b\",\"type\":\"t\","
		       "\"accepts_response_payload\":false}", &h));
	cr_expect_str_eq(h.envelope_id, "a", "the first of a repeated key, as cJSON reads it");
	cr_expect_not(h.accepts_response_payload);
}

Test(slack_envelope, head_scan_refuses_what_it_cannot_vouch_for)
{
	char deep[300], longid[200];
	pb_slack_head h;
	int n = 0;

	cr_expect_not(scan("", &h));
	cr_expect_not(scan("[]", &h));
	cr_expect_not(scan("{}", &h));
	cr_expect_not(scan("{\"envelope_id\":\"e\"}", &h), "no type");
	cr_expect_not(scan("{\"type\":\"hello\"}", &h), "no envelope_id (hello: the full parse handles it)");
	cr_expect_not(scan("{\"envelope_id\":\"e\\\"x\",\"type\":\"t\"}", &h), "an escape in the id");
	cr_expect_not(scan("{\"envelope_id\":\"e\\u0041\",\"type\":\"t\"}", &h), "an escape in the id");
	cr_expect_not(scan("{\"env\\u0065lope_id\":\"e\",\"type\":\"t\"}", &h), "an escaped key");
	cr_expect_not(scan("{\"envelope_id\":\"e\x01\",\"type\":\"t\"}", &h), "a control character");
	cr_expect_not(scan("{\"envelope_id\":7,\"type\":\"t\"}", &h), "not a string");
	cr_expect_not(scan("{\"envelope_id\":\"e\",\"type\":\"t\"} x", &h), "trailing bytes");
	cr_expect_not(scan("{\"envelope_id\":\"e\",\"type\":\"t\"", &h), "truncated");
	cr_expect_not(scan("{\"payload\":{\"a\":[1}],\"envelope_id\":\"e\",\"type\":\"t\"}", &h), "brackets crossed");
	cr_expect_not(scan("{\"payload\":{\"a\":\"open},\"envelope_id\":\"e\",\"type\":\"t\"}", &h), "string open");
	cr_expect_not(scan("{\"envelope_id\" \"e\",\"type\":\"t\"}", &h), "no colon");
	cr_expect_not(scan("{\"envelope_id\":\"e\" \"type\":\"t\"}", &h), "no comma");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	snprintf(deep, sizeof(deep), "{\"envelope_id\":\"%s\",\"type\":\"t\"}", longid);
	cr_expect_not(scan(deep, &h), "an id longer than the buffer");
	n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"envelope_id\":\"e\",\"type\":\"t\",\"p\":");
	for (int i = 0; i < 65; i++)
		deep[n++] = '[';
	for (int i = 0; i < 65; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	cr_expect_not(scan(deep, &h), "nested deeper than the scan follows");
}

/* Escapes &, <, >; cuts at `max` code points (an escape counts its length) with an ellipsis; no broken UTF-8. */
static void expect_escaped(const char *in, size_t max, const char *want)
{
	char *got = pb_slack_mrkdwn_escape(in, max);

	cr_assert_not_null(got);
	cr_expect_str_eq(got, want, "escape(\"%s\", %zu)", in, max);
	free(got);
}

Test(slack_blocks, mrkdwn_escape_runs_escapes_and_cuts)
{
	expect_escaped("", 10, "");
	expect_escaped(NULL, 10, "");
	expect_escaped("plain text", 100, "plain text");
	expect_escaped("a<b>&c", 100, "a&lt;b&gt;&amp;c");
	expect_escaped("<@U1> & <!here>", 100, "&lt;@U1&gt; &amp; &lt;!here&gt;");
	expect_escaped("abcde", 5, "abcde");
	expect_escaped("abcdefgh", 5, "abcd…");
	expect_escaped("ab<cdef", 5, "ab&lt;…");
	expect_escaped("<<x", 6, "&lt;&lt;x");
	expect_escaped("\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9\xc3\xa9");
	expect_escaped("\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9…");
	expect_escaped("ab\xc3", 10, "ab");
	expect_escaped("a&b\xc3", 10, "a&amp;b");
}

Test(slack_blocks, card_renders_within_limits)
{
	pb_card *c = pb_card_new("Promotion neo4j → staging <#3>");
	char longtitle[600];
	cJSON *msg = cJSON_CreateObject();
	const cJSON *blocks, *hdr, *sec, *acts;
	char *json;

	cr_assert_not_null(c);
	pb_card_text(c, "Requested by <@U1> & team: <script>");
	for (int i = 0; i < 12; i++)
		pb_card_field(c, "Field", "value %d", i);
	pb_card_item(c, PB_ITEM_PASS, "tests");
	pb_card_item(c, PB_ITEM_FAIL, "coverage 50%% < 70%%");
	pb_card_button(c, "Approve", "approve", "neo4j", false);
	pb_card_button(c, "Reject", "reject", "neo4j", true);
	cr_assert_eq(pb_slack_card_to_message(c, msg), 0);
	blocks = cJSON_GetObjectItemCaseSensitive(msg, "blocks");
	cr_assert(cJSON_IsArray(blocks));
	hdr = block_of_type(blocks, "header", 0);
	cr_assert_not_null(hdr);
	sec = block_of_type(blocks, "section", 0);
	json = cJSON_PrintUnformatted(sec);
	/* Peer text cannot inject mentions or links into mrkdwn. */
	cr_assert_not_null(strstr(json, "&lt;@U1&gt; &amp; team"));
	cr_assert_null(strstr(json, "<script>"));
	free(json);
	/* 12 fields: two sections (10 + 2). */
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(block_of_type(blocks, "section", 1), "fields")), 10);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(block_of_type(blocks, "section", 2), "fields")), 2);
	acts = block_of_type(blocks, "actions", 0);
	cr_assert_not_null(acts);
	{
		const cJSON *els = cJSON_GetObjectItem(acts, "elements");
		const char *a0 = cJSON_GetObjectItem(cJSON_GetArrayItem(els, 0), "action_id")->valuestring;
		const char *a1 = cJSON_GetObjectItem(cJSON_GetArrayItem(els, 1), "action_id")->valuestring;

		cr_assert_str_eq(a0, "approve:0");
		cr_assert_str_eq(a1, "reject:1");
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(els, 1), "style")->valuestring, "danger");
		cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(els, 0), "value")->valuestring, "neo4j");
	}
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(msg, "text")));
	cJSON_Delete(msg);
	pb_card_free(c);

	/* A title over 150 characters is cut (UTF-8 safe) rather than rejected by Slack. */
	memset(longtitle, 0, sizeof(longtitle));
	for (int i = 0; i < 100; i++)
		strcat(longtitle, "é→");
	c = pb_card_new(longtitle);
	msg = cJSON_CreateObject();
	cr_assert_eq(pb_slack_card_to_message(c, msg), 0);
	{
		const char *t = cJSON_GetObjectItem(cJSON_GetObjectItem(
			block_of_type(cJSON_GetObjectItem(msg, "blocks"), "header", 0), "text"), "text")->valuestring;
		size_t cps = 0;

		for (const char *p = t; *p; p++)
			if (((unsigned char)*p & 0xC0) != 0x80)
				cps++;
		cr_assert_leq(cps, 150u);
		cr_assert_gt(cps, 100u);
	}
	cJSON_Delete(msg);
	pb_card_free(c);
}

Test(slack_blocks, long_text_is_cut_to_section_limit)
{
	pb_card *c = pb_card_new("t");
	char *big = malloc(10001);
	cJSON *msg = cJSON_CreateObject();
	const char *t;

	memset(big, 'x', 10000);
	big[10000] = '\0';
	pb_card_pre(c, big);
	cr_assert_eq(pb_slack_card_to_message(c, msg), 0);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(block_of_type(cJSON_GetObjectItem(msg, "blocks"), "section", 0),
						    "text"), "text")->valuestring;
	cr_assert_leq(strlen(t), 3000u + 16);
	cr_assert_eq(strncmp(t, "```", 3), 0);
	free(big);
	cJSON_Delete(msg);
	pb_card_free(c);
}

Test(slack_blocks, note_keeps_blocks_and_appends_context)
{
	cJSON *b = pb_slack_blocks_with_note("[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"x\"}},"
					     "{\"type\":\"actions\",\"elements\":[]}]", "Approved by <@U1>", false);
	const cJSON *ctx;

	cr_assert_not_null(b);
	cr_assert_eq(cJSON_GetArraySize(b), 3);
	ctx = cJSON_GetArrayItem(b, 2);
	cr_assert_str_eq(cJSON_GetObjectItem(ctx, "type")->valuestring, "context");
	cJSON_Delete(b);
	/* A final decision drops the buttons. */
	b = pb_slack_blocks_with_note("[{\"type\":\"actions\",\"elements\":[]}]", "Rejected", true);
	cr_assert_eq(cJSON_GetArraySize(b), 1);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "type")->valuestring, "context");
	cJSON_Delete(b);
	b = pb_slack_blocks_with_note(NULL, "n", false);
	cr_assert_eq(cJSON_GetArraySize(b), 1);
	cJSON_Delete(b);
}

/* ---- workers ---- */

typedef struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	int ran;
	int freed;
	int order[16];
} gate;

typedef struct gated_job {
	pb_job job;
	gate *g;
	int n;
} gated_job;

static void gated_run(pb_job *job, void *state)
{
	gated_job *j = (gated_job *)job;
	gate *g = j->g;

	(void)state;
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	if (g->ran < 16)
		g->order[g->ran] = j->n;
	g->ran++;
	pthread_mutex_unlock(&g->lock);
}

static void gated_free(pb_job *job)
{
	gated_job *j = (gated_job *)job;

	pthread_mutex_lock(&j->g->lock);
	j->g->freed++;
	pthread_mutex_unlock(&j->g->lock);
	free(j);
}

static gated_job *gated_new(gate *g, int n)
{
	gated_job *j = calloc(1, sizeof(*j));

	cr_assert_not_null(j);
	j->job.run = gated_run;
	j->job.free = gated_free;
	j->g = g;
	j->n = n;
	return j;
}

static void gate_open(gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

Test(slack_workers, full_queue_is_busy_and_free_drains)
{
	gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, { 0 } };
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 0, false, NULL };
	pb_workers_stats st;
	pb_workers *w;
	int accepted = 0;

	cr_assert_eq(pb_workers_new(1, 3, &ops, &w), 0);
	/* One job may be taken by the (blocked) worker, three more fill the queue. */
	for (int i = 0; i < 10; i++) {
		gated_job *job = gated_new(&g, i);

		if (pb_workers_submit(w, &job->job) == 0) {
			accepted++;
		} else {
			cr_assert_eq(pb_workers_submit(w, &job->job), PB_E_BUSY, "a refused job stays the caller's");
			gated_free(&job->job);
		}
	}
	cr_assert(accepted >= 3 && accepted <= 4, "accepted %d", accepted);
	cr_assert(pb_workers_full(w));
	pb_workers_stats_get(w, &st);
	cr_expect_eq(st.submitted, (uint64_t)accepted);
	cr_expect_eq(st.refused, (uint64_t)(20 - 2 * accepted), "every refusal is counted");
	cr_expect_eq(st.capacity, 3);
	gate_open(&g);
	pb_workers_free(w);
	cr_assert_eq(g.ran, accepted, "free runs every accepted job");
	cr_assert_eq(g.freed, 10, "every job is freed exactly once (run or refused)");
	for (int i = 0; i < accepted; i++)
		cr_expect_eq(g.order[i], i, "one worker runs jobs in submission order");
}

/* Polls (bounded, 10 s) until the pool's worker holds a job. */
static bool wait_running(pb_workers *w, size_t n)
{
	struct timespec step = { 0, 1000000 };
	pb_workers_stats st;

	for (int i = 0; i < 10000; i++) {
		pb_workers_stats_get(w, &st);
		if (st.running == n)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

Test(slack_workers, room_counts_free_queue_slots)
{
	gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, { 0 } };
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 0, false, NULL };
	pb_workers *w;

	cr_assert_eq(pb_workers_new(1, 3, &ops, &w), 0);
	cr_assert_eq(pb_workers_room(w), 3);
	cr_assert_eq(pb_workers_submit(w, &gated_new(&g, 0)->job), 0);
	cr_assert(wait_running(w, 1), "the worker never took the job");
	cr_assert_eq(pb_workers_room(w), 3, "a running job frees its slot");
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(pb_workers_submit(w, &gated_new(&g, i)->job), 0);
		cr_assert_eq(pb_workers_room(w), (size_t)(3 - i));
	}
	cr_assert(pb_workers_full(w));
	gate_open(&g);
	pb_workers_free(w);
	cr_assert_eq(g.ran, 4);
	cr_assert_eq(g.freed, 4);
}

Test(slack_workers, two_pools_do_not_wait_for_each_other)
{
	gate slow = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, { 0 } };
	gate fast = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, true, 0, 0, { 0 } };
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 0, false, NULL };
	pb_workers *a, *b;

	cr_assert_eq(pb_workers_new(1, 4, &ops, &a), 0);
	cr_assert_eq(pb_workers_new(1, 4, &ops, &b), 0);
	/* a's only worker is stuck on a closed gate; b still runs its job to the end */
	cr_assert_eq(pb_workers_submit(a, &gated_new(&slow, 1)->job), 0);
	cr_assert_eq(pb_workers_submit(b, &gated_new(&fast, 2)->job), 0);
	pb_workers_free(b);
	cr_expect_eq(fast.ran, 1);
	cr_expect_eq(slow.ran, 0, "the slow pool is still waiting");
	gate_open(&slow);
	pb_workers_free(a);
	cr_expect_eq(slow.ran, 1);
}

/*
 * The pool's queue is lock-free: several producers at once, a queue smaller
 * than the work, and a free while jobs are still queued must run every
 * accepted job exactly once and refuse (and count) the rest.
 */
#define STRESS_PRODUCERS 4
#define STRESS_JOBS 5000

typedef struct stress_job {
	pb_job job;
	_Atomic int *ran;
} stress_job;

typedef struct stress_producer {
	pb_workers *w;
	stress_job *jobs;
	int accepted, refused;
} stress_producer;

static void stress_run(pb_job *job, void *state)
{
	(void)state;
	(*((stress_job *)job)->ran)++;
}

static void *stress_produce(void *arg)
{
	stress_producer *p = arg;

	for (int i = 0; i < STRESS_JOBS; i++) {
		/* every fourth job is given one try only, the rest are retried until a slot frees */
		while (pb_workers_submit(p->w, &p->jobs[i].job) != 0) {
			p->refused++;
			if (i % 4 == 0)
				break;
			sched_yield();
		}
	}
	return NULL;
}

Test(slack_workers, many_producers_every_accepted_job_runs_once)
{
	static stress_job jobs[STRESS_PRODUCERS][STRESS_JOBS];
	static _Atomic int ran[STRESS_PRODUCERS][STRESS_JOBS];
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 0, false, NULL };
	stress_producer prod[STRESS_PRODUCERS];
	pthread_t t[STRESS_PRODUCERS];
	pb_workers_stats st;
	uint64_t refused = 0;
	int runs = 0;
	pb_workers *w;

	cr_assert_eq(pb_workers_new(3, 6, &ops, &w), 0);
	for (int p = 0; p < STRESS_PRODUCERS; p++) {
		for (int i = 0; i < STRESS_JOBS; i++)
			jobs[p][i] = (stress_job){ { stress_run, NULL }, &ran[p][i] };
		prod[p] = (stress_producer){ w, jobs[p], 0, 0 };
		cr_assert_eq(pthread_create(&t[p], NULL, stress_produce, &prod[p]), 0);
	}
	for (int p = 0; p < STRESS_PRODUCERS; p++) {
		pthread_join(t[p], NULL);
		refused += (uint64_t)prod[p].refused;
	}
	pb_workers_stats_get(w, &st); /* the producers are done: submitted and refused are final */
	pb_workers_free(w); /* jobs may still be queued: free drains them */
	for (int p = 0; p < STRESS_PRODUCERS; p++)
		for (int i = 0; i < STRESS_JOBS; i++) {
			cr_assert_leq(ran[p][i], 1, "job %d of producer %d ran %d times", i, p, (int)ran[p][i]);
			if (i % 4)
				cr_assert_eq(ran[p][i], 1, "a retried job %d of producer %d never ran", i, p);
			runs += ran[p][i];
		}
	cr_assert_gt(refused, 0, "a queue of 6 for 4 producers must refuse some submits");
	cr_expect_eq(st.refused, refused, "every refusal is counted");
	cr_expect_eq(st.submitted, (uint64_t)runs, "every accepted job ran");
	cr_assert_geq(runs, STRESS_PRODUCERS * STRESS_JOBS * 3 / 4);
}

typedef struct nice_job {
	pb_job job;
	int seen;
} nice_job;

static void nice_run(pb_job *job, void *state)
{
	(void)state;
	errno = 0;
	((nice_job *)job)->seen = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

Test(slack_workers, a_pool_runs_its_jobs_at_its_nice_and_leaves_the_caller_alone)
{
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 7, false, NULL };
	nice_job j = { { nice_run, NULL }, -100 };
	int before = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	pb_workers *w;

	cr_assert_lt(before, 7, "the test must start below nice 7 (runs at %d)", before);
	cr_assert_eq(pb_workers_new(1, 2, &ops, &w), 0);
	cr_assert_eq(pb_workers_submit(w, &j.job), 0);
	pb_workers_free(w); /* drains: the job has run when this returns */
	cr_expect_eq(j.seen, 7, "the worker thread runs at nice 7 (saw %d)", j.seen);
	cr_expect_eq(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), before, "only the pool's threads moved");
}

typedef struct policy_job {
	pb_job job;
	int policy;
	char name[16];
} policy_job;

static void policy_run(pb_job *job, void *state)
{
	policy_job *j = (policy_job *)job;

	(void)state;
	j->policy = sched_getscheduler(0);
	pthread_getname_np(pthread_self(), j->name, sizeof(j->name));
}

Test(slack_workers, an_idle_pool_runs_its_jobs_under_sched_idle_named_and_leaves_the_caller_alone)
{
	pb_workers_ops ops = { NULL, NULL, NULL, "test", 19, true, NULL };
	policy_job j = { { policy_run, NULL }, -100, "" };
	int before = sched_getscheduler(0);
	pb_workers *w;

	cr_assert_neq(before, SCHED_IDLE, "the test must not start under SCHED_IDLE");
	cr_assert_eq(pb_workers_new(1, 2, &ops, &w), 0);
	cr_assert_eq(pb_workers_submit(w, &j.job), 0);
	pb_workers_free(w); /* drains: the job has run when this returns */
	cr_expect_eq(j.policy, SCHED_IDLE, "the worker thread runs under SCHED_IDLE (policy %d)", j.policy);
	cr_expect_str_eq(j.name, "pb-test-0", "top -H and perf name the thread by its pool");
	cr_expect_eq(sched_getscheduler(0), before, "only the pool's threads moved");
}

/* ---- pacing and the Web API against the fake ---- */

Test(slack_pacer, spaces_posts_per_channel)
{
	pb_slack_pacer *p;
	long a, b, c;

	cr_assert_eq(pb_slack_pacer_new(1000, &p), 0);
	a = pb_slack_pacer_reserve(p, "C1");
	b = pb_slack_pacer_reserve(p, "C1");
	c = pb_slack_pacer_reserve(p, "C2");
	cr_assert_eq(a, 0);
	cr_assert(b > 900 && b <= 1000, "b=%ld", b);
	cr_assert_eq(c, 0);
	pb_slack_pacer_defer(p, "C2", 5000);
	cr_assert_gt(pb_slack_pacer_reserve(p, "C2"), 4000);
	pb_slack_pacer_free(p);
}

#define APP_TOKEN "xapp-1-A0FAKE-test-app-token"
#define BOT_TOKEN "xoxb-0000-test-bot-token"

Test(slack_web, calls_check_auth_ok_and_rate_limits)
{
	fake_slack *f;
	pb_slack_web web, app, bad;
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	char code[64];
	char *url = NULL;
	pb_err e;

	cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &f), 0);
	cr_assert_eq(pb_slack_web_init(&web, fake_slack_api_url(f), BOT_TOKEN, NULL, NULL), 0);
	cr_assert_eq(pb_slack_web_init(&app, fake_slack_api_url(f), APP_TOKEN, NULL, NULL), 0);
	cr_assert_eq(pb_slack_web_init(&bad, fake_slack_api_url(f), "xoxb-wrong-token", NULL, NULL), 0);
	cJSON_AddStringToObject(body, "channel", "C0PROMO");
	cJSON_AddStringToObject(body, "text", "hello");

	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&web, "chat.postMessage", body, "C0PROMO", &resp, code, sizeof(code), &e), 0,
		     "%s", pb_err_text(&e));
	/* Slack's ts: epoch seconds "." microsecond-ish sequence */
	cr_assert_gt(strtod(cJSON_GetObjectItem(resp, "ts")->valuestring, NULL), 1700000000.0);
	cr_assert_not_null(strstr(cJSON_GetObjectItem(resp, "ts")->valuestring, ".000001"));
	cJSON_Delete(resp);

	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&bad, "chat.postMessage", body, NULL, NULL, code, sizeof(code), &e), PB_E_FAILED);
	cr_assert_str_eq(code, "invalid_auth");
	cr_assert_null(strstr(e.msg, "wrong-token"));

	/* The app token is the wrong type for chat.*, and the bot token for connections.open. */
	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&app, "chat.postMessage", body, NULL, NULL, code, sizeof(code), &e), PB_E_FAILED);
	cr_assert_str_eq(code, "not_allowed_token_type");
	pb_err_init(&e);
	cr_assert_eq(pb_slack_connections_open(&web, &url, code, sizeof(code), &e), PB_E_FAILED);
	cr_assert_null(url);
	pb_err_init(&e);
	cr_assert_eq(pb_slack_connections_open(&app, &url, code, sizeof(code), &e), 0, "%s", pb_err_text(&e));
	cr_assert_eq(strncmp(url, "ws://127.0.0.1:", 15), 0);
	free(url);

	/* 429 with Retry-After: delayed, then delivered. */
	fake_slack_rate_limit(f, "chat.postMessage", 1, 1);
	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&web, "chat.postMessage", body, "C0PROMO", NULL, code, sizeof(code), &e), 0,
		     "%s", pb_err_text(&e));
	cr_assert_eq(fake_slack_call_count(f, "chat.postMessage", false), 5);
	cr_assert_eq(fake_slack_call_count(f, "chat.postMessage", true), 2);

	/* Unknown channel and reply to a non-parent ts are Slack errors, reported not crashed. */
	cJSON_ReplaceItemInObject(body, "channel", cJSON_CreateString("C0NOPE"));
	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&web, "chat.postMessage", body, NULL, NULL, code, sizeof(code), &e), PB_E_FAILED);
	cr_assert_str_eq(code, "channel_not_found");
	cJSON_ReplaceItemInObject(body, "channel", cJSON_CreateString("C0PROMO"));
	cJSON_AddStringToObject(body, "thread_ts", "1.000000");
	pb_err_init(&e);
	cr_assert_eq(pb_slack_web_call(&web, "chat.postMessage", body, NULL, NULL, code, sizeof(code), &e), PB_E_FAILED);
	cr_assert_str_eq(code, "thread_not_found");

	cJSON_Delete(body);
	pb_slack_web_deinit(&web);
	pb_slack_web_deinit(&app);
	pb_slack_web_deinit(&bad);
	fake_slack_free(f);
}
