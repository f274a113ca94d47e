/* fake_slack.c — Slack Web API + Socket Mode fake on lws, written from PROTOCOLS.md for the Slack tests. */
#include "fake_slack.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAKE_MAX_CONNS 16
#define FAKE_MAX_CHANNELS 8
#define FAKE_MAX_LIMITS 8
#define FAKE_MAX_TALLIES 64   /* distinct methods counted; the Web API has fewer than this many that the fake answers */
#define FAKE_BODY_MAX (1u << 20)
#define FAKE_RX_MAX (1u << 20)

typedef struct frame {
	struct frame *next;
	int flags;              /* lws_write protocol flags */
	bool close;             /* a close request instead of data */
	size_t env;             /* 1 + index in envs when this is an envelope's last frame, else 0 */
	size_t len;
	unsigned char data[];   /* LWS_PRE headroom + payload */
} frame;

typedef struct fconn {
	int serial;             /* 0 = slot free */
	struct lws *wsi;
	frame *head, *tail;
	char *rx;
	size_t rx_len;
	int64_t retire_at;      /* 0 = not retiring; close at this time or after a newer hello */
	bool retiring;
} fconn;

typedef struct envelope {
	char id[128];
	char *json;
	int conn;
	bool acked;
	int64_t sent_ms;
	int64_t wire_us;        /* its last frame written to the socket (first time), 0 = not yet */
	size_t first_ack;       /* 1 + the index in acks of its first ack, 0 = none yet (an O(1) wait_ack) */
} envelope;

typedef struct msg_rec {
	char channel[32];
	char ts[32];
	bool parent;            /* not a thread reply: a valid thread_ts */
	char thread_ts[32];     /* the parent's ts for a reply */
	char *text;
	char *metadata;         /* JSON of the message's metadata, NULL without */
} msg_rec;

typedef struct rate_limit {
	char method[48];
	int count;
	int retry_after_s;
} rate_limit;

/* Per-HTTP-session state (lws zeroes and frees the struct; we free its pointers). */
typedef struct pss {
	char path[256];
	char auth[512];
	char ctype[128];
	char *body;
	size_t body_len;
	bool too_big;
	char *resp;             /* LWS_PRE + JSON */
	size_t resp_len;
	int status;
	int retry_after;
	bool is_ws;
	bool responded;         /* this request was answered (BODY_COMPLETION may follow a 0-byte POST) */
	bool lose;              /* processed, but the connection closes without the reply */
	fconn *conn;
} pss;

/*
 * One lws server: a context, the thread that services it, its port. Slack's
 * Socket Mode links and its Web API are different hosts; here they are two
 * servers too, so a burst of chat.* calls never queues in front of an
 * envelope or an ack on the socket (one thread serving both would add its
 * own queueing to every ack latency a client measures).
 */
typedef struct fake_srv {
	struct lws_context *ctx;
	pthread_t thread;
	int port;
	fake_slack *f;
} fake_srv;

struct fake_slack {
	pthread_mutex_t lock;
	pthread_cond_t changed;     /* anything changed (every waiter) */
	pthread_cond_t acked;       /* an ack came in (ack waiters only: a Web API call does not wake them) */
	/*
	 * The Web API's state (channels, limits, losses, ticket, calls, messages)
	 * has its own lock and condition: a chat.* call being handled never holds
	 * the lock the socket thread needs to write an envelope or record an ack.
	 * Never held together with `lock`.
	 */
	pthread_mutex_t api_lock;
	pthread_cond_t api_changed;
	fake_srv sock;          /* Socket Mode: /link/ WebSocket upgrades (the URL apps.connections.open hands out) */
	fake_srv api;           /* Web API: /api/<method> */
	bool running, quit;
	bool frozen;            /* the server threads stop servicing: sockets stay open, nothing answers */
	char api_url[64];
	char app_token[256], bot_token[256];
	char cert[256], key[256];   /* TLS (https/wss) when set */
	char channels[FAKE_MAX_CHANNELS][32];
	int nchannels;
	rate_limit limits[FAKE_MAX_LIMITS];
	int nlimits;
	rate_limit losses[FAKE_MAX_LIMITS];  /* count = replies still to lose for that method */
	int nlosses;
	fconn conns[FAKE_MAX_CONNS];
	int hellos;
	fake_slack_dist dist;   /* which live connection an envelope goes to */
	int last_serial;        /* round-robin: the serial the previous envelope went to */
	int target;             /* > 0: every envelope goes to this serial (none when it is not live) */
	int ticket;
	bool redeliver;
	envelope *envs;
	size_t nenvs, capenvs;
	fake_slack_ack *acks;
	size_t nacks, capacks;
	fake_slack_call *calls;
	size_t ncalls, capcalls;
	/*
	 * Calls per method, kept as they are recorded: a bench asks for a count
	 * before every command, and a scan of every call so far (thousands) under
	 * api_lock made the harness itself slower the longer it ran.
	 */
	struct call_tally {
		char method[48];
		size_t all, ok;
	} tallies[FAKE_MAX_TALLIES];
	int ntallies;
	size_t nok;
	msg_rec *msgs;
	size_t nmsgs, capmsgs;
	unsigned ts_seq;
	unsigned ts_base;       /* wall-clock seconds at start: message ts look like Slack's (epoch.micro) */
	lws_sorted_usec_list_t tick;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deadline_ts(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Grows an array to hold one more element; aborts on OOM (test code). */
static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	arr = realloc(arr, *cap * elem);
	if (!arr)
		abort();
	return arr;
}

/* arr with room for at least want elements (never shrinks). */
static void *reserve(void *arr, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return arr;
	arr = realloc(arr, want * elem);
	if (!arr)
		abort();
	*cap = want;
	return arr;
}

/* ---- socket side (fake thread, lock held) ---- */

static fconn *newest_conn(fake_slack *f, bool prefer_active)
{
	fconn *best = NULL;

	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		fconn *c = &f->conns[i];

		if (!c->serial || !c->wsi)
			continue;
		if (prefer_active && c->retiring)
			continue;
		if (!best || c->serial > best->serial)
			best = c;
	}
	if (!best && prefer_active)
		return newest_conn(f, false);
	return best;
}

static fconn *conn_by_serial(fake_slack *f, int serial)
{
	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i].serial == serial && f->conns[i].wsi)
			return &f->conns[i];
	return NULL;
}

/* Round-robin: the live, non-retiring connection with the next serial after the last one used (wrapping). */
static fconn *next_conn(fake_slack *f)
{
	fconn *after = NULL, *first = NULL;

	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		fconn *c = &f->conns[i];

		if (!c->serial || !c->wsi || c->retiring)
			continue;
		if (!first || c->serial < first->serial)
			first = c;
		if (c->serial > f->last_serial && (!after || c->serial < after->serial))
			after = c;
	}
	if (!after)
		after = first;
	return after ? after : newest_conn(f, false);
}

/*
 * The connection the next envelope goes to. Slack hands each envelope to ONE of
 * the app's live connections (up to 10); which one is Slack's choice, so tests
 * pick it: the newest (the default, as before), round-robin, or one serial.
 */
