/* floor_client.c — the latency floor: a bare lws Socket Mode client that acks every envelope and does nothing else. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>

/*
 * usage: FLOOR_SLACK_APP=xapp-… floor_client API_URL      (API_URL like "http://127.0.0.1:PORT/api/")
 *
 * Slack's Socket Mode as promobot speaks it (bot/slack_web.c, bot/slack_socket.c): POST
 * apps.connections.open with the app-level token, connect to the returned ws(s):// URL,
 * wait for {"type":"hello"}, answer every envelope with {"envelope_id":"…"} on the connection
 * it came on. {"type":"disconnect"} opens a new connection first; the old one keeps acking
 * until the new one says hello. A lost connection reconnects; OPEN_TRIES failed opens in a
 * row (the server is gone) end the process with status 1. SIGTERM/SIGINT end it with 0.
 */

#define MAX_CONNS 2
#define RX_CAP (1u << 20)
#define OPEN_TRIES 5
#define RETRY_US (200 * LWS_US_PER_MS)

typedef struct ack_msg {
	struct ack_msg *next;
	size_t len;
	unsigned char data[];      /* LWS_PRE bytes of headroom, then the ack */
} ack_msg;

typedef enum { CONN_FREE, CONN_CONNECTING, CONN_OPEN, CONN_RETIRING } conn_state;

typedef struct floor_conn {
	conn_state state;
	bool hello;                /* envelopes are only acked after the hello */
	bool close_requested;
	struct lws *wsi;
	char *rx;
	size_t rx_len;
	bool rx_discard;
	ack_msg *tx_head, *tx_tail;
} floor_conn;

typedef struct floor_client {
	const char *api_url;
	const char *token;
	struct lws_context *ctx;
	lws_sorted_usec_list_t open_sul;
	bool open_pending;
	int failed_opens;
	int exit_code;
	floor_conn conns[MAX_CONNS];
	unsigned long acks;
} floor_client;

static volatile sig_atomic_t g_stop;

static void open_cb(lws_sorted_usec_list_t *sul);

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void schedule_open(floor_client *f, lws_usec_t delay_us)
{
	if (f->open_pending)
		return;
	f->open_pending = true;
	lws_sul_schedule(f->ctx, 0, &f->open_sul, open_cb, delay_us);
}

static void conn_release(floor_conn *c)
{
	while (c->tx_head) {
		ack_msg *t = c->tx_head;

		c->tx_head = t->next;
		free(t);
	}
	free(c->rx);
	memset(c, 0, sizeof(*c));
}

static bool any_alive(const floor_client *f)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (f->conns[i].state == CONN_CONNECTING || f->conns[i].state == CONN_OPEN)
			return true;
	return false;
}

static void conn_gone(floor_client *f, floor_conn *c)
{
	if (c->state == CONN_FREE)
		return;
	conn_release(c);
	if (!g_stop && !any_alive(f))
		schedule_open(f, RETRY_US);
}

static size_t body_sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
	char *buf = ud;
	size_t have = strlen(buf), n = size * nmemb;

	if (have + n >= 4096)
		return 0;
	memcpy(buf + have, ptr, n);
	buf[have + n] = '\0';
	return n;
}

/* apps.connections.open → a malloc'd ws(s):// URL, or NULL. Blocks the loop for one loopback
 * round trip: acceptable here, since the floor has nothing else to do meanwhile (a retiring
 * connection's acks wait, they are not lost). */
static char *connections_open(const floor_client *f)
{
	char url[1024], auth[512], body[4096] = "";
	struct curl_slist *hdrs = NULL;
	char *ws = NULL;
	CURL *curl = curl_easy_init();
	cJSON *root = NULL;
	const cJSON *u, *ok;
	long status = 0;

	if (!curl)
		return NULL;
	snprintf(url, sizeof(url), "%sapps.connections.open", f->api_url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
	hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_sink);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	root = status == 200 ? cJSON_Parse(body) : NULL;
	ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
	u = cJSON_GetObjectItemCaseSensitive(root, "url");
	if (cJSON_IsTrue(ok) && cJSON_IsString(u) &&
	    (!strncmp(u->valuestring, "ws://", 5) || !strncmp(u->valuestring, "wss://", 6)))
		ws = strdup(u->valuestring);
	else
		fprintf(stderr, "floor: apps.connections.open failed (HTTP %ld): %.200s\n", status, body);
	cJSON_Delete(root);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	memset(auth, 0, sizeof(auth));
	return ws;
}

static bool connect_url(floor_client *f, const char *url)
{
	struct lws_client_connect_info ci;
	char *copy = strdup(url), path[2048];
	const char *prot, *ads, *p;
	floor_conn *c = NULL;
	int port;
	bool ok = false;

	if (!copy || lws_parse_uri(copy, &prot, &ads, &port, &p))
		goto out;
	for (int i = 0; i < MAX_CONNS && !c; i++)
		if (f->conns[i].state == CONN_FREE)
			c = &f->conns[i];
	if (!c)
		goto out;
	snprintf(path, sizeof(path), "/%s", p);
	memset(&ci, 0, sizeof(ci));
	ci.context = f->ctx;
	ci.address = ads;
	ci.port = port;
	ci.path = path;
	ci.host = ads;
	ci.origin = ads;
	ci.local_protocol_name = "floor-socket";
	ci.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
	ci.userdata = c;
	ci.pwsi = &c->wsi;
	c->state = CONN_CONNECTING;
	if (!lws_client_connect_via_info(&ci)) {
		/* A synchronous failure may already have run CONNECTION_ERROR. */
		if (c->state != CONN_FREE)
			conn_release(c);
		goto out;
	}
	ok = true;
out:
	free(copy);
	return ok;
}

