/* pb_acks.h — delivery confirmations: a thread-safe queue the chat adapters push to and the outbox drains. */
#ifndef PB_ACKS_H
#define PB_ACKS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A card that must be neither lost nor doubled (an observation post) carries
 * a stable delivery id and the queue its confirmation goes to (pb_card.h:
 * pb_card_delivery). The adapter pushes one confirmation per delivery:
 *   ok   — the chat has it (console: printed and flushed; Slack: chat.postMessage
 *          answered ok with a ts, or the post was found by its id); `ref` says
 *          where it landed (Slack: the ts), "" when nothing names it;
 *   !ok  — it was given up (refused, attempts spent, dropped): hand it again later.
 * The owner takes the confirmations from its own thread and marks its storage.
 * Reference-counted: a post queued in an adapter may outlive the queue's owner.
 */
#define PB_ACK_ID_MAX 64

typedef struct pb_acks pb_acks;

typedef struct pb_ack {
	char id[PB_ACK_ID_MAX];
	bool ok;
	char ref[64];
} pb_ack;

/* NULL on OOM. Starts with one reference. */
pb_acks *pb_acks_new(void);
/* Both NULL-safe; the last unref frees what was never taken. */
pb_acks *pb_acks_ref(pb_acks *a);
void pb_acks_unref(pb_acks *a);
/* NULL-safe. A confirmation lost to OOM is logged; the owner hands the card again after its timeout. */
void pb_acks_push(pb_acks *a, const char *id, bool ok, const char *ref);
/* Moves up to `max` confirmations into out, oldest first; returns how many. */
size_t pb_acks_take(pb_acks *a, pb_ack *out, size_t max);

#endif
