/* test_slack_poster.c — the outbound queue against the fake Slack: order, pacing, 429, unknown outcomes, threads. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_slack.h"
#include "pb_config.h"
#include "pb_monitor.h"
#include "pb_services.h"
#include "pb_store.h"
#include "pb_str.h"
#include "slack_poster.h"
#include "testproc.h"

#define APP_TOKEN "xapp-1-A0FAKE-test-app-token"
#define BOT_TOKEN "xoxb-0000-test-bot-token"
#define IDLE_MS 20000

static fake_slack *F;
static pb_config *CFG;
static char DIR_[64];

static void setup(void)
{
	char json[1024], db[128];
	pb_problems probs = { 0 };
	int r;

	snprintf(DIR_, sizeof(DIR_), "/tmp/promobot-poster-XXXXXX");
	cr_assert_not_null(mkdtemp(DIR_));
	snprintf(db, sizeof(db), "%s/promobot.db", DIR_);
	snprintf(json, sizeof(json),
		 "{\"storage\": {\"path\": \"%s\"},"
		 " \"chat\": {\"platform\": \"slack\", \"slack\": {\"channel\": \"C0PROMO\"}},"
		 " \"users\": {\"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\"]}},"
		 " \"components\": [{\"id\": \"neo4j\", \"name\": \"Neo4j\", \"stage\": \"development\","
		 "   \"revision\": {\"value\": \"v1\"}, \"checks\": []}]}",
		 db);
	r = pb_config_parse(json, strlen(json), DIR_, &CFG, &probs);
	for (size_t i = 0; i < probs.count; i++)
		fprintf(stderr, "poster test config: %s\n", probs.items[i]);
	pb_problems_deinit(&probs);
	cr_assert_eq(r, 0, "test config invalid");
	cr_assert_eq(fake_slack_start(APP_TOKEN, BOT_TOKEN, &F), 0);
}

static void teardown(void)
{
	fake_slack_free(F);
	pb_config_free(CFG);
	tp_remove_dir(DIR_);
}

TestSuite(slack_poster, .init = setup, .fini = teardown, .timeout = 60);

static pb_slack_poster *poster_ex(long interval_ms, int max_attempts)
{
	pb_slack_poster_cfg pc = { 0 };
	pb_slack_poster *p;
	pb_err e;

	pc.cfg = CFG;
	pc.api_url = fake_slack_api_url(F);
	pc.bot_token = BOT_TOKEN;
	pc.min_interval_ms = interval_ms;
	pc.capacity = 64;
	pc.timeout_ms = 5000;
	pc.max_attempts = max_attempts;
	pb_err_init(&e);
	cr_assert_eq(pb_slack_poster_new(&pc, &p, &e), 0, "%s", pb_err_text(&e));
	return p;
}

static pb_slack_poster *poster(long interval_ms)
{
	return poster_ex(interval_ms, 0);
}

static cJSON *text_body(const char *text)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "text", text);
	return b;
}

static void submit(pb_slack_poster *p, pb_post_kind kind, const char *channel, const char *text, int64_t promo)
{
	pb_post *post = pb_post_new(kind, channel, text_body(text));

	cr_assert_not_null(post);
	pb_post_set_promotion(post, promo);
	if (kind == PB_POST_EPHEMERAL)
		pb_post_set_user(post, "U0ALICE");
	cr_assert_eq(pb_slack_poster_submit(p, post), 0);
}

/* Index among ok chat.postMessage calls of the one whose body has `needle`; -1 when none. */
static int ok_index(const char *method, const char *needle, fake_slack_call *out)
{
	fake_slack_call c;
	int ok = 0;

	for (size_t i = 0; fake_slack_call_get(F, method, i, &c); i++) {
		bool hit = c.ok && strstr(c.body, needle);

		if (hit && out)
			*out = c;
		else
			fake_slack_call_deinit(&c);
		if (hit)
			return ok;
		if (c.ok)
			ok++;
	}
	return -1;
}

static int64_t at_of(const char *needle)
{
	fake_slack_call c;
	int64_t at;

	cr_assert_geq(ok_index("chat.postMessage", needle, &c), 0, "%s never posted", needle);
	at = c.at_ms;
	fake_slack_call_deinit(&c);
	return at;
}

