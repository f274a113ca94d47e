/* slack_socket.c — Socket Mode as one client vhost on the shared loop: every envelope acked before any work. */
#include "slack_socket.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_clock.h"
#include "pb_log.h"
#include "pb_str.h"
#include "slack_web.h"

#define RX_CAP (4u << 20)      /* a reassembled message larger than this is dropped */
#define MAX_CONNS 4            /* current + retiring + spare */
#define STOP_GRACE_MS 2000
#define ACK_PENDING_MAX 64     /* ack latencies kept while the metrics lock is a worker's */

typedef struct tx_msg {
	struct tx_msg *next;
	char *job;                 /* an ack's envelope (the frame), submitted once the ack is written; else NULL */
	size_t job_len;
	int64_t timed_from_ms;     /* a command's ack: when its frame was in (ack latency metric); else 0 */
	size_t len;
	unsigned char data[];      /* LWS_PRE bytes of headroom, then the payload */
} tx_msg;

typedef enum { CONN_FREE = 0, CONN_CONNECTING, CONN_WAIT_HELLO, CONN_OPEN, CONN_RETIRING } conn_state;

typedef struct slack_conn {
	pb_slack_loop *loop;
	struct lws *wsi;
	conn_state state;
	unsigned serial;
	pb_buf rx;
	bool rx_discard;
	tx_msg *tx_head, *tx_tail;
	bool close_requested;
} slack_conn;

struct pb_slack_loop {
	pb_slack_loop_cfg cfg;
	pb_loop *ev;
	struct lws_vhost *vh;          /* ours on the shared loop; its user is this struct */
	lws_retry_bo_t retry;
	uint32_t retry_table[1];
	slack_conn conns[MAX_CONNS];
	size_t held;                   /* envelopes acked, waiting in a tx_msg for their ack's write */
	/* Ack latencies not in the metric yet: the registry's lock was a worker's (ack_latency_note). */
	double ack_pending[ACK_PENDING_MAX];
	size_t ack_npending;
	unsigned next_serial;
	unsigned attempt;
	pb_timer retry_timer;
	pb_timer stop_timer;           /* bounds the close handshakes at stop */
	pb_loop_closer closer;
	bool open_in_flight, stopping;

	/* Shared with the opener thread, under `lock`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open_requested, opener_quit;
	bool result_ready;
	int result_rc;
	char *result_url;
	char result_code[64];
	char result_msg[PB_ERR_MSG_MAX];
	pthread_t opener;
	bool opener_started;
};

static void ensure_connection(pb_slack_loop *l);
static void request_open(pb_slack_loop *l);

/* ---- opener thread: apps.connections.open is a blocking HTTP call, kept off the loop ---- */

static void *opener_main(void *arg)
{
	pb_slack_loop *l = arg;
	pb_slack_web web;
	int init_rc = pb_slack_web_init(&web, l->cfg.api_url, l->cfg.app_token, l->cfg.ca_file, NULL);

	/* The loop has its own backoff with jitter; fail fast here so stopping stays quick. */
	web.transport_retries = 0;
	web.timeout_ms = 10000;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		char *url = NULL;
		char code[64] = "";
		pb_err e;
		int rc;

		while (!l->open_requested && !l->opener_quit)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->opener_quit)
			break;
		l->open_requested = false;
		pthread_mutex_unlock(&l->lock);
		pb_err_init(&e);
		rc = init_rc ? pb_err_set(&e, init_rc, "cannot create an HTTP client")
			     : pb_slack_connections_open(&web, &url, code, sizeof(code), &e);
		pthread_mutex_lock(&l->lock);
		free(l->result_url);
		l->result_url = url;
		l->result_rc = rc;
		pb_strlcpy(l->result_code, code, sizeof(l->result_code));
		pb_strlcpy(l->result_msg, rc ? pb_err_text(&e) : "", sizeof(l->result_msg));
		l->result_ready = true;
		pthread_mutex_unlock(&l->lock);
		/* Our protocol sees the wake as EVENT_WAIT_CANCELLED (lws broadcasts it). */
		lws_cancel_service(pb_loop_context(l->ev));
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	if (!init_rc)
		pb_slack_web_deinit(&web);
	return NULL;
}

/* ---- connections ---- */

