/* slack_envelope.c — parses Socket Mode envelopes defensively: peers may send anything. */
#include "slack_envelope.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static void copy_field(char *dst, size_t size, const cJSON *obj, const char *key)
{
	const char *s = jstr(obj, key);

	pb_strlcpy(dst, s ? s : "", size);
}

/* "/promote status neo4j" or "status neo4j": the dispatcher skips "/promote" itself. */
static int parse_slash(const cJSON *payload, pb_slack_msg *m, pb_err *err)
{
	const char *text = jstr(payload, "text");

	copy_field(m->user_id, sizeof(m->user_id), payload, "user_id");
	copy_field(m->user_name, sizeof(m->user_name), payload, "user_name");
	copy_field(m->channel_id, sizeof(m->channel_id), payload, "channel_id");
	if (!m->user_id[0] || !text)
		return pb_err_set(err, PB_E_INVALID, "slash_commands envelope %s without user_id/text",
				  m->envelope_id);
	m->text = strdup(text);
	if (!m->text)
		return pb_err_set(err, -12, "out of memory");
	m->kind = PB_SLACK_MSG_COMMAND;
	return 0;
}

static int parse_events(const cJSON *payload, pb_slack_msg *m, pb_err *err)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(payload, "event");
	const char *type, *text;

	copy_field(m->event_id, sizeof(m->event_id), payload, "event_id");
	if (!cJSON_IsObject(ev))
		return pb_err_set(err, PB_E_INVALID, "events_api envelope %s without event", m->envelope_id);
	type = jstr(ev, "type");
	if (!type || strcmp(type, "app_mention") != 0 || jstr(ev, "bot_id")) {
		/* Other events (and our own bot's messages) are acked and ignored. */
		m->kind = PB_SLACK_MSG_IGNORED;
		return 0;
	}
	text = jstr(ev, "text");
	copy_field(m->user_id, sizeof(m->user_id), ev, "user");
	copy_field(m->channel_id, sizeof(m->channel_id), ev, "channel");
	if (!text || !m->user_id[0] || !m->channel_id[0])
		return pb_err_set(err, PB_E_INVALID, "app_mention %s without user/channel/text",
				  m->envelope_id);
	m->text = pb_slack_strip_mention(text);
	if (!m->text)
		return pb_err_set(err, -12, "out of memory");
	m->kind = PB_SLACK_MSG_COMMAND;
	return 0;
}

static int parse_actions(const cJSON *payload, pb_slack_msg *m, pb_err *err)
{
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(payload, "user");
	const cJSON *chan = cJSON_GetObjectItemCaseSensitive(payload, "channel");
	const cJSON *cont = cJSON_GetObjectItemCaseSensitive(payload, "container");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(payload, "message");
	const cJSON *actions = cJSON_GetObjectItemCaseSensitive(payload, "actions");
	const cJSON *act = cJSON_IsArray(actions) ? cJSON_GetArrayItem(actions, 0) : NULL;
	const char *type = jstr(payload, "type");
	const char *action_id;
	size_t n;

	if (!type || strcmp(type, "block_actions") != 0) {
		m->kind = PB_SLACK_MSG_IGNORED;
		return 0;
	}
	copy_field(m->user_id, sizeof(m->user_id), user, "id");
	copy_field(m->user_name, sizeof(m->user_name), user, "username");
	if (!m->user_name[0])
		copy_field(m->user_name, sizeof(m->user_name), user, "name");
	copy_field(m->channel_id, sizeof(m->channel_id), chan, "id");
	copy_field(m->message_ts, sizeof(m->message_ts), cont, "message_ts");
	copy_field(m->message_channel, sizeof(m->message_channel), cont, "channel_id");
	if (!m->message_ts[0])
		copy_field(m->message_ts, sizeof(m->message_ts), msg, "ts");
	if (!m->message_channel[0])
		pb_strlcpy(m->message_channel, m->channel_id, sizeof(m->message_channel));
	action_id = act ? jstr(act, "action_id") : NULL;
	copy_field(m->action_value, sizeof(m->action_value), act, "value");
	copy_field(m->action_ts, sizeof(m->action_ts), act, "action_ts");
	if (!m->user_id[0] || !action_id || !m->action_value[0] || !m->message_ts[0])
		return pb_err_set(err, PB_E_INVALID, "block_actions %s without user/action/value/message",
				  m->envelope_id);
	/* action_id is "<verb>" or "<verb>:<n>" (ids must be unique within a block). */
	n = strcspn(action_id, ":");
	if (n >= sizeof(m->action))
		n = sizeof(m->action) - 1;
	memcpy(m->action, action_id, n);
	m->action[n] = '\0';
	if (msg) {
		const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(msg, "blocks");

		if (cJSON_IsArray(blocks))
			m->message_blocks = cJSON_PrintUnformatted(blocks);
	}
	m->kind = PB_SLACK_MSG_ACTION;
	return 0;
}

