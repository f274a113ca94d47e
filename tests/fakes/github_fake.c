/* github_fake.c — GitHub REST + GraphQL fake on http_fake, written from @octokit/openapi (api.github.com.json). */
#include "github_fake.h"
#include "http_fake.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DOCS "https://docs.github.com/rest"
#define RATE_LIMIT 5000
#define MAX_FAULTS 16

typedef struct fault {
	github_fault_kind kind;
	int n;
	int status;
	int64_t arg;
	char match[256];     /* "METHOD /path" prefix the fault is limited to; "" = any request */
} fault;

struct github_fake {
	http_fake *http;
	char url[64];
	pthread_mutex_t lock;
	int64_t now;
	int64_t next_id;
	int remaining;
	cJSON *tokens;       /* array of accepted tokens */
	cJSON *repos;        /* object full_name -> repo state */
	cJSON *projects;     /* object project_id -> { field_id: true } */
	cJSON *moved;        /* object old full_name -> new full_name */
	cJSON *items;        /* object item_id -> { project, content, values{} } */
	cJSON *log;          /* array of "METHOD /path status" */
	char last_ua[256];
	char last_auth[256];
	fault faults[MAX_FAULTS];
	int nfaults;
	int64_t app_id, installation_id;
	EVP_PKEY *app_key;
	int token_ttl_s;
	int minted;
	github_fake_hook hook;
	void *hook_ud;
	/* contents race: after each of the next `race_n` GETs of race_repo/race_path, race_text is appended (a commit) */
	char race_repo[256];
	char race_path[512];
	char *race_text;
	int race_n;
};

/* ---- small helpers ----------------------------------------------------- */

static void issue_add_label(github_fake *f, cJSON *r, cJSON *issue, const char *name);

static void iso_time(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *key, int64_t t)
{
	char b[32];

	iso_time(t, b, sizeof(b));
	cJSON_AddStringToObject(o, key, b);
}

static void sha1_hex(const void *data, size_t len, char out[41])
{
	unsigned char md[20];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL);
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Git's blob id: sha1("blob <len>\0" + data). */
static void blob_sha(const char *data, size_t len, char out[41])
{
	char head[40];
	int hl = snprintf(head, sizeof(head), "blob %zu", len) + 1;
	char *buf = malloc((size_t)hl + len);

	if (!buf) {
		out[0] = '\0';
		return;
	}
	memcpy(buf, head, (size_t)hl);
	memcpy(buf + hl, data, len);
	sha1_hex(buf, (size_t)hl + len, out);
	free(buf);
}

static void new_commit_sha(github_fake *f, char out[41])
{
	char seed[64];
	int n = snprintf(seed, sizeof(seed), "commit %" PRId64, f->next_id++);

	sha1_hex(seed, (size_t)n, out);
}

/* Base64 the way GitHub's contents API returns it: a newline after every 60 characters. */
static char *b64_github(const char *data, size_t len)
{
	size_t elen = 4 * ((len + 2) / 3);
	char *flat = malloc(elen + 1), *out;
	size_t o = 0;

	if (!flat)
		return NULL;
	EVP_EncodeBlock((unsigned char *)flat, (const unsigned char *)data, (int)len);
	out = malloc(elen + elen / 60 + 2);
	if (!out) {
		free(flat);
		return NULL;
	}
	for (size_t i = 0; i < elen; i++) {
		out[o++] = flat[i];
		if ((i + 1) % 60 == 0)
			out[o++] = '\n';
	}
	if (elen % 60)
		out[o++] = '\n';
	out[o] = '\0';
	free(flat);
	return out;
}

/* Decodes standard or url-safe base64, ignoring whitespace; NULL when invalid. */
static char *b64_decode(const char *in, bool url, size_t *out_len)
{
	size_t n = strlen(in), k = 0;
	char *clean = malloc(n + 4), *out;
	int r;

	if (!clean)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];

		if (isspace((unsigned char)ch))
			continue;
		if (url && ch == '-')
			ch = '+';
		else if (url && ch == '_')
			ch = '/';
		else if (!isalnum((unsigned char)ch) && ch != '+' && ch != '/' && ch != '=') {
			free(clean);
			return NULL;
		}
		clean[k++] = ch;
	}
	while (url && k % 4)
		clean[k++] = '=';
	if (k % 4) {
		free(clean);
		return NULL;
	}
	out = malloc(k / 4 * 3 + 1);
	r = out ? EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)k) : -1;
	if (r < 0) {
		free(out);
		free(clean);
		return NULL;
	}
	for (size_t i = k; i > 0 && clean[i - 1] == '='; i--)
		r--;
	out[r] = '\0';
	*out_len = (size_t)r;
	free(clean);
	return out;
}

static void error_reply(http_fake_resp *resp, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char st[8];
	char *s;

	snprintf(st, sizeof(st), "%d", status);
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "documentation_url", DOCS);
	cJSON_AddStringToObject(o, "status", st);
	s = cJSON_PrintUnformatted(o);
	http_fake_resp_set(resp, status, "application/json; charset=utf-8", s, strlen(s));
	free(s);
	cJSON_Delete(o);
}

/* 422 "Validation Failed" with one errors[] entry, as GitHub words schema problems. */
static void invalid_reply(http_fake_resp *resp, const char *resource, const char *code, const char *field)
{
	cJSON *o = cJSON_CreateObject(), *errs, *e;
	char *s;

	cJSON_AddStringToObject(o, "message", "Validation Failed");
	errs = cJSON_AddArrayToObject(o, "errors");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "resource", resource);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "field", field);
	cJSON_AddItemToArray(errs, e);
	cJSON_AddStringToObject(o, "documentation_url", DOCS);
	cJSON_AddStringToObject(o, "status", "422");
	s = cJSON_PrintUnformatted(o);
	http_fake_resp_set(resp, 422, "application/json; charset=utf-8", s, strlen(s));
	free(s);
	cJSON_Delete(o);
}

/* 422 "Validation Failed" with a custom errors[] message (how GitHub words e.g. an existing pull request). */
static void custom_invalid_reply(http_fake_resp *resp, const char *resource, const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s;

	cJSON_AddStringToObject(o, "message", "Validation Failed");
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "resource", resource);
	cJSON_AddStringToObject(e, "code", "custom");
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "errors"), e);
	cJSON_AddStringToObject(o, "documentation_url", DOCS);
	cJSON_AddStringToObject(o, "status", "422");
	s = cJSON_PrintUnformatted(o);
	http_fake_resp_set(resp, 422, "application/json; charset=utf-8", s, strlen(s));
	free(s);
	cJSON_Delete(o);
}

/* Replies with JSON; GETs get an ETag and a 304 when If-None-Match matches. Takes o. */
static void json_reply(github_fake *f, const http_fake_req *req, http_fake_resp *resp, int status, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	char sha[41], etag[48];
	const char *inm = http_fake_header(req, "If-None-Match");

	cJSON_Delete(o);
	if (!s) {
		error_reply(resp, 500, "Server Error");
		return;
	}
	if (strcmp(req->method, "GET") == 0 && status == 200) {
		sha1_hex(s, strlen(s), sha);
		snprintf(etag, sizeof(etag), "W/\"%s\"", sha);
		http_fake_resp_header(resp, "ETag: %s", etag);
		http_fake_resp_header(resp, "Cache-Control: private, max-age=60, s-maxage=60");
		if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, etag + 2) == 0)) {
			resp->status = 304;
			f->remaining++; /* a 304 does not count against the rate limit */
			free(s);
			return;
		}
	}
	http_fake_resp_set(resp, status, "application/json; charset=utf-8", s, strlen(s));
	free(s);
}

/* Paginates arr (taken) by per_page/page and sets the link header GitHub sends. */
static cJSON *paginate(github_fake *f, const http_fake_req *req, http_fake_resp *resp, cJSON *arr)
{
	char v[32], base[1024], q[1024] = "";
	long per = 30, page = 1, total = cJSON_GetArraySize(arr), last;
	cJSON *out = cJSON_CreateArray();
	const char *p = req->query;

	if (http_fake_query(req, "per_page", v, sizeof(v)))
		per = strtol(v, NULL, 10);
	if (per < 1)
		per = 30;
	if (per > 100)
		per = 100;
	if (http_fake_query(req, "page", v, sizeof(v)))
		page = strtol(v, NULL, 10);
	if (page < 1)
		page = 1;
	for (long i = (page - 1) * per; i < page * per && i < total; i++)
		cJSON_AddItemToArray(out, cJSON_Duplicate(cJSON_GetArrayItem(arr, (int)i), 1));
	cJSON_Delete(arr);
	last = total ? (total + per - 1) / per : 1;
	/* The other query parameters stay; page/per_page are rewritten like GitHub does. */
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (strncmp(p, "page=", 5) != 0 && strncmp(p, "per_page=", 9) != 0)
			snprintf(q + strlen(q), sizeof(q) - strlen(q), "%.*s&", (int)len, p);
		p = amp ? amp + 1 : NULL;
	}
	snprintf(base, sizeof(base), "%s%s?%sper_page=%ld", f->url, req->path, q, per);
	if (last > 1) {
		char link[4096] = "";

		if (page < last)
			snprintf(link + strlen(link), sizeof(link) - strlen(link),
				 "<%s&page=%ld>; rel=\"next\", <%s&page=%ld>; rel=\"last\"", base, page + 1,
				 base, last);
		if (page > 1)
			snprintf(link + strlen(link), sizeof(link) - strlen(link),
				 "%s<%s&page=%ld>; rel=\"prev\", <%s&page=1>; rel=\"first\"",
				 link[0] ? ", " : "", base, page - 1, base);
		http_fake_resp_header(resp, "Link: %s", link);
	}
	return out;
}

static cJSON *body_json(const http_fake_req *req)
{
	return req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
}

