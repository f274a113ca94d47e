/* github_fake.h — an in-memory GitHub REST + GraphQL fake (from @octokit/openapi) for the GitHub tests. */
#ifndef GITHUB_FAKE_H
#define GITHUB_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Serves on 127.0.0.1:0 through http_fake. State lives in memory and is
 * seeded by the test (repositories, tokens, refs, files, checks, workflows,
 * a GitHub App). Every answer carries GitHub's headers (x-ratelimit-*,
 * x-github-request-id, ETag on GET, link on lists); errors carry GitHub's
 * body {"message","documentation_url","status"}. "now" is the fake's own
 * clock (epoch seconds) so rate-limit resets line up with a test's fake clock.
 */
typedef struct github_fake github_fake;

int github_fake_start(github_fake **out);
void github_fake_free(github_fake *f);
/* "http://127.0.0.1:PORT" — the api_url to configure. */
const char *github_fake_url(const github_fake *f);

void github_fake_set_now(github_fake *f, int64_t epoch_s);
/* Accepts this PAT from now on. */
void github_fake_add_token(github_fake *f, const char *token);
/* Creates "owner/name" with default branch main at a first commit (README.md). */
void github_fake_add_repo(github_fake *f, const char *full_name);
/* Renames a repository: the old name answers 301 with a Location, as GitHub does for moved repositories. */
void github_fake_rename_repo(github_fake *f, const char *old_name, const char *new_name);
/* Points refs/heads/<branch> (or tags/<tag> when ref starts with "tags/") at sha. */
void github_fake_set_ref(github_fake *f, const char *repo, const char *ref, const char *sha);
/* Writes a file on the default branch (a new commit). */
void github_fake_put_file(github_fake *f, const char *repo, const char *path, const char *data, size_t len);
/* The file's current bytes (malloc'd) or NULL. */
char *github_fake_file(github_fake *f, const char *repo, const char *path, size_t *len);
/* The same on a branch (NULL = main), e.g. one created through POST /git/refs. */
char *github_fake_branch_file(github_fake *f, const char *repo, const char *branch, const char *path);
/* Commits made in the repository so far (seeding counts too). */
int github_fake_commit_count(github_fake *f, const char *repo);
/*
 * A concurrent editor: right after each of the next n GETs of repo/path on
 * the default branch is answered, `append` is appended to the file as a new
 * commit, so the sha the client just read is stale (its PUT gets 409).
 */
void github_fake_contents_race(github_fake *f, const char *repo, const char *path, const char *append, int n);
/* The pull requests of a repository as a JSON array (malloc'd). */
char *github_fake_pulls_json(github_fake *f, const char *repo);
void github_fake_add_check_run(github_fake *f, const char *repo, const char *sha, const char *name,
			       const char *status, const char *conclusion);
void github_fake_add_status(github_fake *f, const char *repo, const char *sha, const char *context,
			    const char *state);
/* A check run with output.title / output.summary (NULL = null, as GitHub sends); returns its id. */
int64_t github_fake_add_check_run_ex(github_fake *f, const char *repo, const char *sha, const char *name,
				     const char *status, const char *conclusion, const char *title,
				     const char *summary);
/* Updates check run `id` (status, conclusion; title/summary when not NULL), as a CI provider's PATCH would. */
void github_fake_set_check_run(github_fake *f, const char *repo, int64_t id, const char *status,
			       const char *conclusion, const char *title, const char *summary);
/* A commit status with description and target_url (NULL = null). */
void github_fake_add_status_ex(github_fake *f, const char *repo, const char *sha, const char *context,
			       const char *state, const char *description, const char *target_url);
/* A workflow (id, file name) a dispatch can target. */
void github_fake_add_workflow(github_fake *f, const char *repo, int64_t id, const char *file);
/* Sets a run's status/conclusion ("completed", "success"). */
void github_fake_set_run(github_fake *f, const char *repo, int64_t run_id, const char *status,
			 const char *conclusion);
/*
 * A run GitHub started by itself (e.g. event "issues" for a labeled issue; display_title is then the
 * issue's title, as GitHub shows it), created now; conclusion NULL until completed. Returns its id.
 */
int64_t github_fake_add_run(github_fake *f, const char *repo, int64_t workflow_id, const char *event,
			    const char *display_title, const char *status, const char *conclusion);
/* A comment by `login` (e.g. "github-actions[bot]") on an issue. */
void github_fake_add_comment(github_fake *f, const char *repo, int64_t number, const char *login,
			     const char *body);
/* Adds or removes a label on an issue as someone else (a workflow) would. */
void github_fake_issue_label(github_fake *f, const char *repo, int64_t number, const char *name, bool add);
/*
 * Called before each request is served ("GET /repos/o/r/commits/…", no query), from the server
 * thread and without the fake's lock: the hook may call the functions above to change what the
 * request (and later ones) see — e.g. complete a check after the bot polled it twice. NULL = none.
 */
