/* slack_poster.c — delivers queued posts to Slack from one thread: channel order, pacing, 429, lookups before resends. */
#include "slack_poster.h"
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb_log.h"
#include "pb_services.h"
#include "pb_str.h"
#include "slack_blocks.h"
#include "slack_web.h"

#define POSTER_EVENT_TYPE "promobot_post"
#define POSTER_BACKOFF_MS 500
#define POSTER_BACKOFF_MAX_MS 30000
/* how often a card looks again for a thread another replica is opening (PB_THREAD_CLAIM_S bounds the wait) */
#define POSTER_CLAIM_POLL_MS 200
/* How far back an unknown outcome is looked for: Slack's clock and ours may differ a little. */
#define POSTER_LOOKBACK_S 120
/* Orders (channels, users' ephemeral views) looked at per pick: bounds the scan of a long queue. */
#define POSTER_SCAN_ORDERS 64

struct pb_post {
	pb_post_kind kind;
	char channel[PB_SLACK_ID_MAX];
	char user[PB_SLACK_ID_MAX];
	char ts[64];               /* UPDATE: the message; after delivery: the posted ts */
	char thread_ts[64];        /* resolved at delivery for thread replies */
	int64_t promotion_id;
	cJSON *body;
	char id[64];               /* metadata id: finds the post again after an unknown outcome */
	pb_acks *acks;             /* its delivery is confirmed there under id; NULL = not asked */
	int attempts;
	bool unknown;              /* an earlier attempt may have posted it: look before sending */
	bool claim_waited;         /* it waited for another replica's thread (logged once) */
	int64_t sent_wall_s;       /* when that attempt went out */
	int64_t not_before_ms;     /* backoff after a transport failure (monotonic) */
	pb_post *next;
};

struct pb_slack_poster {
	pb_slack_poster_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t changed;    /* queue grew, stop asked, or a delivery finished */
	pb_post *head, *tail;
	size_t count;
	bool busy;                 /* a delivery is in flight */
	bool stopping;
	int64_t drain_deadline_ms;
	pb_slack_poster_stats st;
	pb_slack_pacer *pacer;
	pthread_t thread;
	bool started;
};

static atomic_uint post_serial;

pb_post *pb_post_new(pb_post_kind kind, const char *channel, cJSON *body)
{
	pb_post *p = calloc(1, sizeof(*p));

	if (!p) {
		cJSON_Delete(body);
		return NULL;
	}
	p->kind = kind;
	pb_strlcpy(p->channel, channel ? channel : "", sizeof(p->channel));
	p->body = body;
	/* unique across restarts too: pid, wall ms and a counter */
	snprintf(p->id, sizeof(p->id), "%ld-%lld-%u", (long)getpid(), (long long)pb_clock_wall_ms(NULL),
		 atomic_fetch_add(&post_serial, 1));
	return p;
}

void pb_post_set_user(pb_post *p, const char *user)
{
	if (p)
		pb_strlcpy(p->user, user ? user : "", sizeof(p->user));
}

void pb_post_set_ts(pb_post *p, const char *ts)
{
	if (p)
		pb_strlcpy(p->ts, ts ? ts : "", sizeof(p->ts));
}

void pb_post_set_promotion(pb_post *p, int64_t promotion_id)
{
	if (p)
		p->promotion_id = promotion_id;
}

bool pb_post_set_delivery(pb_post *p, const char *id, int64_t handed_before, pb_acks *acks)
{
	if (!p || !id || !id[0] || strlen(id) >= sizeof(p->id) || !acks)
		return false;
	pb_strlcpy(p->id, id, sizeof(p->id));
	pb_acks_unref(p->acks);
	p->acks = pb_acks_ref(acks);
	if (handed_before > 0) {
		p->unknown = true; /* posted before a crash, perhaps: look before sending */
		p->sent_wall_s = handed_before;
	}
	return true;
}

