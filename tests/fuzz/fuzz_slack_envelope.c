/* fuzz_slack_envelope.c — Socket Mode frames (hello, disconnect, slash commands, block_actions, events) and what
 * the adapter does with them: the ack, mention stripping, mrkdwn escaping, the clicked card's blocks rewritten. */
#include <assert.h>

#include "fuzz_util.h"
#include "slack_blocks.h"
#include "slack_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_slack_msg m;
	pb_slack_head h;
	pb_err err;
	char *ack, *stripped;
	int r;

	pb_err_init(&err);
	memset(&m, 0, sizeof(m));
	r = pb_slack_msg_parse((const char *)data, size, &m, &err);
	assert(r == 0 || m.kind == PB_SLACK_MSG_INVALID);
	if (m.kind == PB_SLACK_MSG_COMMAND)
		assert(m.text != NULL);
	/* what the loop acks on: never different from the full parse where both accept the frame */
	if (pb_slack_head_scan((const char *)data, size, &h) && r == 0) {
		assert(!strcmp(h.envelope_id, m.envelope_id) && !strcmp(h.type, m.type));
		assert(h.accepts_response_payload == m.accepts_response_payload);
	}
	/* the ack the adapter would send back, with the text echoed as a payload */
	ack = pb_slack_ack_json(m.envelope_id, m.text);
	free(ack);
	if (m.text) {
		stripped = pb_slack_strip_mention(m.text);
		free(stripped);
		free(pb_slack_mrkdwn_escape(m.text, 3000));
	}
	/* a button click: the clicked message's blocks come back with a note and without the buttons */
	if (m.message_blocks)
		cJSON_Delete(pb_slack_blocks_with_note(m.message_blocks, "Approved by <@U0456>", true));
	pb_slack_msg_deinit(&m);
	return 0;
}
