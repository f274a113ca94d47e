/* main.c — promobot command line: run the bot, check a config, or exec one command. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_online.h"
#include "pb_config.h"
#include "pb_console.h"
#include "pb_log.h"
#include "pb_slack.h"
#include "pb_str.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: promobot --config FILE              run the bot (chat.platform: console or slack)\n"
		"       promobot --check-config FILE        validate a config; exit 0 valid, 2 invalid\n"
		"       promobot --check-config --online FILE\n"
		"                                           also check GitHub, Slack and Docker live;\n"
		"                                           exit 1 when a live check found a problem\n"
		"       promobot exec --config FILE --as USER [--github-wait S] \"/promote …\"\n"
		"                                           run one command as USER and print the replies;\n"
		"                                           exit 0 ok, 1 refused/failed, 2 usage/config error\n"
		"       promobot --version | --help\n"
		"environment: PROMOBOT_LOG=debug|error sets the log level (default info)\n");
}

static int load_config(const char *path, pb_config **cfg)
{
	pb_problems probs = { 0 };
	int r = pb_config_load(path, cfg, &probs);

	for (size_t i = 0; i < probs.count; i++)
		fprintf(stderr, "%s: %s\n", path, probs.items[i]);
	pb_problems_deinit(&probs);
	if (r)
		fprintf(stderr, "%s: invalid configuration\n", path);
	return r;
}

/* Creates the folder of the SQLite file (one level is enough for data/…); nothing for PostgreSQL (NULL). */
static int ensure_storage_dir(const char *db_path)
{
	char dir[4096];
	char *slash;

	if (!db_path)
		return 0;
	pb_strlcpy(dir, db_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) && errno != EEXIST) {
		fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static int cmd_check_config(const char *path, bool online)
{
	pb_online_report rep;
	pb_config *cfg = NULL;
	int rc = EXIT_OK;

	if (load_config(path, &cfg))
		return EXIT_USAGE;
	printf("%s: valid (%zu components, %zu users, chat %s, storage %s)\n", path, cfg->ncomponents, cfg->nusers,
	       cfg->platform, cfg->storage_path ? "sqlite" : "postgres");
	if (online) {
		pb_check_online(cfg, &rep);
		printf("%s: storage: %s\n", path, rep.storage);
		for (size_t i = 0; i < rep.notes.count; i++)
			printf("%s: note: %s\n", path, rep.notes.items[i]);
		for (size_t i = 0; i < rep.warnings.count; i++)
			printf("%s: warning: %s\n", path, rep.warnings.items[i]);
		for (size_t i = 0; i < rep.problems.count; i++)
			fprintf(stderr, "%s: %s\n", path, rep.problems.items[i]);
		if (rep.problems.count) {
			fprintf(stderr, "%s: %zu problem%s found online\n", path, rep.problems.count,
				rep.problems.count == 1 ? "" : "s");
			rc = EXIT_REFUSED;
		} else {
			printf("%s: online checks passed\n", path);
		}
		pb_online_report_deinit(&rep);
	}
	pb_config_free(cfg);
	return rc;
}

static int cmd_run(const char *path)
{
	pb_config *cfg = NULL;
	pb_err err;
	int r;

	pb_err_init(&err);
	if (load_config(path, &cfg))
		return EXIT_USAGE;
	if (ensure_storage_dir(cfg->storage_path)) {
		pb_config_free(cfg);
		return EXIT_USAGE;
	}
	if (!strcmp(cfg->platform, "slack"))
		r = pb_slack_run(cfg, &err);
	else
		r = pb_console_run(cfg, NULL, stdin, stdout, &err);
	if (r)
		pb_error("main", "%s", pb_err_text(&err));
	pb_config_free(cfg);
	return r ? EXIT_REFUSED : EXIT_OK;
}

/* `promobot exec` waits this long (--github-wait S) for the GitHub updates its command decided. */
#define EXEC_GITHUB_WAIT_S 30

static int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "github-wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *user = NULL;
	long wait_s = EXEC_GITHUB_WAIT_S;
	pb_config *cfg = NULL;
	pb_err err;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'c')
			path = optarg;
		else if (opt == 'a')
			user = optarg;
		else if (opt == 'w' && pb_parse_long(optarg, 0, 3600, &wait_s) == 0)
			continue;
		else
			return EXIT_USAGE;
	}
	if (!path || !user || optind != argc - 1) {
		fprintf(stderr, "usage: promobot exec --config FILE --as USER [--github-wait S] \"/promote …\"\n");
		return EXIT_USAGE;
	}
	if (load_config(path, &cfg))
		return EXIT_USAGE;
	if (ensure_storage_dir(cfg->storage_path)) {
		pb_config_free(cfg);
		return EXIT_USAGE;
	}
	pb_err_init(&err);
	r = pb_console_exec_wait(cfg, user, argv[optind], (int64_t)wait_s * 1000, stdout, &err);
	if (r < 0)
		fprintf(stderr, "promobot: %s\n", pb_err_text(&err));
	pb_config_free(cfg);
	if (r < 0)
		return EXIT_USAGE;
	return r ? EXIT_REFUSED : EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *level = getenv("PROMOBOT_LOG");

	if (level && !strcmp(level, "debug"))
		pb_log_set_level(PB_LOG_DEBUG);
	else if (level && !strcmp(level, "error"))
		pb_log_set_level(PB_LOG_ERROR);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("promobot %s\n", PROMOBOT_VERSION);
		return EXIT_OK;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "--check-config"))
		return cmd_check_config(argv[2], false);
	if (argc == 4 && !strcmp(argv[1], "--check-config") && !strcmp(argv[2], "--online"))
		return cmd_check_config(argv[3], true);
	if (argc == 3 && !strcmp(argv[1], "--config"))
		return cmd_run(argv[2]);
	usage(stderr);
	return EXIT_USAGE;
}