/* Confirms (ok: Slack has it, at p->ts) or reports it given up, once. */
static void post_confirm(pb_post *p, bool ok)
{
	if (!p->acks)
		return;
	pb_acks_push(p->acks, p->id, ok, ok ? p->ts : "");
	pb_acks_unref(p->acks);
	p->acks = NULL;
}

/* A post freed without a confirmation (dropped, given up, stopping) says so. */
void pb_post_free(pb_post *p)
{
	if (!p)
		return;
	post_confirm(p, false);
	cJSON_Delete(p->body);
	free(p);
}

/* ---- queue (lock held) ---- */

static void queue_push_tail(pb_slack_poster *ps, pb_post *p)
{
	p->next = NULL;
	if (ps->tail)
		ps->tail->next = p;
	else
		ps->head = p;
	ps->tail = p;
	ps->count++;
}

static void queue_push_head(pb_slack_poster *ps, pb_post *p)
{
	p->next = ps->head;
	ps->head = p;
	if (!ps->tail)
		ps->tail = p;
	ps->count++;
}

static void queue_unlink(pb_slack_poster *ps, pb_post *prev, pb_post *p)
{
	if (prev)
		prev->next = p->next;
	else
		ps->head = p->next;
	if (ps->tail == p)
		ps->tail = prev;
	p->next = NULL;
	ps->count--;
}

/* Posts to one user's ephemeral view are ordered among themselves; all else per channel. */
static bool same_order(const pb_post *a, const pb_post *b)
{
	bool ea = a->kind == PB_POST_EPHEMERAL, eb = b->kind == PB_POST_EPHEMERAL;

	if (ea != eb || strcmp(a->channel, b->channel) != 0)
		return false;
	return !ea || strcmp(a->user, b->user) == 0;
}

static long due_in(pb_slack_poster *ps, const pb_post *p, int64_t now)
{
	long wait = p->kind == PB_POST_EPHEMERAL ? 0 : pb_slack_pacer_due_in(ps->pacer, p->channel);

	if (p->not_before_ms > now && p->not_before_ms - now > wait)
		wait = (long)(p->not_before_ms - now);
	return wait;
}

/*
 * The first post that is due and has no earlier post of its order before it;
 * otherwise NULL with *wait_ms set to when the soonest head becomes due.
 */
static pb_post *queue_pick(pb_slack_poster *ps, long *wait_ms)
{
	int64_t now = pb_clock_mono_ms(NULL);
	const pb_post *seen[POSTER_SCAN_ORDERS]; /* the first post of each order passed so far */
	size_t nseen = 0;
	pb_post *prev = NULL;

	*wait_ms = -1;
	for (pb_post *p = ps->head; p && nseen < POSTER_SCAN_ORDERS; prev = p, p = p->next) {
		bool blocked = false;
		long w;

		for (size_t i = 0; i < nseen && !blocked; i++)
			blocked = same_order(seen[i], p);
		if (blocked)
			continue;
		seen[nseen++] = p;
		w = due_in(ps, p, now);
		if (w <= 0) {
			queue_unlink(ps, prev, p);
			return p;
		}
		if (*wait_ms < 0 || w < *wait_ms)
			*wait_ms = w;
	}
	return NULL;
}

/* ---- delivery (poster thread, no lock held) ---- */

typedef enum { SEND_DONE, SEND_RETRY, SEND_GIVE_UP } send_result;

typedef struct poster_thread {
	pb_slack_poster *ps;
	pb_services svc;
	bool svc_ok;
	pb_slack_web web;
	char owner[192];           /* this replica in thread claims */
} poster_thread;

static const char *default_channel(const poster_thread *t)
{
	const char *c = t->ps->cfg.cfg->slack.channel;

	return c ? c : "";
}

/*
 * The request: the post's own fields (text, blocks …) by reference, not
 * copied (a copy and its free cost more than the HTTP call's own JSON), plus
 * `channel`. Deleting it leaves p->body intact for a retry.
 */