int pb_slack_msg_parse(const char *json, size_t len, pb_slack_msg *m, pb_err *err)
{
	cJSON *root;
	const cJSON *payload, *arp;
	const char *type;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return pb_err_set(err, PB_E_INVALID, "frame is not a JSON object (%zu bytes)", len);
	}
	copy_field(m->envelope_id, sizeof(m->envelope_id), root, "envelope_id");
	type = jstr(root, "type");
	pb_strlcpy(m->type, type ? type : "", sizeof(m->type));
	arp = cJSON_GetObjectItemCaseSensitive(root, "accepts_response_payload");
	m->accepts_response_payload = cJSON_IsTrue(arp);
	payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
	if (!type) {
		rc = pb_err_set(err, PB_E_INVALID, "frame without type");
	} else if (!strcmp(type, "hello")) {
		m->kind = PB_SLACK_MSG_HELLO;
	} else if (!strcmp(type, "disconnect")) {
		copy_field(m->reason, sizeof(m->reason), root, "reason");
		m->kind = PB_SLACK_MSG_DISCONNECT;
	} else if (!m->envelope_id[0]) {
		rc = pb_err_set(err, PB_E_INVALID, "'%s' frame without envelope_id", m->type);
	} else if (!cJSON_IsObject(payload)) {
		rc = pb_err_set(err, PB_E_INVALID, "envelope %s (%s) without payload", m->envelope_id, m->type);
	} else if (!strcmp(type, "slash_commands")) {
		rc = parse_slash(payload, m, err);
	} else if (!strcmp(type, "events_api")) {
		rc = parse_events(payload, m, err);
	} else if (!strcmp(type, "interactive")) {
		rc = parse_actions(payload, m, err);
	} else {
		m->kind = PB_SLACK_MSG_IGNORED;
	}
	if (rc)
		m->kind = PB_SLACK_MSG_INVALID;
	cJSON_Delete(root);
	return rc;
}

void pb_slack_msg_deinit(pb_slack_msg *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->message_blocks);
	m->text = NULL;
	m->message_blocks = NULL;
}

/* ---- the head scan: the loop acks on these few fields; the full parse runs on a worker ---- */

#define HEAD_MAX_DEPTH 64

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] is '"': the index after the closing quote, 0 when unterminated or holding a control character. */
static size_t skip_string(const char *s, size_t i, size_t len, bool *plain)
{
	*plain = true;
	for (i++; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"')
			return i + 1;
		if (ch < 0x20)
			return 0;
		if (ch == '\\') {
			*plain = false;
			if (++i >= len)
				return 0;
		}
	}
	return 0;
}

static bool scalar_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '+' || ch == '.' ||
	       ch == 'E';
}

/* The index after the value at s[i], 0 when its brackets or strings do not close (or nest too deep). */
static size_t skip_value(const char *s, size_t i, size_t len)
{
	uint64_t arrays = 0; /* bit d: nesting level d is an array */
	unsigned depth = 0;
	bool plain;

	do {
		i = skip_ws(s, i, len);
		if (i >= len)
			return 0;
		switch (s[i]) {
		case '"':
			i = skip_string(s, i, len, &plain);
			if (!i)
				return 0;
			break;
		case '{':
		case '[':
			if (depth == HEAD_MAX_DEPTH)
				return 0;
			arrays = (arrays & ~(1ull << depth)) | ((uint64_t)(s[i] == '[') << depth);
			depth++;
			i++;
			break;
		case '}':
		case ']':
			if (!depth || ((arrays >> (depth - 1)) & 1) != (s[i] == ']'))
				return 0;
			depth--;
			i++;
			break;
		default:
			/* a number or literal; inside a container also ':' and ',' (the full parse checks the rest) */
			if (!depth && !scalar_char(s[i]))
				return 0;
			if (!depth) {
				while (i < len && scalar_char(s[i]))
					i++;
				return i;
			}
			i++;
			break;
		}
	} while (depth);
	return i;
}

