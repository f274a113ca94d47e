/* github.h — GitHub REST + GraphQL client: PAT or App auth, link pagination, ETags, rate limits, retries. */
#ifndef PB_GITHUB_H
#define PB_GITHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pb_clock.h"
#include "pb_config.h"
#include "pb_err.h"

/*
 * One pb_github per worker thread (it owns a pb_http, an ETag cache, the
 * write budget and the installation token). Every call is synchronous:
 *
 *   - headers: Accept: application/vnd.github+json, X-GitHub-Api-Version:
 *     2022-11-28, User-Agent, Authorization: Bearer <token>; GETs follow redirects.
 *   - lists follow the `link` header's rel="next" only (per_page=100).
 *   - GETs send If-None-Match from a per-URL ETag cache; a 304 returns the cached body.
 *   - 403/429 with x-ratelimit-remaining 0 wait until x-ratelimit-reset,
 *     retry-after is honoured, a secondary limit without it waits ≥ 60 s;
 *     all waits go through the clock (a fake clock in tests).
 *   - POST/PUT/PATCH/DELETE draw from a token bucket of content_writes_per_min.
 *   - 5xx and transport errors are retried with backoff + jitter for requests
 *     that are safe to repeat: GET, PATCH of an issue (absolute values), PUT of
 *     contents (a repeat after success gets 409/422, never a second commit),
 *     adding labels (a set), removing a label (a repeat gets 404). Creating
 *     issues, comments, labels, deployments, statuses, dispatches and GraphQL
 *     mutations are not retried once they may have reached GitHub:
 *     pb_github_maybe_sent() then says the caller must look before repeating.
 *
 * Returns: 0 ok; PB_E_NOTFOUND (404/410), PB_E_REFUSED (401/403), PB_E_CONFLICT
 * (409), PB_E_INVALID (400/422, GraphQL errors), PB_E_UNAVAILABLE (5xx,
 * rate limited beyond the wait bound, timeouts, HTML pages, malformed or
 * oversized JSON); <0 fatal. err reads e.g.
 * "GitHub: Not Found (HTTP 404) for POST /repos/o/r/issues".
 */
typedef struct pb_github pb_github;

/* Reads the token (token_env/token_file) or the App key; the clock drives waits and JWTs. */
int pb_github_new(const pb_github_cfg *cfg, const pb_clock *clock, pb_github **out, pb_err *err);
void pb_github_free(pb_github *g);
/* After a failed call: true when the request may have taken effect on GitHub. */
bool pb_github_maybe_sent(const pb_github *g);
/*
 * A gate asked right before every try of every request (after the write
 * budget's, a rate limit's or a backoff's wait): false sends nothing and the
 * call returns PB_E_UNAVAILABLE. The runtime's background workers are gated on
 * still holding the scheduler lease, so a replica that stalled past its lease
 * starts no request after a new leader took over (see commands/gh_deliver.c).
 */
void pb_github_set_gate(pb_github *g, bool (*may_send)(void *ud), void *ud);
/* Asks the gate now (true without one); the answer also sets pb_github_gate_refused. */
bool pb_github_may_send(pb_github *g);
/* After a failed call: true when the gate stopped it (nothing of that try left). */
bool pb_github_gate_refused(const pb_github *g);

typedef struct pb_github_stats {
	uint64_t requests;        /* HTTP requests sent */
	uint64_t not_modified;    /* 304 answers served from the ETag cache */
	uint64_t retries;         /* repeats after 5xx / transport errors / limits */
	int64_t waited_ms;        /* time spent waiting (rate limits, backoff, write budget) */
	int64_t rate_remaining;   /* last x-ratelimit-remaining, -1 unknown */
	int64_t rate_reset;       /* last x-ratelimit-reset (epoch s), 0 unknown */
} pb_github_stats;
void pb_github_get_stats(const pb_github *g, pb_github_stats *out);

/*
 * A raw call: path is "/repos/…" (appended to api_url) and may carry a query;
 * body is borrowed (NULL = none). *out (may be NULL) receives the parsed JSON
 * (NULL for 204). `idempotent` decides about retries as described above.
 */