static cJSON *request_body(const pb_post *p, const char *channel)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *it;

	if (!body || !cJSON_IsObject(p->body))
		goto fail;
	cJSON_ArrayForEach(it, p->body) {
		if (it->string && strcmp(it->string, "channel") != 0 &&
		    !cJSON_AddItemReferenceToObject(body, it->string, it))
			goto fail;
	}
	if (!cJSON_AddStringToObject(body, "channel", channel))
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

/* metadata {event_type, event_payload:{post_id}}: how an unknown outcome is found again. */
static bool add_metadata(cJSON *body, const pb_post *p)
{
	cJSON *md = cJSON_AddObjectToObject(body, "metadata");
	cJSON *payload = md ? cJSON_AddObjectToObject(md, "event_payload") : NULL;

	return md && payload && cJSON_AddStringToObject(md, "event_type", POSTER_EVENT_TYPE) &&
	       cJSON_AddStringToObject(payload, "post_id", p->id);
}

/* True when `msg` carries this post's metadata id. */
static bool message_is(const cJSON *msg, const pb_post *p)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(msg, "metadata");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(md, "event_type");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(md, "event_payload");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(payload, "post_id");

	return cJSON_IsString(type) && !strcmp(type->valuestring, POSTER_EVENT_TYPE) && cJSON_IsString(id) &&
	       !strcmp(id->valuestring, p->id);
}

/*
 * After an unknown outcome: is the post already in the channel (or thread)?
 * 0 found (ts copied), PB_E_NOTFOUND not there, other: the lookup failed.
 */
static int lookup_posted(poster_thread *t, pb_post *p, const char *channel)
{
	char oldest[32], limit[8] = "200";
	const char *method = p->thread_ts[0] ? "conversations.replies" : "conversations.history";
	const char *kv[] = { "channel", channel, "oldest", oldest, "include_all_metadata", "true",
			     "limit", limit, p->thread_ts[0] ? "ts" : NULL, p->thread_ts, NULL };
	const cJSON *msgs, *m;
	cJSON *resp = NULL;
	pb_err e;
	int rc;

	snprintf(oldest, sizeof(oldest), "%lld", (long long)(p->sent_wall_s - POSTER_LOOKBACK_S));
	pb_err_init(&e);
	rc = pb_slack_web_form(&t->web, method, kv, &resp, NULL, 0, &e);
	if (rc) {
		pb_warn("slack", "post %s: cannot check whether it was posted: %s", p->id, pb_err_text(&e));
		return rc;
	}
	rc = PB_E_NOTFOUND;
	msgs = cJSON_GetObjectItemCaseSensitive(resp, "messages");
	cJSON_ArrayForEach(m, msgs) {
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(m, "ts");

		if (message_is(m, p)) {
			pb_strlcpy(p->ts, cJSON_IsString(ts) ? ts->valuestring : "", sizeof(p->ts));
			rc = 0;
			break;
		}
	}
	cJSON_Delete(resp);
	return rc;
}