static bool conn_alive(const slack_conn *c)
{
	return c->state == CONN_CONNECTING || c->state == CONN_WAIT_HELLO || c->state == CONN_OPEN;
}

static bool any_conn(const pb_slack_loop *l)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (l->conns[i].state != CONN_FREE)
			return true;
	return false;
}

/* An ack's envelope that will not be submitted (its ack was never written, or failed). */
static void drop_job(slack_conn *c, tx_msg *t)
{
	if (!t->job)
		return;
	free(t->job);
	t->job = NULL;
	c->loop->held--;
}

static void conn_release(slack_conn *c)
{
	while (c->tx_head) {
		tx_msg *t = c->tx_head;

		c->tx_head = t->next;
		drop_job(c, t);
		free(t);
	}
	c->tx_tail = NULL;
	pb_buf_deinit(&c->rx);
	c->wsi = NULL;
	c->state = CONN_FREE;
	c->rx_discard = false;
	c->close_requested = false;
}

static void conn_gone(pb_slack_loop *l, slack_conn *c, const char *why)
{
	if (c->state == CONN_FREE)
		return;
	pb_info("slack", "connection %u closed%s%s", c->serial, why ? ": " : "", why ? why : "");
	conn_release(c);
	if (l->stopping) {
		if (!any_conn(l))
			pb_loop_closer_done(&l->closer);
		return;
	}
	ensure_connection(l);
}

/* Queues one text frame for WRITEABLE; the only place frames are written. */
static int conn_send(slack_conn *c, const char *text, char *job, size_t job_len)
{
	size_t len = strlen(text);
	tx_msg *t = malloc(sizeof(*t) + LWS_PRE + len);

	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->job = job;
	t->job_len = job_len;
	t->timed_from_ms = 0;
	t->len = len;
	memcpy(t->data + LWS_PRE, text, len);
	if (c->tx_tail)
		c->tx_tail->next = t;
	else
		c->tx_head = t;
	c->tx_tail = t;
	lws_callback_on_writable(c->wsi);
	return 0;
}

static void conn_close(slack_conn *c)
{
	if (c->state == CONN_FREE || !c->wsi)
		return;
	c->close_requested = true;
	lws_callback_on_writable(c->wsi);
}

/* Queues an ack; false (logged) when out of memory. */
static bool send_ack(slack_conn *c, const char *envelope_id, const char *payload_text)
{
	char *ack = pb_slack_ack_json(envelope_id, payload_text);
	bool ok = ack && !conn_send(c, ack, NULL, 0);

	if (!ok)
		pb_error("slack", "out of memory acking envelope %s", envelope_id);
	free(ack);
	return ok;
}

/*
 * Queues `ack` and holds on to the envelope's frame until the ack is written
 * (conn_writeable submits it then: a worker parses it). Takes `frame` on
 * success; false (frame untouched, logged) when out of memory: the envelope
 * then stays unacked and Slack delivers it again.
 */
static bool send_ack_then_submit(slack_conn *c, const char *ack, char *frame, size_t len)
{
	if (!ack || conn_send(c, ack, frame, len)) {
		pb_error("slack", "connection %u: out of memory acking an envelope", c->serial);
		return false;
	}
	c->loop->held++;
	return true;
}

static void fatal(pb_slack_loop *l, const char *msg);

static void on_hello(pb_slack_loop *l, slack_conn *c)
{
	pb_info("slack", "connection %u ready (hello)", c->serial);
	if (c->serial > 1 && l->cfg.metrics)
		pb_metric_inc(l->cfg.metrics->slack_reconnects, NULL);
	c->state = CONN_OPEN;
	l->attempt = 0;
	/* The new link is up: only now let the old ones go (no window without a socket). */
	for (int i = 0; i < MAX_CONNS; i++) {
		slack_conn *o = &l->conns[i];

		if (o != c && (o->state == CONN_RETIRING || o->state == CONN_OPEN)) {
			o->state = CONN_RETIRING;
			conn_close(o);
		}
	}
}