int pb_github_request(pb_github *g, const char *method, const char *path, const cJSON *body,
		      bool idempotent, cJSON **out, pb_err *err);
/*
 * Every page of a list, following link rel="next"; items_key names the array
 * inside an object page ("check_runs"), NULL when pages are arrays. At most
 * max_items (0 = 10,000) are collected. *out is a new array.
 */
int pb_github_get_all(pb_github *g, const char *path, const char *items_key, size_t max_items,
		      cJSON **out, pb_err *err);

/* ---- issues ---- */
typedef struct pb_github_issue {
	int64_t number;
	int64_t id;
	char node_id[64];
	char state[16];           /* open | closed */
	char state_reason[24];    /* "" | completed | not_planned | reopened | duplicate */
	char html_url[512];
	char user[64];            /* login of who opened it ("" when GitHub gave none) */
	char *title;
	char *body;               /* NULL when GitHub has none */
	char **labels;
	size_t nlabels;
	bool pull_request;
} pb_github_issue;
void pb_github_issue_deinit(pb_github_issue *i);
void pb_github_issues_free(pb_github_issue *v, size_t n);
bool pb_github_issue_has_label(const pb_github_issue *i, const char *name);

int pb_github_issue_create(pb_github *g, const char *repo, const char *title, const char *body,
			   const char *const *labels, size_t nlabels, pb_github_issue *out, pb_err *err);
int pb_github_issue_get(pb_github *g, const char *repo, int64_t number, pb_github_issue *out,
			pb_err *err);
/* NULL fields stay unchanged; state "open"/"closed", state_reason as GitHub names them. */
typedef struct pb_github_issue_patch {
	const char *title;
	const char *body;
	const char *state;
	const char *state_reason;
} pb_github_issue_patch;
int pb_github_issue_update(pb_github *g, const char *repo, int64_t number, const pb_github_issue_patch *p,
			   pb_github_issue *out, pb_err *err);
/* Closes with state_reason "completed" or "not_planned". out may be NULL. */
int pb_github_issue_close(pb_github *g, const char *repo, int64_t number, const char *state_reason,
			  pb_github_issue *out, pb_err *err);
/* Issues (never pull requests) carrying every label in `labels` ("a,b"; NULL = any), state open|closed|all. */
int pb_github_issues_list(pb_github *g, const char *repo, const char *labels, const char *state,
			  pb_github_issue **out, size_t *n, pb_err *err);

/* ---- labels ---- */
int pb_github_labels_add(pb_github *g, const char *repo, int64_t number, const char *const *labels,
			 size_t n, pb_err *err);
/* PB_E_NOTFOUND when the issue does not carry it ("Label does not exist"). */
int pb_github_label_remove(pb_github *g, const char *repo, int64_t number, const char *name, pb_err *err);
/* color "rrggbb"; PB_E_CONFLICT when the repository already has it. */
int pb_github_label_create(pb_github *g, const char *repo, const char *name, const char *color,
			   const char *description, pb_err *err);
/* Names of the repository's labels (malloc'd vector of malloc'd strings). */
int pb_github_labels_list(pb_github *g, const char *repo, char ***names, size_t *n, pb_err *err);
void pb_github_strv_free(char **v, size_t n);

/* ---- comments ---- */
typedef struct pb_github_comment {
	int64_t id;
	char *body;
	char user[64];
	char html_url[512];
	int64_t created_at;       /* epoch s */
} pb_github_comment;
void pb_github_comments_free(pb_github_comment *v, size_t n);
int pb_github_comment_create(pb_github *g, const char *repo, int64_t number, const char *body,
			     int64_t *id_out, pb_err *err);
int pb_github_comments_list(pb_github *g, const char *repo, int64_t number, pb_github_comment **out,
			    size_t *n, pb_err *err);

/* ---- contents ---- */
typedef struct pb_github_content {
	char *data;               /* decoded bytes, NUL-terminated */
	size_t len;
	char sha[41];             /* blob sha: pass it back to update */
} pb_github_content;
void pb_github_content_deinit(pb_github_content *c);
/* ref NULL = default branch. */
int pb_github_content_get(pb_github *g, const char *repo, const char *path, const char *ref,
			  pb_github_content *out, pb_err *err);
