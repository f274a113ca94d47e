/* gh_harness.c — the fake GitHub around a test harness: the services' client, delivery, reading issues back. */
#include "gh_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github.h"

void ghh_open_client(th *h)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_github_new(&h->cfg->github, &h->clock.clock, &h->svc.github, &err), 0, "%s", pb_err_text(&err));
	h->svc.system_sink = &h->sink; /* delivery tells the thread through the same capture */
}

void ghh_close_client(th *h)
{
	pb_github_free(h->svc.github);
	h->svc.github = NULL;
}

pb_ghout_stats ghh_deliver(th *h)
{
	pb_ghout_stats st;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_ghout_deliver(&h->svc, 0, &st, &err), 0, "%s", pb_err_text(&err));
	return st;
}

size_t ghh_pending(th *h)
{
	size_t n = 0;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_ghops_pending_count(h->store, &n, &err), 0, "%s", pb_err_text(&err));
	return n;
}

pb_promotion ghh_promotion(th *h, const char *component)
{
	pb_promotion p;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_latest(h->store, component, &p, &err), 0, "%s", pb_err_text(&err));
	return p;
}

void ghh_card_line(th *h, const pb_promotion *p, pb_buf *out)
{
	pb_err err;

	pb_err_init(&err);
	pb_buf_reset(out);
	cr_assert_eq(pb_ghout_describe(&h->svc, p, out, &err), 0, "%s", pb_err_text(&err));
}

cJSON *ghh_issue(github_fake *f, const char *repo, int64_t number)
{
	char *text = github_fake_issue_json(f, repo, number);
	cJSON *j;

	cr_assert_not_null(text, "issue #%lld does not exist", (long long)number);
	j = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(j);
	return j;
}

const char *ghh_str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v ? v : "";
}

bool ghh_has_label(const cJSON *issue, const char *name)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, cJSON_GetObjectItem(issue, "labels"))
		if (!strcmp(ghh_str(l, "name"), name))
			return true;
	return false;
}

int ghh_nlabels(const cJSON *issue)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(issue, "labels"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *ghh_labels(const cJSON *issue)
{
	const char *names[64];
	const cJSON *l;
	size_t n = 0;
	pb_buf b;

	cJSON_ArrayForEach(l, cJSON_GetObjectItem(issue, "labels"))
		if (n < 64)
			names[n++] = ghh_str(l, "name");
	qsort(names, n, sizeof(names[0]), cmp_str);
	pb_buf_init(&b);
	for (size_t i = 0; i < n; i++)
		pb_buf_printf(&b, "%s%s", i ? "," : "", names[i]);
	return pb_buf_steal(&b);
}

int ghh_issues_created(github_fake *f, const char *repo)
{
	char all[300], sub[300];

	snprintf(all, sizeof(all), "POST /repos/%s/issues", repo);
	snprintf(sub, sizeof(sub), "POST /repos/%s/issues/", repo);
	return github_fake_count(f, all, 201) - github_fake_count(f, sub, 201);
}

void ghh_finish_run(github_fake *f, void *ud, const char *method_and_path)
{
	ghh_run_hook *rh = ud;
	const char *p = strstr(method_and_path, "/actions/runs/");
	long long id;

	if (strncmp(method_and_path, "GET ", 4) != 0 || !p)
		return;
	id = strtoll(p + strlen("/actions/runs/"), NULL, 10);
	if (id > 0 && ++rh->seen == rh->after)
		github_fake_set_run(f, rh->repo, id, "completed", rh->conclusion);
}
