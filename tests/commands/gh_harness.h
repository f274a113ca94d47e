/* gh_harness.h — the fake GitHub around a test harness: the services' client, delivery, reading issues back. */
#ifndef TEST_GH_HARNESS_H
#define TEST_GH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "github_fake.h"
#include "harness.h"
#include "pb_ghout.h"

/* Opens h->svc.github on the harness's clock (the config's github section); delivery tells h's sink. */
void ghh_open_client(th *h);
/* Frees h->svc.github (NULL-safe). */
void ghh_close_client(th *h);
/* One pb_ghout_deliver run (asserts it worked). */
pb_ghout_stats ghh_deliver(th *h);
/* Outbox ops still pending, every group. */
size_t ghh_pending(th *h);
/* The latest promotion of a component (asserts there is one). */
pb_promotion ghh_promotion(th *h, const char *component);
/* The promotion's GitHub line (pb_ghout_describe) into out (reset first). */
void ghh_card_line(th *h, const pb_promotion *p, pb_buf *out);

/* Issue #number of repo as the fake holds it (asserts it exists; cJSON_Delete it). */
cJSON *ghh_issue(github_fake *f, const char *repo, int64_t number);
bool ghh_has_label(const cJSON *issue, const char *name);
int ghh_nlabels(const cJSON *issue);
/* The issue's label names, sorted, joined by "," (malloc'd): an exact label set in one string. */
char *ghh_labels(const cJSON *issue);
/* A string member ("" when absent). */
const char *ghh_str(const cJSON *o, const char *key);
/* Issues created by POST /repos/<repo>/issues with 201 (comments and labels not counted). */
int ghh_issues_created(github_fake *f, const char *repo);

/*
 * A github_fake hook (github_fake_on_request): completes a workflow run with `conclusion` the
 * `after`-th time the bot polls one (GET …/actions/runs/<id>); `seen` counts the polls.
 */
typedef struct ghh_run_hook {
	const char *repo;
	int after;
	int seen;
	const char *conclusion;
} ghh_run_hook;
void ghh_finish_run(github_fake *f, void *ud, const char *method_and_path);

#endif