static cJSON *obj(cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *str(cJSON *o, const char *key)
{
	cJSON *v = obj(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- repository state -------------------------------------------------- */

static cJSON *repo_get(github_fake *f, const char *full)
{
	return obj(f->repos, full);
}

static void repo_url(github_fake *f, cJSON *r, char *out, size_t size)
{
	snprintf(out, size, "%s/repos/%s", f->url, r->string);
}

static cJSON *label_new(github_fake *f, cJSON *r, const char *name, const char *color, const char *desc)
{
	cJSON *l = cJSON_CreateObject();
	char u[512], nid[48];
	int64_t id = f->next_id++;

	repo_url(f, r, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/labels/%s", name);
	snprintf(nid, sizeof(nid), "LA_kw%" PRId64, id);
	cJSON_AddNumberToObject(l, "id", (double)id);
	cJSON_AddStringToObject(l, "node_id", nid);
	cJSON_AddStringToObject(l, "url", u);
	cJSON_AddStringToObject(l, "name", name);
	cJSON_AddStringToObject(l, "color", color ? color : "ededed");
	cJSON_AddBoolToObject(l, "default", 0);
	if (desc)
		cJSON_AddStringToObject(l, "description", desc);
	else
		cJSON_AddNullToObject(l, "description");
	cJSON_AddItemToArray(obj(r, "labels"), l);
	return l;
}

static cJSON *label_find(cJSON *r, const char *name)
{
	cJSON *l;

	cJSON_ArrayForEach(l, obj(r, "labels"))
		if (strcasecmp(str(l, "name"), name) == 0)
			return l;
	return NULL;
}

static cJSON *issue_find(cJSON *r, int64_t number)
{
	cJSON *i;

	cJSON_ArrayForEach(i, obj(r, "issues"))
		if ((int64_t)cJSON_GetNumberValue(obj(i, "number")) == number)
			return i;
	return NULL;
}

static void set_ref(github_fake *f, cJSON *r, const char *ref, const char *sha)
{
	cJSON *refs = obj(r, "refs");
	char full[256];

	(void)f;
	snprintf(full, sizeof(full), "%s%s", strncmp(ref, "tags/", 5) == 0 ? "refs/" : "refs/heads/", ref);
	cJSON_DeleteItemFromObjectCaseSensitive(refs, full);
	cJSON_AddStringToObject(refs, full, sha);
}

/* A ref, branch, tag or sha → the commit sha, or NULL. */
static const char *resolve_ref(cJSON *r, const char *ref)
{
	cJSON *refs = obj(r, "refs"), *it;
	char full[300];

	if (strncmp(ref, "refs/", 5) == 0)
		return str(refs, ref);
	snprintf(full, sizeof(full), "refs/heads/%s", ref);
	if (str(refs, full))
		return str(refs, full);
	snprintf(full, sizeof(full), "refs/tags/%s", ref);
	if (str(refs, full))
		return str(refs, full);
	snprintf(full, sizeof(full), "refs/%s", ref);
	if (str(refs, full))
		return str(refs, full);
	cJSON_ArrayForEach(it, obj(r, "commits"))
		if (strcmp(it->valuestring, ref) == 0)
			return it->valuestring;
	return NULL;
}

/* The files of a branch (NULL or "main": the default branch), or NULL when the branch does not exist. */
static cJSON *branch_files(cJSON *r, const char *branch)
{
	if (!branch || strcmp(branch, "main") == 0)
		return obj(r, "files");
	return obj(obj(r, "branches"), branch);
}

/* A new commit on `branch` (NULL = main) writing one file; the branch must exist. */
static void commit_file_on(github_fake *f, cJSON *r, const char *branch, const char *path, const char *data,
			   size_t len, char commit[41])
{
	cJSON *files = branch_files(r, branch), *e = cJSON_CreateObject();
	char sha[41];

	blob_sha(data, len, sha);
	cJSON_AddStringToObject(e, "data", data);
	cJSON_AddStringToObject(e, "sha", sha);
	cJSON_DeleteItemFromObjectCaseSensitive(files, path);
	cJSON_AddItemToObject(files, path, e);
	new_commit_sha(f, commit);
	cJSON_AddItemToArray(obj(r, "commits"), cJSON_CreateString(commit));
	set_ref(f, r, branch ? branch : "main", commit);
}

static void commit_file(github_fake *f, cJSON *r, const char *path, const char *data, size_t len,
			char commit[41])
{
	commit_file_on(f, r, NULL, path, data, len, commit);
}

/* ---- seeding API ------------------------------------------------------- */

void github_fake_add_repo(github_fake *f, const char *full_name)
{
	cJSON *r = cJSON_CreateObject();
	char commit[41];
	const char *readme = "# repo\n";

	cJSON_AddArrayToObject(r, "issues");
	cJSON_AddObjectToObject(r, "comments");
	cJSON_AddArrayToObject(r, "labels");
	cJSON_AddObjectToObject(r, "files");
	cJSON_AddObjectToObject(r, "refs");
	cJSON_AddArrayToObject(r, "commits");
	cJSON_AddArrayToObject(r, "checks");
	cJSON_AddArrayToObject(r, "statuses");
	cJSON_AddArrayToObject(r, "workflows");
	cJSON_AddArrayToObject(r, "runs");
	cJSON_AddArrayToObject(r, "deployments");
	cJSON_AddObjectToObject(r, "dstatuses");
	cJSON_AddObjectToObject(r, "branches");
	cJSON_AddArrayToObject(r, "pulls");
	cJSON_AddNumberToObject(r, "next_number", 1);
	pthread_mutex_lock(&f->lock);
	cJSON_AddItemToObject(f->repos, full_name, r);
	commit_file(f, r, "README.md", readme, strlen(readme), commit);
	pthread_mutex_unlock(&f->lock);
}

void github_fake_rename_repo(github_fake *f, const char *old_name, const char *new_name)
{
	cJSON *r;

	pthread_mutex_lock(&f->lock);
	r = cJSON_DetachItemFromObjectCaseSensitive(f->repos, old_name);
	if (r) {
		cJSON_AddItemToObject(f->repos, new_name, r);
		cJSON_AddStringToObject(f->moved, old_name, new_name);
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_set_ref(github_fake *f, const char *repo, const char *ref, const char *sha)
{
	cJSON *r;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		set_ref(f, r, ref, sha);
		cJSON_AddItemToArray(obj(r, "commits"), cJSON_CreateString(sha));
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_put_file(github_fake *f, const char *repo, const char *path, const char *data, size_t len)
{
	cJSON *r;
	char commit[41];

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r)
		commit_file(f, r, path, data, len, commit);
	pthread_mutex_unlock(&f->lock);
}

char *github_fake_file(github_fake *f, const char *repo, const char *path, size_t *len)
{
	cJSON *r, *e;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	e = r ? obj(obj(r, "files"), path) : NULL;
	if (e) {
		out = strdup(str(e, "data"));
		if (out && len)
			*len = strlen(out);
	}
	pthread_mutex_unlock(&f->lock);
	return out;
}

void github_fake_add_check_run(github_fake *f, const char *repo, const char *sha, const char *name,
			       const char *status, const char *conclusion)
{
	github_fake_add_check_run_ex(f, repo, sha, name, status, conclusion, NULL, NULL);
}

static void nullable_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

int64_t github_fake_add_check_run_ex(github_fake *f, const char *repo, const char *sha, const char *name,
				     const char *status, const char *conclusion, const char *title,
				     const char *summary)
{
	cJSON *r, *c = cJSON_CreateObject(), *out;
	char u[512];
	int64_t id;

	pthread_mutex_lock(&f->lock);
	id = f->next_id++;
	cJSON_AddNumberToObject(c, "id", (double)id);
	cJSON_AddStringToObject(c, "head_sha", sha);
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "status", status);
	nullable_str(c, "conclusion", conclusion);
	snprintf(u, sizeof(u), "https://github.com/%s/runs/%" PRId64, repo, id);
	cJSON_AddStringToObject(c, "html_url", u);
	add_time(c, "started_at", f->now);
	/* check-run.output: title and summary are nullable, annotations_count is always there */
	out = cJSON_AddObjectToObject(c, "output");
	nullable_str(out, "title", title);
	nullable_str(out, "summary", summary);
	cJSON_AddNullToObject(out, "text");
	cJSON_AddNumberToObject(out, "annotations_count", 0);
	r = repo_get(f, repo);
	if (r)
		cJSON_AddItemToArray(obj(r, "checks"), c);
	else
		cJSON_Delete(c);
	pthread_mutex_unlock(&f->lock);
	return id;
}

void github_fake_set_check_run(github_fake *f, const char *repo, int64_t id, const char *status,
			       const char *conclusion, const char *title, const char *summary)
{
	cJSON *r, *it, *checks;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	checks = r ? obj(r, "checks") : NULL;
	cJSON_ArrayForEach(it, checks) {
		if ((int64_t)cJSON_GetNumberValue(obj(it, "id")) != id)
			continue;
		cJSON_ReplaceItemInObjectCaseSensitive(it, "status", cJSON_CreateString(status));
		cJSON_ReplaceItemInObjectCaseSensitive(it, "conclusion", conclusion ? cJSON_CreateString(conclusion)
										      : cJSON_CreateNull());
		if (title)
			cJSON_ReplaceItemInObjectCaseSensitive(obj(it, "output"), "title", cJSON_CreateString(title));
		if (summary)
			cJSON_ReplaceItemInObjectCaseSensitive(obj(it, "output"), "summary",
							       cJSON_CreateString(summary));
		if (!strcmp(status, "completed"))
			add_time(it, "completed_at", f->now);
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_add_status(github_fake *f, const char *repo, const char *sha, const char *context,
			    const char *state)
{
	github_fake_add_status_ex(f, repo, sha, context, state, NULL, NULL);
}

void github_fake_add_status_ex(github_fake *f, const char *repo, const char *sha, const char *context,
			       const char *state, const char *description, const char *target_url)
{
	cJSON *r, *s = cJSON_CreateObject();

	pthread_mutex_lock(&f->lock);
	cJSON_AddNumberToObject(s, "id", (double)f->next_id++);
	cJSON_AddStringToObject(s, "sha", sha);
	cJSON_AddStringToObject(s, "context", context);
	cJSON_AddStringToObject(s, "state", state);
	nullable_str(s, "target_url", target_url);
	nullable_str(s, "description", description);
	add_time(s, "created_at", f->now);
	r = repo_get(f, repo);
	if (r)
		cJSON_AddItemToArray(obj(r, "statuses"), s);
	else
		cJSON_Delete(s);
	pthread_mutex_unlock(&f->lock);
}

void github_fake_add_workflow(github_fake *f, const char *repo, int64_t id, const char *file)
{
	cJSON *r, *w = cJSON_CreateObject();
	char path[300];

	snprintf(path, sizeof(path), ".github/workflows/%s", file);
	cJSON_AddNumberToObject(w, "id", (double)id);
	cJSON_AddStringToObject(w, "path", path);
	cJSON_AddStringToObject(w, "file", file);
	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r)
		cJSON_AddItemToArray(obj(r, "workflows"), w);
	else
		cJSON_Delete(w);
	pthread_mutex_unlock(&f->lock);
}

static cJSON *run_find(cJSON *r, int64_t id)
{
	cJSON *it;

	cJSON_ArrayForEach(it, obj(r, "runs"))
		if ((int64_t)cJSON_GetNumberValue(obj(it, "id")) == id)
			return it;
	return NULL;
}

void github_fake_set_run(github_fake *f, const char *repo, int64_t run_id, const char *status,
			 const char *conclusion)
{
	cJSON *r, *run;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	run = r ? run_find(r, run_id) : NULL;
	if (run) {
		cJSON_ReplaceItemInObjectCaseSensitive(run, "status", cJSON_CreateString(status));
		cJSON_ReplaceItemInObjectCaseSensitive(run, "conclusion", conclusion ? cJSON_CreateString(conclusion)
										      : cJSON_CreateNull());
	}
	pthread_mutex_unlock(&f->lock);
}

int64_t github_fake_add_run(github_fake *f, const char *repo, int64_t workflow_id, const char *event,
			    const char *display_title, const char *status, const char *conclusion)
{
	cJSON *r, *run;
	char u[512], h[512];
	int64_t id = 0;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		const char *sha = resolve_ref(r, "heads/main");

		id = f->next_id++;
		run = cJSON_CreateObject();
		cJSON_AddNumberToObject(run, "id", (double)id);
		cJSON_AddStringToObject(run, "name", display_title);
		cJSON_AddStringToObject(run, "display_title", display_title);
		cJSON_AddNumberToObject(run, "workflow_id", (double)workflow_id);
		cJSON_AddNumberToObject(run, "run_number", cJSON_GetArraySize(obj(r, "runs")) + 1);
		cJSON_AddStringToObject(run, "event", event);
		cJSON_AddStringToObject(run, "status", status);
		nullable_str(run, "conclusion", conclusion);
		cJSON_AddStringToObject(run, "head_sha", sha ? sha : "");
		cJSON_AddStringToObject(run, "head_branch", "main");
		repo_url(f, r, u, sizeof(u));
		snprintf(u + strlen(u), sizeof(u) - strlen(u), "/actions/runs/%" PRId64, id);
		cJSON_AddStringToObject(run, "url", u);
		snprintf(h, sizeof(h), "https://github.com/%s/actions/runs/%" PRId64, repo, id);
		cJSON_AddStringToObject(run, "html_url", h);
		add_time(run, "created_at", f->now);
		add_time(run, "updated_at", f->now);
		cJSON_AddItemToArray(obj(r, "runs"), run);
	}
	pthread_mutex_unlock(&f->lock);
	return id;
}

void github_fake_add_comment(github_fake *f, const char *repo, int64_t number, const char *login, const char *body)
{
	cJSON *r, *i, *list, *c, *user;
	char key[24], u[512], h[600];
	int64_t id;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	i = r ? issue_find(r, number) : NULL;
	if (i) {
		snprintf(key, sizeof(key), "%" PRId64, number);
		list = obj(obj(r, "comments"), key);
		if (!list)
			list = cJSON_AddArrayToObject(obj(r, "comments"), key);
		id = f->next_id++;
		c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "id", (double)id);
		repo_url(f, r, u, sizeof(u));
		snprintf(u + strlen(u), sizeof(u) - strlen(u), "/issues/comments/%" PRId64, id);
		cJSON_AddStringToObject(c, "url", u);
		snprintf(h, sizeof(h), "%s#issuecomment-%" PRId64, str(i, "html_url"), id);
		cJSON_AddStringToObject(c, "html_url", h);
		cJSON_AddStringToObject(c, "body", body);
		user = cJSON_AddObjectToObject(c, "user");
		cJSON_AddStringToObject(user, "login", login);
		add_time(c, "created_at", f->now);
		add_time(c, "updated_at", f->now);
		cJSON_AddItemToArray(list, c);
		cJSON_SetNumberValue(obj(i, "comments"), cJSON_GetArraySize(list));
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_issue_label(github_fake *f, const char *repo, int64_t number, const char *name, bool add)
{
	cJSON *r, *i, *l, *labels;
	int k = 0;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	i = r ? issue_find(r, number) : NULL;
	if (i && add)
		issue_add_label(f, r, i, name);
	labels = (i && !add) ? obj(i, "labels") : NULL;
	cJSON_ArrayForEach(l, labels) {
		if (strcasecmp(str(l, "name"), name) == 0) {
			cJSON_DeleteItemFromArray(obj(i, "labels"), k);
			break;
		}
		k++;
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_on_request(github_fake *f, github_fake_hook hook, void *ud)
{
	pthread_mutex_lock(&f->lock);
	f->hook = hook;
	f->hook_ud = ud;
	pthread_mutex_unlock(&f->lock);
}

/* A field of a Project; options "id=name|id=name" (single select) or NULL. Takes the lock. */
static void project_field(github_fake *f, const char *project_id, const char *field_id, const char *name,
			  const char *data_type, const char *options)
{
	cJSON *p, *fl;

	pthread_mutex_lock(&f->lock);
	p = obj(f->projects, project_id);
	if (!p)
		p = cJSON_AddObjectToObject(f->projects, project_id);
	cJSON_DeleteItemFromObjectCaseSensitive(p, field_id);
	fl = cJSON_AddObjectToObject(p, field_id);
	cJSON_AddStringToObject(fl, "id", field_id);
	cJSON_AddStringToObject(fl, "name", name);
	cJSON_AddStringToObject(fl, "dataType", data_type);
	if (options) {
		cJSON *arr = cJSON_AddArrayToObject(fl, "options");
		char *copy = strdup(options), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, "|", &save) : NULL; tok; tok = strtok_r(NULL, "|", &save)) {
			char *eq = strchr(tok, '=');
			cJSON *o = cJSON_CreateObject();

			if (eq)
				*eq = '\0';
			cJSON_AddStringToObject(o, "id", tok);
			cJSON_AddStringToObject(o, "name", eq ? eq + 1 : tok);
			cJSON_AddItemToArray(arr, o);
		}
		free(copy);
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_add_project(github_fake *f, const char *project_id, const char *field_id)
{
	/* A single select without declared options: any option id is accepted. */
	project_field(f, project_id, field_id, field_id, "SINGLE_SELECT", NULL);
}

void github_fake_add_project_field(github_fake *f, const char *project_id, const char *field_id,
				   const char *name, const char *data_type, const char *options)
{
	project_field(f, project_id, field_id, name, data_type, options);
}

int github_fake_project_items(github_fake *f, const char *project_id)
{
	cJSON *it;
	int n = 0;

	pthread_mutex_lock(&f->lock);
	cJSON_ArrayForEach(it, f->items)
		n += strcmp(str(it, "project"), project_id) == 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}

char *github_fake_project_item(github_fake *f, const char *project_id, const char *content_id)
{
	cJSON *it;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	cJSON_ArrayForEach(it, f->items)
		if (!out && !strcmp(str(it, "project"), project_id) && !strcmp(str(it, "content"), content_id))
			out = strdup(it->string);
	pthread_mutex_unlock(&f->lock);
	return out;
}

void github_fake_contents_race(github_fake *f, const char *repo, const char *path, const char *append, int n)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->race_repo, sizeof(f->race_repo), "%s", repo);
	snprintf(f->race_path, sizeof(f->race_path), "%s", path);
	free(f->race_text);
	f->race_text = strdup(append);
	f->race_n = f->race_text ? n : 0;
	pthread_mutex_unlock(&f->lock);
}

int github_fake_commit_count(github_fake *f, const char *repo)
{
	cJSON *r;
	int n = 0;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r)
		n = cJSON_GetArraySize(obj(r, "commits"));
	pthread_mutex_unlock(&f->lock);
	return n;
}

char *github_fake_branch_file(github_fake *f, const char *repo, const char *branch, const char *path)
{
	cJSON *r, *e;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	e = r && branch_files(r, branch) ? obj(branch_files(r, branch), path) : NULL;
	if (e)
		out = strdup(str(e, "data"));
	pthread_mutex_unlock(&f->lock);
	return out;
}

char *github_fake_pulls_json(github_fake *f, const char *repo)
{
	cJSON *r;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r)
		out = cJSON_PrintUnformatted(obj(r, "pulls"));
	pthread_mutex_unlock(&f->lock);
	return out;
}

char *github_fake_project_value(github_fake *f, const char *item_id, const char *field_id)
{
	const char *v;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	v = str(obj(obj(f->items, item_id), "values"), field_id);
	if (v)
		out = strdup(v);
	pthread_mutex_unlock(&f->lock);
	return out;
}

void github_fake_set_app(github_fake *f, int64_t app_id, int64_t installation_id, const char *public_pem,
			 int token_ttl_s)
{
	BIO *b = BIO_new_mem_buf(public_pem, -1);

	pthread_mutex_lock(&f->lock);
	EVP_PKEY_free(f->app_key);
	f->app_key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	f->app_id = app_id;
	f->installation_id = installation_id;
	f->token_ttl_s = token_ttl_s > 0 ? token_ttl_s : 3600;
	pthread_mutex_unlock(&f->lock);
	BIO_free(b);
}

int github_fake_tokens_minted(github_fake *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->minted;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void github_fake_set_now(github_fake *f, int64_t epoch_s)
{
	pthread_mutex_lock(&f->lock);
	f->now = epoch_s;
	pthread_mutex_unlock(&f->lock);
}

void github_fake_add_token(github_fake *f, const char *token)
{
	pthread_mutex_lock(&f->lock);
	cJSON_AddItemToArray(f->tokens, cJSON_CreateString(token));
	pthread_mutex_unlock(&f->lock);
}

static cJSON *issue_new(github_fake *f, cJSON *r, const char *title, const char *body)
{
	cJSON *i = cJSON_CreateObject(), *user;
	int64_t number = (int64_t)cJSON_GetNumberValue(obj(r, "next_number"));
	int64_t id = f->next_id++;
	char u[512], h[512], nid[48];

	cJSON_SetNumberValue(obj(r, "next_number"), (double)(number + 1));
	repo_url(f, r, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/issues/%" PRId64, number);
	snprintf(h, sizeof(h), "https://github.com/%s/issues/%" PRId64, r->string, number);
	snprintf(nid, sizeof(nid), "I_kw%" PRId64, id);
	cJSON_AddNumberToObject(i, "id", (double)id);
	cJSON_AddStringToObject(i, "node_id", nid);
	cJSON_AddStringToObject(i, "url", u);
	cJSON_AddStringToObject(i, "html_url", h);
	cJSON_AddNumberToObject(i, "number", (double)number);
	cJSON_AddStringToObject(i, "state", "open");
	cJSON_AddNullToObject(i, "state_reason");
	cJSON_AddStringToObject(i, "title", title);
	if (body)
		cJSON_AddStringToObject(i, "body", body);
	else
		cJSON_AddNullToObject(i, "body");
	user = cJSON_AddObjectToObject(i, "user");
	cJSON_AddStringToObject(user, "login", "promobot[bot]");
	cJSON_AddNumberToObject(user, "id", 1);
	cJSON_AddArrayToObject(i, "labels");
	cJSON_AddBoolToObject(i, "locked", 0);
	cJSON_AddArrayToObject(i, "assignees");
	cJSON_AddNumberToObject(i, "comments", 0);
	add_time(i, "created_at", f->now);
	add_time(i, "updated_at", f->now);
	cJSON_AddNullToObject(i, "closed_at");
	cJSON_AddItemToArray(obj(r, "issues"), i);
	return i;
}

/* Adds label `name` to the issue (creating it in the repository like GitHub does). */
static void issue_add_label(github_fake *f, cJSON *r, cJSON *issue, const char *name)
{
	cJSON *labels = obj(issue, "labels"), *l, *it;

	cJSON_ArrayForEach(it, labels)
		if (strcasecmp(str(it, "name"), name) == 0)
			return;
	l = label_find(r, name);
	if (!l)
		l = label_new(f, r, name, NULL, NULL);
	cJSON_AddItemToArray(labels, cJSON_Duplicate(l, 1));
}

void github_fake_add_pull(github_fake *f, const char *repo, const char *title, const char *label)
{
	cJSON *r, *i, *pr;
	char u[512];

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		i = issue_new(f, r, title, NULL);
		pr = cJSON_AddObjectToObject(i, "pull_request");
		snprintf(u, sizeof(u), "%s/repos/%s/pulls/%d", f->url, repo,
			 (int)cJSON_GetNumberValue(obj(i, "number")));
		cJSON_AddStringToObject(pr, "url", u);
		if (label)
			issue_add_label(f, r, i, label);
	}
	pthread_mutex_unlock(&f->lock);
}

char *github_fake_issue_json(github_fake *f, const char *repo, int64_t number)
{
	cJSON *r, *i;
	char *out = NULL;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	i = r ? issue_find(r, number) : NULL;
	if (i)
		out = cJSON_PrintUnformatted(i);
	pthread_mutex_unlock(&f->lock);
	return out;
}

int github_fake_comment_count(github_fake *f, const char *repo, int64_t number)
{
	cJSON *r;
	char key[24];
	int n = 0;

	snprintf(key, sizeof(key), "%" PRId64, number);
	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r)
		n = cJSON_GetArraySize(obj(obj(r, "comments"), key));
	pthread_mutex_unlock(&f->lock);
	return n;
}

char *github_fake_comments_json(github_fake *f, const char *repo, int64_t number)
{
	cJSON *r, *list;
	char key[24], *out = NULL;

	snprintf(key, sizeof(key), "%" PRId64, number);
	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		list = obj(obj(r, "comments"), key);
		out = list ? cJSON_PrintUnformatted(list) : strdup("[]");
	}
	pthread_mutex_unlock(&f->lock);
	return out;
}

int64_t github_fake_add_issue(github_fake *f, const char *repo, const char *login, const char *title,
			      const char *body, const char *labels)
{
	char want[512], *save = NULL, *tok;
	cJSON *r, *i, *user;
	int64_t number = 0;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		i = issue_new(f, r, title, body);
		user = obj(i, "user");
		cJSON_ReplaceItemInObjectCaseSensitive(user, "login", cJSON_CreateString(login));
		cJSON_ReplaceItemInObjectCaseSensitive(user, "id", cJSON_CreateNumber((double)f->next_id++));
		snprintf(want, sizeof(want), "%s", labels ? labels : "");
		for (tok = strtok_r(want, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			issue_add_label(f, r, i, tok);
		number = (int64_t)cJSON_GetNumberValue(obj(i, "number"));
	}
	pthread_mutex_unlock(&f->lock);
	return number;
}

void github_fake_set_issue_state(github_fake *f, const char *repo, int64_t number, const char *state,
				 const char *reason)
{
	cJSON *r, *i;
	char t[32];

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	i = r ? issue_find(r, number) : NULL;
	if (i) {
		cJSON_ReplaceItemInObjectCaseSensitive(i, "state", cJSON_CreateString(state));
		cJSON_ReplaceItemInObjectCaseSensitive(i, "state_reason",
						       reason ? cJSON_CreateString(reason) : cJSON_CreateNull());
		iso_time(f->now, t, sizeof(t));
		cJSON_ReplaceItemInObjectCaseSensitive(i, "closed_at", strcmp(state, "closed") == 0
									       ? cJSON_CreateString(t)
									       : cJSON_CreateNull());
		add_time(i, "updated_at", f->now);
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_delete_issue(github_fake *f, const char *repo, int64_t number)
{
	cJSON *r, *i, *d;
	int k = 0;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	cJSON_ArrayForEach(i, obj(r, "issues")) {
		if ((int64_t)cJSON_GetNumberValue(obj(i, "number")) == number) {
			cJSON_DeleteItemFromArray(obj(r, "issues"), k);
			d = obj(r, "deleted");
			if (!d)
				d = cJSON_AddArrayToObject(r, "deleted");
			cJSON_AddItemToArray(d, cJSON_CreateNumber((double)number));
			break;
		}
		k++;
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_set_repo_permissions(github_fake *f, const char *repo, bool admin, bool push, bool pull)
{
	cJSON *r, *p;

	pthread_mutex_lock(&f->lock);
	r = repo_get(f, repo);
	if (r) {
		p = cJSON_CreateObject();
		cJSON_AddBoolToObject(p, "admin", admin);
		cJSON_AddBoolToObject(p, "maintain", admin);
		cJSON_AddBoolToObject(p, "push", push);
		cJSON_AddBoolToObject(p, "triage", push);
		cJSON_AddBoolToObject(p, "pull", pull);
		cJSON_DeleteItemFromObjectCaseSensitive(r, "permissions");
		cJSON_AddItemToObject(r, "permissions", p);
	}
	pthread_mutex_unlock(&f->lock);
}

void github_fake_fault(github_fake *f, github_fault_kind kind, int n, int status, int64_t arg)
{
	github_fake_fault_on(f, "", kind, n, status, arg);
}

void github_fake_fault_clear(github_fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->nfaults = 0;
	pthread_mutex_unlock(&f->lock);
}

void github_fake_fault_on(github_fake *f, const char *match, github_fault_kind kind, int n, int status, int64_t arg)
{
	pthread_mutex_lock(&f->lock);
	if (f->nfaults < MAX_FAULTS) {
		f->faults[f->nfaults] = (fault){ kind, n, status, arg, "" };
		snprintf(f->faults[f->nfaults].match, sizeof(f->faults[f->nfaults].match), "%s", match);
		f->nfaults++;
	}
	pthread_mutex_unlock(&f->lock);
}

int github_fake_count(github_fake *f, const char *prefix, int status)
{
	cJSON *it;
	int n = 0;

	pthread_mutex_lock(&f->lock);
	cJSON_ArrayForEach(it, f->log) {
		const char *line = it->valuestring;
		const char *sp = strrchr(line, ' ');

		if (strncmp(line, prefix, strlen(prefix)) == 0 && (!status || atoi(sp + 1) == status))
			n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

void github_fake_last_header(github_fake *f, const char *name, char *out, size_t size)
{
	pthread_mutex_lock(&f->lock);
	snprintf(out, size, "%s", strcasecmp(name, "User-Agent") == 0 ? f->last_ua : f->last_auth);
	pthread_mutex_unlock(&f->lock);
}

/* ---- REST handlers ----------------------------------------------------- */

typedef struct route {
	github_fake *f;
	const http_fake_req *req;
	http_fake_resp *resp;
	cJSON *repo;
	char *seg[16];   /* path segments after /repos/{owner}/{repo} */
	int nseg;
	char *rest;      /* the path after /contents/ or /git/ref/ */
} route;

static bool is(const route *rt, const char *method)
{
	return strcmp(rt->req->method, method) == 0;
}

static void not_found(route *rt)
{
	error_reply(rt->resp, 404, "Not Found");
}

static void issues_list(route *rt)
{
	char state[16] = "open", labels[512] = "";
	cJSON *arr = cJSON_CreateArray(), *i;
	int n;

	http_fake_query(rt->req, "state", state, sizeof(state));
	http_fake_query(rt->req, "labels", labels, sizeof(labels));
	if (strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "all")) {
		cJSON_Delete(arr);
		invalid_reply(rt->resp, "Issue", "invalid", "state");
		return;
	}
	/* Newest first (sort=created, direction=desc are GitHub's defaults). */
	n = cJSON_GetArraySize(obj(rt->repo, "issues"));
	for (int k = n - 1; k >= 0; k--) {
		char want[512], *save = NULL, *tok;
		bool ok = true;

		i = cJSON_GetArrayItem(obj(rt->repo, "issues"), k);
		if (strcmp(state, "all") && strcmp(state, str(i, "state")))
			continue;
		snprintf(want, sizeof(want), "%s", labels);
		for (tok = strtok_r(want, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
			cJSON *l;
			bool found = false;

			cJSON_ArrayForEach(l, obj(i, "labels"))
				found |= strcasecmp(str(l, "name"), tok) == 0;
			ok = found;
		}
		if (ok)
			cJSON_AddItemToArray(arr, cJSON_Duplicate(i, 1));
	}
	json_reply(rt->f, rt->req, rt->resp, 200, paginate(rt->f, rt->req, rt->resp, arr));
}

/* Labels from a body member: an array of strings (or of {name}). false when malformed. */
static bool labels_valid(cJSON *labels)
{
	cJSON *l;

	if (!cJSON_IsArray(labels))
		return false;
	cJSON_ArrayForEach(l, labels)
		if (!cJSON_IsString(l) && !(cJSON_IsObject(l) && str(l, "name")))
			return false;
	return true;
}

static const char *label_name(cJSON *l)
{
	return cJSON_IsString(l) ? l->valuestring : str(l, "name");
}

static void issue_create(route *rt)
{
	cJSON *b = body_json(rt->req), *labels, *l, *i;
	const char *title = str(b, "title");

	if (!title || !title[0]) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Issue", "missing_field", "title");
		return;
	}
	labels = obj(b, "labels");
	if ((labels && !labels_valid(labels)) || (obj(b, "body") && !cJSON_IsString(obj(b, "body")) &&
						   !cJSON_IsNull(obj(b, "body")))) {
		const char *field = labels && !labels_valid(labels) ? "labels" : "body";

		invalid_reply(rt->resp, "Issue", "invalid", field);
		cJSON_Delete(b);
		return;
	}
	i = issue_new(rt->f, rt->repo, title, str(b, "body"));
	cJSON_ArrayForEach(l, labels)
		issue_add_label(rt->f, rt->repo, i, label_name(l));
	json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(i, 1));
	cJSON_Delete(b);
}

static void issue_update(route *rt, cJSON *i)
{
	cJSON *b = body_json(rt->req), *v, *l;
	const char *state = str(b, "state"), *reason = str(b, "state_reason");

	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		error_reply(rt->resp, 400, "Problems parsing JSON");
		return;
	}
	if ((obj(b, "state") && (!state || (strcmp(state, "open") && strcmp(state, "closed")))) ||
	    (obj(b, "state_reason") && !cJSON_IsNull(obj(b, "state_reason")) &&
	     (!reason || (strcmp(reason, "completed") && strcmp(reason, "not_planned") &&
			  strcmp(reason, "reopened") && strcmp(reason, "duplicate")))) ||
	    (obj(b, "title") && !str(b, "title")) || (obj(b, "labels") && !labels_valid(obj(b, "labels")))) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Issue", "invalid", "state");
		return;
	}
	if ((v = obj(b, "title")))
		cJSON_ReplaceItemInObjectCaseSensitive(i, "title", cJSON_Duplicate(v, 1));
	if ((v = obj(b, "body")))
		cJSON_ReplaceItemInObjectCaseSensitive(i, "body", cJSON_Duplicate(v, 1));
	if (state) {
		bool closing = strcmp(state, "closed") == 0;

		cJSON_ReplaceItemInObjectCaseSensitive(i, "state", cJSON_CreateString(state));
		if (closing) {
			char t[32];

			iso_time(rt->f->now, t, sizeof(t));
			cJSON_ReplaceItemInObjectCaseSensitive(i, "closed_at", cJSON_CreateString(t));
		} else {
			cJSON_ReplaceItemInObjectCaseSensitive(i, "closed_at", cJSON_CreateNull());
		}
		/* Closing without a reason means "completed", as on GitHub. */
		cJSON_ReplaceItemInObjectCaseSensitive(
			i, "state_reason",
			reason ? cJSON_CreateString(reason)
			       : closing ? cJSON_CreateString("completed") : cJSON_CreateString("reopened"));
	} else if (reason) {
		cJSON_ReplaceItemInObjectCaseSensitive(i, "state_reason", cJSON_CreateString(reason));
	}
	if ((v = obj(b, "labels"))) {
		cJSON_ReplaceItemInObjectCaseSensitive(i, "labels", cJSON_CreateArray());
		cJSON_ArrayForEach(l, v)
			issue_add_label(rt->f, rt->repo, i, label_name(l));
	}
	add_time(i, "updated_at", rt->f->now);
	json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(i, 1));
	cJSON_Delete(b);
}

static void issue_labels(route *rt, cJSON *i)
{
	cJSON *b, *labels, *l;

	if (is(rt, "GET")) {
		json_reply(rt->f, rt->req, rt->resp, 200,
			   paginate(rt->f, rt->req, rt->resp, cJSON_Duplicate(obj(i, "labels"), 1)));
		return;
	}
	if (rt->nseg == 4 && is(rt, "DELETE")) {
		cJSON *arr = obj(i, "labels");
		int k = 0;

		cJSON_ArrayForEach(l, arr) {
			if (strcasecmp(str(l, "name"), rt->seg[3]) == 0) {
				cJSON_DeleteItemFromArray(arr, k);
				json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(arr, 1));
				return;
			}
			k++;
		}
		error_reply(rt->resp, 404, "Label does not exist");
		return;
	}
	if (rt->nseg != 3 || !(is(rt, "POST") || is(rt, "PUT"))) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	labels = cJSON_IsArray(b) ? b : obj(b, "labels");
	if (!labels_valid(labels)) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Label", "invalid", "labels");
		return;
	}
	if (is(rt, "PUT"))
		cJSON_ReplaceItemInObjectCaseSensitive(i, "labels", cJSON_CreateArray());
	cJSON_ArrayForEach(l, labels)
		issue_add_label(rt->f, rt->repo, i, label_name(l));
	json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(obj(i, "labels"), 1));
	cJSON_Delete(b);
}

static void issue_comments(route *rt, cJSON *i)
{
	cJSON *all = obj(rt->repo, "comments"), *list, *b, *c, *user;
	char key[24], u[512], h[600];
	int64_t number = (int64_t)cJSON_GetNumberValue(obj(i, "number")), id;

	snprintf(key, sizeof(key), "%" PRId64, number);
	list = obj(all, key);
	if (!list)
		list = cJSON_AddArrayToObject(all, key);
	if (is(rt, "GET")) {
		json_reply(rt->f, rt->req, rt->resp, 200,
			   paginate(rt->f, rt->req, rt->resp, cJSON_Duplicate(list, 1)));
		return;
	}
	if (!is(rt, "POST")) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	if (!str(b, "body")) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "IssueComment", "missing_field", "body");
		return;
	}
	id = rt->f->next_id++;
	c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "id", (double)id);
	repo_url(rt->f, rt->repo, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/issues/comments/%" PRId64, id);
	cJSON_AddStringToObject(c, "url", u);
	snprintf(h, sizeof(h), "%s#issuecomment-%" PRId64, str(i, "html_url"), id);
	cJSON_AddStringToObject(c, "html_url", h);
	cJSON_AddStringToObject(c, "body", str(b, "body"));
	user = cJSON_AddObjectToObject(c, "user");
	cJSON_AddStringToObject(user, "login", "promobot[bot]");
	add_time(c, "created_at", rt->f->now);
	add_time(c, "updated_at", rt->f->now);
	cJSON_AddItemToArray(list, c);
	cJSON_SetNumberValue(obj(i, "comments"), cJSON_GetArraySize(list));
	json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(c, 1));
	cJSON_Delete(b);
}