Test(slack_poster, keeps_order_per_channel_paces_it_and_lets_other_channels_pass)
{
	pb_slack_poster *p = poster(300);

	submit(p, PB_POST_CHANNEL, "C0PROMO", "a-1", 0);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "a-2", 0);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "a-3", 0);
	submit(p, PB_POST_CHANNEL, "C0OTHER", "b-1", 0);
	submit(p, PB_POST_CHANNEL, "C0OTHER", "b-2", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS), "posts still queued");
	pb_slack_poster_free(p, 0);
	cr_assert_eq(fake_slack_call_count(F, "chat.postMessage", true), 5);
	cr_expect_lt(ok_index("chat.postMessage", "a-1", NULL), ok_index("chat.postMessage", "a-2", NULL));
	cr_expect_lt(ok_index("chat.postMessage", "a-2", NULL), ok_index("chat.postMessage", "a-3", NULL));
	cr_expect_lt(ok_index("chat.postMessage", "b-1", NULL), ok_index("chat.postMessage", "b-2", NULL));
	/* C0OTHER did not wait behind C0PROMO's pacing */
	cr_expect_lt(ok_index("chat.postMessage", "b-1", NULL), ok_index("chat.postMessage", "a-2", NULL));
	/* a channel's posts are spaced by the interval (minus network jitter) */
	cr_expect_geq(at_of("a-2") - at_of("a-1"), 250, "a-1 → a-2 only %lld ms",
		      (long long)(at_of("a-2") - at_of("a-1")));
	cr_expect_geq(at_of("a-3") - at_of("a-2"), 250);
	/* every post carries the metadata id that finds it again */
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "\"event_type\":\"promobot_post\""), 5);
}

Test(slack_poster, rate_limited_channel_waits_retry_after_while_others_go_on)
{
	pb_slack_poster *p = poster(0);
	pb_slack_poster_stats st;

	fake_slack_rate_limit(F, "chat.postMessage", 1, 1);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "limited", 0);
	submit(p, PB_POST_CHANNEL, "C0OTHER", "free", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_stats_get(p, &st);
	pb_slack_poster_free(p, 0);
	cr_expect_eq(st.rate_limited, 1);
	cr_expect_eq(st.posted, 2);
	cr_expect_eq(fake_slack_call_count(F, "chat.postMessage", false), 3, "one 429, two posts");
	cr_expect_lt(ok_index("chat.postMessage", "free", NULL), ok_index("chat.postMessage", "limited", NULL),
		     "the other channel went first");
	cr_expect_geq(at_of("limited") - at_of("free"), 500, "the limited channel honoured Retry-After: 1");
}

Test(slack_poster, unknown_outcome_is_looked_up_and_not_posted_twice)
{
	pb_slack_poster *p = poster(0);
	pb_slack_poster_stats st;

	fake_slack_lose_replies(F, "chat.postMessage", 1);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "exactly-once", 0);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "after-it", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_stats_get(p, &st);
	pb_slack_poster_free(p, 0);
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "exactly-once"), 1, "posted twice");
	cr_expect_geq(fake_slack_call_count(F, "conversations.history", true), 1, "no lookup before resending");
	cr_expect_eq(fake_slack_calls_matching(F, "conversations.history", "include_all_metadata=true"),
		     fake_slack_call_count(F, "conversations.history", false));
	cr_expect_eq(st.recovered, 1);
	cr_expect_eq(st.posted, 2);
	cr_expect_lt(ok_index("chat.postMessage", "exactly-once", NULL), ok_index("chat.postMessage", "after-it", NULL),
		     "the channel's order held through the lookup");
}

/* libcurl resends a request whose REUSED keep-alive connection dies unanswered; a post must not ride one. */
Test(slack_poster, a_post_lost_on_a_reused_connection_is_not_resent_behind_our_back)
{
	pb_slack_poster *p = poster(0);
	pb_slack_poster_stats st;

	submit(p, PB_POST_CHANNEL, "C0PROMO", "warm-up", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	fake_slack_lose_replies(F, "chat.postMessage", 1);
	submit(p, PB_POST_CHANNEL, "C0PROMO", "exactly-once", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_stats_get(p, &st);
	pb_slack_poster_free(p, 0);
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "exactly-once"), 1, "posted twice");
	cr_expect_eq(st.recovered, 1, "the lost post was looked up, not silently resent");
	cr_expect_eq(st.posted, 2);
}