static void on_disconnect(pb_slack_loop *l, slack_conn *c, const char *reason)
{
	if (!strcmp(reason, "link_disabled")) {
		fatal(l, "Slack disabled Socket Mode for this app (link_disabled); stopping: "
		      "enable Socket Mode in the app settings");
		return;
	}
	pb_info("slack", "connection %u: disconnect (%s), opening a new one first", c->serial,
		reason[0] ? reason : "no reason");
	c->state = CONN_RETIRING;
	request_open(l);
}

/* Envelope types that become a job (a command, a mention, a click); others are acked here. */
static bool is_job_type(const char *type)
{
	return !strcmp(type, "slash_commands") || !strcmp(type, "events_api") || !strcmp(type, "interactive");
}

/*
 * The usual case, on nothing but the head scan: ack it and hand the frame on
 * (no tree, no copy; the worker parses it after the ack is written). False:
 * take the full path (hello, disconnect, busy, anything the scan refused).
 */
static bool ack_fast(pb_slack_loop *l, slack_conn *c, int64_t t0)
{
	pb_slack_head h;
	char ack[sizeof("{\"envelope_id\":\"\"}") + PB_SLACK_ID_MAX];
	size_t len = c->rx.len;

	if (l->stopping || !pb_slack_head_scan(pb_buf_str(&c->rx), len, &h) || !is_job_type(h.type) ||
	    !l->cfg.has_room(l->cfg.ud, l->held))
		return false;
	/* the scan let through only a plain id: quoted as received, it is valid JSON */
	snprintf(ack, sizeof(ack), "{\"envelope_id\":\"%s\"}", h.envelope_id);
	if (!send_ack_then_submit(c, ack, c->rx.data, len))
		return true; /* out of memory: left unacked, Slack sends it again */
	pb_buf_init(&c->rx); /* the frame went with the job */
	c->tx_tail->timed_from_ms = t0;
	return true;
}

static void handle_frame(pb_slack_loop *l, slack_conn *c)
{
	int64_t t0 = pb_clock_mono_ms(NULL);
	const char *data = pb_buf_str(&c->rx);
	size_t len = c->rx.len;
	pb_slack_msg m;
	pb_err e;
	bool busy, queued;

	if (ack_fast(l, c, t0))
		return;
	pb_err_init(&e);
	if (pb_slack_msg_parse(data, len, &m, &e)) {
		pb_warn("slack", "connection %u: ignoring malformed frame: %s", c->serial, pb_err_text(&e));
		/* Ack what can be acked so Slack does not redeliver garbage forever. */
		if (m.envelope_id[0] && !l->stopping)
			send_ack(c, m.envelope_id, NULL);
		goto out;
	}
	switch (m.kind) {
	case PB_SLACK_MSG_HELLO:
		on_hello(l, c);
		break;
	case PB_SLACK_MSG_DISCONNECT:
		on_disconnect(l, c, m.reason);
		break;
	case PB_SLACK_MSG_COMMAND:
	case PB_SLACK_MSG_ACTION:
		/* Stopping: leave it unacked so Slack hands it to a live connection. */
		if (l->stopping)
			break;
		busy = !l->cfg.has_room(l->cfg.ud, l->held);
		if (busy) {
			queued = send_ack(c, m.envelope_id, m.accepts_response_payload ? PB_SLACK_BUSY_TEXT : NULL);
		} else {
			char *ack = pb_slack_ack_json(m.envelope_id, NULL);
			char *frame = malloc(len + 1);

			if (frame)
				memcpy(frame, data, len + 1);
			queued = frame && send_ack_then_submit(c, ack, frame, len);
			if (!queued)
				free(frame);
			free(ack);
		}
		if (!queued && !busy)
			break;
		if (queued) /* timed until written (conn_writeable), off the path to the socket */
			c->tx_tail->timed_from_ms = t0;
		if (busy) {
			pb_warn("slack", "job queue full: envelope %s answered busy", m.envelope_id);
			if (!m.accepts_response_payload && l->cfg.busy)
				l->cfg.busy(l->cfg.ud, &m);
		}
		break;
	default:
		if (m.envelope_id[0] && !l->stopping)
			send_ack(c, m.envelope_id, NULL);
		pb_debug("slack", "acked unhandled %s envelope", m.type);
		break;
	}
out:
	pb_slack_msg_deinit(&m);
}

