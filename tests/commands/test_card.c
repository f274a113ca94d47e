/* test_card.c — card builders, deep copy and the plain-text rendering snapshot. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "pb_card.h"

/* Renders a card into a fresh string (caller frees). */
static char *render(const pb_card *c)
{
	pb_buf b;

	pb_buf_init(&b);
	pb_card_render_text(c, &b);
	cr_assert_eq(b.oom, 0);
	return pb_buf_steal(&b);
}

static void expect_render(const pb_card *c, const char *want)
{
	char *got = render(c);

	cr_assert_str_eq(got, want, "rendered:\n%s\nexpected:\n%s", got, want);
	free(got);
}

/* The promotion card from the design, built the way handlers build it. */
static pb_card *sample_card(void)
{
	pb_card *c = pb_card_new("✅ Promotion requested");

	cr_assert_not_null(c);
	pb_card_thread(c, 3, "neo4j → staging #3", PB_THREAD_OPEN);
	pb_card_text(c, "%s moves %s → %s.", "Neo4j Graph Database", "Development", "Staging");
	pb_card_field(c, "Requester", "%s", "Alice");
	pb_card_field(c, "Approvals", "%d/%d", 0, 1);
	pb_card_item(c, PB_ITEM_PASS, "tests passing");
	pb_card_item(c, PB_ITEM_FAIL, "coverage %.1f%% < %d%%", 64.0, 70);
	pb_card_item(c, PB_ITEM_PENDING, "security scan");
	pb_card_item(c, PB_ITEM_SKIP, "types (not configured)");
	pb_card_pre(c, "check    result\ntests    ok");
	pb_card_button(c, "Approve", "approve", "neo4j", false);
	pb_card_button(c, "Reject", "reject", "neo4j", true);
	return c;
}

static const char sample_text[] =
	"[neo4j → staging #3] ✅ Promotion requested\n"
	"  Neo4j Graph Database moves Development → Staging.\n"
	"  Requester: Alice   Approvals: 0/1\n"
	"  [x] tests passing\n"
	"  [!] coverage 64.0% < 70%\n"
	"  [ ] security scan\n"
	"  [-] types (not configured)\n"
	"  ```\n"
	"  check    result\n"
	"  tests    ok\n"
	"  ```\n"
	"  (buttons) [Approve] [Reject]\n";

Test(card, new_sets_defaults)
{
	pb_card *c = pb_card_new("Title");

	cr_assert_not_null(c);
	cr_assert_str_eq(c->title, "Title");
	cr_assert_null(c->text);
	cr_assert_null(c->pre);
	cr_assert_null(c->thread_label);
	cr_assert_eq(c->nfields, 0);
	cr_assert_eq(c->nitems, 0);
	cr_assert_eq(c->nbuttons, 0);
	cr_assert_eq(c->is_error, false);
	cr_assert_eq(c->audience, PB_AUDIENCE_CALLER);
	cr_assert_eq(c->role, PB_THREAD_REPLY);
	cr_assert_eq(c->promotion_id, 0);
	pb_card_free(c);
}

Test(card, builders_copy_their_strings)
{
	char label[] = "Label", value[] = "value", title[] = "Title", pre[] = "pre";
	char blabel[] = "Go", action[] = "deploy", arg[] = "neo4j", tl[] = "neo4j #1";
	pb_card *c = pb_card_new(title);

	pb_card_field(c, label, "%s", value);
	pb_card_item(c, PB_ITEM_PASS, "%s", value);
	pb_card_button(c, blabel, action, arg, false);
	pb_card_pre(c, pre);
	pb_card_thread(c, 1, tl, PB_THREAD_REPLY);
	/* scribble over the sources: the card must not change */
	memset(title, 'X', sizeof(title) - 1);
	memset(label, 'X', sizeof(label) - 1);
	memset(value, 'X', sizeof(value) - 1);
	memset(pre, 'X', sizeof(pre) - 1);
	memset(blabel, 'X', sizeof(blabel) - 1);
	memset(action, 'X', sizeof(action) - 1);
	memset(arg, 'X', sizeof(arg) - 1);
	memset(tl, 'X', sizeof(tl) - 1);
	cr_assert_str_eq(c->title, "Title");
	cr_assert_str_eq(c->fields[0].label, "Label");
	cr_assert_str_eq(c->fields[0].value, "value");
	cr_assert_str_eq(c->items[0].text, "value");
	cr_assert_str_eq(c->buttons[0].label, "Go");
	cr_assert_str_eq(c->buttons[0].action, "deploy");
	cr_assert_str_eq(c->buttons[0].value, "neo4j");
	cr_assert_str_eq(c->pre, "pre");
	cr_assert_str_eq(c->thread_label, "neo4j #1");
	pb_card_free(c);
}