/* The HTTP part of one delivery: classifies Slack's answer into done / retry / give up. */
static send_result send_call(poster_thread *t, pb_post *p, const char *method, cJSON *body,
			     const char *pace_channel, cJSON **resp)
{
	pb_slack_poster *ps = t->ps;
	pb_err e;
	int rc;

	pb_err_init(&e);
	p->attempts++;
	if (!strcmp(method, "chat.postMessage"))
		p->sent_wall_s = pb_clock_now(NULL);
	rc = pb_slack_web_call(&t->web, method, body, pace_channel, resp, NULL, 0, &e);
	if (rc == 0)
		return SEND_DONE;
	if (rc == PB_E_BUSY) {
		pthread_mutex_lock(&ps->lock);
		ps->st.rate_limited++;
		pthread_mutex_unlock(&ps->lock);
		p->attempts--; /* a 429 is Slack saying "later", not a failed attempt */
		return SEND_RETRY;
	}
	if (t->web.outcome_unknown && p->kind == PB_POST_EPHEMERAL) {
		/* ephemeral messages cannot be looked up: at most once rather than maybe twice */
		pb_error("slack", "post %s: %s; not resent", p->id, pb_err_text(&e));
		return SEND_GIVE_UP;
	}
	if (t->web.outcome_unknown)
		p->unknown = true; /* the next attempt looks for it first */
	if (rc == PB_E_UNAVAILABLE && p->attempts < ps->cfg.max_attempts) {
		long backoff = POSTER_BACKOFF_MS << (p->attempts < 6 ? p->attempts : 6);

		pb_warn("slack", "post %s: %s; attempt %d of %d, again in %ld ms", p->id, pb_err_text(&e),
			p->attempts, ps->cfg.max_attempts, backoff);
		p->not_before_ms = pb_clock_mono_ms(NULL) + (backoff < POSTER_BACKOFF_MAX_MS ? backoff
										: POSTER_BACKOFF_MAX_MS);
		return SEND_RETRY;
	}
	pb_error("slack", "post %s given up: %s", p->id, pb_err_text(&e));
	return SEND_GIVE_UP;
}

/* chat.postMessage (top level or in thread_ts); copies the new ts into p->ts. */
static send_result post_message(poster_thread *t, pb_post *p, const char *channel)
{
	cJSON *body, *resp = NULL;
	send_result r;

	if (p->unknown) {
		int found = lookup_posted(t, p, channel);

		if (found == 0) {
			pthread_mutex_lock(&t->ps->lock);
			t->ps->st.recovered++;
			pthread_mutex_unlock(&t->ps->lock);
			pb_info("slack", "post %s was posted after all (ts %s): not sent again", p->id, p->ts);
			return SEND_DONE;
		}
		if (found == PB_E_FAILED) {
			/* Slack refused the lookup (a missing channels:history scope …): at least once, posted */
			pb_warn("slack", "post %s: cannot be looked for, posted again (it may appear twice)", p->id);
		} else if (found != PB_E_NOTFOUND) {
			p->attempts++; /* a lookup that keeps failing ends too */
			p->not_before_ms = pb_clock_mono_ms(NULL) + POSTER_BACKOFF_MS;
			return p->attempts < t->ps->cfg.max_attempts ? SEND_RETRY : SEND_GIVE_UP;
		}
		p->unknown = false;
	}
	body = request_body(p, channel);
	if (!body || (p->thread_ts[0] && !cJSON_AddStringToObject(body, "thread_ts", p->thread_ts)) ||
	    !add_metadata(body, p)) {
		cJSON_Delete(body);
		pb_error("slack", "post %s: out of memory", p->id);
		return SEND_GIVE_UP;
	}
	r = send_call(t, p, "chat.postMessage", body, channel, &resp);
	if (r == SEND_DONE) {
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(resp, "ts");

		pb_strlcpy(p->ts, cJSON_IsString(ts) ? ts->valuestring : "", sizeof(p->ts));
	}
	cJSON_Delete(resp);
	cJSON_Delete(body);
	return r;
}

/* The post's body in `channel` plus one field (`ts` of the message to update, `user` of an ephemeral), sent. */
static send_result send_with(poster_thread *t, pb_post *p, const char *method, const char *channel,
			     const char *key, const char *value, const char *pace_channel)
{
	cJSON *body = request_body(p, channel);
	send_result r;

	if (!body || !cJSON_AddStringToObject(body, key, value)) {
		cJSON_Delete(body);
		return SEND_GIVE_UP;
	}
	r = send_call(t, p, method, body, pace_channel, NULL);
	cJSON_Delete(body);
	return r;
}

