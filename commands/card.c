/* card.c — building, copying and plain-text rendering of platform-neutral cards. */
#include "pb_card.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A card is best effort: every builder tolerates a NULL card (pb_card_new may
 * have failed) and an allocation failure only drops the part being added, so
 * a handler never needs error paths for its replies.
 */

/* vasprintf wrapper: NULL on a NULL format or OOM. */
__attribute__((format(printf, 1, 0)))
static char *card_vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (!fmt)
		return NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* Copies s, treating NULL as "" so rendered cards never show "(null)". */
static char *card_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* Appends `add` to *dst on a new line; on OOM *dst is left unchanged. Takes add. */
static void card_append_line(char **dst, char *add)
{
	char *joined;

	if (!add)
		return;
	if (!*dst) {
		*dst = add;
		return;
	}
	if (asprintf(&joined, "%s\n%s", *dst, add) < 0) {
		free(add);
		return;
	}
	free(*dst);
	free(add);
	*dst = joined;
}

/* Grows an array by one element; false (array untouched) on OOM or overflow. */
static bool card_grow(void **arr, size_t n, size_t elem)
{
	void *p;

	if (n >= SIZE_MAX / elem - 1)
		return false;
	p = realloc(*arr, (n + 1) * elem);
	if (!p)
		return false;
	*arr = p;
	return true;
}

pb_card *pb_card_new(const char *title)
{
	pb_card *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* A card without its title is still worth sending. */
	c->title = pb_strdup0(title);
	c->audience = PB_AUDIENCE_CALLER;
	c->role = PB_THREAD_REPLY;
	return c;
}

void pb_card_free(pb_card *c)
{
	if (!c)
		return;
	free(c->title);
	free(c->text);
	for (size_t i = 0; i < c->nfields; i++) {
		free(c->fields[i].label);
		free(c->fields[i].value);
	}
	free(c->fields);
	for (size_t i = 0; i < c->nitems; i++)
		free(c->items[i].text);
	free(c->items);
	for (size_t i = 0; i < c->nbuttons; i++) {
		free(c->buttons[i].label);
		free(c->buttons[i].action);
		free(c->buttons[i].value);
	}
	free(c->buttons);
	free(c->pre);
	free(c->thread_label);
	free(c->delivery_id);
	pb_acks_unref(c->acks);
	free(c);
}

bool pb_card_delivery(pb_card *c, const char *id, int64_t handed_before, pb_acks *acks)
{
	char *copy;

	if (!c || !id || !acks)
		return false;
	copy = strdup(id);
	if (!copy)
		return false;
	free(c->delivery_id);
	pb_acks_unref(c->acks);
	c->delivery_id = copy;
	c->handed_before = handed_before;
	c->acks = pb_acks_ref(acks);
	return true;
}

/* Several calls add several lines, so handlers can build the text piecewise. */
void pb_card_text(pb_card *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (!c)
		return;
	va_start(ap, fmt);
	s = card_vfmt(fmt, ap);
	va_end(ap);
	card_append_line(&c->text, s);
}

/* Adds a field with its own copies of label and value, or nothing on OOM. */
static void card_add_field(pb_card *c, char *label, char *value)
{
	if (!label || !value ||
	    !card_grow((void **)&c->fields, c->nfields, sizeof(*c->fields))) {
		free(label);
		free(value);
		return;
	}
	c->fields[c->nfields].label = label;
	c->fields[c->nfields].value = value;
	c->nfields++;
}

void pb_card_field(pb_card *c, const char *label, const char *fmt, ...)
{
	va_list ap;
	char *value;

	if (!c)
		return;
	va_start(ap, fmt);
	value = fmt ? card_vfmt(fmt, ap) : card_strdup("");
	va_end(ap);
	card_add_field(c, card_strdup(label), value);
}

void pb_card_item(pb_card *c, pb_item_state st, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (!c)
		return;
	va_start(ap, fmt);
	text = fmt ? card_vfmt(fmt, ap) : card_strdup("");
	va_end(ap);
	if (!text || !card_grow((void **)&c->items, c->nitems, sizeof(*c->items))) {
		free(text);
		return;
	}
	c->items[c->nitems].state = st;
	c->items[c->nitems].text = text;
	c->nitems++;
}

