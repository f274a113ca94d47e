/* fake_slack_main.c — the fake Slack as a process, driven by line commands on stdin (SDK checks, manual runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_slack.h"

/*
 * usage: fake_slack APP_TOKEN BOT_TOKEN
 * Prints "api <url>" once listening, then answers one line per command:
 *   wait-hello N | slash ID USER TEXT… | mention ID EVENT USER TEXT… |
 *   action ID USER MESSAGE_TS ACTION_ID VALUE | disconnect REASON |
 *   wait-ack ID | calls METHOD | body METHOD INDEX | ratelimit METHOD COUNT SECONDS | quit
 */
int main(int argc, char **argv)
{
	char line[4096];
	fake_slack *f;

	if (argc != 3) {
		fprintf(stderr, "usage: fake_slack APP_TOKEN BOT_TOKEN\n");
		return 2;
	}
	if (fake_slack_start(argv[1], argv[2], &f)) {
		fprintf(stderr, "cannot start\n");
		return 1;
	}
	printf("api %s\n", fake_slack_api_url(f));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char a[256] = "", b[256] = "", c[256] = "", d[256] = "", e[256] = "";
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "wait-hello %d", &n) == 1) {
			printf("%s\n", fake_slack_wait_hellos(f, n, 20000) ? "ok" : "timeout");
		} else if (sscanf(line, "slash %255s %255s %n", a, b, &n) == 2 && n) {
			printf("%d\n", fake_slack_send_slash(f, a, b, "C0PROMO", line + n));
		} else if (sscanf(line, "mention %255s %255s %255s %n", a, b, c, &n) == 3 && n) {
			printf("%d\n", fake_slack_send_mention(f, a, b, c, "C0PROMO", line + n, 0));
		} else if (sscanf(line, "action %255s %255s %255s %255s %255s", a, b, c, d, e) == 5) {
			printf("%d\n", fake_slack_send_action(f, a, b, "C0PROMO", c, d, e, "1700000500.000001"));
		} else if (sscanf(line, "disconnect %255s", a) == 1) {
			printf("%d\n", fake_slack_disconnect(f, a, 3000));
		} else if (sscanf(line, "wait-ack %255s", a) == 1) {
			fake_slack_ack ack;

			if (fake_slack_wait_ack(f, a, 20000, &ack)) {
				printf("acked %lld ms payload %s\n", (long long)(ack.acked_ms - ack.sent_ms),
				       ack.payload ? ack.payload : "-");
				free(ack.payload);
			} else {
				printf("timeout\n");
			}
		} else if (sscanf(line, "calls %255s", a) == 1) {
			printf("%zu ok of %zu\n", fake_slack_call_count(f, a, true), fake_slack_call_count(f, a, false));
		} else if (sscanf(line, "body %255s %d", a, &n) == 2) {
			fake_slack_call call;

			if (fake_slack_call_get(f, a, (size_t)n, &call)) {
				printf("%ld %s %s %s\n", call.status, call.ok ? "ok" : call.error, call.ts, call.body);
				fake_slack_call_deinit(&call);
			} else {
				printf("none\n");
			}
		} else if (sscanf(line, "ratelimit %255s %d %255s", a, &n, b) == 3) {
			fake_slack_rate_limit(f, a, n, atoi(b));
			printf("ok\n");
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("?\n");
		}
		fflush(stdout);
	}
	fake_slack_free(f);
	return 0;
}