static send_result post_update(poster_thread *t, pb_post *p, const char *channel, const char *ts)
{
	return send_with(t, p, "chat.update", channel, "ts", ts, channel);
}

/* Unpaced: Slack limits ephemeral posts per workspace, not per channel. */
static send_result post_ephemeral(poster_thread *t, pb_post *p)
{
	return send_with(t, p, "chat.postEphemeral", p->channel, "user", p->user, NULL);
}

static send_result post_in_thread(poster_thread *t, pb_post *p);

typedef enum { OPEN_POST, OPEN_WAIT, OPEN_JOIN } open_step;

/*
 * May this replica post the promotion's thread parent? Its request claimed
 * it (cmd_request.c) or nobody holds a live claim: post. Another replica
 * holds one: wait for its parent (the post retries, PB_THREAD_CLAIM_S at
 * most). The thread is stored already: join it.
 */
static open_step open_claim(poster_thread *t, pb_post *p)
{
	int64_t now = pb_services_now(&t->svc), held = 0;
	pb_err e;
	int rc;

	pb_err_init(&e);
	rc = pb_store_promotion_claim_thread(t->svc.store, p->promotion_id, t->owner, now, now + PB_THREAD_CLAIM_S,
					     &held, &e);
	if (rc == PB_E_CONFLICT)
		return OPEN_JOIN;
	if (rc == PB_E_BUSY) {
		if (!p->claim_waited)
			pb_info("slack", "post %s: another replica is opening promotion %lld's thread (claim until %lld): "
				"waiting for it", p->id, (long long)p->promotion_id, (long long)held);
		p->claim_waited = true;
		p->not_before_ms = pb_clock_mono_ms(NULL) + POSTER_CLAIM_POLL_MS;
		pthread_mutex_lock(&t->ps->lock);
		t->ps->st.thread_waits++;
		pthread_mutex_unlock(&t->ps->lock);
		return OPEN_WAIT;
	}
	if (rc) /* as before claims: one parent too many is better than a card lost */
		pb_warn("slack", "post %s: cannot claim promotion %lld's thread (%s): posting its parent", p->id,
			(long long)p->promotion_id, pb_err_text(&e));
	return OPEN_POST;
}

/* Top-level post that starts the promotion's thread; its ts is stored with the promotion. */
static send_result post_open(poster_thread *t, pb_post *p)
{
	const char *channel = default_channel(t);
	send_result r;
	pb_err e;

	if (p->promotion_id && t->svc_ok) {
		switch (open_claim(t, p)) {
		case OPEN_WAIT:
			return SEND_RETRY;
		case OPEN_JOIN: /* another replica's parent came first: this card goes in its thread */
			return post_in_thread(t, p);
		case OPEN_POST:
			break;
		}
	}
	r = post_message(t, p, channel);
	if (r != SEND_DONE || !p->ts[0] || !p->promotion_id || !t->svc_ok)
		return r;
	pb_err_init(&e);
	if (pb_store_promotion_set_thread(t->svc.store, p->promotion_id, channel, p->ts,
					  pb_services_now(&t->svc), &e))
		pb_warn("slack", "promotion %lld: cannot store its thread: %s", (long long)p->promotion_id,
			pb_err_text(&e));
	return r;
}

/* Thread reply or parent update: the promotion's thread as stored now (an OPEN before us set it). */
static send_result post_in_thread(poster_thread *t, pb_post *p)
{
	pb_promotion pr;
	pb_err e;
	int rc = PB_E_NOTFOUND;

	pb_err_init(&e);
	if (p->promotion_id && t->svc_ok)
		rc = pb_store_promotion_get(t->svc.store, p->promotion_id, &pr, &e);
	if (rc < 0)
		pb_warn("slack", "post %s: promotion %lld unreadable (%s): posting to the channel", p->id,
			(long long)p->promotion_id, pb_err_text(&e));
	if (rc)
		return post_message(t, p, default_channel(t));
	if (!pr.thread_ref[0]) /* another replica is opening it, or this one's parent failed or predates a restart */
		return post_open(t, p);
	if (p->kind == PB_POST_PARENT)
		return post_update(t, p, pr.channel_ref[0] ? pr.channel_ref : default_channel(t), pr.thread_ref);
	pb_strlcpy(p->thread_ts, pr.thread_ref, sizeof(p->thread_ts)); /* always the parent's ts */
	return post_message(t, p, pr.channel_ref[0] ? pr.channel_ref : default_channel(t));
}