Test(card, text_formats_and_appends_lines)
{
	pb_card *c = pb_card_new("t");

	pb_card_text(c, "%d checks, %s", 3, "all green");
	cr_assert_str_eq(c->text, "3 checks, all green");
	pb_card_text(c, "second %s", "line");
	cr_assert_str_eq(c->text, "3 checks, all green\nsecond line");
	pb_card_free(c);
}

Test(card, fields_keep_order)
{
	pb_card *c = pb_card_new("t");

	for (int i = 0; i < 20; i++)
		pb_card_field(c, "n", "%d", i);
	cr_assert_eq(c->nfields, 20);
	for (int i = 0; i < 20; i++) {
		char want[8];

		snprintf(want, sizeof(want), "%d", i);
		cr_assert_str_eq(c->fields[i].label, "n");
		cr_assert_str_eq(c->fields[i].value, want);
	}
	pb_card_free(c);
}

Test(card, items_store_state_and_text)
{
	pb_card *c = pb_card_new("t");

	pb_card_item(c, PB_ITEM_FAIL, "coverage %.1f%%", 64.0);
	pb_card_item(c, PB_ITEM_SKIP, "lint");
	cr_assert_eq(c->nitems, 2);
	cr_assert_eq(c->items[0].state, PB_ITEM_FAIL);
	cr_assert_str_eq(c->items[0].text, "coverage 64.0%");
	cr_assert_eq(c->items[1].state, PB_ITEM_SKIP);
	cr_assert_str_eq(c->items[1].text, "lint");
	pb_card_free(c);
}

Test(card, buttons_store_action_value_and_danger)
{
	pb_card *c = pb_card_new("t");

	pb_card_button(c, "Approve", "approve", "neo4j", false);
	pb_card_button(c, "Reject", "reject", NULL, true);
	cr_assert_eq(c->nbuttons, 2);
	cr_assert_str_eq(c->buttons[0].label, "Approve");
	cr_assert_str_eq(c->buttons[0].action, "approve");
	cr_assert_str_eq(c->buttons[0].value, "neo4j");
	cr_assert_eq(c->buttons[0].danger, false);
	cr_assert_str_eq(c->buttons[1].action, "reject");
	cr_assert_null(c->buttons[1].value, "a button without argument keeps value NULL");
	cr_assert_eq(c->buttons[1].danger, true);
	pb_card_free(c);
}

Test(card, pre_appends_lines)
{
	pb_card *c = pb_card_new("t");

	pb_card_pre(c, "a  b");
	pb_card_pre(c, "c  d");
	cr_assert_str_eq(c->pre, "a  b\nc  d");
	pb_card_free(c);
}

Test(card, thread_sets_id_label_role_but_not_audience)
{
	pb_card *c = pb_card_new("t");

	pb_card_thread(c, 42, "neo4j → staging #42", PB_THREAD_PARENT_UPDATE);
	cr_assert_eq(c->promotion_id, 42);
	cr_assert_str_eq(c->thread_label, "neo4j → staging #42");
	cr_assert_eq(c->role, PB_THREAD_PARENT_UPDATE);
	cr_assert_eq(c->audience, PB_AUDIENCE_CALLER);
	/* a second call replaces the label; NULL clears it */
	pb_card_thread(c, 43, "other #43", PB_THREAD_REPLY);
	cr_assert_str_eq(c->thread_label, "other #43");
	pb_card_thread(c, 0, NULL, PB_THREAD_REPLY);
	cr_assert_null(c->thread_label);
	cr_assert_eq(c->promotion_id, 0);
	pb_card_free(c);
}