static bool issue_was_deleted(cJSON *r, int64_t number)
{
	cJSON *d;

	cJSON_ArrayForEach(d, obj(r, "deleted"))
		if ((int64_t)cJSON_GetNumberValue(d) == number)
			return true;
	return false;
}

static void issues(route *rt)
{
	cJSON *i;
	char *end;
	long long n;

	if (rt->nseg == 1) {
		if (is(rt, "GET"))
			issues_list(rt);
		else if (is(rt, "POST"))
			issue_create(rt);
		else
			not_found(rt);
		return;
	}
	n = strtoll(rt->seg[1], &end, 10);
	i = *end ? NULL : issue_find(rt->repo, n);
	if (!i && !*end && issue_was_deleted(rt->repo, n)) {
		error_reply(rt->resp, 410, "This issue was deleted");
		return;
	}
	if (!i) {
		not_found(rt);
		return;
	}
	if (rt->nseg == 2 && is(rt, "GET"))
		json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(i, 1));
	else if (rt->nseg == 2 && is(rt, "PATCH"))
		issue_update(rt, i);
	else if (rt->nseg >= 3 && strcmp(rt->seg[2], "labels") == 0)
		issue_labels(rt, i);
	else if (rt->nseg == 3 && strcmp(rt->seg[2], "comments") == 0)
		issue_comments(rt, i);
	else
		not_found(rt);
}