static send_result deliver(poster_thread *t, pb_post *p)
{
	switch (p->kind) {
	case PB_POST_EPHEMERAL:
		return post_ephemeral(t, p);
	case PB_POST_CHANNEL:
		return post_message(t, p, p->channel[0] ? p->channel : default_channel(t));
	case PB_POST_OPEN:
		return post_open(t, p);
	case PB_POST_THREAD:
	case PB_POST_PARENT:
		return post_in_thread(t, p);
	case PB_POST_UPDATE:
		return post_update(t, p, p->channel, p->ts);
	}
	return SEND_GIVE_UP;
}

/* ---- the thread ---- */

/* As a guest of the command pool's lanes: the loop's CPU stays free; the HTTP wait itself holds no lane. */
static send_result deliver_in_lane(poster_thread *t, pb_post *p)
{
	pb_lanes *lanes = t->ps->cfg.lanes;
	send_result r;

	if (lanes)
		pb_lanes_guest_take(lanes);
	r = deliver(t, p);
	if (lanes)
		pb_lanes_guest_give(lanes);
	return r;
}

static void record(pb_slack_poster *ps, pb_post *p, send_result r)
{
	pthread_mutex_lock(&ps->lock);
	ps->busy = false;
	if (r == SEND_RETRY) {
		queue_push_head(ps, p); /* it was the first of its order: the head keeps that order */
		p = NULL;
	} else if (r == SEND_DONE) {
		ps->st.posted++;
		post_confirm(p, true);
	} else {
		ps->st.failed++;
	}
	pthread_cond_broadcast(&ps->changed);
	pthread_mutex_unlock(&ps->lock);
	pb_post_free(p);
}

/* Lock held. Past the drain deadline, what is left is dropped — and said so. */
static bool drain_expired(pb_slack_poster *ps)
{
	if (!ps->stopping || pb_clock_mono_ms(NULL) < ps->drain_deadline_ms || !ps->count)
		return false;
	pb_error("slack", "stopping: %zu post(s) not delivered in time, dropped", ps->count);
	while (ps->head) {
		pb_post *p = ps->head;

		queue_unlink(ps, NULL, p);
		ps->st.dropped++;
		pb_post_free(p);
	}
	return true;
}

static void wait_for_work(pb_slack_poster *ps, long wait_ms)
{
	if (ps->stopping && (wait_ms < 0 || wait_ms > ps->drain_deadline_ms - pb_clock_mono_ms(NULL)))
		wait_ms = (long)(ps->drain_deadline_ms - pb_clock_mono_ms(NULL));
	if (wait_ms < 0 && !ps->stopping) {
		pthread_cond_wait(&ps->changed, &ps->lock);
		return;
	}
	pb_cond_wait_ms(&ps->changed, &ps->lock, wait_ms > 0 ? wait_ms : 1);
}

