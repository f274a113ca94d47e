/* slack_web.c — Web API calls from worker threads, paced per channel and honouring 429 Retry-After. */
#include "slack_web.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb_clock.h"
#include "pb_log.h"
#include "pb_str.h"

#define PACER_SLOTS 64

typedef struct pacer_slot {
	char channel[64];
	int64_t next_ms;     /* monotonic time of the next free slot */
} pacer_slot;

struct pb_slack_pacer {
	pthread_mutex_t lock;
	long interval_ms;
	pacer_slot slots[PACER_SLOTS];
	size_t nslots;
};

int pb_slack_pacer_new(long min_interval_ms, pb_slack_pacer **out)
{
	pb_slack_pacer *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->interval_ms = min_interval_ms < 0 ? 0 : min_interval_ms;
	*out = p;
	return 0;
}

void pb_slack_pacer_free(pb_slack_pacer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Caller holds the lock. Unknown channels take the least recently due slot. */
static pacer_slot *slot_for(pb_slack_pacer *p, const char *channel)
{
	size_t oldest = 0;

	for (size_t i = 0; i < p->nslots; i++) {
		if (!strcmp(p->slots[i].channel, channel))
			return &p->slots[i];
		if (p->slots[i].next_ms < p->slots[oldest].next_ms)
			oldest = i;
	}
	if (p->nslots < PACER_SLOTS)
		oldest = p->nslots++;
	pb_strlcpy(p->slots[oldest].channel, channel, sizeof(p->slots[oldest].channel));
	p->slots[oldest].next_ms = 0;
	return &p->slots[oldest];
}

long pb_slack_pacer_reserve(pb_slack_pacer *p, const char *channel)
{
	int64_t now = pb_clock_mono_ms(NULL), at;
	pacer_slot *s;

	if (!p || !channel)
		return 0;
	pthread_mutex_lock(&p->lock);
	s = slot_for(p, channel);
	at = s->next_ms > now ? s->next_ms : now;
	s->next_ms = at + p->interval_ms;
	pthread_mutex_unlock(&p->lock);
	return (long)(at - now);
}

void pb_slack_pacer_defer(pb_slack_pacer *p, const char *channel, long ms)
{
	int64_t until = pb_clock_mono_ms(NULL) + ms;
	pacer_slot *s;

	if (!p || !channel)
		return;
	pthread_mutex_lock(&p->lock);
	s = slot_for(p, channel);
	if (s->next_ms < until)
		s->next_ms = until;
	pthread_mutex_unlock(&p->lock);
}

long pb_slack_pacer_due_in(pb_slack_pacer *p, const char *channel)
{
	int64_t now = pb_clock_mono_ms(NULL);
	long ms;

	if (!p || !channel)
		return 0;
	pthread_mutex_lock(&p->lock);
	ms = (long)(slot_for(p, channel)->next_ms - now);
	pthread_mutex_unlock(&p->lock);
	return ms > 0 ? ms : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int pb_slack_web_init(pb_slack_web *w, const char *api_url, const char *token,
		      const char *ca_file, pb_slack_pacer *pacer)
{
	int rc;

	memset(w, 0, sizeof(*w));
	rc = pb_http_new(&w->http);
	if (rc)
		return rc < 0 ? rc : -ENOMEM;
	w->api_url = api_url;
	w->token = token;
	w->ca_file = ca_file;
	w->pacer = pacer;
	w->max_429_retries = 10;
	w->transport_retries = 2;
	w->timeout_ms = 15000;
	return 0;
}

void pb_slack_web_deinit(pb_slack_web *w)
{
	if (!w)
		return;
	pb_http_free(w->http);
	w->http = NULL;
}

/* Retry-After in ms: integer seconds per RFC 9110 (Slack sends seconds); default 1 s. */
static long retry_after_ms(const pb_http_resp *resp)
{
	char v[32];
	long s;

	if (pb_http_resp_header(resp, "Retry-After", v, sizeof(v)) != 0 ||
	    pb_parse_long(v, 0, 3600, &s) != 0)
		return 1000;
	return s * 1000;
}

/* One HTTP exchange; 0 with *root parsed, PB_E_UNAVAILABLE, or 1000+ms for a 429. */
static int post_once(pb_slack_web *w, const char *url, const char *json, const char *ctype, bool fresh,
		     cJSON **root, long *retry_ms, bool *maybe_sent, pb_err *err)
{
	char auth[1024];
	pb_http_header hdrs[2];
	pb_http_req req = { 0 };
	pb_http_resp resp;
	int rc;

	snprintf(auth, sizeof(auth), "Bearer %s", w->token ? w->token : "");
	hdrs[0] = (pb_http_header){ "Authorization", auth };
	hdrs[1] = (pb_http_header){ "Content-Type", ctype };
	/* apps.connections.open takes no body: send no JSON content type with it. */
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.nheaders = json ? 2 : 1;
	req.body = json;
	req.body_len = json ? strlen(json) : 0;
	req.timeout_ms = w->timeout_ms;
	req.max_body = 1 << 20;
	req.ca_file = w->ca_file;
	/* libcurl would silently resend a post whose reused connection died unanswered: a duplicate message */
	req.no_resend = fresh;
	pb_http_resp_init(&resp);
	*retry_ms = 0;
	rc = pb_http_do(w->http, &req, &resp, err);
	*maybe_sent = resp.maybe_sent;
	if (rc)
		goto out;
	if (resp.status == 429) {
		*retry_ms = retry_after_ms(&resp);
		rc = 0;
		goto out;
	}
	*root = cJSON_Parse(pb_buf_str(&resp.body));
	if (!cJSON_IsObject(*root)) {
		cJSON_Delete(*root);
		*root = NULL;
		rc = pb_err_set(err, PB_E_UNAVAILABLE, "HTTP %ld without a JSON object", resp.status);
	}
out:
	memset(auth, 0, sizeof(auth));
	pb_http_resp_deinit(&resp);
	return rc;
}

/* Methods a second identical request cannot turn into a second message. */
static bool idempotent(const char *method)
{
	return strcmp(method, "chat.postMessage") != 0 && strcmp(method, "chat.postEphemeral") != 0;
}

static int web_call(pb_slack_web *w, const char *method, char *payload, const char *ctype,
		    const char *pace_channel, cJSON **resp, char *code, size_t code_size, pb_err *err);

int pb_slack_web_call(pb_slack_web *w, const char *method, const cJSON *body,
		      const char *pace_channel, cJSON **resp, char *code, size_t code_size,
		      pb_err *err)
{
	char *json = NULL;

	if (body && !(json = cJSON_PrintUnformatted(body)))
		return pb_err_set(err, -ENOMEM, "out of memory");
	return web_call(w, method, json, "application/json; charset=utf-8", pace_channel, resp, code,
			code_size, err);
}

int pb_slack_web_form(pb_slack_web *w, const char *method, const char *const *kv, cJSON **resp,
		      char *code, size_t code_size, pb_err *err)
{
	pb_buf b;

	pb_buf_init(&b);
	for (size_t i = 0; kv && kv[i]; i += 2) {
		char *k = pb_http_escape(kv[i]), *v = pb_http_escape(kv[i + 1] ? kv[i + 1] : "");

		if (k && v)
			pb_buf_printf(&b, "%s%s=%s", i ? "&" : "", k, v);
		else
			b.oom = true;
		free(k);
		free(v);
	}
	if (b.oom) {
		pb_buf_deinit(&b);
		return pb_err_set(err, -ENOMEM, "out of memory");
	}
	return web_call(w, method, pb_buf_steal(&b), "application/x-www-form-urlencoded", NULL, resp, code,
			code_size, err);
}

/* Takes `payload` (malloc'd, may be NULL). */
static int web_call(pb_slack_web *w, const char *method, char *payload, const char *ctype,
		    const char *pace_channel, cJSON **resp, char *code, size_t code_size, pb_err *err)
{
	char url[1024];
	char *json = payload;
	cJSON *root = NULL;
	const cJSON *ok;
	int rc = 0, limited = 0, transport = 0;

	if (resp)
		*resp = NULL;
	if (code && code_size)
		code[0] = '\0';
	w->retry_after_ms = 0;
	w->outcome_unknown = false;
	snprintf(url, sizeof(url), "%s%s%s", w->api_url,
		 w->api_url[0] && w->api_url[strlen(w->api_url) - 1] == '/' ? "" : "/", method);
	for (;;) {
		long wait = w->pacer && pace_channel ? pb_slack_pacer_reserve(w->pacer, pace_channel) : 0;
		long retry_ms = 0;
		bool maybe_sent = false;
		pb_err e;

		if (wait > 0)
			sleep_ms(wait);
		pb_err_init(&e);
		rc = post_once(w, url, json, ctype, !idempotent(method), &root, &retry_ms, &maybe_sent, &e);
		if (rc == PB_E_UNAVAILABLE && (!maybe_sent || idempotent(method)) &&
		    transport++ < w->transport_retries) {
			pb_warn("slack", "%s: %s; retrying", method, pb_err_text(&e));
			sleep_ms(500L * transport);
			continue;
		}
		if (rc) {
			w->outcome_unknown = rc == PB_E_UNAVAILABLE && maybe_sent && !idempotent(method);
			pb_err_set(err, rc, "%s: %s%s", method, pb_err_text(&e),
				   w->outcome_unknown ? " (it may have been posted)" : "");
			goto out;
		}
		if (!retry_ms)
			break;
		if (w->defer_429) {
			w->retry_after_ms = retry_ms;
			if (w->pacer && pace_channel)
				pb_slack_pacer_defer(w->pacer, pace_channel, retry_ms);
			rc = pb_err_set(err, PB_E_BUSY, "%s: rate limited (429), retry after %ld ms", method,
					retry_ms);
			goto out;
		}
		if (++limited > w->max_429_retries) {
			rc = pb_err_set(err, PB_E_UNAVAILABLE, "%s: still rate limited after %d retries",
					method, w->max_429_retries);
			goto out;
		}
		pb_warn("slack", "%s: rate limited (429), retrying in %ld ms", method, retry_ms);
		if (w->pacer && pace_channel)
			pb_slack_pacer_defer(w->pacer, pace_channel, retry_ms);
		else
			sleep_ms(retry_ms);
	}
	ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
		const char *ec = cJSON_IsString(e) ? e->valuestring : "unknown_error";

		if (code && code_size)
			pb_strlcpy(code, ec, code_size);
		rc = pb_err_set(err, PB_E_FAILED, "%s: %s", method, ec);
		goto out;
	}
	if (resp) {
		*resp = root;
		root = NULL;
	}
out:
	cJSON_Delete(root);
	free(json);
	return rc;
}

int pb_slack_connections_open(pb_slack_web *w, char **url, char *code, size_t code_size,
			      pb_err *err)
{
	cJSON *resp = NULL;
	const cJSON *u;
	int rc;

	*url = NULL;
	rc = pb_slack_web_call(w, "apps.connections.open", NULL, NULL, &resp, code, code_size, err);
	if (rc)
		return rc;
	u = cJSON_GetObjectItemCaseSensitive(resp, "url");
	if (!cJSON_IsString(u) || (strncmp(u->valuestring, "wss://", 6) && strncmp(u->valuestring, "ws://", 5)))
		rc = pb_err_set(err, PB_E_UNAVAILABLE, "apps.connections.open: reply without a ws(s):// url");
	else if (!(*url = strdup(u->valuestring)))
		rc = pb_err_set(err, -ENOMEM, "out of memory");
	cJSON_Delete(resp);
	return rc;
}
