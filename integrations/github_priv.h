/* github_priv.h — github.c's readers of GitHub replies, exposed to its tests and fuzz harnesses only. */
#ifndef PB_GITHUB_PRIV_H
#define PB_GITHUB_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "github.h"
#include "pb_http.h"

/*
 * Every byte below comes from GitHub (or whatever answers at api_url): ids go through
 * the bounded readers of pb_json.h, text is copied bounded, a missing member reads as "".
 */

/* Header name as an integer in [min, max] (*ok false and 0 when absent or out of range). */
int64_t gh_header_int(const pb_http_resp *resp, const char *name, int64_t min, int64_t max, bool *ok);

/*
 * The retry policy's reading of an answer: x-ratelimit-remaining/-reset and retry-after into
 * stats and a wait: PB_HTTP_DONE, PB_HTTP_RETRY (5xx) or milliseconds to wait (a primary limit
 * until the reset, retry-after, a secondary limit backing off with *secondary_hits).
 */
int64_t gh_limit_wait(const pb_http_resp *resp, int attempt, int64_t now_ms, int *secondary_hits,
		      pb_github_stats *stats);

/* A non-2xx answer as a code and "GitHub: <message> [field: code message] (HTTP n) for METHOD shown". */
int gh_error_from(const pb_http_resp *resp, const char *method, const char *shown, pb_err *err);

/* Names of an array of label objects (or strings) into a malloc'd vector (pb_github_strv_free). */
int gh_label_names(const cJSON *arr, char ***out, size_t *n);

/* One issue object into out (pb_github_issue_deinit); PB_E_UNAVAILABLE without a valid number. */
int gh_issue_read(const cJSON *j, pb_github_issue *out, pb_err *err);

/* A list of comments / check runs into a malloc'd array (pb_github_comments_free / free). */
int gh_comments_read(const cJSON *all, pb_github_comment **out, size_t *n);
int gh_checks_read(const cJSON *all, pb_github_check **out, size_t *n);

/* GET /contents/{path}: a base64 file into out (pb_github_content_deinit); PB_E_INVALID otherwise. */
int gh_content_read(const cJSON *j, const char *repo, const char *path, pb_github_content *out, pb_err *err);

/* GET /commits/{sha}/status into out (pb_github_combined_deinit). */
int gh_combined_read(const cJSON *j, const char *sha, pb_github_combined *out, pb_err *err);

/* One workflow run object into o (missing or bad numbers read 0). */
void gh_run_read(const cJSON *it, pb_github_run *o);

/* A GraphQL answer: errors[0] → PB_E_NOTFOUND/PB_E_INVALID; else data detached into *data (may be NULL). */
int gh_graphql_read(cJSON *j, cJSON **data, pb_err *err);

#endif