static fconn *pick_conn(fake_slack *f)
{
	fconn *c;

	if (f->target > 0)
		return conn_by_serial(f, f->target);
	c = f->dist == FAKE_SLACK_ROUND_ROBIN ? next_conn(f) : newest_conn(f, true);
	if (c)
		f->last_serial = c->serial;
	return c;
}

static int live_locked(fake_slack *f);

static void conn_push(fconn *c, const char *text, size_t len, int flags, bool close)
{
	frame *fr = malloc(sizeof(*fr) + LWS_PRE + len);

	if (!fr)
		abort();
	fr->next = NULL;
	fr->flags = flags;
	fr->close = close;
	fr->env = 0;
	fr->len = len;
	if (len)
		memcpy(fr->data + LWS_PRE, text, len);
	if (c->tail)
		c->tail->next = fr;
	else
		c->head = fr;
	c->tail = fr;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

static void conn_send_text(fconn *c, const char *text, size_t chunk)
{
	size_t len = strlen(text);

	if (!chunk || chunk >= len) {
		conn_push(c, text, len, LWS_WRITE_TEXT, false);
		return;
	}
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		int flags = off == 0 ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION;

		if (off + n < len)
			flags |= LWS_WRITE_NO_FIN;
		conn_push(c, text + off, n, flags, false);
	}
}

static void conn_free_frames(fconn *c)
{
	while (c->head) {
		frame *fr = c->head;

		c->head = fr->next;
		free(fr);
	}
	c->tail = NULL;
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
}

/* Ids are unique in envs; the newest are looked up most, so from the end. */
static envelope *env_find(fake_slack *f, const char *id)
{
	for (size_t i = f->nenvs; i-- > 0;)
		if (!strcmp(f->envs[i].id, id))
			return &f->envs[i];
	return NULL;
}

static void record_ack(fake_slack *f, fconn *c, const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "envelope_id");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
	fake_slack_ack *a;
	envelope *e;

	if (!cJSON_IsString(id)) {
		cJSON_Delete(root);
		return;
	}
	f->acks = grow(f->acks, &f->capacks, f->nacks, sizeof(*f->acks));
	a = &f->acks[f->nacks++];
	memset(a, 0, sizeof(*a));
	snprintf(a->envelope_id, sizeof(a->envelope_id), "%s", id->valuestring);
	a->acked_ms = mono_ms();
	a->read_us = mono_us();
	a->conn = c->serial;
	a->payload = payload ? cJSON_PrintUnformatted(payload) : NULL;
	e = env_find(f, id->valuestring);
	if (e) {
		if (!e->first_ack)
			e->first_ack = f->nacks;
		e->acked = true;
		a->sent_ms = e->sent_ms;
		a->wire_us = e->wire_us;
	}
	cJSON_Delete(root);
	pthread_cond_broadcast(&f->changed);
	pthread_cond_broadcast(&f->acked);
}

/* Slack retries envelopes a closed connection never acked on a live one. */
static void redeliver_from(fake_slack *f, int serial)
{
	fconn *to;

	if (!f->redeliver)
		return;
	to = pick_conn(f);
	if (!to)
		to = newest_conn(f, true);
	if (!to)
		return;
	for (size_t i = 0; i < f->nenvs; i++) {
		envelope *e = &f->envs[i];

		if (e->conn == serial && !e->acked) {
			e->conn = to->serial;
			conn_send_text(to, e->json, 0);
		}
	}
}

static void send_hello(fake_slack *f, fconn *c)
{
	char hello[256];

	/* num_connections: the app's open connections, this one included (it is live already) */
	snprintf(hello, sizeof(hello),
		 "{\"type\":\"hello\",\"num_connections\":%d,\"connection_info\":{\"app_id\":\"A0FAKE\"},"
		 "\"debug_info\":{\"host\":\"fake-slack\",\"approximate_connection_time\":18060}}",
		 live_locked(f));
	conn_send_text(c, hello, 0);
	f->hellos++;
	c->serial = f->hellos;
	/* A newer connection said hello: retiring ones go now. */
	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		fconn *o = &f->conns[i];

		if (o != c && o->serial && o->retiring && o->retire_at > mono_ms() + 200)
			o->retire_at = mono_ms() + 200;
	}
	pthread_cond_broadcast(&f->changed);
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	fake_slack *f = lws_container_of(sul, fake_slack, tick);
	int64_t now = mono_ms();

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		fconn *c = &f->conns[i];

		if (c->serial && c->wsi && c->retiring && c->retire_at && now >= c->retire_at) {
			c->retire_at = 0;
			conn_push(c, NULL, 0, 0, true);
		}
	}
	pthread_mutex_unlock(&f->lock);
	lws_sul_schedule(f->sock.ctx, 0, &f->tick, tick_cb, 50 * LWS_US_PER_MS);
}

/* ---- Web API (fake thread, lock held) ---- */

static bool channel_known(fake_slack *f, const char *ch)
{
	for (int i = 0; i < f->nchannels; i++)
		if (!strcmp(f->channels[i], ch))
			return true;
	return false;
}

static msg_rec *msg_find(fake_slack *f, const char *channel, const char *ts)
{
	for (size_t i = 0; i < f->nmsgs; i++)
		if (!strcmp(f->msgs[i].channel, channel) && !strcmp(f->msgs[i].ts, ts))
			return &f->msgs[i];
	return NULL;
}

static void new_ts(fake_slack *f, char *out, size_t size)
{
	f->ts_seq++;
	snprintf(out, size, "%u.%06u", f->ts_base + f->ts_seq / 1000000u, f->ts_seq % 1000000u);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static size_t utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* The Block Kit limits promobot relies on; Slack answers invalid_blocks beyond them. */
static bool blocks_valid(const cJSON *blocks)
{
	const cJSON *b;

	if (!cJSON_IsArray(blocks) || cJSON_GetArraySize(blocks) > 50)
		return false;
	cJSON_ArrayForEach(b, blocks) {
		const char *type = jstr(b, "type");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
		const char *tt = t ? jstr(t, "text") : NULL;

		if (!type)
			return false;
		if (!strcmp(type, "header") && (!tt || utf8_count(tt) > 150))
			return false;
		if (!strcmp(type, "section")) {
			const cJSON *fields = cJSON_GetObjectItemCaseSensitive(b, "fields");

			if (!tt && !fields)
				return false;
			if (tt && utf8_count(tt) > 3000)
				return false;
			if (fields && (!cJSON_IsArray(fields) || cJSON_GetArraySize(fields) > 10))
				return false;
		}
		if (!strcmp(type, "actions")) {
			const cJSON *els = cJSON_GetObjectItemCaseSensitive(b, "elements");
			const cJSON *e;

			if (!cJSON_IsArray(els) || cJSON_GetArraySize(els) > 25)
				return false;
			cJSON_ArrayForEach(e, els) {
				const char *id = jstr(e, "action_id");
				const cJSON *et = cJSON_GetObjectItemCaseSensitive(e, "text");
				const char *label = et ? jstr(et, "text") : NULL;

				if (!id || !label || utf8_count(label) > 75)
					return false;
				for (const cJSON *o = els->child; o != e; o = o->next)
					if (jstr(o, "action_id") && !strcmp(jstr(o, "action_id"), id))
						return false;
			}
		}
	}
	return true;
}

/* A message as conversations.* list it; metadata only when asked for (include_all_metadata). */
static void add_listed(cJSON *arr, const msg_rec *m, bool with_metadata)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "message");
	cJSON_AddStringToObject(o, "text", m->text ? m->text : "");
	cJSON_AddStringToObject(o, "ts", m->ts);
	if (m->thread_ts[0] || m->parent)
		cJSON_AddStringToObject(o, "thread_ts", m->thread_ts[0] ? m->thread_ts : m->ts);
	if (with_metadata && m->metadata)
		cJSON_AddItemToObject(o, "metadata", cJSON_Parse(m->metadata));
	cJSON_AddItemToArray(arr, o);
}