static void conn_rx(pb_slack_loop *l, slack_conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_frame_is_binary(wsi) && !c->rx_discard && !c->rx.len) {
		pb_warn("slack", "connection %u: ignoring a binary message", c->serial);
		c->rx_discard = true;
	}
	if (!c->rx_discard) {
		if (c->rx.len + len > RX_CAP) {
			pb_warn("slack", "connection %u: message over %u bytes dropped", c->serial, RX_CAP);
			c->rx_discard = true;
			pb_buf_deinit(&c->rx);
		} else if (pb_buf_append(&c->rx, in, len) || c->rx.oom) {
			pb_error("slack", "connection %u: out of memory reading a message", c->serial);
			c->rx_discard = true;
			pb_buf_deinit(&c->rx);
		}
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (!c->rx_discard)
		handle_frame(l, c);
	c->rx_discard = false;
	/* Give big buffers back; small ones are cheap to regrow. */
	pb_buf_deinit(&c->rx);
}

/*
 * The metrics registry has one lock, which the workers take for each of their
 * updates: the loop only records when it is free, keeping up to
 * ACK_PENDING_MAX latencies until then (they show at a later ack, none is
 * lost; a full buffer, or the loop's end, waits for the lock once).
 */
static void ack_latency_flush(pb_slack_loop *l, bool wait)
{
	pb_metric *f = l->cfg.metrics ? l->cfg.metrics->ack_latency : NULL;
	int rc;

	if (!l->ack_npending)
		return;
	rc = pb_metric_observe_many_try(f, NULL, l->ack_pending, l->ack_npending);
	if (rc == PB_E_BUSY && !wait)
		return;
	if (rc == PB_E_BUSY)
		for (size_t i = 0; i < l->ack_npending; i++)
			pb_metric_observe(f, NULL, l->ack_pending[i]);
	l->ack_npending = 0;
}

static void ack_latency_note(pb_slack_loop *l, double seconds)
{
	if (!l->cfg.metrics)
		return;
	l->ack_pending[l->ack_npending++] = seconds;
	ack_latency_flush(l, l->ack_npending == ACK_PENDING_MAX);
}

static int conn_writeable(slack_conn *c, struct lws *wsi)
{
	tx_msg *t = c->tx_head;

	if (t) {
		int n;

		c->tx_head = t->next;
		if (!c->tx_head)
			c->tx_tail = NULL;
		n = lws_write(wsi, t->data + LWS_PRE, t->len, LWS_WRITE_TEXT);
		if (n >= 0 && t->job) {
			/* The ack is on its way: only now may a worker start (and take a CPU). */
			c->loop->held--;
			c->loop->cfg.submit(c->loop->cfg.ud, t->job, t->job_len);
			t->job = NULL;
		}
		if (n >= 0 && t->timed_from_ms) /* a whole frame in → its ack written */
			ack_latency_note(c->loop, (double)(pb_clock_mono_ms(NULL) - t->timed_from_ms) / 1000.0);
		drop_job(c, t);
		free(t);
		if (n < 0)
			return -1;
		if (c->tx_head || c->close_requested)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->close_requested) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static slack_conn *conn_of(pb_slack_loop *l, void *user)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (user == &l->conns[i])
			return &l->conns[i];
	return NULL;
}

/* ---- loop control ---- */

static void stop_deadline_cb(pb_timer *t)
{
	pb_slack_loop *l = lws_container_of(t, pb_slack_loop, stop_timer);

	pb_loop_closer_done(&l->closer);
}

/* The loop is stopping: close every connection gracefully, bounded by STOP_GRACE_MS. */
static void begin_stop(pb_loop_closer *closer)
{
	pb_slack_loop *l = lws_container_of(closer, pb_slack_loop, closer);

	if (l->stopping)
		return;
	pb_info("slack", "stopping");
	l->stopping = true;
	pb_timer_cancel(&l->retry_timer);
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&l->conns[i]);
	if (!any_conn(l)) {
		pb_loop_closer_done(&l->closer);
		return;
	}
	pb_timer_arm(&l->stop_timer, STOP_GRACE_MS);
}

/*
 * A permanent error: the whole bot stops with it (pb_loop_run returns
 * PB_E_FAILED and this text; its caller logs it: one clear line, not two).
 * Stop acking at once; the loop's stop then closes the connections.
 */
