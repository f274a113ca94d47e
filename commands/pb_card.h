/* pb_card.h — platform-neutral chat messages ("cards") that adapters render. */
#ifndef PB_CARD_H
#define PB_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_acks.h"
#include "pb_str.h"

/* Who sees a card. */
typedef enum {
	PB_AUDIENCE_CALLER = 0, /* only the person who ran the command (ephemeral on Slack) */
	PB_AUDIENCE_THREAD,     /* the promotion's thread: the team sees it */
	PB_AUDIENCE_CHANNEL,    /* the configured channel, no thread (daily reports) */
} pb_audience;

/* What a thread card does to the thread. */
typedef enum {
	PB_THREAD_REPLY = 0,     /* a reply in the promotion's thread */
	PB_THREAD_OPEN,          /* the parent message that starts the thread */
	PB_THREAD_PARENT_UPDATE, /* replaces the parent card's content (chat.update) */
} pb_thread_role;

typedef enum { PB_ITEM_PASS = 0, PB_ITEM_FAIL, PB_ITEM_PENDING, PB_ITEM_SKIP } pb_item_state;

/* Struct tags only: a typedef of the same name would clash with the builder
 * functions pb_card_field()/pb_card_item()/pb_card_button() (one C namespace). */
struct pb_card_field { char *label; char *value; };
struct pb_card_item { pb_item_state state; char *text; };
struct pb_card_button {
	char *label;
	char *action;  /* "approve" | "reject" …: the command verb it runs */
	char *value;   /* its argument, e.g. the component id */
	bool danger;
};

typedef struct pb_card {
	char *title;
	char *text;               /* free text, may hold several lines */
	struct pb_card_field *fields;
	size_t nfields;
	struct pb_card_item *items; /* checklist */
	size_t nitems;
	struct pb_card_button *buttons;
	size_t nbuttons;
	char *pre;                /* preformatted block (tables, logs), optional */
	bool is_error;            /* a refusal or failure */
	pb_audience audience;
	pb_thread_role role;
	int64_t promotion_id;     /* the thread it belongs to; 0 = none */
	char *thread_label;       /* "neo4j → staging #3" for adapters without threads */
	/* delivery (pb_card_delivery): confirmed to `acks` under `delivery_id`; NULL = best effort */
	char *delivery_id;        /* stable across restarts; Slack: the message metadata's post_id */
	int64_t handed_before;    /* wall s of an earlier handing (it may be in the chat already); 0 never */
	pb_acks *acks;            /* a reference, released with the card */
} pb_card;

/* All builders copy their strings; printf-style ones format. Allocation
 * failures leave the card valid but missing the part (a card is best effort). */
pb_card *pb_card_new(const char *title);
void pb_card_free(pb_card *c);
void pb_card_text(pb_card *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pb_card_field(pb_card *c, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pb_card_item(pb_card *c, pb_item_state st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pb_card_button(pb_card *c, const char *label, const char *action, const char *value, bool danger);
void pb_card_pre(pb_card *c, const char *text);
void pb_card_thread(pb_card *c, int64_t promotion_id, const char *label, pb_thread_role role);
/* Asks for a confirmation of this card's delivery (pb_acks.h); false on OOM (the card stays best effort). */
bool pb_card_delivery(pb_card *c, const char *id, int64_t handed_before, pb_acks *acks);
/* Deep copy (adapters that queue cards for later delivery). NULL on OOM. */
pb_card *pb_card_dup(const pb_card *c);

/* Plain-text rendering used by the console and `exec`. */
void pb_card_render_text(const pb_card *c, pb_buf *out);
const char *pb_item_state_mark(pb_item_state s); /* "[x]" "[ ]" … */

/* Where handlers send cards: adapters implement emit (called synchronously
 * from the handler's thread; the card is only valid during the call).
 * A card with a delivery id is confirmed to its acks: by pb_sink_emit when
 * emit returned (the sink delivers synchronously: printed and flushed), or —
 * when `confirms` is set — by the sink itself once the chat answered (it
 * queues and delivers later: Slack), also from another thread. */
typedef struct pb_sink {
	void (*emit)(struct pb_sink *sink, const pb_card *card);
	void *userdata;
	bool confirms;
} pb_sink;

static inline void pb_sink_emit(pb_sink *s, const pb_card *c)
{
	if (!s || !s->emit || !c)
		return;
	s->emit(s, c);
	if (c->acks && !s->confirms)
		pb_acks_push(c->acks, c->delivery_id, true, "");
}

#endif