/* Slack's boolean arguments arrive as "true"/"1" in forms or as JSON booleans. */
static bool arg_true(const cJSON *req, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

	return cJSON_IsTrue(v) || (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") || !strcmp(v->valuestring, "1")));
}

/* conversations.history (top-level messages, newest first) and conversations.replies (a thread, oldest first). */
static const char *read_call(fake_slack *f, const char *method, const cJSON *req, cJSON *reply)
{
	const char *channel = jstr(req, "channel");
	const char *oldest_s = jstr(req, "oldest");
	double oldest = oldest_s ? strtod(oldest_s, NULL) : 0;
	bool md = arg_true(req, "include_all_metadata");
	cJSON *arr;

	if (!channel || !channel_known(f, channel))
		return "channel_not_found";
	arr = cJSON_AddArrayToObject(reply, "messages");
	if (!strcmp(method, "conversations.history")) {
		for (size_t i = f->nmsgs; i-- > 0;)
			if (!strcmp(f->msgs[i].channel, channel) && f->msgs[i].parent &&
			    strtod(f->msgs[i].ts, NULL) > oldest)
				add_listed(arr, &f->msgs[i], md);
	} else {
		const char *ts = jstr(req, "ts");
		msg_rec *parent = ts ? msg_find(f, channel, ts) : NULL;

		if (!ts)
			return "invalid_arguments";
		if (!parent)
			return "thread_not_found";
		add_listed(arr, parent, md);
		for (size_t i = 0; i < f->nmsgs; i++)
			if (!strcmp(f->msgs[i].channel, channel) && !strcmp(f->msgs[i].thread_ts, ts) &&
			    strtod(f->msgs[i].ts, NULL) > oldest)
				add_listed(arr, &f->msgs[i], md);
	}
	cJSON_AddBoolToObject(reply, "has_more", false);
	return NULL;
}

/* Fills `reply` for one chat.* call; returns the error code or NULL when ok. */
static const char *chat_call(fake_slack *f, const char *method, const cJSON *req, cJSON *reply,
			     char *ts_out, size_t ts_size)
{
	const char *channel = jstr(req, "channel");
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(req, "blocks");
	const char *text = jstr(req, "text");
	char ts[32];

	if (!channel || !channel_known(f, channel))
		return "channel_not_found";
	if (blocks && !blocks_valid(blocks))
		return "invalid_blocks";
	if (!strcmp(method, "chat.postMessage")) {
		const char *thread_ts = jstr(req, "thread_ts");
		msg_rec *m;

		const cJSON *md = cJSON_GetObjectItemCaseSensitive(req, "metadata");

		if (!text && !blocks)
			return "no_text";
		if (thread_ts) {
			msg_rec *parent = msg_find(f, channel, thread_ts);

			if (!parent || !parent->parent)
				return "thread_not_found";
		}
		/* Slack: metadata is {event_type: string, event_payload: object} */
		if (md && (!cJSON_IsObject(md) || !jstr(md, "event_type") ||
			   !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(md, "event_payload"))))
			return "invalid_metadata_format";
		new_ts(f, ts, sizeof(ts));
		f->msgs = grow(f->msgs, &f->capmsgs, f->nmsgs, sizeof(*f->msgs));
		m = &f->msgs[f->nmsgs++];
		memset(m, 0, sizeof(*m));
		snprintf(m->channel, sizeof(m->channel), "%s", channel);
		snprintf(m->ts, sizeof(m->ts), "%s", ts);
		m->parent = !thread_ts;
		snprintf(m->thread_ts, sizeof(m->thread_ts), "%s", thread_ts ? thread_ts : "");
		m->text = strdup(text ? text : "");
		m->metadata = md ? cJSON_PrintUnformatted(md) : NULL;
		cJSON_AddStringToObject(reply, "channel", channel);
		cJSON_AddStringToObject(reply, "ts", ts);
		cJSON *msg = cJSON_AddObjectToObject(reply, "message");
		cJSON_AddStringToObject(msg, "type", "message");
		cJSON_AddStringToObject(msg, "text", text ? text : "");
		cJSON_AddStringToObject(msg, "ts", ts);
		if (thread_ts)
			cJSON_AddStringToObject(msg, "thread_ts", thread_ts);
		snprintf(ts_out, ts_size, "%s", ts);
		return NULL;
	}
	if (!strcmp(method, "chat.update")) {
		const char *uts = jstr(req, "ts");

		if (!uts)
			return "invalid_arguments";
		if (!msg_find(f, channel, uts))
			return "message_not_found";
		if (!text && !blocks)
			return "no_text";
		cJSON_AddStringToObject(reply, "channel", channel);
		cJSON_AddStringToObject(reply, "ts", uts);
		cJSON_AddStringToObject(reply, "text", text ? text : "");
		snprintf(ts_out, ts_size, "%s", uts);
		return NULL;
	}
	/* chat.postEphemeral */
	if (!jstr(req, "user"))
		return "user_not_found";
	if (!text && !blocks)
		return "no_text";
	new_ts(f, ts, sizeof(ts));
	cJSON_AddStringToObject(reply, "message_ts", ts);
	snprintf(ts_out, ts_size, "%s", ts);
	return NULL;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes one application/x-www-form-urlencoded component in place. */
static void form_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * Slack takes JSON bodies and form-encoded ones (what its SDKs send); in a
 * form, structured arguments such as blocks and metadata are JSON strings.
 */
static cJSON *parse_form(const char *body, size_t len)
{
	cJSON *obj = cJSON_CreateObject();
	char *copy = strndup(body, len), *save = NULL;

	if (!obj || !copy)
		abort();
	for (char *pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		char *val = eq ? eq + 1 : (char *)"";

		if (eq)
			*eq = '\0';
		form_decode(pair);
		form_decode(val);
		if (!strcmp(pair, "blocks") || !strcmp(pair, "attachments") || !strcmp(pair, "metadata")) {
			cJSON *j = cJSON_Parse(val);

			cJSON_AddItemToObject(obj, pair, j ? j : cJSON_CreateString(val));
		} else {
			cJSON_AddStringToObject(obj, pair, val);
		}
	}
	free(copy);
	return obj;
}

static struct call_tally *tally_find(fake_slack *f, const char *method)
{
	for (int i = 0; i < f->ntallies; i++)
		if (!strcmp(f->tallies[i].method, method))
			return &f->tallies[i];
	return NULL;
}

/* Counts a recorded call under its method (api_lock held). */
static void tally_call(fake_slack *f, const fake_slack_call *call)
{
	struct call_tally *t = tally_find(f, call->method);

	if (!t && f->ntallies < FAKE_MAX_TALLIES) {
		t = &f->tallies[f->ntallies++];
		snprintf(t->method, sizeof(t->method), "%s", call->method);
	}
	if (!t)
		abort(); /* a test calling more distinct methods than the fake counts: raise FAKE_MAX_TALLIES */
	t->all++;
	t->ok += call->ok;
	f->nok += call->ok;
}

static void http_respond(fake_slack *f, pss *p)
{
	const char *method = strncmp(p->path, "/api/", 5) == 0 ? p->path + 5 : NULL;
	const char *token = strncmp(p->auth, "Bearer ", 7) == 0 ? p->auth + 7 : NULL;
	cJSON *reply;
	cJSON *req = NULL;
	const char *error = NULL;
	fake_slack_call *call;
	char ts[32] = "";
	char *json;
	bool is_open, is_chat, is_read;

	if (p->responded)
		return;
	p->responded = true;
	reply = cJSON_CreateObject();
	if (!reply)
		abort();
	p->status = 200;
	p->retry_after = 0;
	if (!method) {
		p->status = 404;
		error = "unknown_method";
		goto done;
	}
	for (int i = 0; i < f->nlimits; i++) {
		if (!strcmp(f->limits[i].method, method) && f->limits[i].count > 0) {
			f->limits[i].count--;
			p->status = 429;
			p->retry_after = f->limits[i].retry_after_s;
			error = "ratelimited";
			goto done;
		}
	}
	is_open = !strcmp(method, "apps.connections.open");
	is_chat = !strcmp(method, "chat.postMessage") || !strcmp(method, "chat.update") ||
		  !strcmp(method, "chat.postEphemeral");
	is_read = !strcmp(method, "conversations.history") || !strcmp(method, "conversations.replies");
	if (!is_open && !is_chat && !is_read && strcmp(method, "auth.test")) {
		error = "unknown_method";
		goto done;
	}
	if (!token || !token[0]) {
		error = "not_authed";
		goto done;
	}
	if (is_open ? strcmp(token, f->app_token) : strcmp(token, f->bot_token)) {
		/* The other valid token of the app is the wrong type, anything else is invalid. */
		error = !strcmp(token, is_open ? f->bot_token : f->app_token) ? "not_allowed_token_type"
									       : "invalid_auth";
		goto done;
	}
	if (is_open) {
		char url[160];

		snprintf(url, sizeof(url), "%s://127.0.0.1:%d/link/?ticket=fake-%d&app_id=A0FAKE",
			 f->cert[0] ? "wss" : "ws", f->sock.port, ++f->ticket);
		cJSON_AddStringToObject(reply, "url", url);
		goto done;
	}
	if (!strcmp(method, "auth.test")) {
		cJSON_AddStringToObject(reply, "url", "https://fake.slack.com/");
		cJSON_AddStringToObject(reply, "team", "Fake");
		cJSON_AddStringToObject(reply, "user", "promobot");
		cJSON_AddStringToObject(reply, "team_id", "T0FAKE");
		cJSON_AddStringToObject(reply, "user_id", "U0BOT");
		cJSON_AddStringToObject(reply, "bot_id", "B0BOT");
		goto done;
	}
	if (p->too_big) {
		error = "request_too_large";
		goto done;
	}
	if (p->body && !strncmp(p->ctype, "application/x-www-form-urlencoded", 33))
		req = parse_form(p->body, p->body_len);
	else
		req = p->body ? cJSON_ParseWithLength(p->body, p->body_len) : NULL;
	if (!cJSON_IsObject(req)) {
		error = "invalid_json";
		goto done;
	}
	error = is_read ? read_call(f, method, req, reply) : chat_call(f, method, req, reply, ts, sizeof(ts));
	for (int i = 0; i < f->nlosses; i++) {
		if (!strcmp(f->losses[i].method, method) && f->losses[i].count > 0) {
			f->losses[i].count--;
			p->lose = true; /* done, and the caller will never know */
		}
	}
done:
	cJSON_AddBoolToObject(reply, "ok", error == NULL);
	if (error)
		cJSON_AddStringToObject(reply, "error", error);
	f->calls = grow(f->calls, &f->capcalls, f->ncalls, sizeof(*f->calls));
	call = &f->calls[f->ncalls++];
	memset(call, 0, sizeof(*call));
	snprintf(call->method, sizeof(call->method), "%s", method ? method : p->path);
	call->status = p->status;
	call->ok = error == NULL;
	snprintf(call->error, sizeof(call->error), "%s", error ? error : "");
	snprintf(call->ts, sizeof(call->ts), "%s", ts);
	call->body = p->body ? strndup(p->body, p->body_len) : strdup("");
	call->at_ms = mono_ms();
	tally_call(f, call);
	json = cJSON_PrintUnformatted(reply);
	p->resp_len = json ? strlen(json) : 0;
	p->resp = malloc(LWS_PRE + p->resp_len + 1);
	if (!p->resp || !json)
		abort();
	memcpy(p->resp + LWS_PRE, json, p->resp_len);
	free(json);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	pthread_cond_broadcast(&f->api_changed);
}

static int http_write(struct lws *wsi, pss *p)
{
	unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *q = start, *end = &buf[sizeof(buf) - 1];
	char ra[16];

	if (!p->resp)
		return 0;
	if (p->lose)
		return -1; /* close without a byte of reply: an unknown outcome for the client */
	if (lws_add_http_common_headers(wsi, (unsigned)p->status, "application/json; charset=utf-8",
					p->resp_len, &q, end))
		return 1;
	if (p->retry_after) {
		int n = snprintf(ra, sizeof(ra), "%d", p->retry_after);

		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
						(const unsigned char *)ra, n, &q, end))
			return 1;
	}
	if (lws_finalize_write_http_header(wsi, start, &q, end))
		return 1;
	if (lws_write(wsi, (unsigned char *)p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) < 0)
		return 1;
	free(p->resp);
	p->resp = NULL;
	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