Test(card, item_marks)
{
	cr_assert_str_eq(pb_item_state_mark(PB_ITEM_PASS), "[x]");
	cr_assert_str_eq(pb_item_state_mark(PB_ITEM_FAIL), "[!]");
	cr_assert_str_eq(pb_item_state_mark(PB_ITEM_PENDING), "[ ]");
	cr_assert_str_eq(pb_item_state_mark(PB_ITEM_SKIP), "[-]");
	cr_assert_str_eq(pb_item_state_mark((pb_item_state)99), "[?]");
}

Test(card, render_full_snapshot)
{
	pb_card *c = sample_card();

	expect_render(c, sample_text);
	pb_card_free(c);
}

Test(card, render_error_card_is_marked)
{
	pb_card *c = pb_card_new("Refused");

	c->is_error = true;
	pb_card_text(c, "Alice cannot approve her own request.");
	expect_render(c, "✖ Refused\n  Alice cannot approve her own request.\n");
	pb_card_thread(c, 3, "neo4j → staging #3", PB_THREAD_REPLY);
	expect_render(c, "[neo4j → staging #3] ✖ Refused\n  Alice cannot approve her own request.\n");
	pb_card_free(c);
}

Test(card, render_title_only_and_appends_to_buffer)
{
	pb_card *c = pb_card_new("Done");
	pb_buf b;

	pb_buf_init(&b);
	pb_buf_puts(&b, "> ");
	pb_card_render_text(c, &b);
	pb_card_render_text(c, &b);
	cr_assert_str_eq(pb_buf_str(&b), "> Done\nDone\n");
	pb_buf_deinit(&b);
	pb_card_free(c);
}

Test(card, render_multiline_parts_stay_indented)
{
	pb_card *c = pb_card_new("Logs");

	pb_card_text(c, "line one\nline two\n");
	pb_card_item(c, PB_ITEM_FAIL, "lint failed\nsrc/a.c:3: warning");
	pb_card_field(c, "Note", "first\nsecond");
	pb_card_pre(c, "  indented\n\ttab\n");
	expect_render(c,
		      "Logs\n"
		      "  line one\n"
		      "  line two\n"
		      "  Note: first\n"
		      "  second\n"
		      "  [!] lint failed\n"
		      "      src/a.c:3: warning\n"
		      "  ```\n"
		      "    indented\n"
		      "  \ttab\n"
		      "  ```\n");
	pb_card_free(c);
}

Test(card, render_without_title)
{
	pb_card *c = pb_card_new(NULL);

	cr_assert_not_null(c);
	cr_assert_null(c->title);
	pb_card_field(c, "Uptime", "%.2f%%", 99.95);
	expect_render(c, "  Uptime: 99.95%\n");
	pb_card_free(c);
}

Test(card, dup_is_deep_and_equal)
{
	pb_card *c = sample_card(), *d;
	char *a, *b;

	c->is_error = true;
	c->audience = PB_AUDIENCE_THREAD;
	d = pb_card_dup(c);
	cr_assert_not_null(d);
	cr_assert_neq(d, c);
	cr_assert_str_eq(d->title, c->title);
	cr_assert_neq(d->title, c->title, "strings are copied, not shared");
	cr_assert_str_eq(d->text, c->text);
	cr_assert_str_eq(d->pre, c->pre);
	cr_assert_str_eq(d->thread_label, c->thread_label);
	cr_assert_eq(d->is_error, true);
	cr_assert_eq(d->audience, PB_AUDIENCE_THREAD);
	cr_assert_eq(d->role, PB_THREAD_OPEN);
	cr_assert_eq(d->promotion_id, 3);
	cr_assert_eq(d->nfields, c->nfields);
	cr_assert_eq(d->nitems, c->nitems);
	cr_assert_eq(d->nbuttons, c->nbuttons);
	cr_assert_neq(d->fields, c->fields);
	for (size_t i = 0; i < c->nfields; i++) {
		cr_assert_str_eq(d->fields[i].label, c->fields[i].label);
		cr_assert_str_eq(d->fields[i].value, c->fields[i].value);
	}
	for (size_t i = 0; i < c->nitems; i++) {
		cr_assert_eq(d->items[i].state, c->items[i].state);
		cr_assert_str_eq(d->items[i].text, c->items[i].text);
	}
	for (size_t i = 0; i < c->nbuttons; i++) {
		cr_assert_str_eq(d->buttons[i].label, c->buttons[i].label);
		cr_assert_str_eq(d->buttons[i].action, c->buttons[i].action);
		cr_assert_str_eq(d->buttons[i].value, c->buttons[i].value);
		cr_assert_eq(d->buttons[i].danger, c->buttons[i].danger);
	}
	a = render(c);
	b = render(d);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);

	/* the copy outlives its source */
	pb_card_free(c);
	a = render(d);
	cr_assert_str_eq(a, "[neo4j → staging #3] ✖ ✅ Promotion requested\n"
			    "  Neo4j Graph Database moves Development → Staging.\n"
			    "  Requester: Alice   Approvals: 0/1\n"
			    "  [x] tests passing\n"
			    "  [!] coverage 64.0% < 70%\n"
			    "  [ ] security scan\n"
			    "  [-] types (not configured)\n"
			    "  ```\n"
			    "  check    result\n"
			    "  tests    ok\n"
			    "  ```\n"
			    "  (buttons) [Approve] [Reject]\n");
	free(a);
	pb_card_free(d);
}