static void repo_labels(route *rt)
{
	cJSON *b, *l;
	const char *name, *color;

	if (rt->nseg == 1 && is(rt, "GET")) {
		json_reply(rt->f, rt->req, rt->resp, 200,
			   paginate(rt->f, rt->req, rt->resp, cJSON_Duplicate(obj(rt->repo, "labels"), 1)));
		return;
	}
	if (rt->nseg == 2 && is(rt, "GET")) {
		l = label_find(rt->repo, rt->seg[1]);
		if (l)
			json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(l, 1));
		else
			not_found(rt);
		return;
	}
	if (rt->nseg != 1 || !is(rt, "POST")) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	name = str(b, "name");
	color = str(b, "color");
	if (!name || !name[0]) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Label", "missing_field", "name");
		return;
	}
	if (color && (strlen(color) != 6 || strspn(color, "0123456789abcdefABCDEF") != 6)) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Label", "invalid", "color");
		return;
	}
	if (label_find(rt->repo, name)) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Label", "already_exists", "name");
		return;
	}
	l = label_new(rt->f, rt->repo, name, color, str(b, "description"));
	json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(l, 1));
	cJSON_Delete(b);
}

static cJSON *content_obj(route *rt, const char *path, cJSON *e, bool with_content)
{
	cJSON *o = cJSON_CreateObject(), *links;
	const char *data = str(e, "data"), *slash = strrchr(path, '/');
	char u[1024], h[1024];

	repo_url(rt->f, rt->repo, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/contents/%s", path);
	snprintf(h, sizeof(h), "https://github.com/%s/blob/main/%s", rt->repo->string, path);
	cJSON_AddStringToObject(o, "type", "file");
	cJSON_AddNumberToObject(o, "size", (double)strlen(data));
	cJSON_AddStringToObject(o, "name", slash ? slash + 1 : path);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "sha", str(e, "sha"));
	cJSON_AddStringToObject(o, "url", u);
	cJSON_AddStringToObject(o, "html_url", h);
	cJSON_AddNullToObject(o, "download_url");
	if (with_content) {
		char *b64 = b64_github(data, strlen(data));

		cJSON_AddStringToObject(o, "content", b64 ? b64 : "");
		cJSON_AddStringToObject(o, "encoding", "base64");
		free(b64);
	}
	links = cJSON_AddObjectToObject(o, "_links");
	cJSON_AddStringToObject(links, "self", u);
	cJSON_AddStringToObject(links, "html", h);
	return o;
}

/* The test's concurrent edit: someone commits to the file right after we read it. */
static void contents_race(route *rt)
{
	github_fake *f = rt->f;
	cJSON *e = obj(obj(rt->repo, "files"), rt->rest);
	char *text, commit[41];
	size_t n;

	if (f->race_n <= 0 || !e || strcmp(rt->repo->string, f->race_repo) || strcmp(rt->rest, f->race_path))
		return;
	f->race_n--;
	n = strlen(str(e, "data")) + strlen(f->race_text);
	text = malloc(n + 1);
	if (!text)
		return;
	snprintf(text, n + 1, "%s%s", str(e, "data"), f->race_text);
	commit_file(f, rt->repo, rt->rest, text, n, commit);
	free(text);
}