static void fatal(pb_slack_loop *l, const char *msg)
{
	pb_loop_fail(l->ev, PB_E_FAILED, "%s", msg);
	begin_stop(&l->closer);
}

static void request_open(pb_slack_loop *l)
{
	if (l->open_in_flight || l->stopping)
		return;
	l->open_in_flight = true;
	pthread_mutex_lock(&l->lock);
	l->open_requested = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void retry_cb(pb_timer *t)
{
	pb_slack_loop *l = lws_container_of(t, pb_slack_loop, retry_timer);

	request_open(l);
}

static void schedule_retry(pb_slack_loop *l)
{
	unsigned ms, rnd = 0;

	if (pb_timer_armed(&l->retry_timer) || l->stopping)
		return;

	/* Real randomness: bots restarted together must not retry in lockstep. */
	if (lws_get_random(pb_loop_context(l->ev), &rnd, sizeof(rnd)) != sizeof(rnd))
		rnd = (unsigned)pb_clock_mono_ms(NULL);
	ms = pb_slack_backoff_ms(l->attempt, rnd);
	if (l->attempt < 16)
		l->attempt++;
	pb_info("slack", "reconnecting in %u ms", ms);
	pb_timer_arm(&l->retry_timer, ms);
}

/* Keeps exactly one live connection wanted: called after every loss. */
static void ensure_connection(pb_slack_loop *l)
{
	if (l->stopping || l->open_in_flight || pb_timer_armed(&l->retry_timer))
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conn_alive(&l->conns[i]))
			return;
	schedule_retry(l);
}

static void connect_url(pb_slack_loop *l, const char *url)
{
	struct lws_client_connect_info ci;
	char *copy = strdup(url);
	const char *prot, *ads, *path;
	char fullpath[2048];
	slack_conn *c = NULL;
	int port;

	if (!copy || lws_parse_uri(copy, &prot, &ads, &port, &path)) {
		pb_warn("slack", "apps.connections.open returned an unusable URL");
		goto retry;
	}
	for (int i = 0; i < MAX_CONNS && !c; i++)
		if (l->conns[i].state == CONN_FREE)
			c = &l->conns[i];
	if (!c) {
		pb_warn("slack", "too many connections open; retrying later");
		goto retry;
	}
	snprintf(fullpath, sizeof(fullpath), "/%s", path);
	memset(&ci, 0, sizeof(ci));
	ci.context = pb_loop_context(l->ev);
	ci.vhost = l->vh;
	ci.address = ads;
	ci.port = port;
	ci.path = fullpath;
	ci.host = ads;
	ci.origin = ads;
	ci.local_protocol_name = "slack-socket";
	ci.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
	ci.userdata = c;
	ci.pwsi = &c->wsi;
	ci.retry_and_idle_policy = &l->retry;
	c->loop = l;
	c->serial = ++l->next_serial;
	c->state = CONN_CONNECTING;
	pb_buf_init(&c->rx);
	pb_info("slack", "connection %u: connecting to %s://%s:%d", c->serial, prot, ads, port);
	if (!lws_client_connect_via_info(&ci)) {
		/* A synchronous failure may already have run CONNECTION_ERROR. */
		if (c->state != CONN_FREE)
			conn_release(c);
		free(copy);
		copy = NULL;
		goto retry;
	}
	free(copy);
	return;
retry:
	free(copy);
	schedule_retry(l);
}

static void on_open_result(pb_slack_loop *l, int rc, char *url, const char *code, const char *msg)
{
	l->open_in_flight = false;
	if (l->stopping)
		return;
	if (!rc) {
		connect_url(l, url);
		return;
	}
	if (pb_slack_error_is_permanent(code)) {
		char text[PB_ERR_MSG_MAX];

		snprintf(text, sizeof(text), "Slack refused the app-level token (%s); stopping: check "
			 "chat.slack.app_token_env names an xapp- token with connections:write", code);
		fatal(l, text);
		return;
	}
	pb_warn("slack", "%s", msg);
	schedule_retry(l);
}