/* Adds a button from owned strings, or nothing when any copy failed. */
static void card_add_button(pb_card *c, const struct pb_card_button *b, bool value_ok)
{
	if (!b->label || !b->action || !value_ok ||
	    !card_grow((void **)&c->buttons, c->nbuttons, sizeof(*c->buttons))) {
		free(b->label);
		free(b->action);
		free(b->value);
		return;
	}
	c->buttons[c->nbuttons++] = *b;
}

void pb_card_button(pb_card *c, const char *label, const char *action, const char *value,
		    bool danger)
{
	struct pb_card_button b;

	if (!c)
		return;
	b.label = card_strdup(label);
	b.action = card_strdup(action);
	b.value = pb_strdup0(value); /* optional: NULL means "no argument" */
	b.danger = danger;
	card_add_button(c, &b, !value || b.value);
}

/* Several calls add several lines to the one preformatted block. */
void pb_card_pre(pb_card *c, const char *text)
{
	if (!c || !text)
		return;
	card_append_line(&c->pre, strdup(text));
}

/*
 * Sets what the parameters say and nothing else: the audience stays the
 * caller's choice, so labelling a private reply never leaks it to the thread.
 */
void pb_card_thread(pb_card *c, int64_t promotion_id, const char *label, pb_thread_role role)
{
	char *copy;

	if (!c)
		return;
	c->promotion_id = promotion_id;
	c->role = role;
	copy = pb_strdup0(label);
	if (label && !copy)
		return; /* keep the old label rather than lose it */
	free(c->thread_label);
	c->thread_label = copy;
}

/* Copies a string member; false when the source was set but the copy failed. */
static bool card_dup_str(char **dst, const char *src)
{
	*dst = pb_strdup0(src);
	return !src || *dst;
}

static bool card_dup_fields(pb_card *d, const pb_card *c)
{
	if (!c->nfields)
		return true;
	d->fields = calloc(c->nfields, sizeof(*d->fields));
	if (!d->fields)
		return false;
	for (size_t i = 0; i < c->nfields; i++, d->nfields++) {
		if (!card_dup_str(&d->fields[i].label, c->fields[i].label) ||
		    !card_dup_str(&d->fields[i].value, c->fields[i].value)) {
			d->nfields++; /* so pb_card_free releases the partial entry */
			return false;
		}
	}
	return true;
}

static bool card_dup_items(pb_card *d, const pb_card *c)
{
	if (!c->nitems)
		return true;
	d->items = calloc(c->nitems, sizeof(*d->items));
	if (!d->items)
		return false;
	for (size_t i = 0; i < c->nitems; i++) {
		d->items[i].state = c->items[i].state;
		if (!card_dup_str(&d->items[i].text, c->items[i].text))
			return false;
		d->nitems++;
	}
	return true;
}

static bool card_dup_buttons(pb_card *d, const pb_card *c)
{
	if (!c->nbuttons)
		return true;
	d->buttons = calloc(c->nbuttons, sizeof(*d->buttons));
	if (!d->buttons)
		return false;
	for (size_t i = 0; i < c->nbuttons; i++, d->nbuttons++) {
		struct pb_card_button *b = &d->buttons[i];

		b->danger = c->buttons[i].danger;
		if (!card_dup_str(&b->label, c->buttons[i].label) ||
		    !card_dup_str(&b->action, c->buttons[i].action) ||
		    !card_dup_str(&b->value, c->buttons[i].value)) {
			d->nbuttons++; /* so pb_card_free releases the partial entry */
			return false;
		}
	}
	return true;
}