static void contents(route *rt)
{
	cJSON *files, *e, *b, *o, *commit;
	const char *content, *sha, *msg, *branch;
	char commit_sha[41], ref[256] = "";
	char *data;
	size_t len;
	bool created;

	if (is(rt, "GET")) {
		/* ?ref= names a branch (this fake's refs are branches, tags or commits of main). */
		http_fake_query(rt->req, "ref", ref, sizeof(ref));
		files = branch_files(rt->repo, ref[0] ? ref : NULL);
		if (!files && ref[0] && resolve_ref(rt->repo, ref))
			files = obj(rt->repo, "files");
		if (!files) {
			char m[400];

			snprintf(m, sizeof(m), "No commit found for the ref %s", ref);
			error_reply(rt->resp, 404, m);
			return;
		}
		e = obj(files, rt->rest);
		if (!e) {
			not_found(rt);
		} else {
			json_reply(rt->f, rt->req, rt->resp, 200, content_obj(rt, rt->rest, e, true));
			if (!ref[0])
				contents_race(rt);
		}
		return;
	}
	if (!is(rt, "PUT")) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	msg = str(b, "message");
	content = str(b, "content");
	sha = str(b, "sha");
	branch = str(b, "branch");
	if (obj(b, "branch") && !branch) {
		invalid_reply(rt->resp, "Contents", "invalid", "branch");
		cJSON_Delete(b);
		return;
	}
	files = branch_files(rt->repo, branch);
	if (!files) {
		char m[400];

		snprintf(m, sizeof(m), "Branch %s not found", branch);
		error_reply(rt->resp, 404, m);
		cJSON_Delete(b);
		return;
	}
	e = obj(files, rt->rest);
	if (!msg || !content) {
		invalid_reply(rt->resp, "Contents", "missing_field", !msg ? "message" : "content");
		cJSON_Delete(b);
		return;
	}
	if (e && !sha) {
		error_reply(rt->resp, 422, "Invalid request.\n\n\"sha\" wasn't supplied.");
		cJSON_Delete(b);
		return;
	}
	if (e && strcmp(sha, str(e, "sha")) != 0) {
		char m[1200];

		snprintf(m, sizeof(m), "%s does not match %s", rt->rest, sha);
		error_reply(rt->resp, 409, m);
		cJSON_Delete(b);
		return;
	}
	data = b64_decode(content, false, &len);
	if (!data || memchr(data, '\0', len)) {
		free(data);
		error_reply(rt->resp, 422, "content is not valid Base64");
		cJSON_Delete(b);
		return;
	}
	created = e == NULL;
	commit_file_on(rt->f, rt->repo, branch, rt->rest, data, len, commit_sha);
	free(data);
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "content", content_obj(rt, rt->rest, obj(files, rt->rest), false));
	commit = cJSON_AddObjectToObject(o, "commit");
	cJSON_AddStringToObject(commit, "sha", commit_sha);
	cJSON_AddStringToObject(commit, "message", msg);
	json_reply(rt->f, rt->req, rt->resp, created ? 201 : 200, o);
	cJSON_Delete(b);
}

/* A git reference as GET/POST .../git/ref(s) answer it. */
static cJSON *ref_obj(route *rt, const char *full, const char *sha)
{
	cJSON *o = cJSON_CreateObject(), *ob;
	char u[1024];

	cJSON_AddStringToObject(o, "ref", full);
	cJSON_AddStringToObject(o, "node_id", "REF_kw");
	repo_url(rt->f, rt->repo, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/git/%s", full);
	cJSON_AddStringToObject(o, "url", u);
	ob = cJSON_AddObjectToObject(o, "object");
	cJSON_AddStringToObject(ob, "sha", sha);
	cJSON_AddStringToObject(ob, "type", "commit");
	return o;
}

static void git_ref(route *rt)
{
	char full[600];
	const char *sha;

	snprintf(full, sizeof(full), "refs/%s", rt->rest);
	sha = str(obj(rt->repo, "refs"), full);
	if (!is(rt, "GET") || !sha) {
		not_found(rt);
		return;
	}
	json_reply(rt->f, rt->req, rt->resp, 200, ref_obj(rt, full, sha));
}

/* POST /repos/{o}/{r}/git/refs {ref, sha}: a new branch (its files are those of the commit's branch). */
static void git_refs_create(route *rt)
{
	cJSON *b = body_json(rt->req), *refs = obj(rt->repo, "refs"), *it, *src = NULL;
	const char *ref = str(b, "ref"), *sha = str(b, "sha");

	if (!ref || !sha) {
		invalid_reply(rt->resp, "Reference", "missing_field", !ref ? "ref" : "sha");
		goto out;
	}
	if (strncmp(ref, "refs/", 5) != 0 || !strchr(ref + 5, '/')) {
		error_reply(rt->resp, 422, "Reference name is invalid");
		goto out;
	}
	if (str(refs, ref)) {
		error_reply(rt->resp, 422, "Reference already exists");
		goto out;
	}
	cJSON_ArrayForEach(it, refs)
		if (cJSON_IsString(it) && strcmp(it->valuestring, sha) == 0 && strncmp(it->string, "refs/heads/", 11) == 0)
			src = branch_files(rt->repo, it->string + 11);
	if (!src && !resolve_ref(rt->repo, sha)) {
		error_reply(rt->resp, 422, "Object does not exist");
		goto out;
	}
	if (strncmp(ref, "refs/heads/", 11) == 0)
		cJSON_AddItemToObject(obj(rt->repo, "branches"), ref + 11,
				      cJSON_Duplicate(src ? src : obj(rt->repo, "files"), 1));
	cJSON_AddStringToObject(refs, ref, sha);
	json_reply(rt->f, rt->req, rt->resp, 201, ref_obj(rt, ref, sha));
out:
	cJSON_Delete(b);
}

/* GET /pulls (state, head "owner:branch", base) and POST /pulls {title, head, base, body}. */
static void pulls(route *rt)
{
	cJSON *list = obj(rt->repo, "pulls"), *it, *b, *pr, *i, *hd, *bs;
	char state[16] = "open", head[300] = "", base[256] = "", owner[128], label[400], u[512], h[512];
	const char *title, *hb, *bb, *hsha, *bsha;
	int64_t number;

	snprintf(owner, sizeof(owner), "%.*s", (int)(strchr(rt->repo->string, '/') - rt->repo->string),
		 rt->repo->string);
	if (rt->nseg != 1) {
		not_found(rt);
		return;
	}
	if (is(rt, "GET")) {
		cJSON *arr = cJSON_CreateArray();

		http_fake_query(rt->req, "state", state, sizeof(state));
		http_fake_query(rt->req, "head", head, sizeof(head));
		http_fake_query(rt->req, "base", base, sizeof(base));
		if (strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "all")) {
			cJSON_Delete(arr);
			invalid_reply(rt->resp, "PullRequest", "invalid", "state");
			return;
		}
		cJSON_ArrayForEach(it, list) {
			if (strcmp(state, "all") && strcmp(state, str(it, "state")))
				continue;
			if (head[0] && strcmp(head, str(obj(it, "head"), "label")))
				continue;
			if (base[0] && strcmp(base, str(obj(it, "base"), "ref")))
				continue;
			cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
		}
		json_reply(rt->f, rt->req, rt->resp, 200, paginate(rt->f, rt->req, rt->resp, arr));
		return;
	}
	if (!is(rt, "POST")) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	title = str(b, "title");
	hb = str(b, "head");
	bb = str(b, "base");
	if (!hb || !bb || (!title && !obj(b, "issue"))) {
		invalid_reply(rt->resp, "PullRequest", "missing_field", !hb ? "head" : !bb ? "base" : "title");
		cJSON_Delete(b);
		return;
	}
	/* head may be "owner:branch" or "branch" for the same repository. */
	if (strchr(hb, ':'))
		hb = strchr(hb, ':') + 1;
	snprintf(label, sizeof(label), "%s:%s", owner, hb);
	snprintf(head, sizeof(head), "refs/heads/%s", hb);
	snprintf(base, sizeof(base), "refs/heads/%s", bb);
	hsha = str(obj(rt->repo, "refs"), head);
	bsha = str(obj(rt->repo, "refs"), base);
	if (!hsha || !bsha) {
		invalid_reply(rt->resp, "PullRequest", "invalid", !hsha ? "head" : "base");
		cJSON_Delete(b);
		return;
	}
	cJSON_ArrayForEach(it, list)
		if (!strcmp(str(it, "state"), "open") && !strcmp(str(obj(it, "head"), "label"), label) &&
		    !strcmp(str(obj(it, "base"), "ref"), bb)) {
			char m[600];

			snprintf(m, sizeof(m), "A pull request already exists for %s.", label);
			cJSON_Delete(b);
			custom_invalid_reply(rt->resp, "PullRequest", m);
			return;
		}
	if (strcmp(hsha, bsha) == 0) {
		char m[600];

		snprintf(m, sizeof(m), "No commits between %s and %s", bb, hb);
		cJSON_Delete(b);
		custom_invalid_reply(rt->resp, "PullRequest", m);
		return;
	}
	i = issue_new(rt->f, rt->repo, title ? title : "", str(b, "body"));
	number = (int64_t)cJSON_GetNumberValue(obj(i, "number"));
	repo_url(rt->f, rt->repo, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/pulls/%" PRId64, number);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(i, "pull_request"), "url", u);
	pr = cJSON_CreateObject();
	cJSON_AddNumberToObject(pr, "id", (double)rt->f->next_id++);
	cJSON_AddNumberToObject(pr, "number", (double)number);
	cJSON_AddStringToObject(pr, "url", u);
	snprintf(h, sizeof(h), "https://github.com/%s/pull/%" PRId64, rt->repo->string, number);
	cJSON_AddStringToObject(pr, "html_url", h);
	cJSON_AddStringToObject(pr, "state", "open");
	cJSON_AddBoolToObject(pr, "draft", cJSON_IsTrue(obj(b, "draft")));
	cJSON_AddStringToObject(pr, "title", title ? title : "");
	if (str(b, "body"))
		cJSON_AddStringToObject(pr, "body", str(b, "body"));
	else
		cJSON_AddNullToObject(pr, "body");
	cJSON_AddItemToObject(pr, "user", cJSON_Duplicate(obj(i, "user"), 1));
	hd = cJSON_AddObjectToObject(pr, "head");
	cJSON_AddStringToObject(hd, "label", label);
	cJSON_AddStringToObject(hd, "ref", hb);
	cJSON_AddStringToObject(hd, "sha", hsha);
	bs = cJSON_AddObjectToObject(pr, "base");
	snprintf(label, sizeof(label), "%s:%s", owner, bb);
	cJSON_AddStringToObject(bs, "label", label);
	cJSON_AddStringToObject(bs, "ref", bb);
	cJSON_AddStringToObject(bs, "sha", bsha);
	add_time(pr, "created_at", rt->f->now);
	cJSON_AddItemToArray(list, pr);
	json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(pr, 1));
	cJSON_Delete(b);
}

static void commit_checks(route *rt)
{
	const char *sha = resolve_ref(rt->repo, rt->seg[1]);
	cJSON *arr = cJSON_CreateArray(), *it, *o;

	if (!sha) {
		cJSON_Delete(arr);
		error_reply(rt->resp, 422, "No commit found for SHA");
		return;
	}
	if (strcmp(rt->seg[2], "check-runs") == 0) {
		int total;

		cJSON_ArrayForEach(it, obj(rt->repo, "checks"))
			if (strcmp(str(it, "head_sha"), sha) == 0)
				cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
		total = cJSON_GetArraySize(arr);
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "total_count", total);
		cJSON_AddItemToObject(o, "check_runs", paginate(rt->f, rt->req, rt->resp, arr));
		json_reply(rt->f, rt->req, rt->resp, 200, o);
		return;
	}
	/* Combined status: the latest per context; failure > pending > success. */
	{
		bool failure = false, pending = false;
		int n = cJSON_GetArraySize(obj(rt->repo, "statuses"));

		for (int k = n - 1; k >= 0; k--) {
			cJSON *s = cJSON_GetArrayItem(obj(rt->repo, "statuses"), k), *seen;
			bool dup = false;

			if (strcmp(str(s, "sha"), sha) != 0)
				continue;
			cJSON_ArrayForEach(seen, arr)
				dup |= strcmp(str(seen, "context"), str(s, "context")) == 0;
			if (dup)
				continue;
			cJSON_AddItemToArray(arr, cJSON_Duplicate(s, 1));
			failure |= !strcmp(str(s, "state"), "failure") || !strcmp(str(s, "state"), "error");
			pending |= !strcmp(str(s, "state"), "pending");
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "state",
					failure ? "failure"
					: pending || cJSON_GetArraySize(arr) == 0 ? "pending"
										    : "success");
		cJSON_AddStringToObject(o, "sha", sha);
		cJSON_AddNumberToObject(o, "total_count", cJSON_GetArraySize(arr));
		cJSON_AddItemToObject(o, "statuses", arr);
		json_reply(rt->f, rt->req, rt->resp, 200, o);
	}
}

static cJSON *workflow_find(cJSON *r, const char *id)
{
	cJSON *w;

	cJSON_ArrayForEach(w, obj(r, "workflows")) {
		char num[24];

		snprintf(num, sizeof(num), "%" PRId64, (int64_t)cJSON_GetNumberValue(obj(w, "id")));
		if (strcmp(num, id) == 0 || strcmp(str(w, "file"), id) == 0)
			return w;
	}
	return NULL;
}

static void runs_list(route *rt, cJSON *only_wf)
{
	char event[64] = "", status[32] = "";
	cJSON *arr = cJSON_CreateArray(), *o, *it;
	int n = cJSON_GetArraySize(obj(rt->repo, "runs")), total;

	http_fake_query(rt->req, "event", event, sizeof(event));
	http_fake_query(rt->req, "status", status, sizeof(status));
	for (int k = n - 1; k >= 0; k--) {
		it = cJSON_GetArrayItem(obj(rt->repo, "runs"), k);
		if (only_wf && cJSON_GetNumberValue(obj(it, "workflow_id")) != cJSON_GetNumberValue(obj(only_wf, "id")))
			continue;
		if (event[0] && strcmp(event, str(it, "event")))
			continue;
		if (status[0] && strcmp(status, str(it, "status")) &&
		    !(str(it, "conclusion") && !strcmp(status, str(it, "conclusion"))))
			continue;
		cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
	}
	total = cJSON_GetArraySize(arr);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total_count", total);
	cJSON_AddItemToObject(o, "workflow_runs", paginate(rt->f, rt->req, rt->resp, arr));
	json_reply(rt->f, rt->req, rt->resp, 200, o);
}

