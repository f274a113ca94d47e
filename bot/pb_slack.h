/* pb_slack.h — Slack adapter entry point: Socket Mode loop, workers, Web API posting. */
#ifndef PB_SLACK_H
#define PB_SLACK_H

#include "pb_config.h"
#include "pb_err.h"

/*
 * Runs the bot on Slack until SIGINT/SIGTERM or a permanent error.
 * Returns 0 on a clean stop, >0 with err set on a permanent error
 * (invalid_auth, link_disabled …), <0 on internal failure.
 */
int pb_slack_run(const pb_config *cfg, pb_err *err);

#endif