typedef void (*github_fake_hook)(github_fake *f, void *ud, const char *method_and_path);
void github_fake_on_request(github_fake *f, github_fake_hook hook, void *ud);

/* A Project (v2) node id with a field id the GraphQL mutations accept. */
void github_fake_add_project(github_fake *f, const char *project_id, const char *field_id);
/*
 * A typed field: data_type as ProjectV2FieldType names it (SINGLE_SELECT,
 * TEXT, DATE, NUMBER, ITERATION); options "id=name|id=name" for a single
 * select (NULL: none). The fields query answers them; a value of the wrong
 * kind, an unknown option id or a malformed date is refused as GitHub does.
 */
void github_fake_add_project_field(github_fake *f, const char *project_id, const char *field_id,
				   const char *name, const char *data_type, const char *options);
/* Items on the Project, and the item id of a content node on it (malloc'd) or NULL. */
int github_fake_project_items(github_fake *f, const char *project_id);
char *github_fake_project_item(github_fake *f, const char *project_id, const char *content_id);
/* The value last set on item/field through GraphQL (malloc'd) or NULL. */
char *github_fake_project_value(github_fake *f, const char *item_id, const char *field_id);
/* A GitHub App whose JWTs (RS256, verified with this public key) can mint installation tokens. */
void github_fake_set_app(github_fake *f, int64_t app_id, int64_t installation_id, const char *public_pem,
			 int token_ttl_s);
/* Installation tokens minted so far. */
int github_fake_tokens_minted(github_fake *f);

/* A pull request (it shows in the issues list with a "pull_request" member, as on GitHub). */
void github_fake_add_pull(github_fake *f, const char *repo, const char *title, const char *label);
/* The whole issue as JSON (malloc'd) or NULL. */
char *github_fake_issue_json(github_fake *f, const char *repo, int64_t number);
/* Number of comments on an issue. */
int github_fake_comment_count(github_fake *f, const char *repo, int64_t number);
/* An issue's comments, oldest first, as a JSON array (malloc'd) or NULL (no repo). */
char *github_fake_comments_json(github_fake *f, const char *repo, int64_t number);

/* ---- people on the web (what no API call of the bot did) ---- */
/* An issue `login` opened (e.g. from an issue form) with labels "a,b"; returns its number (0: no repo). */
int64_t github_fake_add_issue(github_fake *f, const char *repo, const char *login, const char *title,
			      const char *body, const char *labels);
/* Closes ("closed", reason "completed"/"not_planned"/NULL) or reopens ("open") an issue by hand. */
void github_fake_set_issue_state(github_fake *f, const char *repo, int64_t number, const char *state,
				 const char *reason);
/* Deletes an issue: GET then answers 410 "This issue was deleted", as GitHub does. */
void github_fake_delete_issue(github_fake *f, const char *repo, int64_t number);
/* The `permissions` GET /repos/{o}/{r} reports for the token's user (none until set). */
void github_fake_set_repo_permissions(github_fake *f, const char *repo, bool admin, bool push, bool pull);

/* ---- faults: each applies to the next n requests ---- */
typedef enum {
	GITHUB_FAULT_STATUS,      /* answer `status` (500, 502, …) with GitHub's error body, do nothing */
	GITHUB_FAULT_RATE_LIMIT,  /* `status` (403/429), x-ratelimit-remaining 0, reset at `arg` (epoch s) */
	GITHUB_FAULT_SECONDARY,   /* 403 secondary rate limit with retry-after: `arg` seconds (none when arg < 0) */
	GITHUB_FAULT_HANG,        /* never answer */
	GITHUB_FAULT_DROP,        /* do the work, then close without answering (unknown outcome) */
	GITHUB_FAULT_HTML,        /* `status` with a proxy's HTML page */
	GITHUB_FAULT_HUGE,        /* 200 with a JSON body of `arg` bytes */
	GITHUB_FAULT_MALFORMED,   /* 200 with truncated JSON */
	GITHUB_FAULT_GRAPHQL_LIMITED, /* 200 with GraphQL errors[] of type RATE_LIMITED (GraphQL's own limit) */
	GITHUB_FAULT_COMMIT_HANG, /* do the work, then never answer (the client times out or dies not knowing) */
} github_fault_kind;

void github_fake_fault(github_fake *f, github_fault_kind kind, int n, int status, int64_t arg);
/* The same for the next n requests whose "METHOD /path" starts with `match` ("PUT /repos/o/r/contents/"). */
void github_fake_fault_on(github_fake *f, const char *match, github_fault_kind kind, int n, int status, int64_t arg);
/* Drops the faults not used up yet. */
void github_fake_fault_clear(github_fake *f);

/* Requests seen so far ("POST /repos/o/r/issues"); with status 0 any status counts. */
int github_fake_count(github_fake *f, const char *method_and_path_prefix, int status);
/* The User-Agent / Authorization of the last request (copied into out). */
void github_fake_last_header(github_fake *f, const char *name, char *out, size_t size);

#endif