static void on_wakeup(pb_slack_loop *l)
{
	bool ready;
	int rc = 0;
	char *url = NULL;
	char code[64] = "", msg[PB_ERR_MSG_MAX] = "";

	pthread_mutex_lock(&l->lock);
	ready = l->result_ready;
	if (ready) {
		l->result_ready = false;
		rc = l->result_rc;
		url = l->result_url;
		l->result_url = NULL;
		pb_strlcpy(code, l->result_code, sizeof(code));
		pb_strlcpy(msg, l->result_msg, sizeof(msg));
	}
	pthread_mutex_unlock(&l->lock);
	if (ready)
		on_open_result(l, rc, url, code, msg);
	free(url);
}

static int slack_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	pb_slack_loop *l = vh ? lws_vhost_user(vh) : NULL;
	slack_conn *c;

	if (!l)
		return 0;
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		on_wakeup(l);
		return 0;
	}
	c = conn_of(l, user);
	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		pb_warn("slack", "connection %u failed: %s", c->serial, in ? (const char *)in : "unknown error");
		conn_gone(l, c, NULL);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c->state == CONN_CONNECTING)
			c->state = CONN_WAIT_HELLO;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		conn_rx(l, c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return conn_writeable(c, wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		conn_gone(l, c, NULL);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Covers paths that never reported CLOSED/ERROR. */
		if (c->wsi == wsi)
			conn_gone(l, c, NULL);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols slack_protocols[] = {
	{ "slack-socket", slack_cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int pb_slack_loop_new(const pb_slack_loop_cfg *cfg, pb_slack_loop **out, pb_err *err)
{
	struct lws_context_creation_info info;
	pb_slack_loop *l;
	int rc;

	*out = NULL;
	if (!cfg->loop || !cfg->api_url || !cfg->app_token || !cfg->has_room || !cfg->submit)
		return pb_err_set(err, -EINVAL, "slack loop: missing configuration");
	l = calloc(1, sizeof(*l));
	if (!l)
		return pb_err_set(err, -ENOMEM, "out of memory");
	l->cfg = *cfg;
	l->ev = cfg->loop;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	pb_timer_init(&l->retry_timer, l->ev, retry_cb);
	pb_timer_init(&l->stop_timer, l->ev, stop_deadline_cb);
	l->retry_table[0] = 1000;
	l->retry.retry_ms_table = l->retry_table;
	l->retry.retry_ms_table_count = 1;
	l->retry.secs_since_valid_ping = (uint16_t)(cfg->ping_s ? cfg->ping_s : 5);
	l->retry.secs_since_valid_hangup = (uint16_t)(cfg->idle_s ? cfg->idle_s : 30);
	memset(&info, 0, sizeof(info));
	info.vhost_name = "slack";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = slack_protocols;
	info.client_ssl_ca_filepath = cfg->ca_file;
	info.user = l;
	info.retry_and_idle_policy = &l->retry;
	l->vh = pb_loop_vhost_new(l->ev, &info, err);
	if (!l->vh) {
		pb_slack_loop_free(l);
		return pb_err_set(err, PB_E_FAILED, "cannot create the WebSocket client");
	}
	rc = pthread_create(&l->opener, NULL, opener_main, l);
	if (rc) {
		pb_slack_loop_free(l);
		return pb_err_set(err, -rc, "cannot start the connection thread");
	}
	l->opener_started = true;
	pb_loop_closer_add(l->ev, &l->closer, begin_stop);
	request_open(l);
	*out = l;
	return 0;
}

/* Closes what is still open right now (the stop grace ran out, or the loop never stopped). */
static void kill_conns(pb_slack_loop *l)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (l->conns[i].wsi)
			lws_set_timeout(l->conns[i].wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

void pb_slack_loop_free(pb_slack_loop *l)
{
	if (!l)
		return;
	if (l->opener_started) {
		pthread_mutex_lock(&l->lock);
		l->opener_quit = true;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->opener, NULL);
	}
	l->stopping = true;
	ack_latency_flush(l, true);
	pb_loop_closer_remove(&l->closer);
	pb_timer_cancel(&l->retry_timer);
	pb_timer_cancel(&l->stop_timer);
	/* No wsi may outlive us: lws would call back into freed memory. */
	if (l->vh) {
		kill_conns(l);
		lws_vhost_destroy(l->vh);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		conn_release(&l->conns[i]);
	free(l->result_url);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