/* sha NULL creates; PB_E_CONFLICT when sha is stale (409). new_sha (41 bytes, may be NULL) gets the blob sha. */
int pb_github_content_put(pb_github *g, const char *repo, const char *path, const char *data, size_t len,
			  const char *message, const char *sha, const char *branch, char *new_sha,
			  pb_err *err);

/* ---- refs, checks, statuses ---- */
/* "heads/main", "tags/v1.2" → the commit sha (41 bytes). */
int pb_github_ref_sha(pb_github *g, const char *repo, const char *ref, char *sha, pb_err *err);
typedef struct pb_github_check {
	int64_t id;
	char name[128];
	char status[24];          /* queued | in_progress | completed */
	char conclusion[24];      /* "" while not completed; success | failure | … */
	char html_url[512];
	char output_title[256];   /* output.title ("" when null) */
	char output_summary[512]; /* the first 511 bytes of output.summary ("" when null) */
} pb_github_check;
int pb_github_check_runs(pb_github *g, const char *repo, const char *sha, pb_github_check **out, size_t *n,
			 pb_err *err);
typedef struct pb_github_status_ctx {
	char context[128];
	char state[16];           /* error | failure | pending | success */
	char target_url[512];
	char description[144];    /* GitHub keeps ≤ 140 characters; "" when null */
} pb_github_status_ctx;
typedef struct pb_github_combined {
	char state[16];
	pb_github_status_ctx *statuses;
	size_t n;
} pb_github_combined;
void pb_github_combined_deinit(pb_github_combined *c);
int pb_github_combined_status(pb_github *g, const char *repo, const char *sha, pb_github_combined *out,
			      pb_err *err);

/* ---- actions ---- */
/* workflow: id or file name; inputs borrowed, may be NULL. */
int pb_github_workflow_dispatch(pb_github *g, const char *repo, const char *workflow, const char *ref,
				const cJSON *inputs, pb_err *err);
typedef struct pb_github_run {
	int64_t id;
	int64_t run_number;
	int64_t workflow_id;
	char event[32];
	char status[24];
	char conclusion[24];      /* "" until completed */
	char head_sha[41];
	char html_url[512];
	char display_title[256];  /* the issue's title for `issues` runs, the run-name / workflow name otherwise */
	int64_t created_at;       /* epoch s */
} pb_github_run;
/* Newest first; workflow NULL = every workflow; event NULL = any; at most max (0 = 100). */
int pb_github_runs_list(pb_github *g, const char *repo, const char *workflow, const char *event, size_t max,
			pb_github_run **out, size_t *n, pb_err *err);
int pb_github_run_get(pb_github *g, const char *repo, int64_t run_id, pb_github_run *out, pb_err *err);

/* ---- deployments ---- */
/* auto_merge false, required_contexts [] (the bot validated already). */
int pb_github_deployment_create(pb_github *g, const char *repo, const char *ref, const char *environment,
				const char *description, int64_t *id_out, pb_err *err);
/* state: in_progress | success | failure | inactive | …; urls and description may be NULL. */
int pb_github_deployment_status(pb_github *g, const char *repo, int64_t deployment_id, const char *state,
				const char *log_url, const char *environment_url, const char *description,
				pb_err *err);

/* ---- GraphQL ---- */
/* POST <graphql>; *data (may be NULL) gets the "data" member. errors[] fail the call even with HTTP 200. */
int pb_github_graphql(pb_github *g, const char *query, const cJSON *variables, cJSON **data, pb_err *err);

/* ---- GitHub App ---- */
/*
 * An RS256 JWT for the App (iat = now-60, exp = now+540, iss = app_id),
 * signed with the PEM private key. *out is malloc'd.
 */
int pb_github_app_jwt(const char *pem, size_t pem_len, int64_t app_id, int64_t now_s, char **out,
		      pb_err *err);

#endif