static void *poster_main(void *arg)
{
	pb_slack_poster *ps = arg;
	poster_thread t = { .ps = ps };
	pb_err e;
	int rc;

	pb_thread_name("poster", -1);
	pb_lease_token("replica", t.owner, sizeof(t.owner));
	pb_thread_lower("slack-poster", ps->cfg.nice, ps->cfg.idle);
	if (ps->cfg.lanes && (rc = pb_lanes_pin_self(ps->cfg.lanes)) != 0)
		pb_warn("slack", "poster: cannot pin the thread to the lanes' CPUs: %s", strerror(-rc));
	pb_err_init(&e);
	t.svc_ok = pb_services_open(&t.svc, ps->cfg.cfg, NULL, "slack-poster", PB_SVC_NO_ENGINE | PB_SVC_NO_GITHUB, &e) == 0;
	if (!t.svc_ok)
		pb_error("slack", "poster: %s (thread posts go to the channel)", pb_err_text(&e));
	if (pb_slack_web_init(&t.web, ps->cfg.api_url, ps->cfg.bot_token, ps->cfg.ca_file, ps->pacer)) {
		pb_error("slack", "poster: cannot set up HTTP");
		t.web.http = NULL;
	}
	t.web.defer_429 = true;
	t.web.transport_retries = 0; /* the poster retries itself, after a lookup when needed */
	if (ps->cfg.timeout_ms > 0)
		t.web.timeout_ms = ps->cfg.timeout_ms;
	pthread_mutex_lock(&ps->lock);
	for (;;) {
		long wait_ms;
		pb_post *p;

		if (drain_expired(ps) || (ps->stopping && !ps->count))
			break;
		p = t.web.http ? queue_pick(ps, &wait_ms) : NULL;
		if (!p) {
			wait_for_work(ps, t.web.http ? wait_ms : 100);
			continue;
		}
		ps->busy = true;
		pthread_mutex_unlock(&ps->lock);
		record(ps, p, deliver_in_lane(&t, p));
		pthread_mutex_lock(&ps->lock);
	}
	pthread_cond_broadcast(&ps->changed);
	pthread_mutex_unlock(&ps->lock);
	if (t.web.http)
		pb_slack_web_deinit(&t.web);
	pb_services_close(&t.svc);
	return NULL;
}

int pb_slack_poster_new(const pb_slack_poster_cfg *cfg, pb_slack_poster **out, pb_err *err)
{
	pb_slack_poster *ps = calloc(1, sizeof(*ps));
	int rc;

	*out = NULL;
	if (!ps)
		return pb_err_set(err, -ENOMEM, "poster: out of memory");
	ps->cfg = *cfg;
	if (!ps->cfg.capacity)
		ps->cfg.capacity = 4096;
	if (ps->cfg.max_attempts <= 0)
		ps->cfg.max_attempts = 6;
	pthread_mutex_init(&ps->lock, NULL);
	pb_cond_init_mono(&ps->changed);
	rc = pb_slack_pacer_new(cfg->min_interval_ms, &ps->pacer);
	if (!rc) {
		rc = -pthread_create(&ps->thread, NULL, poster_main, ps);
		ps->started = rc == 0;
	}
	if (rc) {
		pb_slack_poster_free(ps, 0);
		return pb_err_set(err, rc, "poster: cannot start (%s)", strerror(-rc));
	}
	*out = ps;
	return 0;
}

int pb_slack_poster_submit(pb_slack_poster *ps, pb_post *post)
{
	int rc = 0;

	if (!post)
		return -EINVAL;
	pthread_mutex_lock(&ps->lock);
	if (ps->stopping || ps->count >= ps->cfg.capacity) {
		rc = PB_E_BUSY;
		ps->st.dropped++;
	} else {
		queue_push_tail(ps, post);
		post = NULL;
		pthread_cond_broadcast(&ps->changed);
	}
	pthread_mutex_unlock(&ps->lock);
	if (rc) {
		pb_error("slack", "post %s dropped: the outbound queue is %s", post->id,
			 ps->stopping ? "stopping" : "full");
		pb_post_free(post);
	}
	return rc;
}

bool pb_slack_poster_wait_idle(pb_slack_poster *ps, int timeout_ms)
{
	int64_t deadline = pb_clock_mono_ms(NULL) + timeout_ms;
	bool idle;

	pthread_mutex_lock(&ps->lock);
	while (!(idle = !ps->count && !ps->busy)) {
		int64_t left = deadline - pb_clock_mono_ms(NULL);

		if (left <= 0)
			break;
		pb_cond_wait_ms(&ps->changed, &ps->lock, (long)left);
	}
	pthread_mutex_unlock(&ps->lock);
	return idle;
}