static void http_start(fake_slack *f, struct lws *wsi, pss *p, const char *uri)
{
	char cl[32] = "";

	snprintf(p->path, sizeof(p->path), "%s", uri ? uri : "");
	p->auth[0] = '\0';
	if (lws_hdr_copy(wsi, p->auth, sizeof(p->auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		p->auth[0] = '\0';
	lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
	p->ctype[0] = '\0';
	if (lws_hdr_copy(wsi, p->ctype, sizeof(p->ctype), WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
		p->ctype[0] = '\0';
	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	p->too_big = false;
	p->responded = false;
	free(p->resp);
	p->resp = NULL;
	/* No body to wait for (GET, or a zero-length POST): answer now. */
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) || !cl[0] || !strcmp(cl, "0")) {
		pthread_mutex_lock(&f->api_lock);
		http_respond(f, p);
		pthread_mutex_unlock(&f->api_lock);
		lws_callback_on_writable(wsi);
	}
}

static void http_body(pss *p, const void *in, size_t len)
{
	char *nb;

	if (p->too_big || p->body_len + len > FAKE_BODY_MAX) {
		p->too_big = true;
		return;
	}
	nb = realloc(p->body, p->body_len + len + 1);
	if (!nb)
		abort();
	if (len)
		memcpy(nb + p->body_len, in, len);
	p->body_len += len;
	nb[p->body_len] = '\0';
	p->body = nb;
}

/* ---- lws callback ---- */

static fconn *conn_alloc(fake_slack *f, struct lws *wsi)
{
	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		if (!f->conns[i].wsi && !f->conns[i].serial) {
			memset(&f->conns[i], 0, sizeof(f->conns[i]));
			f->conns[i].wsi = wsi;
			return &f->conns[i];
		}
	}
	return NULL;
}

static int ws_established(fake_slack *f, struct lws *wsi, pss *p)
{
	char args[128] = "";
	int ticket = 0, issued;
	fconn *c;

	/* Only tickets this fake issued open a socket, as with Slack's URLs. */
	lws_hdr_copy_fragment(wsi, args, sizeof(args), WSI_TOKEN_HTTP_URI_ARGS, 0);
	if (sscanf(args, "ticket=fake-%d", &ticket) != 1 || ticket < 1)
		return -1;
	pthread_mutex_lock(&f->api_lock);
	issued = f->ticket;
	pthread_mutex_unlock(&f->api_lock);
	if (ticket > issued)
		return -1;
	pthread_mutex_lock(&f->lock);
	c = conn_alloc(f, wsi);
	if (c) {
		p->is_ws = true;
		p->conn = c;
		send_hello(f, c);
	}
	pthread_mutex_unlock(&f->lock);
	return c ? 0 : -1;
}

static void ws_closed(fake_slack *f, pss *p)
{
	fconn *c = p->conn;
	int serial;

	if (!c)
		return;
	pthread_mutex_lock(&f->lock);
	serial = c->serial;
	conn_free_frames(c);
	memset(c, 0, sizeof(*c));
	p->conn = NULL;
	redeliver_from(f, serial);
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

static void ws_receive(fake_slack *f, struct lws *wsi, pss *p, const void *in, size_t len)
{
	fconn *c = p->conn;

	if (!c)
		return;
	pthread_mutex_lock(&f->lock);
	if (c->rx_len + len <= FAKE_RX_MAX) {
		char *nb = realloc(c->rx, c->rx_len + len + 1);

		if (!nb)
			abort();
		memcpy(nb + c->rx_len, in, len);
		c->rx = nb;
		c->rx_len += len;
	}
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		record_ack(f, c, c->rx ? c->rx : "", c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
	pthread_mutex_unlock(&f->lock);
}

static int ws_writeable(fake_slack *f, struct lws *wsi, pss *p)
{
	fconn *c = p->conn;
	frame *fr;
	int rc = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&f->lock);
	fr = c->head;
	if (fr) {
		c->head = fr->next;
		if (!c->head)
			c->tail = NULL;
	}
	if (fr && !fr->close && c->head)
		lws_callback_on_writable(wsi);
	pthread_mutex_unlock(&f->lock);
	if (!fr)
		return 0;
	if (fr->close) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
		rc = -1;
	} else if (lws_write(wsi, fr->data + LWS_PRE, fr->len, (enum lws_write_protocol)fr->flags) < 0) {
		rc = -1;
	} else if (fr->env) {
		int64_t now = mono_us();

		pthread_mutex_lock(&f->lock);
		if (fr->env <= f->nenvs && !f->envs[fr->env - 1].wire_us)
			f->envs[fr->env - 1].wire_us = now;
		pthread_mutex_unlock(&f->lock);
	}
	free(fr);
	return rc;
}

static void on_cancel(fake_slack *f)
{
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i].wsi && f->conns[i].head)
			lws_callback_on_writable(f->conns[i].wsi);
	pthread_mutex_unlock(&f->lock);
}