static void open_cb(lws_sorted_usec_list_t *sul)
{
	floor_client *f = lws_container_of(sul, floor_client, open_sul);
	char *url;

	f->open_pending = false;
	if (g_stop)
		return;
	url = connections_open(f);
	if (url && connect_url(f, url)) {
		free(url);
		return;
	}
	free(url);
	if (++f->failed_opens >= OPEN_TRIES) {
		fprintf(stderr, "floor: %d failed opens in a row, giving up\n", f->failed_opens);
		f->exit_code = 1;
		g_stop = 1;
		return;
	}
	schedule_open(f, RETRY_US);
}

static void conn_close(floor_conn *c)
{
	if (c->state == CONN_FREE || !c->wsi)
		return;
	c->close_requested = true;
	lws_callback_on_writable(c->wsi);
}

static void queue_ack(floor_conn *c, const char *envelope_id)
{
	cJSON *o = cJSON_CreateObject();
	char *json;
	ack_msg *t = NULL;
	size_t len;

	/* cJSON escapes whatever the id holds; the ack carries nothing but the id. */
	if (!o || !cJSON_AddStringToObject(o, "envelope_id", envelope_id) || !(json = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		fprintf(stderr, "floor: out of memory acking %s\n", envelope_id);
		return;
	}
	cJSON_Delete(o);
	len = strlen(json);
	t = malloc(sizeof(*t) + LWS_PRE + len);
	if (t) {
		t->next = NULL;
		t->len = len;
		memcpy(t->data + LWS_PRE, json, len);
		if (c->tx_tail)
			c->tx_tail->next = t;
		else
			c->tx_head = t;
		c->tx_tail = t;
		lws_callback_on_writable(c->wsi);
	}
	free(json);
}

static void on_hello(floor_client *f, floor_conn *c)
{
	c->hello = true;
	c->state = CONN_OPEN;
	f->failed_opens = 0;
	/* The new link is up: only now let the older ones go (no window without a socket). */
	for (int i = 0; i < MAX_CONNS; i++)
		if (&f->conns[i] != c && f->conns[i].state != CONN_FREE && f->conns[i].state != CONN_CONNECTING) {
			f->conns[i].state = CONN_RETIRING;
			conn_close(&f->conns[i]);
		}
}

static void handle_frame(floor_client *f, floor_conn *c, const char *data, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(data, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "envelope_id");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");

	if (cJSON_IsString(type) && !strcmp(type->valuestring, "hello")) {
		on_hello(f, c);
	} else if (cJSON_IsString(type) && !strcmp(type->valuestring, "disconnect")) {
		if (cJSON_IsString(reason) && !strcmp(reason->valuestring, "link_disabled")) {
			fprintf(stderr, "floor: link_disabled, stopping\n");
			f->exit_code = 1;
			g_stop = 1;
		} else {
			c->state = CONN_RETIRING;
			schedule_open(f, 0);
		}
	} else if (cJSON_IsString(id) && c->hello && !g_stop) {
		queue_ack(c, id->valuestring);
		f->acks++;
	}
	cJSON_Delete(root);
}

static void conn_rx(floor_client *f, floor_conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (!c->rx_discard) {
		char *grown = c->rx_len + len <= RX_CAP ? realloc(c->rx, c->rx_len + len + 1) : NULL;

		if (grown) {
			c->rx = grown;
			memcpy(c->rx + c->rx_len, in, len);
			c->rx_len += len;
			c->rx[c->rx_len] = '\0';
		} else {
			c->rx_discard = true;
		}
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (!c->rx_discard && c->rx)
		handle_frame(f, c, c->rx, c->rx_len);
	c->rx_discard = false;
	c->rx_len = 0;
}

static int conn_writeable(floor_conn *c, struct lws *wsi)
{
	ack_msg *t = c->tx_head;

	if (t) {
		int n;

		c->tx_head = t->next;
		if (!c->tx_head)
			c->tx_tail = NULL;
		n = lws_write(wsi, t->data + LWS_PRE, t->len, LWS_WRITE_TEXT);
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

static floor_conn *conn_of(floor_client *f, void *user)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (user == &f->conns[i] && f->conns[i].state != CONN_FREE)
			return &f->conns[i];
	return NULL;
}

static int floor_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	floor_client *f = ctx ? lws_context_user(ctx) : NULL;
	floor_conn *c = f ? conn_of(f, user) : NULL;

	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "floor: connect failed: %s\n", in ? (const char *)in : "unknown error");
		conn_gone(f, c);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		conn_rx(f, c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return conn_writeable(c, wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		conn_gone(f, c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c->wsi == wsi)
			conn_gone(f, c);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols floor_protocols[] = {
	{ "floor-socket", floor_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	floor_client f;
	struct sigaction sa;

	memset(&f, 0, sizeof(f));
	f.api_url = argc > 1 ? argv[1] : NULL;
	f.token = getenv("FLOOR_SLACK_APP");
	if (!f.api_url || !f.token) {
		fprintf(stderr, "usage: FLOOR_SLACK_APP=xapp-… floor_client API_URL\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = floor_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = &f;
	f.ctx = lws_create_context(&info);
	if (!f.ctx) {
		curl_global_cleanup();
		return 1;
	}
	schedule_open(&f, 0);
	/* poll() is never restarted after a signal handler, so SIGTERM ends the wait at once. */
	while (!g_stop)
		if (lws_service(f.ctx, 0) < 0)
			break;
	g_stop = 1; /* no reconnects while the context closes its sockets */
	lws_sul_cancel(&f.open_sul);
	lws_context_destroy(f.ctx);
	for (int i = 0; i < MAX_CONNS; i++)
		conn_release(&f.conns[i]);
	curl_global_cleanup();
	fprintf(stderr, "floor: %lu envelopes acked\n", f.acks);
	return f.exit_code;
}