static void actions(route *rt)
{
	cJSON *w, *b, *run;
	const char *ref, *sha;
	char u[512], h[512];
	int64_t id;

	if (rt->nseg == 2 && strcmp(rt->seg[1], "runs") == 0 && is(rt, "GET")) {
		runs_list(rt, NULL);
		return;
	}
	if (rt->nseg == 3 && strcmp(rt->seg[1], "runs") == 0 && is(rt, "GET")) {
		char *end;
		long long rid = strtoll(rt->seg[2], &end, 10);

		run = *end ? NULL : run_find(rt->repo, rid);
		if (run)
			json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(run, 1));
		else
			not_found(rt);
		return;
	}
	if (rt->nseg == 3 && strcmp(rt->seg[1], "workflows") == 0 && is(rt, "GET")) {
		w = workflow_find(rt->repo, rt->seg[2]);
		if (w) {
			cJSON *o = cJSON_CreateObject();
			char p[300];

			snprintf(p, sizeof(p), ".github/workflows/%s", str(w, "file"));
			cJSON_AddNumberToObject(o, "id", cJSON_GetNumberValue(obj(w, "id")));
			cJSON_AddStringToObject(o, "name", str(w, "file"));
			cJSON_AddStringToObject(o, "path", p);
			cJSON_AddStringToObject(o, "state", "active");
			json_reply(rt->f, rt->req, rt->resp, 200, o);
		} else {
			not_found(rt);
		}
		return;
	}
	if (rt->nseg != 4 || strcmp(rt->seg[1], "workflows") != 0 || !(w = workflow_find(rt->repo, rt->seg[2]))) {
		not_found(rt);
		return;
	}
	if (strcmp(rt->seg[3], "runs") == 0 && is(rt, "GET")) {
		runs_list(rt, w);
		return;
	}
	if (strcmp(rt->seg[3], "dispatches") != 0 || !is(rt, "POST")) {
		not_found(rt);
		return;
	}
	b = body_json(rt->req);
	ref = str(b, "ref");
	if (!ref || (obj(b, "inputs") && !cJSON_IsObject(obj(b, "inputs")))) {
		cJSON_Delete(b);
		invalid_reply(rt->resp, "Workflow", !ref ? "missing_field" : "invalid", !ref ? "ref" : "inputs");
		return;
	}
	sha = resolve_ref(rt->repo, ref);
	if (!sha) {
		char m[600];

		snprintf(m, sizeof(m), "No ref found for: %s", ref);
		cJSON_Delete(b);
		error_reply(rt->resp, 422, m);
		return;
	}
	id = rt->f->next_id++;
	run = cJSON_CreateObject();
	cJSON_AddNumberToObject(run, "id", (double)id);
	cJSON_AddStringToObject(run, "name", str(w, "file"));
	cJSON_AddStringToObject(run, "display_title", str(w, "file"));
	cJSON_AddNumberToObject(run, "workflow_id", cJSON_GetNumberValue(obj(w, "id")));
	cJSON_AddNumberToObject(run, "run_number", cJSON_GetArraySize(obj(rt->repo, "runs")) + 1);
	cJSON_AddStringToObject(run, "event", "workflow_dispatch");
	cJSON_AddStringToObject(run, "status", "queued");
	cJSON_AddNullToObject(run, "conclusion");
	cJSON_AddStringToObject(run, "head_sha", sha);
	cJSON_AddStringToObject(run, "head_branch", ref);
	repo_url(rt->f, rt->repo, u, sizeof(u));
	snprintf(u + strlen(u), sizeof(u) - strlen(u), "/actions/runs/%" PRId64, id);
	cJSON_AddStringToObject(run, "url", u);
	snprintf(h, sizeof(h), "https://github.com/%s/actions/runs/%" PRId64, rt->repo->string, id);
	cJSON_AddStringToObject(run, "html_url", h);
	add_time(run, "created_at", rt->f->now);
	add_time(run, "updated_at", rt->f->now);
	if (obj(b, "inputs"))
		cJSON_AddItemToObject(run, "inputs", cJSON_Duplicate(obj(b, "inputs"), 1));
	cJSON_AddItemToArray(obj(rt->repo, "runs"), run);
	cJSON_Delete(b);
	rt->resp->status = 204;
}

static void deployments(route *rt)
{
	cJSON *deps = obj(rt->repo, "deployments"), *b, *d = NULL, *it;
	char u[512];
	int64_t id;

	if (rt->nseg >= 2) {
		char *end;
		long long did = strtoll(rt->seg[1], &end, 10);

		cJSON_ArrayForEach(it, deps)
			if (!*end && (int64_t)cJSON_GetNumberValue(obj(it, "id")) == did)
				d = it;
		if (!d) {
			not_found(rt);
			return;
		}
	}
	if (rt->nseg == 1 && is(rt, "GET")) {
		cJSON *arr = cJSON_CreateArray();

		for (int k = cJSON_GetArraySize(deps) - 1; k >= 0; k--)
			cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(deps, k), 1));
		json_reply(rt->f, rt->req, rt->resp, 200, paginate(rt->f, rt->req, rt->resp, arr));
		return;
	}
	if (rt->nseg == 2 && is(rt, "GET")) {
		json_reply(rt->f, rt->req, rt->resp, 200, cJSON_Duplicate(d, 1));
		return;
	}
	if (rt->nseg == 1 && is(rt, "POST")) {
		const char *ref, *sha;

		b = body_json(rt->req);
		ref = str(b, "ref");
		if (!ref) {
			cJSON_Delete(b);
			invalid_reply(rt->resp, "Deployment", "missing_field", "ref");
			return;
		}
		sha = resolve_ref(rt->repo, ref);
		if (!sha) {
			char m[600];

			snprintf(m, sizeof(m), "No ref found for: %s", ref);
			cJSON_Delete(b);
			error_reply(rt->resp, 422, m);
			return;
		}
		/* Without required_contexts GitHub wants every commit status green. */
		if (!obj(b, "required_contexts")) {
			cJSON *s;

			cJSON_ArrayForEach(s, obj(rt->repo, "statuses"))
				if (!strcmp(str(s, "sha"), sha) && strcmp(str(s, "state"), "success")) {
					char m[600];

					snprintf(m, sizeof(m), "Conflict: Commit status checks failed for %s.", ref);
					cJSON_Delete(b);
					error_reply(rt->resp, 409, m);
					return;
				}
		}
		id = rt->f->next_id++;
		d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "id", (double)id);
		cJSON_AddStringToObject(d, "node_id", "DE_kw");
		cJSON_AddStringToObject(d, "sha", sha);
		cJSON_AddStringToObject(d, "ref", ref);
		cJSON_AddStringToObject(d, "task", str(b, "task") ? str(b, "task") : "deploy");
		cJSON_AddStringToObject(d, "environment", str(b, "environment") ? str(b, "environment") : "production");
		if (str(b, "description"))
			cJSON_AddStringToObject(d, "description", str(b, "description"));
		else
			cJSON_AddNullToObject(d, "description");
		if (obj(b, "payload"))
			cJSON_AddItemToObject(d, "payload", cJSON_Duplicate(obj(b, "payload"), 1));
		repo_url(rt->f, rt->repo, u, sizeof(u));
		snprintf(u + strlen(u), sizeof(u) - strlen(u), "/deployments/%" PRId64, id);
		cJSON_AddStringToObject(d, "url", u);
		snprintf(u + strlen(u), sizeof(u) - strlen(u), "/statuses");
		cJSON_AddStringToObject(d, "statuses_url", u);
		add_time(d, "created_at", rt->f->now);
		cJSON_AddItemToArray(deps, d);
		json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(d, 1));
		cJSON_Delete(b);
		return;
	}
	if (rt->nseg == 3 && strcmp(rt->seg[2], "statuses") == 0) {
		cJSON *all = obj(rt->repo, "dstatuses"), *list, *s;
		static const char *const states[] = { "error", "failure", "inactive", "in_progress",
						      "queued", "pending", "success", NULL };
		const char *state;
		bool ok = false;

		list = obj(all, rt->seg[1]);
		if (!list)
			list = cJSON_AddArrayToObject(all, rt->seg[1]);
		if (is(rt, "GET")) {
			cJSON *arr = cJSON_CreateArray();

			for (int k = cJSON_GetArraySize(list) - 1; k >= 0; k--)
				cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(list, k), 1));
			json_reply(rt->f, rt->req, rt->resp, 200, paginate(rt->f, rt->req, rt->resp, arr));
			return;
		}
		b = body_json(rt->req);
		state = str(b, "state");
		for (int k = 0; state && states[k]; k++)
			ok |= strcmp(state, states[k]) == 0;
		if (!ok) {
			cJSON_Delete(b);
			invalid_reply(rt->resp, "DeploymentStatus", state ? "invalid" : "missing_field", "state");
			return;
		}
		s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "id", (double)rt->f->next_id++);
		cJSON_AddStringToObject(s, "state", state);
		cJSON_AddStringToObject(s, "description", str(b, "description") ? str(b, "description") : "");
		cJSON_AddStringToObject(s, "environment", str(d, "environment"));
		cJSON_AddStringToObject(s, "log_url", str(b, "log_url") ? str(b, "log_url") : "");
		cJSON_AddStringToObject(s, "target_url", str(b, "log_url") ? str(b, "log_url") : "");
		cJSON_AddStringToObject(s, "environment_url",
					str(b, "environment_url") ? str(b, "environment_url") : "");
		cJSON_AddStringToObject(s, "deployment_url", str(d, "url"));
		add_time(s, "created_at", rt->f->now);
		cJSON_AddItemToArray(list, s);
		json_reply(rt->f, rt->req, rt->resp, 201, cJSON_Duplicate(s, 1));
		cJSON_Delete(b);
		return;
	}
	not_found(rt);
}

static void repo_route(route *rt)
{
	const char *s0 = rt->nseg ? rt->seg[0] : "";

	if (rt->nseg == 0) {
		cJSON *o = cJSON_CreateObject();

		cJSON *perm = obj(rt->repo, "permissions");

		cJSON_AddStringToObject(o, "full_name", rt->repo->string);
		cJSON_AddStringToObject(o, "default_branch", "main");
		cJSON_AddBoolToObject(o, "private", 1);
		/* What the authenticated user may do (GitHub sends it for user tokens). */
		if (perm)
			cJSON_AddItemToObject(o, "permissions", cJSON_Duplicate(perm, 1));
		json_reply(rt->f, rt->req, rt->resp, 200, o);
	} else if (strcmp(s0, "issues") == 0) {
		issues(rt);
	} else if (strcmp(s0, "labels") == 0) {
		repo_labels(rt);
	} else if (strcmp(s0, "contents") == 0 && rt->rest && rt->rest[0]) {
		contents(rt);
	} else if (strcmp(s0, "git") == 0 && rt->nseg >= 3 && strcmp(rt->seg[1], "ref") == 0 && rt->rest) {
		git_ref(rt);
	} else if (strcmp(s0, "git") == 0 && rt->nseg == 2 && strcmp(rt->seg[1], "refs") == 0 && is(rt, "POST")) {
		git_refs_create(rt);
	} else if (strcmp(s0, "pulls") == 0) {
		pulls(rt);
	} else if (strcmp(s0, "commits") == 0 && rt->nseg == 3 && is(rt, "GET") &&
		   (strcmp(rt->seg[2], "check-runs") == 0 || strcmp(rt->seg[2], "status") == 0)) {
		commit_checks(rt);
	} else if (strcmp(s0, "actions") == 0) {
		actions(rt);
	} else if (strcmp(s0, "deployments") == 0) {
		deployments(rt);
	} else {
		not_found(rt);
	}
}

/* ---- GitHub App: JWT → installation token ------------------------------ */

static bool jwt_ok(github_fake *f, const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	char *head = NULL, *payload = NULL, *sig = NULL, *part;
	size_t hl, pl, sl;
	cJSON *h = NULL, *p = NULL, *iss;
	EVP_MD_CTX *md = NULL;
	bool ok = false;
	int64_t iat, exp;

	if (!d2 || !f->app_key)
		return false;
	part = strndup(jwt, (size_t)(d1 - jwt));
	head = part ? b64_decode(part, true, &hl) : NULL;
	free(part);
	part = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	payload = part ? b64_decode(part, true, &pl) : NULL;
	free(part);
	sig = b64_decode(d2 + 1, true, &sl);
	if (!head || !payload || !sig)
		goto out;
	h = cJSON_Parse(head);
	p = cJSON_Parse(payload);
	if (!str(h, "alg") || strcmp(str(h, "alg"), "RS256") != 0 || !cJSON_IsNumber(obj(p, "iat")) ||
	    !cJSON_IsNumber(obj(p, "exp")))
		goto out;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, f->app_key) != 1 ||
	    EVP_DigestVerify(md, (unsigned char *)sig, sl, (const unsigned char *)jwt, (size_t)(d2 - jwt)) != 1)
		goto out;
	iat = (int64_t)cJSON_GetNumberValue(obj(p, "iat"));
	exp = (int64_t)cJSON_GetNumberValue(obj(p, "exp"));
	iss = obj(p, "iss");
	/* GitHub: exp at most 10 minutes after iat, not expired, iat not in the future (60 s skew). */
	ok = exp - iat <= 600 && exp > f->now && iat <= f->now + 60 &&
	     ((cJSON_IsNumber(iss) && (int64_t)iss->valuedouble == f->app_id) ||
	      (cJSON_IsString(iss) && strtoll(iss->valuestring, NULL, 10) == f->app_id));