Test(slack_poster, unknown_ephemeral_outcome_is_not_resent)
{
	pb_slack_poster *p = poster(0);
	pb_slack_poster_stats st;

	fake_slack_lose_replies(F, "chat.postEphemeral", 1);
	submit(p, PB_POST_EPHEMERAL, "C0PROMO", "just-for-alice", 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_stats_get(p, &st);
	pb_slack_poster_free(p, 0);
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postEphemeral", "just-for-alice"), 1);
	cr_expect_eq(st.failed, 1, "given up, and counted");
}

/* A promotion of neo4j (no thread yet). */
static void promotion_new(pb_store *st, pb_promotion *pr)
{
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_store_component_ensure(st, "neo4j", 0, 1795597200, &e), 0, "%s", pb_err_text(&e));
	memset(pr, 0, sizeof(*pr));
	pb_strlcpy(pr->component, "neo4j", sizeof(pr->component));
	pr->target_stage = 1;
	pb_strlcpy(pr->requester, "alice", sizeof(pr->requester));
	pr->created_at = 1795597200;
	cr_assert_eq(pb_store_promotion_insert(st, pr, &e), 0, "%s", pb_err_text(&e));
}

Test(slack_poster, thread_posts_find_the_thread_their_open_post_created)
{
	pb_slack_poster *p;
	pb_store *st;
	pb_promotion pr;
	fake_slack_call parent, reply, upd;
	pb_err e;
	char want[64];

	pb_err_init(&e);
	cr_assert_eq(pb_store_open(CFG->storage_path, &st, &e), 0, "%s", pb_err_text(&e));
	promotion_new(st, &pr);
	p = poster(0);
	submit(p, PB_POST_OPEN, "C0PROMO", "the-parent", pr.id);
	submit(p, PB_POST_THREAD, "C0PROMO", "first-reply", pr.id);
	submit(p, PB_POST_PARENT, "C0PROMO", "parent-v2", pr.id);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_free(p, 0);
	cr_assert_geq(ok_index("chat.postMessage", "the-parent", &parent), 0);
	cr_assert_geq(ok_index("chat.postMessage", "first-reply", &reply), 0);
	cr_assert_geq(ok_index("chat.update", "parent-v2", &upd), 0);
	snprintf(want, sizeof(want), "\"thread_ts\":\"%s\"", parent.ts);
	cr_expect(strstr(reply.body, want), "reply not in the parent's thread: %s", reply.body);
	snprintf(want, sizeof(want), "\"ts\":\"%s\"", parent.ts);
	cr_expect(strstr(upd.body, want), "update not of the parent: %s", upd.body);
	cr_assert_eq(pb_store_promotion_get(st, pr.id, &pr, &e), 0);
	cr_expect_str_eq(pr.thread_ref, parent.ts, "the thread is stored with the promotion");
	fake_slack_call_deinit(&parent);
	fake_slack_call_deinit(&reply);
	fake_slack_call_deinit(&upd);
	pb_store_close(st);
}

/* Polls (bounded, 10 s) until the poster has decided at least n times to wait for a claimed thread. */
static bool wait_thread_waits(pb_slack_poster *p, uint64_t n)
{
	pb_slack_poster_stats st;

	for (int i = 0; i < 10000; i++) {
		pb_slack_poster_stats_get(p, &st);
		if (st.thread_waits >= n)
			return true;
		poll(NULL, 0, 1);
	}
	return false;
}

/*
 * Two replicas: the request ran on the other one, which claimed the thread
 * and has not stored its parent's ts yet. A card here waits for that thread
 * instead of opening a second one, and goes in it once the ts is stored.
 */
