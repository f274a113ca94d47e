/* slack_envelope.h — Socket Mode frames: parse envelopes, build acks, clean command text. */
#ifndef PB_SLACK_ENVELOPE_H
#define PB_SLACK_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_err.h"

typedef enum {
	PB_SLACK_MSG_INVALID = 0,  /* unusable: log it (ack it when envelope_id is known) */
	PB_SLACK_MSG_HELLO,
	PB_SLACK_MSG_DISCONNECT,
	PB_SLACK_MSG_COMMAND,      /* slash command or app mention: text → dispatcher */
	PB_SLACK_MSG_ACTION,       /* block_actions button click */
	PB_SLACK_MSG_IGNORED,      /* valid envelope we do not handle: ack only */
} pb_slack_msg_kind;

#define PB_SLACK_ID_MAX 128

typedef struct pb_slack_msg {
	pb_slack_msg_kind kind;
	char envelope_id[PB_SLACK_ID_MAX];  /* "" for hello/disconnect */
	char type[32];                      /* envelope type as received */
	char reason[64];                    /* disconnect reason */
	char event_id[PB_SLACK_ID_MAX];     /* events_api event_id, "" otherwise */
	char user_id[PB_SLACK_ID_MAX];
	char user_name[PB_SLACK_ID_MAX];
	char channel_id[PB_SLACK_ID_MAX];
	char *text;                         /* command text without "/promote" or the mention (owned) */
	bool accepts_response_payload;
	/* block_actions only */
	char action[64];                    /* action_id verb ("approve") */
	char action_value[PB_SLACK_ID_MAX]; /* the button's value (component id) */
	char action_ts[64];
	char message_ts[64];                /* the clicked message */
	char message_channel[PB_SLACK_ID_MAX];
	char *message_blocks;               /* JSON array of the clicked message's blocks (owned), may be NULL */
} pb_slack_msg;

/*
 * Parses one complete text frame. Always fills what it can (envelope_id
 * first, so even a broken envelope gets acked). Returns 0 with kind set;
 * PB_E_INVALID with err set (kind INVALID) for bad JSON or missing fields.
 */
int pb_slack_msg_parse(const char *json, size_t len, pb_slack_msg *out, pb_err *err);
void pb_slack_msg_deinit(pb_slack_msg *m);

/* What the loop needs from a frame before its ack: read without building a tree or allocating. */
typedef struct pb_slack_head {
	char envelope_id[PB_SLACK_ID_MAX];
	char type[32];
	bool accepts_response_payload;
} pb_slack_head;

/*
 * Reads the top-level envelope_id, type and accepts_response_payload of a
 * frame (the first of each), skipping every other value by its brackets and
 * strings. True only when the frame is one well-nested object and envelope_id
 * and type are plain strings (no escapes, no control characters), so the ack
 * can quote the id as received. False for anything else: parse it fully
 * (pb_slack_msg_parse), which also validates what this only skips.
 */
bool pb_slack_head_scan(const char *json, size_t len, pb_slack_head *out);

/* Ack frame {"envelope_id":…[,"payload":{"text":…}]} (malloc'd, NULL on OOM). */
char *pb_slack_ack_json(const char *envelope_id, const char *payload_text);

/*
 * Turns an app_mention text "<@U123> status neo4j" into "status neo4j":
 * drops leading user mentions and whitespace. Returns a malloc'd string.
 */
char *pb_slack_strip_mention(const char *text);

/* True for Slack error codes that retrying cannot fix (invalid_auth, link_disabled …). */
bool pb_slack_error_is_permanent(const char *code);

/* Reconnect delay for attempt n (0-based): exponential from 500 ms, capped at 30 s,
 * with jitter taken from `rnd` so the result lies in [d/2, d]. */
unsigned pb_slack_backoff_ms(unsigned attempt, unsigned rnd);

#endif