Test(card, dup_of_empty_card)
{
	pb_card *c = pb_card_new(NULL), *d = pb_card_dup(c);

	cr_assert_not_null(d);
	cr_assert_null(d->title);
	cr_assert_null(d->fields);
	cr_assert_null(d->items);
	cr_assert_null(d->buttons);
	pb_card_free(c);
	pb_card_free(d);
}

Test(card, null_safety)
{
	pb_card *c = pb_card_new("t");
	const char *volatile nofmt = NULL; /* hides the NULL from the format checker */
	pb_buf b;

	/* NULL card: every builder is a no-op */
	pb_card_free(NULL);
	pb_card_text(NULL, "x");
	pb_card_field(NULL, "a", "b");
	pb_card_item(NULL, PB_ITEM_PASS, "x");
	pb_card_button(NULL, "a", "b", "c", false);
	pb_card_pre(NULL, "x");
	pb_card_thread(NULL, 1, "x", PB_THREAD_REPLY);
	cr_assert_null(pb_card_dup(NULL));
	pb_buf_init(&b);
	pb_card_render_text(NULL, &b);
	cr_assert_eq(b.len, 0);
	pb_card_render_text(c, NULL);

	/* NULL strings: never "(null)", never a crash */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	pb_card_text(c, nofmt);
	cr_assert_null(c->text);
	pb_card_pre(c, NULL);
	cr_assert_null(c->pre);
	pb_card_field(c, NULL, nofmt);
	cr_assert_eq(c->nfields, 1);
	cr_assert_str_eq(c->fields[0].label, "");
	cr_assert_str_eq(c->fields[0].value, "");
	pb_card_item(c, PB_ITEM_PENDING, nofmt);
#pragma GCC diagnostic pop
	cr_assert_eq(c->nitems, 1);
	cr_assert_str_eq(c->items[0].text, "");
	pb_card_button(c, NULL, NULL, NULL, false);
	cr_assert_eq(c->nbuttons, 1);
	cr_assert_str_eq(c->buttons[0].label, "");
	cr_assert_str_eq(c->buttons[0].action, "");
	pb_card_render_text(c, &b);
	cr_assert_null(strstr(pb_buf_str(&b), "(null)"));
	cr_assert_str_eq(pb_buf_str(&b), "t\n  : \n  [ ] \n  (buttons) []\n");
	pb_buf_deinit(&b);
	pb_card_free(c);
}

/* An emit sink that keeps a rendering of every card, as the console adapter does. */
static void collect(pb_sink *s, const pb_card *c)
{
	pb_card_render_text(c, s->userdata);
}

Test(card, sink_emit_forwards_cards_and_ignores_nulls)
{
	pb_buf b;
	pb_sink sink = { .emit = collect, .userdata = &b };
	pb_card *c = pb_card_new("hello");

	pb_buf_init(&b);
	pb_sink_emit(&sink, c);
	pb_sink_emit(&sink, NULL);
	pb_sink_emit(NULL, c);
	cr_assert_str_eq(pb_buf_str(&b), "hello\n");
	pb_buf_deinit(&b);
	pb_card_free(c);
}