Test(slack_poster, a_card_waits_for_the_thread_another_replica_claimed)
{
	pb_slack_poster *here, *elsewhere;
	pb_store *st;
	pb_promotion pr;
	fake_slack_call parent, reply;
	int64_t now = (int64_t)time(NULL);
	pb_err e;
	char want[64];

	pb_err_init(&e);
	cr_assert_eq(pb_store_open(CFG->storage_path, &st, &e), 0, "%s", pb_err_text(&e));
	promotion_new(st, &pr);
	cr_assert_eq(pb_store_promotion_claim_thread(st, pr.id, "host-b:4242:00c0ffee:replica", now,
						     now + PB_THREAD_CLAIM_S, NULL, &e), 0, "%s", pb_err_text(&e));
	here = poster(0);
	submit(here, PB_POST_THREAD, "C0PROMO", "reply-here", pr.id);
	cr_assert(wait_thread_waits(here, 1), "the card never looked for the claimed thread");
	cr_assert_eq(fake_slack_calls_matching(F, "chat.postMessage", "reply-here"), 0,
		     "a card posted while another replica opens the thread");
	/* the other replica's parent (a second poster: its own queue), then its stored ts */
	elsewhere = poster(0);
	submit(elsewhere, PB_POST_CHANNEL, "C0PROMO", "parent-elsewhere", 0);
	cr_assert(pb_slack_poster_wait_idle(elsewhere, IDLE_MS));
	pb_slack_poster_free(elsewhere, 0);
	cr_assert_geq(ok_index("chat.postMessage", "parent-elsewhere", &parent), 0);
	cr_assert_eq(pb_store_promotion_set_thread(st, pr.id, "C0PROMO", parent.ts, now, &e), 0, "%s",
		     pb_err_text(&e));
	cr_assert(pb_slack_poster_wait_idle(here, IDLE_MS));
	pb_slack_poster_free(here, 0);
	cr_assert_geq(ok_index("chat.postMessage", "reply-here", &reply), 0);
	snprintf(want, sizeof(want), "\"thread_ts\":\"%s\"", parent.ts);
	cr_expect(strstr(reply.body, want), "the card did not go in the other replica's thread: %s", reply.body);
	cr_assert_eq(pb_store_promotion_get(st, pr.id, &pr, &e), 0);
	cr_expect_str_eq(pr.thread_ref, parent.ts, "one thread: the other replica's");
	fake_slack_call_deinit(&parent);
	fake_slack_call_deinit(&reply);
	pb_store_close(st);
}

/* The other replica died before its parent: once its claim runs out, a card here opens the thread. */
Test(slack_poster, an_expired_claim_lets_the_card_open_the_thread)
{
	pb_slack_poster *p;
	pb_store *st;
	pb_promotion pr;
	fake_slack_call c;
	pb_slack_poster_stats stats;
	int64_t now = (int64_t)time(NULL);
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_store_open(CFG->storage_path, &st, &e), 0, "%s", pb_err_text(&e));
	promotion_new(st, &pr);
	cr_assert_eq(pb_store_promotion_claim_thread(st, pr.id, "host-b:4242:00c0ffee:replica", now - 40, now - 10,
						     NULL, &e), 0, "%s", pb_err_text(&e));
	p = poster(0);
	submit(p, PB_POST_THREAD, "C0PROMO", "opens-it", pr.id);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_stats_get(p, &stats);
	pb_slack_poster_free(p, 0);
	cr_expect_eq(stats.thread_waits, 0, "an expired claim is nobody's");
	cr_assert_geq(ok_index("chat.postMessage", "opens-it", &c), 0);
	cr_expect_null(strstr(c.body, "thread_ts"), "no thread existed: the card is its parent");
	cr_assert_eq(pb_store_promotion_get(st, pr.id, &pr, &e), 0);
	cr_expect_str_eq(pr.thread_ref, c.ts);
	fake_slack_call_deinit(&c);
	pb_store_close(st);
}

Test(slack_poster, full_queue_refuses_and_counts)
{
	pb_slack_poster *p = poster(60000); /* one post per minute: the rest wait */
	pb_slack_poster_stats st;
	int refused = 0;

	for (int i = 0; i < 70; i++) {
		pb_post *post = pb_post_new(PB_POST_CHANNEL, "C0PROMO", text_body("flood"));

		if (pb_slack_poster_submit(p, post) == PB_E_BUSY)
			refused++;
	}
	pb_slack_poster_stats_get(p, &st);
	cr_expect_geq(refused, 5, "capacity 64: some of 70 must be refused");
	cr_expect_eq(st.dropped, (uint64_t)refused, "every refusal is counted");
	pb_slack_poster_free(p, 0); /* what cannot be delivered now is dropped, not waited for */
}

/* ---- observation posts: monitor → system sink → poster → Slack, confirmed back ---- */

/* One process of the bot as far as the outbox goes: its services, monitor, poster and system sink. */
typedef struct obs_bot {
	pb_services svc;
	pb_monitor *mon;
	pb_slack_poster *poster;
	pb_slack_system_sink sink;
} obs_bot;