void pb_slack_poster_stats_get(pb_slack_poster *ps, pb_slack_poster_stats *out)
{
	pthread_mutex_lock(&ps->lock);
	*out = ps->st;
	out->queued = ps->count;
	pthread_mutex_unlock(&ps->lock);
}

void pb_slack_poster_free(pb_slack_poster *ps, int drain_ms)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->lock);
	ps->stopping = true;
	ps->drain_deadline_ms = pb_clock_mono_ms(NULL) + (drain_ms > 0 ? drain_ms : 0);
	pthread_cond_broadcast(&ps->changed);
	pthread_mutex_unlock(&ps->lock);
	if (ps->started)
		pthread_join(ps->thread, NULL);
	while (ps->head) {
		pb_post *p = ps->head;

		queue_unlink(ps, NULL, p);
		pb_post_free(p);
	}
	pb_slack_pacer_free(ps->pacer);
	pthread_cond_destroy(&ps->changed);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

/* ---- cards ---- */

cJSON *pb_slack_card_body(const pb_card *c)
{
	cJSON *body = cJSON_CreateObject();

	if (!body || pb_slack_card_to_message(c, body)) {
		pb_error("slack", "card \"%s\" cannot be rendered for Slack", c->title ? c->title : "");
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

void pb_slack_poster_submit_card(pb_slack_poster *ps, const pb_card *c, pb_post_kind kind, const char *channel,
				 cJSON *body, int64_t promotion_id, const char *user, const char *ts)
{
	bool confirm = c && c->acks;
	pb_post *p;

	if (!body) {
		if (confirm)
			pb_acks_push(c->acks, c->delivery_id, false, "");
		return;
	}
	p = pb_post_new(kind, channel, body);
	if (!p) {
		pb_error("slack", "out of memory: a post to %s is lost", channel);
		if (confirm)
			pb_acks_push(c->acks, c->delivery_id, false, "");
		return;
	}
	pb_post_set_promotion(p, promotion_id);
	pb_post_set_user(p, user);
	pb_post_set_ts(p, ts);
	if (confirm && !pb_post_set_delivery(p, c->delivery_id, c->handed_before, c->acks)) {
		/* without its id it could be neither confirmed nor found again: not sent */
		pb_error("slack", "card \"%s\": delivery id unusable, not sent", c->title ? c->title : "");
		pb_acks_push(c->acks, c->delivery_id, false, "");
		pb_post_free(p);
		return;
	}
	pb_slack_poster_submit(ps, p); /* a refusal is logged, counted and reported (pb_post_free) there */
}

static void system_emit(pb_sink *sink, const pb_card *c)
{
	pb_slack_system_sink *s = sink->userdata;
	const char *channel = s->cfg->slack.channel;
	pb_post_kind kind = PB_POST_CHANNEL;

	if (c->audience == PB_AUDIENCE_THREAD && c->promotion_id)
		kind = c->role == PB_THREAD_OPEN ? PB_POST_OPEN
		       : c->role == PB_THREAD_PARENT_UPDATE ? PB_POST_PARENT : PB_POST_THREAD;
	pb_slack_poster_submit_card(s->poster, c, kind, channel, pb_slack_card_body(c),
				    kind == PB_POST_CHANNEL ? 0 : c->promotion_id, NULL, NULL);
}

void pb_slack_system_sink_init(pb_slack_system_sink *s, pb_slack_poster *p, const pb_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->sink.emit = system_emit;
	s->sink.userdata = s;
	s->sink.confirms = true; /* the poster confirms once Slack answered */
	s->poster = p;
	s->cfg = cfg;
}
