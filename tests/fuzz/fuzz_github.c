/* fuzz_github.c — GitHub's replies: error bodies and rate-limit headers (first byte picks the reader and the status), issues, comments, labels, contents, checks, statuses, runs, GraphQL. */
#include <assert.h>

#include "fuzz_util.h"
#include "github_priv.h"

/* Headers up to the first blank line, the body after it (both copied into resp). */
static void fill_resp(pb_http_resp *resp, long status, const char *p, size_t n)
{
	const char *sep = memmem(p, n, "\n\n", 2);
	size_t hlen = sep ? (size_t)(sep - p) + 1 : n;

	resp->status = status;
	pb_buf_append(&resp->headers, p, hlen);
	if (sep)
		pb_buf_append(&resp->body, sep + 2, n - hlen - 1);
	if (resp->headers.oom || resp->body.oom)
		abort();
}

static void strv_check(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert(v[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 304, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, 301, 201, 0 };
	const char *p;
	size_t n;
	int which;
	long status;
	pb_err err;
	cJSON *j;

	if (size < 2)
		return 0;
	which = data[0] % 11;
	status = statuses[data[1] & 15];
	p = (const char *)data + 2;
	n = size - 2;
	pb_err_init(&err);
	if (which <= 1) {
		pb_http_resp resp;

		pb_http_resp_init(&resp);
		fill_resp(&resp, status, p, n);
		if (which == 0) {
			int r = gh_error_from(&resp, "GET", "/repos/o/r/issues/1", &err);

			assert(r != 0 && err.set);
		} else {
			pb_github_stats st;
			int hits = data[1] >> 4;
			int64_t w;

			memset(&st, 0, sizeof(st));
			w = gh_limit_wait(&resp, 1 + (data[1] >> 6), INT64_C(1765000000000), &hits, &st);
			assert(w == PB_HTTP_DONE || w == PB_HTTP_RETRY || w > 0);
			/* the longest wait GitHub can ask for: reset at 2100, or a day of retry-after */
			assert(w <= INT64_C(4102444800) * 1000 + 1000);
			assert(st.rate_remaining >= 0 && st.rate_reset >= 0);
		}
		pb_http_resp_deinit(&resp);
		return 0;
	}
	j = cJSON_ParseWithLength(p, n);
	switch (which) {
	case 2: {
		pb_github_issue is;

		if (gh_issue_read(j, &is, &err) == 0) {
			assert(is.number >= 1 && is.title);
			strv_check(is.labels, is.nlabels);
			(void)pb_github_issue_has_label(&is, "blocked");
			pb_github_issue_deinit(&is);
		} else {
			assert(!is.title && !is.labels);
		}
		break;
	}
	case 3: {
		char **v;
		size_t k;

		if (gh_label_names(j, &v, &k) == 0) {
			strv_check(v, k);
			pb_github_strv_free(v, k);
		}
		break;
	}
	case 4: {
		pb_github_comment *v;
		size_t k;

		if (gh_comments_read(j, &v, &k) == 0) {
			for (size_t i = 0; i < k; i++)
				assert(v[i].body && v[i].id >= 0);
			pb_github_comments_free(v, k);
		}
		break;
	}
	case 5: {
		pb_github_content c;

		if (gh_content_read(j, "o/r", "MATURITY.md", &c, &err) == 0) {
			assert(c.data && strlen(c.sha) == 40);
			pb_github_content_deinit(&c);
		} else {
			assert(err.set && !c.data);
		}
		break;
	}
	case 6: {
		pb_github_check *v;
		size_t k;

		if (gh_checks_read(j, &v, &k) == 0)
			free(v);
		break;
	}
	case 7: {
		pb_github_combined c;
		int r = gh_combined_read(j, "0123456789abcdef0123456789abcdef01234567", &c, &err);

		assert(r != 0 || (c.state[0] && c.statuses));
		pb_github_combined_deinit(&c);
		break;
	}
	case 8: {
		pb_github_run run;
		const cJSON *it;

		gh_run_read(j, &run);
		assert(run.id >= 0 && run.run_number >= 0 && run.workflow_id >= 0);
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "workflow_runs"))
			gh_run_read(it, &run);
		break;
	}
	case 9: {
		cJSON *d = NULL;
		int r;

		/* gh_graphql_read detaches data from j */
		r = gh_graphql_read(j, &d, &err);
		assert(r == 0 ? cJSON_IsObject(d) : (d == NULL && err.set));
		cJSON_Delete(d);
		break;
	}
	default: {
		/* a list of issues as pb_github_issues_list reads it */
		const cJSON *it;

		cJSON_ArrayForEach(it, j) {
			pb_github_issue is;

			if (gh_issue_read(it, &is, &err) == 0)
				pb_github_issue_deinit(&is);
		}
		break;
	}
	}
	cJSON_Delete(j);
	return 0;
}