static void obs_start(obs_bot *b, int max_attempts)
{
	pb_err e;

	memset(b, 0, sizeof(*b));
	pb_err_init(&e);
	cr_assert_eq(pb_services_open(&b->svc, CFG, NULL, "obs-test", PB_SVC_NO_ENGINE | PB_SVC_NO_GITHUB, &e), 0,
		     "%s", pb_err_text(&e));
	cr_assert_eq(pb_monitor_new(CFG, &b->mon, &e), 0, "%s", pb_err_text(&e));
	b->poster = poster_ex(0, max_attempts);
	pb_slack_system_sink_init(&b->sink, b->poster, CFG);
	b->svc.system_sink = &b->sink.sink;
}

/* A crash as far as the outbox goes: the poster's queue and the monitor's memory are gone. */
static void obs_crash(obs_bot *b)
{
	pb_slack_poster_free(b->poster, 0);
	pb_monitor_free(b->mon);
	pb_services_close(&b->svc);
}

static size_t obs_deliver(obs_bot *b)
{
	size_t n = 0;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_deliver(b->mon, &b->svc, &n, &e), 0, "%s", pb_err_text(&e));
	return n;
}

/* A promotion whose thread is open in C0PROMO, and a DOWN alert decided for it (pending). */
static int64_t obs_decided(const char *text, int64_t *post_id)
{
	pb_slack_poster *p = poster(0);
	pb_promotion pr;
	pb_store *st;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_store_open(CFG->storage_path, &st, &e), 0, "%s", pb_err_text(&e));
	promotion_new(st, &pr);
	submit(p, PB_POST_OPEN, "C0PROMO", "the-parent", pr.id);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_free(p, 0);
	cr_assert_eq(pb_store_obs_post_add(st, pr.id, "down", 60, text, 1795597260, post_id, &e), 0, "%s",
		     pb_err_text(&e));
	pb_store_close(st);
	return pr.id;
}

static pb_obs_post obs_post(int64_t pid)
{
	pb_obs_post *list = NULL, one;
	pb_store *st;
	size_t n = 0;

	cr_assert_eq(pb_store_open(CFG->storage_path, &st, NULL), 0);
	cr_assert_eq(pb_store_obs_posts_of(st, pid, "down", &list, &n, NULL), 0);
	cr_assert_eq(n, 1);
	one = list[0];
	one.text = NULL;
	pb_obs_posts_free(list, n);
	pb_store_close(st);
	return one;
}

/* Polls (bounded) until `method` was called n times, answered ok or not. */
static bool wait_any_calls(const char *method, size_t n)
{
	for (int i = 0; i < IDLE_MS / 10; i++) {
		if (fake_slack_call_count(F, method, false) >= n)
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

/* Delivers until the post is marked (bounded: the poster confirms from its thread). */
/*
 * `handed` is what the deliver that handed the post over returned: a quick
 * poster's answer may already have been taken by that same call (it takes
 * confirmations again after handing posts over), so the two add up to one.
 */
static void obs_until_marked(obs_bot *b, size_t handed)
{
	cr_assert(pb_slack_poster_wait_idle(b->poster, IDLE_MS), "posts still queued");
	cr_assert_eq(handed + obs_deliver(b), 1, "the confirmation was not taken exactly once");
}

Test(slack_poster, an_observation_post_is_marked_only_once_slack_answered_with_its_ts)
{
	int64_t post_id = 0, pid = obs_decided("🔴 DOWN: neo4j\nmarked-on-answer", &post_id);
	fake_slack_call c;
	obs_bot b;
	size_t handed;
	char want[96];

	obs_start(&b, 0);
	handed = obs_deliver(&b);
	cr_expect_gt(obs_post(pid).handed_at, 0, "handed");
	obs_until_marked(&b, handed);
	cr_assert_geq(ok_index("chat.postMessage", "marked-on-answer", &c), 0);
	cr_expect_str_eq(obs_post(pid).chat_ref, c.ts, "the message's ts is kept");
	cr_expect_gt(obs_post(pid).posted_at, 0);
	snprintf(want, sizeof(want), "\"post_id\":\"obs-%lld-%lld-", (long long)post_id, (long long)pid);
	cr_expect(strstr(c.body, want), "the stable id is the message's metadata: %s", c.body);
	fake_slack_call_deinit(&c);
	cr_expect_eq(obs_deliver(&b), 0);
	cr_assert(pb_slack_poster_wait_idle(b.poster, IDLE_MS));
	obs_crash(&b);
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "marked-on-answer"), 1);
	cr_expect_eq(fake_slack_call_count(F, "conversations.replies", false), 0, "never handed before: no lookup");
}

