/* slack_blocks.c — card → Block Kit JSON via cJSON builders (never string pasting). */
#include "slack_blocks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_str.h"

#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000
#define SLACK_FIELD_MAX 2000
#define SLACK_FIELDS_MAX 10
#define SLACK_BUTTON_TEXT_MAX 75
#define SLACK_BUTTON_VALUE_MAX 2000
#define SLACK_BLOCKS_MAX 50
#define SLACK_FALLBACK_MAX 3000

/* Length in bytes of the first `max` code points of UTF-8 `s`. */
static size_t utf8_prefix(const char *s, size_t max)
{
	size_t i = 0, cps = 0;

	while (s[i] && cps < max) {
		unsigned char ch = (unsigned char)s[i];
		size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 1;

		for (size_t k = 1; k < n; k++)
			if (!s[i + k])
				return i;
		i += n;
		cps++;
	}
	return i;
}

static char *cut(const char *s, size_t max)
{
	size_t n;
	char *out;

	if (!s)
		s = "";
	n = utf8_prefix(s, max);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

char *pb_slack_mrkdwn_escape(const char *s, size_t max)
{
	pb_buf b;
	size_t cps = 0, run = 0, i = 0;
	bool cut = false;
	char *out;

	pb_buf_init(&b);
	/* Plain text is copied in runs (s[run..i)), not one code point at a time. */
	while (s && s[i]) {
		size_t n = utf8_prefix(s + i, 1);
		const char *rep = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;

		if (!n)
			break;
		/* Reserve room for a trailing ellipsis when cut. */
		if (cps + 1 >= max && s[i + n]) {
			cut = true;
			break;
		}
		if (rep) {
			pb_buf_append(&b, s + run, i - run);
			pb_buf_puts(&b, rep);
			run = i + n;
		}
		i += n;
		cps += rep ? strlen(rep) : 1;
	}
	if (i > run)
		pb_buf_append(&b, s + run, i - run);
	if (cut)
		pb_buf_puts(&b, "…");
	if (b.oom) {
		pb_buf_deinit(&b);
		return NULL;
	}
	out = pb_buf_steal(&b);
	return out ? out : strdup("");
}

static cJSON *text_obj(const char *type, const char *text)
{
	cJSON *t = cJSON_CreateObject();

	if (!t)
		return NULL;
	if (!cJSON_AddStringToObject(t, "type", type) || !cJSON_AddStringToObject(t, "text", text)) {
		cJSON_Delete(t);
		return NULL;
	}
	if (!strcmp(type, "plain_text"))
		cJSON_AddTrueToObject(t, "emoji");
	return t;
}

/* Adds {"type":block_type, key: {type, text}} to blocks; takes nothing, copies text. */
static int add_text_block(cJSON *blocks, const char *block_type, const char *text_type,
			  const char *text)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *t = text_obj(text_type, text);

	if (!b || !t || !cJSON_AddStringToObject(b, "type", block_type)) {
		cJSON_Delete(b);
		cJSON_Delete(t);
		return -ENOMEM;
	}
	cJSON_AddItemToObject(b, "text", t);
	cJSON_AddItemToArray(blocks, b);
	return 0;
}

static int add_mrkdwn_section(cJSON *blocks, const char *raw, const char *wrap)
{
	size_t budget = SLACK_SECTION_MAX - (wrap ? 2 * strlen(wrap) + 2 : 0);
	char *esc = pb_slack_mrkdwn_escape(raw, budget);
	pb_buf b;
	int rc;

	if (!esc)
		return -ENOMEM;
	pb_buf_init(&b);
	if (wrap)
		pb_buf_printf(&b, "%s\n%s\n%s", wrap, esc, wrap);
	else
		pb_buf_puts(&b, esc);
	free(esc);
	rc = b.oom ? -ENOMEM : add_text_block(blocks, "section", "mrkdwn", pb_buf_str(&b));
	pb_buf_deinit(&b);
	return rc;
}

static const char *item_mark(pb_item_state st)
{
	switch (st) {
	case PB_ITEM_PASS: return ":white_check_mark:";
	case PB_ITEM_FAIL: return ":x:";
	case PB_ITEM_PENDING: return ":hourglass_flowing_sand:";
	default: return ":heavy_minus_sign:";
	}
}