static int fake_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	fake_slack *f = ctx ? lws_context_user(ctx) : NULL;
	pss *p = user;

	if (!f)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (ctx == f->sock.ctx) /* the socket's frames belong to its own thread */
			on_cancel(f);
		return 0;
	case LWS_CALLBACK_HTTP:
		http_start(f, wsi, p, in);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		http_body(p, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		pthread_mutex_lock(&f->api_lock);
		http_respond(f, p);
		pthread_mutex_unlock(&f->api_lock);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_write(wsi, p);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (p) {
			free(p->body);
			free(p->resp);
			p->body = p->resp = NULL;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(f, wsi, p);
	case LWS_CALLBACK_RECEIVE:
		ws_receive(f, wsi, p, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(f, wsi, p);
	case LWS_CALLBACK_CLOSED:
		ws_closed(f, p);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (p && p->is_ws)
			ws_closed(f, p);
		if (p) {
			free(p->body);
			free(p->resp);
			p->body = p->resp = NULL;
		}
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols fake_protocols[] = {
	{ "fake-slack", fake_cb, sizeof(pss), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *fake_main(void *arg)
{
	fake_srv *srv = arg;
	fake_slack *f = srv->f;

	pthread_setname_np(pthread_self(), srv == &f->api ? "fake-api" : "fake-sock");
	for (;;) {
		bool quit;

		pthread_mutex_lock(&f->lock);
		while (f->frozen && !f->quit)
			pthread_cond_wait(&f->changed, &f->lock);
		quit = f->quit;
		pthread_mutex_unlock(&f->lock);
		if (quit || lws_service(srv->ctx, 0) < 0)
			break;
	}
	return NULL;
}

/* Creates srv's context (on its port, or a kernel-chosen one the first time); no thread yet. */
static int srv_create(fake_slack *f, fake_srv *srv)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.port = srv->port;
	info.iface = "127.0.0.1";
	info.protocols = fake_protocols;
	info.user = f;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.pt_serv_buf_size = 64 * 1024;
	if (f->cert[0]) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = f->cert;
		info.ssl_private_key_filepath = f->key;
	}
	srv->f = f;
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx)
		return -1;
	if (!srv->port)
		srv->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv->ctx, "default"));
	return 0;
}

/* Stops srv's thread (f->quit set and its service cancelled first) and destroys its context. */
static void srv_destroy(fake_srv *srv, bool joined)
{
	if (!srv->ctx)
		return;
	if (joined)
		pthread_join(srv->thread, NULL);
	lws_context_destroy(srv->ctx);
	srv->ctx = NULL;
}

