/* slack_blocks.h — renders platform-neutral cards as Slack Block Kit messages. */
#ifndef PB_SLACK_BLOCKS_H
#define PB_SLACK_BLOCKS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "pb_card.h"

/*
 * Adds "text" (notification fallback) and "blocks" to `msg` for card `c`,
 * within Block Kit limits (header 150 chars, section 3000, 10 fields of 2000,
 * button label 75, value 2000, 50 blocks). Peer text is escaped for mrkdwn.
 * Returns 0, or -ENOMEM.
 */
int pb_slack_card_to_message(const pb_card *c, cJSON *msg);

/*
 * Returns a copy of `blocks_json` (a JSON array of blocks, may be NULL)
 * (without its actions blocks when drop_actions) and with a context block saying `note`
 * appended: the clicked card after a decision. `note` is mrkdwn used as-is
 * (the caller escapes any peer text in it). The caller owns the result.
 */
cJSON *pb_slack_blocks_with_note(const char *blocks_json, const char *note, bool drop_actions);

/* Escapes &, <, > for mrkdwn into a malloc'd string, cut to at most `max` code points. */
char *pb_slack_mrkdwn_escape(const char *s, size_t max);

#endif