static int add_fields(cJSON *blocks, const pb_card *c)
{
	for (size_t start = 0; start < c->nfields; start += SLACK_FIELDS_MAX) {
		cJSON *b = cJSON_CreateObject();
		cJSON *arr = b ? cJSON_AddArrayToObject(b, "fields") : NULL;

		if (!arr || !cJSON_AddStringToObject(b, "type", "section")) {
			cJSON_Delete(b);
			return -ENOMEM;
		}
		for (size_t i = start; i < c->nfields && i < start + SLACK_FIELDS_MAX; i++) {
			char *label = pb_slack_mrkdwn_escape(c->fields[i].label, 200);
			char *value = pb_slack_mrkdwn_escape(c->fields[i].value, SLACK_FIELD_MAX - 220);
			pb_buf t;
			cJSON *obj = NULL;

			pb_buf_init(&t);
			if (label && value) {
				pb_buf_printf(&t, "*%s*\n%s", label, value);
				obj = t.oom ? NULL : text_obj("mrkdwn", pb_buf_str(&t));
			}
			free(label);
			free(value);
			pb_buf_deinit(&t);
			if (!obj) {
				cJSON_Delete(b);
				return -ENOMEM;
			}
			cJSON_AddItemToArray(arr, obj);
		}
		cJSON_AddItemToArray(blocks, b);
	}
	return 0;
}

static int add_checklist(cJSON *blocks, const pb_card *c)
{
	pb_buf b;
	int rc;

	if (!c->nitems)
		return 0;
	pb_buf_init(&b);
	for (size_t i = 0; i < c->nitems; i++) {
		char *t = pb_slack_mrkdwn_escape(c->items[i].text, 300);

		if (!t) {
			pb_buf_deinit(&b);
			return -ENOMEM;
		}
		/* Keep whole lines within the section limit. */
		if (b.len + strlen(t) + 40 > SLACK_SECTION_MAX) {
			free(t);
			pb_buf_puts(&b, "…");
			break;
		}
		pb_buf_printf(&b, "%s%s %s", i ? "\n" : "", item_mark(c->items[i].state), t);
		free(t);
	}
	rc = b.oom ? -ENOMEM : add_text_block(blocks, "section", "mrkdwn", pb_buf_str(&b));
	pb_buf_deinit(&b);
	return rc;
}

static int add_buttons(cJSON *blocks, const pb_card *c)
{
	cJSON *b, *els;

	if (!c->nbuttons)
		return 0;
	b = cJSON_CreateObject();
	els = b ? cJSON_AddArrayToObject(b, "elements") : NULL;
	if (!els || !cJSON_AddStringToObject(b, "type", "actions")) {
		cJSON_Delete(b);
		return -ENOMEM;
	}
	/* Slack allows 25 elements per actions block. */
	for (size_t i = 0; i < c->nbuttons && i < 25; i++) {
		const struct pb_card_button *bt = &c->buttons[i];
		cJSON *e = cJSON_CreateObject();
		char *label = cut(bt->label, SLACK_BUTTON_TEXT_MAX);
		char *value = cut(bt->value, SLACK_BUTTON_VALUE_MAX);
		char action_id[96];
		cJSON *t = label ? text_obj("plain_text", label) : NULL;

		/* action_ids must be unique inside a block: suffix the index. */
		snprintf(action_id, sizeof(action_id), "%s:%zu", bt->action ? bt->action : "none", i);
		free(label);
		if (!e || !t || !value || !cJSON_AddStringToObject(e, "type", "button") ||
		    !cJSON_AddStringToObject(e, "action_id", action_id) ||
		    !cJSON_AddStringToObject(e, "value", value)) {
			cJSON_Delete(e);
			cJSON_Delete(t);
			free(value);
			cJSON_Delete(b);
			return -ENOMEM;
		}
		free(value);
		cJSON_AddItemToObject(e, "text", t);
		if (bt->danger)
			cJSON_AddStringToObject(e, "style", "danger");
		else if (bt->action && !strcmp(bt->action, "approve"))
			cJSON_AddStringToObject(e, "style", "primary");
		cJSON_AddItemToArray(els, e);
	}
	cJSON_AddItemToArray(blocks, b);
	return 0;
}