static int server_up(fake_slack *f)
{
	bool sock_thread = false;

	f->quit = false;
	if (srv_create(f, &f->sock) || srv_create(f, &f->api))
		goto fail;
	snprintf(f->api_url, sizeof(f->api_url), "%s://127.0.0.1:%d/api/", f->cert[0] ? "https" : "http",
		 f->api.port);
	lws_sul_schedule(f->sock.ctx, 0, &f->tick, tick_cb, 50 * LWS_US_PER_MS);
	if (pthread_create(&f->sock.thread, NULL, fake_main, &f->sock))
		goto fail;
	sock_thread = true;
	if (pthread_create(&f->api.thread, NULL, fake_main, &f->api))
		goto fail;
	f->running = true;
	return 0;
fail:
	pthread_mutex_lock(&f->lock);
	f->quit = true;
	pthread_mutex_unlock(&f->lock);
	if (f->sock.ctx)
		lws_cancel_service(f->sock.ctx);
	lws_sul_cancel(&f->tick);
	srv_destroy(&f->sock, sock_thread);
	srv_destroy(&f->api, false);
	return -1;
}

int fake_slack_start(const char *app_token, const char *bot_token, fake_slack **out)
{
	return fake_slack_start_tls(app_token, bot_token, NULL, NULL, out);
}

int fake_slack_start_tls(const char *app_token, const char *bot_token, const char *cert_pem,
			 const char *key_pem, fake_slack **out)
{
	fake_slack *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->changed, NULL);
	pthread_cond_init(&f->acked, NULL);
	pthread_mutex_init(&f->api_lock, NULL);
	pthread_cond_init(&f->api_changed, NULL);
	snprintf(f->app_token, sizeof(f->app_token), "%s", app_token);
	snprintf(f->bot_token, sizeof(f->bot_token), "%s", bot_token);
	if (cert_pem && key_pem) {
		snprintf(f->cert, sizeof(f->cert), "%s", cert_pem);
		snprintf(f->key, sizeof(f->key), "%s", key_pem);
	}
	snprintf(f->channels[0], sizeof(f->channels[0]), "C0PROMO");
	snprintf(f->channels[1], sizeof(f->channels[1]), "C0OTHER");
	f->nchannels = 2;
	f->redeliver = true;
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		f->ts_base = (unsigned)now.tv_sec;
	}
	if (server_up(f)) {
		fake_slack_free(f);
		return -1;
	}
	*out = f;
	return 0;
}

void fake_slack_freeze(fake_slack *f, bool frozen)
{
	pthread_mutex_lock(&f->lock);
	f->frozen = frozen;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	if (f->running) {
		lws_cancel_service(f->sock.ctx);
		lws_cancel_service(f->api.ctx);
	}
}

void fake_slack_kill(fake_slack *f)
{
	if (!f->running)
		return;
	pthread_mutex_lock(&f->lock);
	f->quit = true;
	f->frozen = false;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	lws_cancel_service(f->sock.ctx);
	lws_cancel_service(f->api.ctx);
	pthread_join(f->sock.thread, NULL);
	pthread_join(f->api.thread, NULL);
	lws_sul_cancel(&f->tick);
	srv_destroy(&f->sock, false);
	srv_destroy(&f->api, false);
	f->running = false;
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < FAKE_MAX_CONNS; i++) {
		conn_free_frames(&f->conns[i]);
		memset(&f->conns[i], 0, sizeof(f->conns[i]));
	}
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

int fake_slack_restart(fake_slack *f)
{
	if (f->running)
		return 0;
	return server_up(f);
}

void fake_slack_free(fake_slack *f)
{
	if (!f)
		return;
	fake_slack_kill(f);
	for (size_t i = 0; i < f->nenvs; i++)
		free(f->envs[i].json);
	for (size_t i = 0; i < f->nacks; i++)
		free(f->acks[i].payload);
	for (size_t i = 0; i < f->ncalls; i++)
		free(f->calls[i].body);
	free(f->envs);
	free(f->acks);
	free(f->calls);
	for (size_t i = 0; i < f->nmsgs; i++) {
		free(f->msgs[i].text);
		free(f->msgs[i].metadata);
	}
	free(f->msgs);
	pthread_cond_destroy(&f->changed);
	pthread_cond_destroy(&f->acked);
	pthread_cond_destroy(&f->api_changed);
	pthread_mutex_destroy(&f->api_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void fake_slack_reserve(fake_slack *f, size_t envelopes)
{
	pthread_mutex_lock(&f->lock);
	f->envs = reserve(f->envs, &f->capenvs, f->nenvs + envelopes, sizeof(*f->envs));
	f->acks = reserve(f->acks, &f->capacks, f->nacks + envelopes, sizeof(*f->acks));
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_lock(&f->api_lock);
	f->calls = reserve(f->calls, &f->capcalls, f->ncalls + envelopes, sizeof(*f->calls));
	f->msgs = reserve(f->msgs, &f->capmsgs, f->nmsgs + envelopes, sizeof(*f->msgs));
	pthread_mutex_unlock(&f->api_lock);
}

int fake_slack_port(const fake_slack *f)
{
	return f->api.port;
}

const char *fake_slack_api_url(const fake_slack *f)
{
	return f->api_url;
}

void fake_slack_add_channel(fake_slack *f, const char *channel)
{
	pthread_mutex_lock(&f->api_lock);
	if (f->nchannels < FAKE_MAX_CHANNELS)
		snprintf(f->channels[f->nchannels++], sizeof(f->channels[0]), "%s", channel);
	pthread_mutex_unlock(&f->api_lock);
}

int fake_slack_hellos(fake_slack *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->hellos;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Waits on the condition until pred(f, arg) holds or the deadline passes (lock held in pred). */
static bool wait_on(fake_slack *f, pthread_mutex_t *mu, pthread_cond_t *cv,
		    bool (*pred)(fake_slack *, const void *), const void *arg, int timeout_ms)
{
	struct timespec dl;
	bool ok;

	deadline_ts(&dl, timeout_ms);
	pthread_mutex_lock(mu);
	while (!(ok = pred(f, arg)))
		if (pthread_cond_timedwait(cv, mu, &dl) == ETIMEDOUT) {
			ok = pred(f, arg);
			break;
		}
	pthread_mutex_unlock(mu);
	return ok;
}

static bool wait_until(fake_slack *f, bool (*pred)(fake_slack *, const void *), const void *arg,
		       int timeout_ms)
{
	return wait_on(f, &f->lock, &f->changed, pred, arg, timeout_ms);
}

static bool pred_hellos(fake_slack *f, const void *arg)
{
	return f->hellos >= *(const int *)arg;
}

bool fake_slack_wait_hellos(fake_slack *f, int n, int timeout_ms)
{
	return wait_until(f, pred_hellos, &n, timeout_ms);
}

static int live_locked(fake_slack *f)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i].serial && f->conns[i].wsi)
			n++;
	return n;
}

int fake_slack_live_connections(fake_slack *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = live_locked(f);
	pthread_mutex_unlock(&f->lock);
	return n;
}

static bool pred_live(fake_slack *f, const void *arg)
{
	return live_locked(f) == *(const int *)arg;
}

bool fake_slack_wait_live(fake_slack *f, int n, int timeout_ms)
{
	return wait_until(f, pred_live, &n, timeout_ms);
}