Test(slack_poster, a_post_dropped_before_it_was_sent_is_posted_once_after_the_restart)
{
	int64_t post_id = 0, pid = obs_decided("🔴 DOWN: neo4j\nqueued-at-the-crash", &post_id);
	obs_bot b;
	size_t handed;

	/* Slack holds the channel back (429, Retry-After 30 s): the post waits in the poster's memory */
	fake_slack_rate_limit(F, "chat.postMessage", 1, 30);
	obs_start(&b, 0);
	obs_deliver(&b);
	cr_assert(wait_any_calls("chat.postMessage", 2), "the post never reached Slack");
	obs_crash(&b);
	cr_assert_eq(fake_slack_calls_matching(F, "chat.postMessage", "queued-at-the-crash"), 1, "only the 429");
	cr_assert_eq(obs_post(pid).posted_at, 0, "not confirmed: still pending");

	obs_start(&b, 0);
	handed = obs_deliver(&b);
	obs_until_marked(&b, handed);
	cr_assert(pb_slack_poster_wait_idle(b.poster, IDLE_MS));
	obs_crash(&b);
	cr_expect_geq(fake_slack_calls_matching(F, "conversations.replies", "include_all_metadata=true"), 1,
		      "handed before the crash: looked for in the thread first");
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "queued-at-the-crash"), 2, "a 429, then one post");
	cr_expect_gt(obs_post(pid).posted_at, 0);
	cr_expect_neq(obs_post(pid).chat_ref[0], '\0');
}

Test(slack_poster, a_post_slack_applied_but_whose_answer_was_lost_is_found_after_the_restart)
{
	int64_t post_id = 0, pid = obs_decided("🔴 DOWN: neo4j\nanswer-lost", &post_id);
	pb_slack_poster_stats st;
	fake_slack_call c;
	obs_bot b;
	size_t handed;

	/* Slack posts it and the connection drops before the answer; the process dies before it can look */
	fake_slack_lose_replies(F, "chat.postMessage", 1);
	obs_start(&b, 1);
	obs_deliver(&b);
	cr_assert(pb_slack_poster_wait_idle(b.poster, IDLE_MS));
	obs_crash(&b);
	cr_assert_eq(fake_slack_calls_matching(F, "chat.postMessage", "answer-lost"), 1);
	cr_assert_eq(obs_post(pid).posted_at, 0, "no answer: not marked");

	obs_start(&b, 0);
	handed = obs_deliver(&b);
	obs_until_marked(&b, handed);
	pb_slack_poster_stats_get(b.poster, &st);
	obs_crash(&b);
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "answer-lost"), 1, "found by its id, not posted again");
	cr_expect_eq(st.recovered, 1);
	cr_assert_geq(ok_index("chat.postMessage", "answer-lost", &c), 0);
	cr_expect_str_eq(obs_post(pid).chat_ref, c.ts, "adopted: the message Slack has");
	fake_slack_call_deinit(&c);
}

/* A lookup Slack refuses (no history scope, no access) does not hold the post for ever: sent, at least once. */
Test(slack_poster, a_refused_lookup_sends_the_post_instead_of_retrying_it_for_ever)
{
	pb_slack_poster *p = poster(0);
	pb_acks *acks = pb_acks_new();
	pb_post *post = pb_post_new(PB_POST_CHANNEL, "C0GONE", text_body("cannot-look"));
	pb_ack got[2];

	cr_assert_not_null(acks);
	cr_assert(pb_post_set_delivery(post, "obs-7-1-1795597260", 1795597260, acks));
	cr_assert_eq(pb_slack_poster_submit(p, post), 0);
	cr_assert(pb_slack_poster_wait_idle(p, IDLE_MS));
	pb_slack_poster_free(p, 0);
	cr_expect_eq(fake_slack_call_count(F, "conversations.history", false), 1, "looked for once");
	cr_expect_eq(fake_slack_calls_matching(F, "chat.postMessage", "cannot-look"), 1, "then sent");
	cr_assert_eq(pb_acks_take(acks, got, 2), 1, "one confirmation");
	cr_expect_str_eq(got[0].id, "obs-7-1-1795597260");
	cr_expect_not(got[0].ok, "Slack refused the channel: reported not delivered");
	pb_acks_unref(acks);
}