static int add_fallback_text(const pb_card *c, cJSON *msg)
{
	pb_buf b;
	char *t;
	int rc = 0;

	pb_buf_init(&b);
	if (c->is_error)
		pb_buf_puts(&b, ":warning: ");
	if (c->title)
		pb_buf_puts(&b, c->title);
	if (c->text)
		pb_buf_printf(&b, "%s%s", c->title ? ": " : "", c->text);
	t = pb_slack_mrkdwn_escape(pb_buf_str(&b), SLACK_FALLBACK_MAX);
	if (b.oom || !t || !cJSON_AddStringToObject(msg, "text", t[0] ? t : "promobot"))
		rc = -ENOMEM;
	free(t);
	pb_buf_deinit(&b);
	return rc;
}

int pb_slack_card_to_message(const pb_card *c, cJSON *msg)
{
	cJSON *blocks;
	int rc = 0;

	if (add_fallback_text(c, msg))
		return -ENOMEM;
	blocks = cJSON_AddArrayToObject(msg, "blocks");
	if (!blocks)
		return -ENOMEM;
	if (c->title && c->title[0]) {
		char *pre = NULL;
		char *title;

		if (c->is_error && (pre = malloc(strlen(c->title) + 8)))
			snprintf(pre, strlen(c->title) + 8, "⚠️ %s", c->title);
		title = cut(pre ? pre : c->title, SLACK_HEADER_MAX);
		free(pre);
		rc = title ? add_text_block(blocks, "header", "plain_text", title) : -ENOMEM;
		free(title);
	}
	if (!rc && c->text && c->text[0])
		rc = add_mrkdwn_section(blocks, c->text, NULL);
	if (!rc)
		rc = add_fields(blocks, c);
	if (!rc)
		rc = add_checklist(blocks, c);
	if (!rc && c->pre && c->pre[0])
		rc = add_mrkdwn_section(blocks, c->pre, "```");
	if (!rc)
		rc = add_buttons(blocks, c);
	/* Overflowing cards lose their tail rather than being rejected by Slack. */
	while (!rc && cJSON_GetArraySize(blocks) > SLACK_BLOCKS_MAX)
		cJSON_DeleteItemFromArray(blocks, SLACK_BLOCKS_MAX - 1);
	return rc;
}

cJSON *pb_slack_blocks_with_note(const char *blocks_json, const char *note, bool drop_actions)
{
	cJSON *blocks = blocks_json ? cJSON_Parse(blocks_json) : NULL;
	cJSON *ctx, *els, *t;
	char *esc;

	if (!cJSON_IsArray(blocks)) {
		cJSON_Delete(blocks);
		blocks = cJSON_CreateArray();
		if (!blocks)
			return NULL;
	}
	/* A final decision removes the buttons; an approval keeps them for further approvers. */
	for (int i = cJSON_GetArraySize(blocks) - 1; drop_actions && i >= 0; i--) {
		const cJSON *b = cJSON_GetArrayItem(blocks, i);
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");

		if (cJSON_IsString(type) && !strcmp(type->valuestring, "actions"))
			cJSON_DeleteItemFromArray(blocks, i);
	}
	while (cJSON_GetArraySize(blocks) >= SLACK_BLOCKS_MAX)
		cJSON_DeleteItemFromArray(blocks, SLACK_BLOCKS_MAX - 1);
	esc = cut(note, SLACK_FIELD_MAX);
	ctx = cJSON_CreateObject();
	els = ctx ? cJSON_AddArrayToObject(ctx, "elements") : NULL;
	t = esc ? text_obj("mrkdwn", esc) : NULL;
	free(esc);
	if (!els || !t || !cJSON_AddStringToObject(ctx, "type", "context")) {
		cJSON_Delete(t);
		cJSON_Delete(ctx);
		cJSON_Delete(blocks);
		return NULL;
	}
	cJSON_AddItemToArray(els, t);
	cJSON_AddItemToArray(blocks, ctx);
	return blocks;
}