out:
	EVP_MD_CTX_free(md);
	cJSON_Delete(h);
	cJSON_Delete(p);
	free(head);
	free(payload);
	free(sig);
	return ok;
}

static void access_token(github_fake *f, const http_fake_req *req, http_fake_resp *resp, const char *bearer,
			 const char *inst)
{
	char tok[64], expires[32];
	cJSON *o, *perm;

	if (!bearer || !jwt_ok(f, bearer)) {
		error_reply(resp, 401, "A JSON web token could not be decoded");
		return;
	}
	if (strtoll(inst, NULL, 10) != f->installation_id) {
		error_reply(resp, 404, "Not Found");
		return;
	}
	snprintf(tok, sizeof(tok), "ghs_fakeinstallation%06d", ++f->minted);
	cJSON_AddItemToArray(f->tokens, cJSON_CreateString(tok));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", tok);
	iso_time(f->now + f->token_ttl_s, expires, sizeof(expires));
	cJSON_AddStringToObject(o, "expires_at", expires);
	perm = cJSON_AddObjectToObject(o, "permissions");
	cJSON_AddStringToObject(perm, "issues", "write");
	cJSON_AddStringToObject(perm, "contents", "write");
	cJSON_AddStringToObject(o, "repository_selection", "all");
	json_reply(f, req, resp, 201, o);
}

/* ---- GraphQL: the three operations issue 8 needs ------------------------ */

static cJSON *node_lookup(github_fake *f, const char *id)
{
	cJSON *r, *i;

	if (obj(f->projects, id)) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "__typename", "ProjectV2");
		cJSON_AddStringToObject(o, "id", id);
		return o;
	}
	/* A field of a project is a node of its own (ProjectV2Field implements Node). */
	cJSON_ArrayForEach(r, f->projects)
		if (obj(r, id)) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "__typename", "ProjectV2Field");
			cJSON_AddStringToObject(o, "id", id);
			return o;
		}
	cJSON_ArrayForEach(r, f->repos)
		cJSON_ArrayForEach(i, obj(r, "issues"))
			if (strcmp(str(i, "node_id"), id) == 0) {
				cJSON *o = cJSON_CreateObject();

				cJSON_AddStringToObject(o, "__typename", "Issue");
				cJSON_AddStringToObject(o, "id", id);
				cJSON_AddNumberToObject(o, "number", cJSON_GetNumberValue(obj(i, "number")));
				return o;
			}
	return NULL;
}

static void gql_error(cJSON *errs, const char *path, const char *type, const char *fmt, const char *arg)
	__attribute__((format(printf, 4, 0)));
static void gql_error(cJSON *errs, const char *path, const char *type, const char *fmt, const char *arg)
{
	cJSON *e = cJSON_CreateObject(), *loc = cJSON_CreateObject(), *locs;
	char m[512];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(m, sizeof(m), fmt, arg ? arg : "");
#pragma GCC diagnostic pop
	cJSON_AddStringToObject(e, "type", type);
	if (path) {
		cJSON *p = cJSON_AddArrayToObject(e, "path");

		cJSON_AddItemToArray(p, cJSON_CreateString(path));
	}
	locs = cJSON_AddArrayToObject(e, "locations");
	cJSON_AddNumberToObject(loc, "line", 2);
	cJSON_AddNumberToObject(loc, "column", 3);
	cJSON_AddItemToArray(locs, loc);
	cJSON_AddStringToObject(e, "message", m);
	cJSON_AddItemToArray(errs, e);
}

/*
 * The names the issue 8 operations may use, from @octokit/graphql-schema
 * (types, fields, arguments, input members). Any other name in a query is
 * refused the way GitHub refuses an unknown field (undefinedField), so a
 * typo in the bot's queries fails here and not first on github.com.
 */
static const char *const gql_known[] = {
	"query", "mutation", "on", "true", "false", "null",
	"ID", "String", "Int", "Boolean", "Date", "Float",
	"node", "id", "__typename", "ProjectV2", "fields", "first", "after", "nodes", "pageInfo", "hasNextPage",
	"endCursor", "totalCount", "ProjectV2FieldCommon", "ProjectV2Field", "ProjectV2SingleSelectField",
	"ProjectV2IterationField", "name", "dataType", "options", "title", "number", "url", "Issue",
	"addProjectV2ItemById", "AddProjectV2ItemByIdInput", "input", "projectId", "contentId", "item", "content",
	"clientMutationId", "updateProjectV2ItemFieldValue", "UpdateProjectV2ItemFieldValueInput", "itemId",
	"fieldId", "value", "ProjectV2FieldValue", "ProjectV2ItemFieldValue", "projectV2Item", "ProjectV2Item",
	"text", "date", "singleSelectOptionId", "iterationId", "rateLimit", "cost", "remaining", "resetAt",
	NULL,
};

/* The first name in q that is not in gql_known (copied into out), false when all are known. */
static bool gql_unknown_name(const char *q, char *out, size_t size)
{
	for (const char *p = q; *p;) {
		if (*p == '"') { /* string literal */
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else if (*p == '#') { /* comment */
			while (*p && *p != '\n')
				p++;
		} else if (*p == '$') { /* variable name */
			for (p++; isalnum((unsigned char)*p) || *p == '_'; p++)
				;
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			const char *b = p;
			bool known = false;

			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			for (int i = 0; gql_known[i] && !known; i++)
				known = strlen(gql_known[i]) == (size_t)(p - b) && !strncmp(gql_known[i], b, (size_t)(p - b));
			/* an alias or operation name is followed by ':' or '(' / '{' after "query"/"mutation" */
			if (!known && *p != ':') {
				snprintf(out, size, "%.*s", (int)(p - b), b);
				return true;
			}
		} else {
			p++;
		}
	}
	return false;
}

/* The Project's fields as the fields(first:) connection answers them. */
static cJSON *project_fields_json(github_fake *f, const char *pid)
{
	cJSON *conn = cJSON_CreateObject(), *nodes = cJSON_AddArrayToObject(conn, "nodes"), *fl;

	cJSON_ArrayForEach(fl, obj(f->projects, pid))
		cJSON_AddItemToArray(nodes, cJSON_Duplicate(fl, 1));
	cJSON_AddNumberToObject(conn, "totalCount", cJSON_GetArraySize(nodes));
	return conn;
}

/*
 * Checks a ProjectV2FieldValue against the field: one known member, of the
 * field's kind, a real option id, an ISO date. NULL when fine, else the
 * message (static or in buf).
 */
static const char *gql_value_problem(cJSON *field, cJSON *value, char *buf, size_t size)
{
	static const char *const members[] = { "text", "number", "date", "singleSelectOptionId", "iterationId", NULL };
	const char *type = str(field, "dataType"), *v;
	cJSON *m, *o;
	int n = 0;

	cJSON_ArrayForEach(m, value) {
		bool ok = false;

		for (int i = 0; members[i]; i++)
			ok |= strcmp(m->string, members[i]) == 0;
		if (!ok) {
			snprintf(buf, size,
				 "Variable $value of type ProjectV2FieldValue! was provided invalid value for %s (Field is "
				 "not defined on ProjectV2FieldValue)",
				 m->string);
			return buf;
		}
		n++;
	}
	if (n != 1)
		return "Variable $value of type ProjectV2FieldValue! was provided invalid value";
	if (!type)
		return NULL;
	if (!strcmp(type, "SINGLE_SELECT")) {
		if (!(v = str(value, "singleSelectOptionId")))
			return "Did not receive a single select option Id to update a field of type single_select";
		if (!obj(field, "options"))
			return NULL;
		cJSON_ArrayForEach(o, obj(field, "options"))
			if (!strcmp(str(o, "id"), v))
				return NULL;
		snprintf(buf, size, "The single select option Id does not belong to the field (%s)", v);
		return buf;
	}
	if (!strcmp(type, "TEXT"))
		return str(value, "text") ? NULL : "Did not receive a text value to update a field of type text";
	if (!strcmp(type, "DATE")) {
		int y, mo, d;
		char extra;

		v = str(value, "date");
		if (!v)
			return "Did not receive a date value to update a field of type date";
		if (sscanf(v, "%4d-%2d-%2d%c", &y, &mo, &d, &extra) < 3 || strlen(v) < 10 || mo < 1 || mo > 12 ||
		    d < 1 || d > 31) {
			snprintf(buf, size,
				 "Variable $value of type ProjectV2FieldValue! was provided invalid value for date "
				 "(Could not coerce value \"%.64s\" to Date)",
				 v);
			return buf;
		}
		return NULL;
	}
	if (!strcmp(type, "NUMBER"))
		return cJSON_IsNumber(obj(value, "number")) ? NULL
							     : "Did not receive a number value to update a field of type number";
	return "This field type cannot be updated through updateProjectV2ItemFieldValue";
}

/* A variable from `variables`, or from `variables.input` (both styles are common). */
static const char *gql_var(cJSON *vars, const char *name)
{
	return str(vars, name) ? str(vars, name) : str(obj(vars, "input"), name);
}

static void graphql(github_fake *f, const http_fake_req *req, http_fake_resp *resp)
{
	cJSON *b = body_json(req), *vars, *out = cJSON_CreateObject(), *data = cJSON_CreateObject();
	cJSON *errs = cJSON_CreateArray();
	const char *q = str(b, "query");
	char unknown[128], vbuf[512];

	vars = obj(b, "variables");
	if (!q) {
		gql_error(errs, NULL, "INVALID", "A query attribute must be specified and must be a string.%s", NULL);
	} else if (gql_unknown_name(q, unknown, sizeof(unknown))) {
		/* GitHub validates the whole document first and answers only errors (no data). */
		gql_error(errs, NULL, "undefinedField", "Field '%s' doesn't exist on the type it is selected on", unknown);
	} else if (strstr(q, "addProjectV2ItemById")) {
		const char *pid = gql_var(vars, "projectId"), *cid = gql_var(vars, "contentId");
		cJSON *node = cid ? node_lookup(f, cid) : NULL;

		if (!pid || !obj(f->projects, pid) || !node) {
			gql_error(errs, "addProjectV2ItemById", "NOT_FOUND",
				  "Could not resolve to a node with the global id of '%s'.",
				  !pid || !obj(f->projects, pid) ? (pid ? pid : "") : (cid ? cid : ""));
			cJSON_AddNullToObject(data, "addProjectV2ItemById");
		} else {
			char item[64];
			cJSON *it, *res, *o;
			bool found = false;

			/* Adding an item twice returns the existing item, as GitHub does. */
			cJSON_ArrayForEach(it, f->items)
				if (!strcmp(str(it, "project"), pid) && !strcmp(str(it, "content"), cid)) {
					snprintf(item, sizeof(item), "%s", it->string);
					found = true;
				}
			if (!found) {
				snprintf(item, sizeof(item), "PVTI_kw%" PRId64, f->next_id++);
				o = cJSON_AddObjectToObject(f->items, item);
				cJSON_AddStringToObject(o, "project", pid);
				cJSON_AddStringToObject(o, "content", cid);
				cJSON_AddObjectToObject(o, "values");
			}
			res = cJSON_AddObjectToObject(data, "addProjectV2ItemById");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "item"), "id", item);
		}
		cJSON_Delete(node);
	} else if (strstr(q, "updateProjectV2ItemFieldValue")) {
		const char *pid = gql_var(vars, "projectId"), *iid = gql_var(vars, "itemId");
		const char *fid = gql_var(vars, "fieldId");
		cJSON *value = obj(vars, "value") ? obj(vars, "value") : obj(obj(vars, "input"), "value");
		cJSON *item = iid ? obj(f->items, iid) : NULL;
		const char *v = NULL;
		char num[32];

		if (cJSON_IsObject(value)) {
			v = str(value, "singleSelectOptionId") ? str(value, "singleSelectOptionId")
			    : str(value, "text")               ? str(value, "text")
			    : str(value, "date")               ? str(value, "date")
			    : str(value, "iterationId");
			if (!v && cJSON_IsNumber(obj(value, "number"))) {
				snprintf(num, sizeof(num), "%g", cJSON_GetNumberValue(obj(value, "number")));
				v = num;
			}
		}
		if (!pid || !obj(f->projects, pid) || !item || strcmp(str(item, "project"), pid) ||
		    !fid || !obj(obj(f->projects, pid), fid)) {
			const char *bad = !pid || !obj(f->projects, pid) ? pid : !item ? iid : fid;

			gql_error(errs, "updateProjectV2ItemFieldValue", "NOT_FOUND",
				  "Could not resolve to a node with the global id of '%s'.", bad ? bad : "");
			cJSON_AddNullToObject(data, "updateProjectV2ItemFieldValue");
		} else if (!v || gql_value_problem(obj(obj(f->projects, pid), fid), value, vbuf, sizeof(vbuf))) {
			const char *why = cJSON_IsObject(value) ? gql_value_problem(obj(obj(f->projects, pid), fid), value,
										     vbuf, sizeof(vbuf))
								 : NULL;

			gql_error(errs, "updateProjectV2ItemFieldValue", "INVALID", "%s",
				  why ? why : "Variable $value of type ProjectV2FieldValue! was provided invalid value");
			cJSON_AddNullToObject(data, "updateProjectV2ItemFieldValue");
		} else {
			cJSON *values = obj(item, "values"), *res;

			cJSON_DeleteItemFromObjectCaseSensitive(values, fid);
			cJSON_AddStringToObject(values, fid, v);
			res = cJSON_AddObjectToObject(data, "updateProjectV2ItemFieldValue");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "projectV2Item"), "id", iid);
		}
	} else if (strstr(q, "node(")) {
		const char *id = gql_var(vars, "id");
		cJSON *node = id ? node_lookup(f, id) : NULL;

		if (!node) {
			gql_error(errs, "node", "NOT_FOUND", "Could not resolve to a node with the global id of '%s'.",
				  id ? id : "");
			cJSON_AddNullToObject(data, "node");
		} else {
			if (!strcmp(str(node, "__typename"), "ProjectV2") && strstr(q, "fields("))
				cJSON_AddItemToObject(node, "fields", project_fields_json(f, id));
			cJSON_AddItemToObject(data, "node", node);
		}
	} else {
		gql_error(errs, NULL, "undefinedField", "This fake does not know the query: %.200s", q);
	}
	if (q && gql_unknown_name(q, unknown, sizeof(unknown)))
		cJSON_Delete(data);
	else
		cJSON_AddItemToObject(out, "data", data);
	if (cJSON_GetArraySize(errs))
		cJSON_AddItemToObject(out, "errors", errs);
	else
		cJSON_Delete(errs);
	/* GraphQL errors arrive with HTTP 200. */
	json_reply(f, req, resp, 200, out);
	cJSON_Delete(b);
}