/* Unlike the builders, a copy is all or nothing: a queued card must equal its source. */
pb_card *pb_card_dup(const pb_card *c)
{
	pb_card *d;

	if (!c)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->is_error = c->is_error;
	d->audience = c->audience;
	d->role = c->role;
	d->promotion_id = c->promotion_id;
	if (!card_dup_str(&d->title, c->title) || !card_dup_str(&d->text, c->text) ||
	    !card_dup_str(&d->pre, c->pre) || !card_dup_str(&d->thread_label, c->thread_label) ||
	    !card_dup_fields(d, c) || !card_dup_items(d, c) || !card_dup_buttons(d, c) ||
	    (c->acks && !pb_card_delivery(d, c->delivery_id, c->handed_before, c->acks))) {
		pb_card_free(d);
		return NULL;
	}
	return d;
}

const char *pb_item_state_mark(pb_item_state s)
{
	switch (s) {
	case PB_ITEM_PASS:
		return "[x]";
	case PB_ITEM_FAIL:
		return "[!]";
	case PB_ITEM_PENDING:
		return "[ ]";
	case PB_ITEM_SKIP:
		return "[-]";
	}
	return "[?]";
}

/*
 * Appends text line by line, `first` before the first line and `rest` before
 * the others, so multi-line values stay inside the card's margin instead of
 * starting at column 0. A single trailing newline adds no empty line.
 */
static void render_lines(pb_buf *out, const char *first, const char *rest, const char *text)
{
	const char *p = text ? text : "";
	const char *indent = first;

	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		pb_buf_puts(out, indent);
		pb_buf_append(out, p, n);
		pb_buf_puts(out, "\n");
		if (!nl || !nl[1])
			break;
		p = nl + 1;
		indent = rest;
	}
}

static void render_header(const pb_card *c, pb_buf *out)
{
	if (!c->thread_label && !c->title && !c->is_error)
		return;
	if (c->thread_label)
		pb_buf_printf(out, "[%s] ", c->thread_label);
	if (c->is_error)
		pb_buf_puts(out, "✖ ");
	pb_buf_puts(out, c->title ? c->title : "");
	pb_buf_puts(out, "\n");
}

/* All fields on one line, "label: value" separated by three spaces. */
static void render_fields(const pb_card *c, pb_buf *out)
{
	pb_buf line;

	if (!c->nfields)
		return;
	pb_buf_init(&line);
	for (size_t i = 0; i < c->nfields; i++)
		pb_buf_printf(&line, "%s%s: %s", i ? "   " : "",
			      c->fields[i].label ? c->fields[i].label : "",
			      c->fields[i].value ? c->fields[i].value : "");
	render_lines(out, "  ", "  ", pb_buf_str(&line));
	pb_buf_deinit(&line);
}

static void render_items(const pb_card *c, pb_buf *out)
{
	for (size_t i = 0; i < c->nitems; i++) {
		char mark[16];

		/* continuation lines line up under the item text */
		snprintf(mark, sizeof(mark), "  %s ", pb_item_state_mark(c->items[i].state));
		render_lines(out, mark, "      ", c->items[i].text);
	}
}

/* The consoles cannot click: show labels so the reader knows the commands exist. */
static void render_buttons(const pb_card *c, pb_buf *out)
{
	if (!c->nbuttons)
		return;
	pb_buf_puts(out, "  (buttons)");
	for (size_t i = 0; i < c->nbuttons; i++)
		pb_buf_printf(out, " [%s]", c->buttons[i].label ? c->buttons[i].label : "");
	pb_buf_puts(out, "\n");
}

/*
 * Layout (tests snapshot it, keep it stable):
 *   [thread label] ✖ title        label only when set, ✖ only on error cards
 *     text lines
 *     Label: value   Label: value
 *     [x] checklist item
 *     ```  preformatted lines  ```
 *     (buttons) [A] [B]
 */
void pb_card_render_text(const pb_card *c, pb_buf *out)
{
	if (!c || !out)
		return;
	render_header(c, out);
	if (c->text)
		render_lines(out, "  ", "  ", c->text);
	render_fields(c, out);
	render_items(c, out);
	if (c->pre) {
		pb_buf_puts(out, "  ```\n");
		render_lines(out, "  ", "  ", c->pre);
		pb_buf_puts(out, "  ```\n");
	}
	render_buttons(c, out);
}