/* Sends on the preferred connection; tracks it as an envelope when id is given. */
static int send_locked(fake_slack *f, const char *text, size_t chunk, const char *id)
{
	fconn *c = pick_conn(f);
	envelope *e = NULL;

	if (!c)
		return -1;
	if (id) {
		e = env_find(f, id);
		if (!e) {
			f->envs = grow(f->envs, &f->capenvs, f->nenvs, sizeof(*f->envs));
			e = &f->envs[f->nenvs++];
			memset(e, 0, sizeof(*e));
			snprintf(e->id, sizeof(e->id), "%s", id);
			e->json = strdup(text);
			e->sent_ms = mono_ms();
		}
		e->conn = c->serial;
	}
	conn_send_text(c, text, chunk);
	if (e)
		c->tail->env = (size_t)(e - f->envs) + 1;
	return c->serial;
}

static int send_and_wake(fake_slack *f, const char *text, size_t chunk, const char *id)
{
	int serial;

	pthread_mutex_lock(&f->lock);
	serial = f->running ? send_locked(f, text, chunk, id) : -1;
	pthread_mutex_unlock(&f->lock);
	if (serial > 0)
		lws_cancel_service(f->sock.ctx);
	return serial;
}

int fake_slack_send_raw(fake_slack *f, const char *text, size_t chunk)
{
	return send_and_wake(f, text, chunk, NULL);
}

static int send_envelope(fake_slack *f, cJSON *env, const char *id)
{
	char *json = cJSON_PrintUnformatted(env);
	int rc;

	cJSON_Delete(env);
	if (!json)
		return -1;
	rc = send_and_wake(f, json, 0, id);
	free(json);
	return rc;
}

int fake_slack_send_slash(fake_slack *f, const char *envelope_id, const char *user_id,
			  const char *channel, const char *text)
{
	cJSON *env = cJSON_CreateObject();
	cJSON *p = cJSON_AddObjectToObject(env, "payload");

	cJSON_AddStringToObject(env, "envelope_id", envelope_id);
	cJSON_AddStringToObject(env, "type", "slash_commands");
	cJSON_AddTrueToObject(env, "accepts_response_payload");
	cJSON_AddStringToObject(p, "token", "deprecated-verification-token");
	cJSON_AddStringToObject(p, "team_id", "T0FAKE");
	cJSON_AddStringToObject(p, "team_domain", "fake");
	cJSON_AddStringToObject(p, "channel_id", channel);
	cJSON_AddStringToObject(p, "channel_name", "promotions");
	cJSON_AddStringToObject(p, "user_id", user_id);
	cJSON_AddStringToObject(p, "user_name", user_id);
	cJSON_AddStringToObject(p, "command", "/promote");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddStringToObject(p, "api_app_id", "A0FAKE");
	cJSON_AddStringToObject(p, "response_url", "https://hooks.slack.com/commands/T0FAKE/1/x");
	cJSON_AddStringToObject(p, "trigger_id", "1.2.3");
	return send_envelope(f, env, envelope_id);
}

int fake_slack_send_action(fake_slack *f, const char *envelope_id, const char *user_id,
			   const char *channel, const char *message_ts, const char *action_id,
			   const char *value, const char *action_ts)
{
	cJSON *env = cJSON_CreateObject();
	cJSON *p = cJSON_AddObjectToObject(env, "payload");
	cJSON *user, *ch, *cont, *msg, *acts, *a;

	cJSON_AddStringToObject(env, "envelope_id", envelope_id);
	cJSON_AddStringToObject(env, "type", "interactive");
	cJSON_AddFalseToObject(env, "accepts_response_payload");
	cJSON_AddStringToObject(p, "type", "block_actions");
	user = cJSON_AddObjectToObject(p, "user");
	cJSON_AddStringToObject(user, "id", user_id);
	cJSON_AddStringToObject(user, "username", user_id);
	cJSON_AddStringToObject(user, "team_id", "T0FAKE");
	ch = cJSON_AddObjectToObject(p, "channel");
	cJSON_AddStringToObject(ch, "id", channel);
	cont = cJSON_AddObjectToObject(p, "container");
	cJSON_AddStringToObject(cont, "type", "message");
	cJSON_AddStringToObject(cont, "message_ts", message_ts);
	cJSON_AddStringToObject(cont, "channel_id", channel);
	cJSON_AddFalseToObject(cont, "is_ephemeral");
	msg = cJSON_AddObjectToObject(p, "message");
	cJSON_AddStringToObject(msg, "type", "message");
	cJSON_AddStringToObject(msg, "ts", message_ts);
	cJSON_AddStringToObject(msg, "text", "promotion");
	cJSON_AddArrayToObject(msg, "blocks");
	acts = cJSON_AddArrayToObject(p, "actions");
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "action_id", action_id);
	cJSON_AddStringToObject(a, "block_id", "b1");
	cJSON_AddStringToObject(a, "value", value);
	cJSON_AddStringToObject(a, "type", "button");
	cJSON_AddStringToObject(a, "action_ts", action_ts);
	cJSON_AddItemToArray(acts, a);
	cJSON_AddStringToObject(p, "response_url", "https://hooks.slack.com/actions/T0FAKE/1/x");
	cJSON_AddStringToObject(p, "trigger_id", "1.2.4");
	return send_envelope(f, env, envelope_id);
}

int fake_slack_send_mention(fake_slack *f, const char *envelope_id, const char *event_id,
			    const char *user_id, const char *channel, const char *text, int retry_attempt)
{
	cJSON *env = cJSON_CreateObject();
	cJSON *p = cJSON_AddObjectToObject(env, "payload");
	cJSON *ev = cJSON_AddObjectToObject(p, "event");

	cJSON_AddStringToObject(env, "envelope_id", envelope_id);
	cJSON_AddStringToObject(env, "type", "events_api");
	cJSON_AddFalseToObject(env, "accepts_response_payload");
	cJSON_AddNumberToObject(env, "retry_attempt", retry_attempt);
	cJSON_AddStringToObject(env, "retry_reason", retry_attempt ? "timeout" : "");
	cJSON_AddStringToObject(p, "team_id", "T0FAKE");
	cJSON_AddStringToObject(p, "api_app_id", "A0FAKE");
	cJSON_AddStringToObject(p, "type", "event_callback");
	cJSON_AddStringToObject(p, "event_id", event_id);
	cJSON_AddNumberToObject(p, "event_time", 1700000000);
	cJSON_AddStringToObject(ev, "type", "app_mention");
	cJSON_AddStringToObject(ev, "user", user_id);
	cJSON_AddStringToObject(ev, "text", text);
	cJSON_AddStringToObject(ev, "ts", "1700000000.000001");
	cJSON_AddStringToObject(ev, "channel", channel);
	cJSON_AddStringToObject(ev, "event_ts", "1700000000.000001");
	return send_envelope(f, env, envelope_id);
}

int fake_slack_disconnect(fake_slack *f, const char *reason, int close_after_ms)
{
	char msg[256];
	fconn *c;
	int serial = -1;

	snprintf(msg, sizeof(msg),
		 "{\"type\":\"disconnect\",\"reason\":\"%s\",\"debug_info\":{\"host\":\"fake-slack\"}}",
		 reason);
	pthread_mutex_lock(&f->lock);
	c = f->running ? newest_conn(f, true) : NULL;
	if (c) {
		conn_send_text(c, msg, 0);
		c->retiring = true;
		c->retire_at = mono_ms() + close_after_ms;
		serial = c->serial;
	}
	pthread_mutex_unlock(&f->lock);
	if (c)
		lws_cancel_service(f->sock.ctx);
	return serial;
}