/* The plain string value s[v..vend) into dst; false when not a plain string that fits. */
static bool copy_plain(char *dst, size_t size, const char *s, size_t v, size_t vend)
{
	bool plain;

	if (s[v] != '"' || skip_string(s, v, vend, &plain) != vend || !plain || vend - v - 2 >= size)
		return false;
	memcpy(dst, s + v + 1, vend - v - 2);
	dst[vend - v - 2] = '\0';
	return true;
}

static bool key_is(const char *s, size_t k, size_t kend, const char *name)
{
	size_t n = strlen(name);

	return kend - k == n + 2 && !memcmp(s + k + 1, name, n);
}

bool pb_slack_head_scan(const char *s, size_t len, pb_slack_head *out)
{
	bool have_id = false, have_type = false, have_arp = false;
	size_t i = skip_ws(s, 0, len);

	memset(out, 0, sizeof(*out));
	if (i >= len || s[i] != '{')
		return false;
	i = skip_ws(s, i + 1, len);
	for (;;) {
		size_t k = i, kend, v, vend;
		bool plain;

		if (i >= len || s[i] != '"' || !(kend = skip_string(s, i, len, &plain)) || !plain)
			return false;
		i = skip_ws(s, kend, len);
		if (i >= len || s[i] != ':')
			return false;
		v = skip_ws(s, i + 1, len);
		vend = skip_value(s, v, len);
		if (!vend)
			return false;
		/* the first of a repeated key counts, as in the full parse */
		if (!have_id && key_is(s, k, kend, "envelope_id")) {
			if (!copy_plain(out->envelope_id, sizeof(out->envelope_id), s, v, vend))
				return false;
			have_id = true;
		} else if (!have_type && key_is(s, k, kend, "type")) {
			if (!copy_plain(out->type, sizeof(out->type), s, v, vend))
				return false;
			have_type = true;
		} else if (!have_arp && key_is(s, k, kend, "accepts_response_payload")) {
			out->accepts_response_payload = vend - v == 4 && !memcmp(s + v, "true", 4);
			have_arp = true;
		}
		i = skip_ws(s, vend, len);
		if (i < len && s[i] == ',') {
			i = skip_ws(s, i + 1, len);
			continue;
		}
		if (i >= len || s[i] != '}')
			return false;
		break;
	}
	return skip_ws(s, i + 1, len) == len && out->envelope_id[0] && out->type[0];
}

char *pb_slack_ack_json(const char *envelope_id, const char *payload_text)
{
	cJSON *root = cJSON_CreateObject();
	char *out = NULL;

	if (!root || !cJSON_AddStringToObject(root, "envelope_id", envelope_id))
		goto out;
	if (payload_text) {
		cJSON *p = cJSON_AddObjectToObject(root, "payload");

		if (!p || !cJSON_AddStringToObject(p, "text", payload_text))
			goto out;
	}
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

char *pb_slack_strip_mention(const char *text)
{
	const char *p = text;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (p[0] == '<' && p[1] == '@') {
			const char *end = strchr(p, '>');

			if (!end)
				break;
			p = end + 1;
			continue;
		}
		break;
	}
	return strdup(p);
}

bool pb_slack_error_is_permanent(const char *code)
{
	static const char *const permanent[] = {
		"invalid_auth", "not_authed", "account_inactive", "user_removed_from_team",
		"team_disabled", "link_disabled", "token_revoked", "token_expired",
		"not_allowed_token_type", "missing_scope",
	};

	if (!code)
		return false;
	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
		if (!strcmp(code, permanent[i]))
			return true;
	return false;
}

unsigned pb_slack_backoff_ms(unsigned attempt, unsigned rnd)
{
	unsigned d = 500;

	for (unsigned i = 0; i < attempt && d < 30000; i++)
		d *= 2;
	if (d > 30000)
		d = 30000;
	return d / 2 + rnd % (d / 2 + 1);
}