/* ---- the authenticated user -------------------------------------------- */

/* GET /user: the token's user; an App installation token is no user (403, as GitHub answers). */
static void authenticated_user(github_fake *f, const http_fake_req *req, http_fake_resp *resp, const char *tok)
{
	cJSON *o;

	if (strncmp(tok, "ghs_", 4) == 0) {
		error_reply(resp, 403, "Resource not accessible by integration");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "login", "promobot-user");
	cJSON_AddNumberToObject(o, "id", 583231);
	cJSON_AddStringToObject(o, "type", "User");
	json_reply(f, req, resp, 200, o);
}

/* ---- dispatch ---------------------------------------------------------- */

static bool token_ok(github_fake *f, const char *tok)
{
	cJSON *t;

	cJSON_ArrayForEach(t, f->tokens)
		if (strcmp(t->valuestring, tok) == 0)
			return true;
	return false;
}

/* The fault for this request ("METHOD /path"), if any (consumed). */
static bool take_fault(github_fake *f, const char *line, fault *out)
{
	for (int i = 0; i < f->nfaults; i++) {
		if (f->faults[i].n <= 0 || strncmp(line, f->faults[i].match, strlen(f->faults[i].match)) != 0)
			continue;
		*out = f->faults[i];
		f->faults[i].n--;
		return true;
	}
	return false;
}

static void apply_fault(github_fake *f, const fault *ft, http_fake_resp *resp)
{
	char st[8];

	snprintf(st, sizeof(st), "%d", ft->status);
	switch (ft->kind) {
	case GITHUB_FAULT_STATUS:
		error_reply(resp, ft->status, ft->status == 502 ? "Server Error" : "Internal Server Error");
		break;
	case GITHUB_FAULT_RATE_LIMIT:
		error_reply(resp, ft->status,
			    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
			    "please include the request ID.");
		http_fake_resp_header(resp, "x-ratelimit-limit: %d", RATE_LIMIT);
		http_fake_resp_header(resp, "x-ratelimit-remaining: 0");
		http_fake_resp_header(resp, "x-ratelimit-reset: %" PRId64, ft->arg);
		http_fake_resp_header(resp, "x-ratelimit-used: %d", RATE_LIMIT);
		http_fake_resp_header(resp, "x-ratelimit-resource: core");
		return;
	case GITHUB_FAULT_SECONDARY:
		error_reply(resp, 403,
			    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
			    "If you reach out to GitHub Support for help, please include the request ID.");
		if (ft->arg >= 0)
			http_fake_resp_header(resp, "retry-after: %" PRId64, ft->arg);
		break;
	case GITHUB_FAULT_HANG:
		resp->action = HTTP_FAKE_HANG;
		return;
	case GITHUB_FAULT_HTML: {
		static const char page[] = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
					   "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
					   "</body>\r\n</html>\r\n";

		http_fake_resp_set(resp, ft->status, "text/html", page, sizeof(page) - 1);
		return;
	}
	case GITHUB_FAULT_HUGE: {
		size_t n = (size_t)ft->arg;
		char *b = malloc(n + 1);

		if (!b)
			return;
		memset(b, 'x', n);
		memcpy(b, "{\"a\":\"", 6);
		memcpy(b + n - 2, "\"}", 2);
		http_fake_resp_set(resp, 200, "application/json; charset=utf-8", b, n);
		free(b);
		return;
	}
	case GITHUB_FAULT_MALFORMED:
		http_fake_resp_set(resp, 200, "application/json; charset=utf-8", "{\"number\": 1, \"title\": \"tr", 26);
		return;
	case GITHUB_FAULT_GRAPHQL_LIMITED: {
		static const char body[] = "{\"errors\":[{\"type\":\"RATE_LIMITED\",\"message\":\"API rate limit "
					   "already exceeded for user ID 1.\"}]}";

		http_fake_resp_set(resp, 200, "application/json; charset=utf-8", body, sizeof(body) - 1);
		return;
	}
	case GITHUB_FAULT_DROP:
	case GITHUB_FAULT_COMMIT_HANG:
		return;
	}
}

static void handle(void *ud, const http_fake_req *req, http_fake_resp *resp)
{
	github_fake *f = ud;
	const char *ua = http_fake_header(req, "User-Agent");
	const char *auth = http_fake_header(req, "Authorization");
	const char *tok = NULL;
	/* GitHub Enterprise Server serves the same API under /api/v3 and GraphQL at /api/graphql. */
	const char *rpath = strncmp(req->path, "/api/v3/", 8) == 0 ? req->path + 7
			    : strcmp(req->path, "/api/graphql") == 0 ? "/graphql"
								     : req->path;
	char *path = strdup(rpath), *save = NULL, *tok_s;
	char *segs[24];
	int nseg = 0;
	fault ft;
	http_fake_action after = HTTP_FAKE_REPLY; /* DROP / HANG once the work is done */
	char line[600];
	github_fake_hook hook;
	void *hook_ud;

	/* The test's hook runs before the request is served, without the lock (it may change state). */
	pthread_mutex_lock(&f->lock);
	hook = f->hook;
	hook_ud = f->hook_ud;
	pthread_mutex_unlock(&f->lock);
	if (hook) {
		snprintf(line, sizeof(line), "%s %s", req->method, req->path);
		hook(f, hook_ud, line);
	}
	pthread_mutex_lock(&f->lock);
	snprintf(f->last_ua, sizeof(f->last_ua), "%s", ua ? ua : "");
	snprintf(f->last_auth, sizeof(f->last_auth), "%s", auth ? auth : "");
	snprintf(line, sizeof(line), "%s %s", req->method, req->path);
	if (take_fault(f, line, &ft)) {
		if (ft.kind == GITHUB_FAULT_DROP || ft.kind == GITHUB_FAULT_COMMIT_HANG) {
			after = ft.kind == GITHUB_FAULT_DROP ? HTTP_FAKE_DROP : HTTP_FAKE_HANG;
		} else {
			apply_fault(f, &ft, resp);
			goto done;
		}
	}
	if (!ua || !ua[0]) {
		static const char msg[] = "Request forbidden by administrative rules. Please make sure your request "
					  "has a User-Agent header (https://docs.github.com/en/rest/overview/"
					  "resources-in-the-rest-api#user-agent-required). Check "
					  "https://developer.github.com for other possible causes.\n";

		http_fake_resp_set(resp, 403, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
		goto done;
	}
	if (auth && (strncasecmp(auth, "Bearer ", 7) == 0 || strncasecmp(auth, "token ", 6) == 0))
		tok = strchr(auth, ' ') + 1;
	for (tok_s = path ? strtok_r(path, "/", &save) : NULL; tok_s && nseg < 24; tok_s = strtok_r(NULL, "/", &save))
		segs[nseg++] = tok_s;
	if (nseg == 4 && !strcmp(segs[0], "app") && !strcmp(segs[1], "installations") &&
	    !strcmp(segs[3], "access_tokens") && !strcmp(req->method, "POST")) {
		access_token(f, req, resp, tok, segs[2]);
		goto done;
	}
	if (!tok) {
		error_reply(resp, 401, "Requires authentication");
		goto done;
	}
	if (!token_ok(f, tok)) {
		error_reply(resp, 401, "Bad credentials");
		goto done;
	}
	if (f->remaining > 0)
		f->remaining--;
	if (nseg == 1 && !strcmp(segs[0], "graphql") && !strcmp(req->method, "POST")) {
		graphql(f, req, resp);
	} else if (nseg == 1 && !strcmp(segs[0], "user") && !strcmp(req->method, "GET")) {
		authenticated_user(f, req, resp, tok);
	} else if (nseg >= 3 && !strcmp(segs[0], "repos")) {
		char full[300];
		route rt = { .f = f, .req = req, .resp = resp };

		snprintf(full, sizeof(full), "%s/%s", segs[1], segs[2]);
		rt.repo = repo_get(f, full);
		if (!rt.repo && str(f->moved, full)) {
			/* A renamed repository: 301 to the same path under the new name. */
			char loc[1024];

			snprintf(loc, sizeof(loc), "%s/repos/%s%s", f->url, str(f->moved, full),
				 req->target + (rpath - req->path) + strlen("/repos/") + strlen(segs[1]) + 1 +
					 strlen(segs[2]));
			error_reply(resp, 301, "Moved Permanently");
			http_fake_resp_header(resp, "Location: %s", loc);
			goto done;
		}
		for (int i = 3; i < nseg && rt.nseg < 16; i++)
			rt.seg[rt.nseg++] = segs[i];
		/* contents/{path} and git/ref/{ref} take the rest of the (decoded) path, slashes included. */
		if (rt.nseg >= 2 && !strcmp(rt.seg[0], "contents"))
			rt.rest = strstr(req->path, "/contents/") + 10;
		else if (rt.nseg >= 3 && !strcmp(rt.seg[0], "git") && !strcmp(rt.seg[1], "ref"))
			rt.rest = strstr(req->path, "/git/ref/") + 9;
		if (!rt.repo)
			not_found(&rt);
		else
			repo_route(&rt);
	} else {
		error_reply(resp, 404, "Not Found");
	}
done:
	if (resp->action == HTTP_FAKE_REPLY) {
		http_fake_resp_header(resp, "x-github-api-version-selected: 2022-11-28");
		http_fake_resp_header(resp, "x-github-request-id: 0000:%04" PRId64 ":FAKE", f->next_id);
		if (!strstr(resp->headers ? resp->headers : "", "x-ratelimit-remaining")) {
			http_fake_resp_header(resp, "x-ratelimit-limit: %d", RATE_LIMIT);
			http_fake_resp_header(resp, "x-ratelimit-remaining: %d", f->remaining);
			http_fake_resp_header(resp, "x-ratelimit-reset: %" PRId64, f->now + 3600);
			http_fake_resp_header(resp, "x-ratelimit-used: %d", RATE_LIMIT - f->remaining);
			http_fake_resp_header(resp, "x-ratelimit-resource: %s",
					      nseg == 1 && !strcmp(segs[0], "graphql") ? "graphql" : "core");
		}
	}
	if (after != HTTP_FAKE_REPLY)
		resp->action = after;
	snprintf(line, sizeof(line), "%s %s %d", req->method, req->path,
		 resp->action == HTTP_FAKE_REPLY ? resp->status : 0);
	cJSON_AddItemToArray(f->log, cJSON_CreateString(line));
	pthread_mutex_unlock(&f->lock);
	free(path);
}

int github_fake_start(github_fake **out)
{
	github_fake *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	f->now = 1700000000;
	f->next_id = 1000;
	f->remaining = RATE_LIMIT;
	f->tokens = cJSON_CreateArray();
	f->repos = cJSON_CreateObject();
	f->projects = cJSON_CreateObject();
	f->moved = cJSON_CreateObject();
	f->items = cJSON_CreateObject();
	f->log = cJSON_CreateArray();
	if (http_fake_start(handle, f, &f->http) != 0) {
		github_fake_free(f);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", http_fake_port(f->http));
	*out = f;
	return 0;
}

const char *github_fake_url(const github_fake *f)
{
	return f->url;
}

void github_fake_free(github_fake *f)
{
	if (!f)
		return;
	http_fake_free(f->http);
	cJSON_Delete(f->tokens);
	cJSON_Delete(f->repos);
	cJSON_Delete(f->projects);
	cJSON_Delete(f->moved);
	cJSON_Delete(f->items);
	cJSON_Delete(f->log);
	EVP_PKEY_free(f->app_key);
	free(f->race_text);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