void fake_slack_set_distribution(fake_slack *f, fake_slack_dist dist)
{
	pthread_mutex_lock(&f->lock);
	f->dist = dist;
	pthread_mutex_unlock(&f->lock);
}

void fake_slack_set_target(fake_slack *f, int serial)
{
	pthread_mutex_lock(&f->lock);
	f->target = serial > 0 ? serial : 0;
	pthread_mutex_unlock(&f->lock);
}

size_t fake_slack_acks_on(fake_slack *f, int serial)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nacks; i++)
		if (f->acks[i].conn == serial)
			n++;
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t fake_slack_envelopes_on(fake_slack *f, int serial)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nenvs; i++)
		if (f->envs[i].conn == serial)
			n++;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_slack_set_redeliver(fake_slack *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->redeliver = on;
	pthread_mutex_unlock(&f->lock);
}

typedef struct ack_q {
	const char *id;
	fake_slack_ack *out;
} ack_q;

static bool pred_ack(fake_slack *f, const void *arg)
{
	const ack_q *q = arg;

	const envelope *e = env_find(f, q->id);
	size_t i = 0;

	/* A sent envelope knows its first ack: no scan of every ack so far under the lock the socket thread needs. */
	if (e && !e->first_ack)
		return false;
	if (e)
		i = e->first_ack - 1;
	else
		while (i < f->nacks && strcmp(f->acks[i].envelope_id, q->id))
			i++;
	if (i >= f->nacks)
		return false;
	if (q->out) {
		*q->out = f->acks[i];
		q->out->payload = f->acks[i].payload ? strdup(f->acks[i].payload) : NULL;
	}
	return true;
}

bool fake_slack_wait_ack(fake_slack *f, const char *envelope_id, int timeout_ms, fake_slack_ack *out)
{
	ack_q q = { envelope_id, out };

	if (out)
		memset(out, 0, sizeof(*out));
	return wait_on(f, &f->lock, &f->acked, pred_ack, &q, timeout_ms);
}

size_t fake_slack_ack_count(fake_slack *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->nacks;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static size_t acked_locked(fake_slack *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nenvs; i++)
		if (f->envs[i].acked)
			n++;
	return n;
}

size_t fake_slack_acked_envelopes(fake_slack *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = acked_locked(f);
	pthread_mutex_unlock(&f->lock);
	return n;
}

static bool pred_acked(fake_slack *f, const void *arg)
{
	return acked_locked(f) >= *(const size_t *)arg;
}

bool fake_slack_wait_acked_envelopes(fake_slack *f, size_t n, int timeout_ms)
{
	return wait_on(f, &f->lock, &f->acked, pred_acked, &n, timeout_ms);
}

void fake_slack_lose_replies(fake_slack *f, const char *method, int count)
{
	pthread_mutex_lock(&f->api_lock);
	for (int i = 0; i < f->nlosses; i++) {
		if (!strcmp(f->losses[i].method, method)) {
			f->losses[i].count = count;
			pthread_mutex_unlock(&f->api_lock);
			return;
		}
	}
	if (f->nlosses < FAKE_MAX_LIMITS) {
		rate_limit *l = &f->losses[f->nlosses++];

		snprintf(l->method, sizeof(l->method), "%s", method);
		l->count = count;
	}
	pthread_mutex_unlock(&f->api_lock);
}

void fake_slack_rate_limit(fake_slack *f, const char *method, int count, int retry_after_s)
{
	pthread_mutex_lock(&f->api_lock);
	for (int i = 0; i < f->nlimits; i++) {
		if (!strcmp(f->limits[i].method, method)) {
			f->limits[i].count = count;
			f->limits[i].retry_after_s = retry_after_s;
			pthread_mutex_unlock(&f->api_lock);
			return;
		}
	}
	if (f->nlimits < FAKE_MAX_LIMITS) {
		rate_limit *l = &f->limits[f->nlimits++];

		snprintf(l->method, sizeof(l->method), "%s", method);
		l->count = count;
		l->retry_after_s = retry_after_s;
	}
	pthread_mutex_unlock(&f->api_lock);
}

static size_t count_locked(fake_slack *f, const char *method, bool ok_only)
{
	const struct call_tally *t;

	if (!method)
		return ok_only ? f->nok : f->ncalls;
	t = tally_find(f, method);
	return !t ? 0 : ok_only ? t->ok : t->all;
}

size_t fake_slack_call_count(fake_slack *f, const char *method, bool ok_only)
{
	size_t n;

	pthread_mutex_lock(&f->api_lock);
	n = count_locked(f, method, ok_only);
	pthread_mutex_unlock(&f->api_lock);
	return n;
}

typedef struct calls_q {
	const char *method;
	size_t n;
} calls_q;

static bool pred_calls(fake_slack *f, const void *arg)
{
	const calls_q *q = arg;

	return count_locked(f, q->method, true) >= q->n;
}

bool fake_slack_wait_calls(fake_slack *f, const char *method, size_t n, int timeout_ms)
{
	calls_q q = { method, n };

	return wait_on(f, &f->api_lock, &f->api_changed, pred_calls, &q, timeout_ms);
}

bool fake_slack_call_get(fake_slack *f, const char *method, size_t idx, fake_slack_call *out)
{
	bool found = false;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->api_lock);
	for (size_t i = 0, k = 0; i < f->ncalls; i++) {
		if (method && strcmp(f->calls[i].method, method))
			continue;
		if (k++ == idx) {
			*out = f->calls[i];
			out->body = strdup(f->calls[i].body ? f->calls[i].body : "");
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&f->api_lock);
	return found;
}

void fake_slack_call_deinit(fake_slack_call *c)
{
	free(c->body);
	c->body = NULL;
}

static size_t matching_locked(fake_slack *f, const char *method, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ncalls; i++)
		if ((!method || !strcmp(f->calls[i].method, method)) && f->calls[i].body &&
		    strstr(f->calls[i].body, needle))
			n++;
	return n;
}

size_t fake_slack_calls_matching(fake_slack *f, const char *method, const char *needle)
{
	size_t n;

	pthread_mutex_lock(&f->api_lock);
	n = matching_locked(f, method, needle);
	pthread_mutex_unlock(&f->api_lock);
	return n;
}

typedef struct matching_q {
	const char *method, *needle;
	size_t n;
} matching_q;

static bool pred_matching(fake_slack *f, const void *arg)
{
	const matching_q *q = arg;

	return matching_locked(f, q->method, q->needle) >= q->n;
}

bool fake_slack_wait_matching(fake_slack *f, const char *method, const char *needle, size_t n, int timeout_ms)
{
	matching_q q = { method, needle, n };

	return wait_on(f, &f->api_lock, &f->api_changed, pred_matching, &q, timeout_ms);
}
