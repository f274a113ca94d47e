/* github_fake_main.c — the fake GitHub as a process, driven by line commands on stdin (SDK checks, manual runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github_fake.h"

/*
 * usage: github_fake TOKEN REPO...
 * Prints "api <url>" once listening, then answers one line per command:
 *   issue REPO N | file REPO PATH | count METHOD_PATH_PREFIX | ref REPO REF SHA |
 *   status REPO SHA CONTEXT STATE | check REPO SHA NAME STATUS CONCLUSION |
 *   project PROJECT_ID FIELD_ID | value ITEM_ID FIELD_ID | pull REPO LABEL TITLE… |
 *   pfield PROJECT_ID FIELD_ID DATA_TYPE OPTIONS|- NAME… | bfile REPO BRANCH PATH |
 *   fault status|ratelimit|secondary|hang|drop|html N STATUS ARG | quit
 */
int main(int argc, char **argv)
{
	static const char *const kinds[] = { "status", "ratelimit", "secondary", "hang", "drop", "html", NULL };
	char line[4096];
	github_fake *f;

	if (argc < 3) {
		fprintf(stderr, "usage: github_fake TOKEN REPO...\n");
		return 2;
	}
	if (github_fake_start(&f)) {
		fprintf(stderr, "cannot start\n");
		return 1;
	}
	github_fake_add_token(f, argv[1]);
	for (int i = 2; i < argc; i++)
		github_fake_add_repo(f, argv[i]);
	printf("api %s\n", github_fake_url(f));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char a[256] = "", b[256] = "", c[256] = "", d[256] = "", e[256] = "";
		long long n = 0, arg = 0;
		int st = 0, off = 0;
		char *s;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "issue %255s %lld", a, &n) == 2) {
			s = github_fake_issue_json(f, a, n);
			printf("%s\n", s ? s : "none");
			free(s);
		} else if (sscanf(line, "file %255s %255s", a, b) == 2) {
			s = github_fake_file(f, a, b, NULL);
			printf("%s\n", s ? s : "none");
			free(s);
		} else if (sscanf(line, "count %255[^\n]", a) == 1) {
			printf("%d\n", github_fake_count(f, a, 0));
		} else if (sscanf(line, "ref %255s %255s %255s", a, b, c) == 3) {
			github_fake_set_ref(f, a, b, c);
			printf("ok\n");
		} else if (sscanf(line, "status %255s %255s %255s %255s", a, b, c, d) == 4) {
			github_fake_add_status(f, a, b, c, d);
			printf("ok\n");
		} else if (sscanf(line, "check %255s %255s %255s %255s %255s", a, b, c, d, e) == 5) {
			github_fake_add_check_run(f, a, b, c, d, strcmp(e, "-") ? e : NULL);
			printf("ok\n");
		} else if (sscanf(line, "project %255s %255s", a, b) == 2) {
			github_fake_add_project(f, a, b);
			printf("ok\n");
		} else if (sscanf(line, "pfield %255s %255s %255s %255s %n", a, b, c, d, &off) == 4 && off) {
			/* pfield PROJECT FIELD_ID DATA_TYPE OPTIONS|- NAME… */
			github_fake_add_project_field(f, a, b, line + off, c, strcmp(d, "-") ? d : NULL);
			printf("ok\n");
		} else if (sscanf(line, "bfile %255s %255s %255s", a, b, c) == 3) {
			s = github_fake_branch_file(f, a, b, c);
			printf("%s\n", s ? s : "none");
			free(s);
		} else if (sscanf(line, "value %255s %255s", a, b) == 2) {
			s = github_fake_project_value(f, a, b);
			printf("%s\n", s ? s : "none");
			free(s);
		} else if (sscanf(line, "pull %255s %255s %n", a, b, &off) == 2 && off) {
			github_fake_add_pull(f, a, line + off, b);
			printf("ok\n");
		} else if (sscanf(line, "fault %255s %lld %d %lld", a, &n, &st, &arg) == 4) {
			int k = 0;

			while (kinds[k] && strcmp(kinds[k], a))
				k++;
			if (kinds[k]) {
				static const github_fault_kind map[] = { GITHUB_FAULT_STATUS, GITHUB_FAULT_RATE_LIMIT,
									 GITHUB_FAULT_SECONDARY, GITHUB_FAULT_HANG,
									 GITHUB_FAULT_DROP, GITHUB_FAULT_HTML };

				github_fake_fault(f, map[k], (int)n, st, arg);
				printf("ok\n");
			} else {
				printf("?\n");
			}
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("?\n");
		}
		fflush(stdout);
	}
	github_fake_free(f);
	return 0;
}
