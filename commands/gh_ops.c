/* gh_ops.c — one function per kind of GitHub op: issue, labels, comment, close, body, deployment, completion. */
#include "gh_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_ghbody.h"
#include "pb_ghops.h"
#include "pb_json.h"
#include "pb_log.h"

#define GH_MOD "gh-outbox"

static int oom(pb_err *err)
{
	return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
}

/* ---- what an op refers to ---- */

static int id_of(const gh_dl *d, const char *key, int64_t *out, pb_err *err)
{
	if (pb_json_int(d->pl, key, 1, INT64_MAX, out))
		return pb_err_set(err, PB_E_INVALID, "GitHub outbox: op #%lld has no valid \"%s\"",
				  (long long)d->op->id, key);
	return 0;
}

/* The issue an op acts on: the promotion's or the blocker's, once it exists. */
static int target_issue(const gh_dl *d, int64_t *number, pb_err *err)
{
	const char *which = pb_json_str(d->pl, "issue");
	int64_t id;
	int r;

	*number = 0;
	if (which && !strcmp(which, "blocker")) {
		pb_blocker b;

		r = id_of(d, "blocker_id", &id, err);
		if (r == 0)
			r = pb_store_blocker_get(d->svc->store, id, &b, err);
		if (r == PB_E_NOTFOUND)
			return pb_err_set(err, PB_E_NOTFOUND, "blocker #%lld does not exist", (long long)id);
		if (r)
			return r;
		*number = b.issue_number;
		if (!*number)
			return pb_err_set(err, PB_E_NOTFOUND, "blocker #%lld has no GitHub issue (opening it failed)",
					  (long long)id);
		return 0;
	} else {
		pb_promotion p;

		r = pb_store_promotion_get(d->svc->store, d->op->promotion_id, &p, err);
		if (r == PB_E_NOTFOUND)
			return pb_err_set(err, PB_E_NOTFOUND, "promotion #%lld does not exist",
					  (long long)d->op->promotion_id);
		if (r)
			return r;
		*number = p.issue_number;
		if (!*number)
			return pb_err_set(err, PB_E_NOTFOUND, "promotion #%lld has no GitHub issue (opening it failed)",
					  (long long)p.id);
		return 0;
	}
}

/* Names of a payload's string array (borrowed), at most max. */
static size_t strings_of(const cJSON *pl, const char *key, const char **out, size_t max)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(pl, key))
		if (cJSON_IsString(it) && n < max)
			out[n++] = it->valuestring;
	return n;
}

/*
 * Labels the op adds exist in the repository with promobot's colour and
 * description. GitHub creates an unknown label silently (default grey) when
 * it is added to an issue, so there is no 422 to wait for: the list is read
 * before each op that adds labels (an ETag poll: 304 when unchanged, which
 * does not count against the rate limit) and the missing ones are created.
 */
static int ensure_labels(const gh_dl *d, const char *const *names, size_t n, pb_err *err)
{
	char **have = NULL;
	size_t nhave = 0;
	int r = pb_github_labels_list(d->g, d->repo, &have, &nhave, err);

	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *color, *description;
		bool found = false;

		for (size_t k = 0; k < nhave && !found; k++)
			found = strcasecmp(have[k], names[i]) == 0;
		if (found)
			continue;
		pb_ghlabels_style(names[i], &color, &description);
		r = pb_github_label_create(d->g, d->repo, names[i], color, description, err);
		if (r == PB_E_CONFLICT || r == PB_E_INVALID) { /* created meanwhile: 422 already_exists */
			pb_err_init(err);
			r = 0;
		}
	}
	pb_github_strv_free(have, nhave);
	return r;
}

/* "<text>\n\n<!-- promobot:op=N -->" */
static char *with_marker(const char *text, const char *marker)
{
	pb_buf b;

	pb_buf_init(&b);
	if (pb_buf_printf(&b, "%s\n\n%s", text ? text : "", marker)) {
		pb_buf_deinit(&b);
		return NULL;
	}
	return pb_buf_steal(&b);
}

/* ---- one function per kind ---- */

static int set_result_issue(gh_dl *d, int64_t number, const char *url)
{
	d->result = cJSON_CreateObject();
	if (!d->result || !cJSON_AddNumberToObject(d->result, "number", (double)number) ||
	    !cJSON_AddStringToObject(d->result, "url", url))
		return -ENOMEM;
	return 0;
}

static int do_issue_open(gh_dl *d, pb_err *err)
{
	const char *labels[8];
	size_t nlabels = strings_of(d->pl, "labels", labels, 8);
	pb_github_issue is;
	char *body;
	int r;

	if (d->lookup) {
		pb_github_issue *list = NULL;
		size_t n = 0;

		r = pb_github_issues_list(d->g, d->repo, pb_json_str(d->pl, "find_labels"), "all", &list, &n, err);
		if (r)
			return r;
		for (size_t i = 0; i < n; i++)
			if (list[i].body && strstr(list[i].body, d->marker)) {
				pb_info(GH_MOD, "op #%lld: adopting issue #%lld that carries its marker",
					(long long)d->op->id, (long long)list[i].number);
				r = set_result_issue(d, list[i].number, list[i].html_url);
				pb_github_issues_free(list, n);
				return r ? oom(err) : 0;
			}
		pb_github_issues_free(list, n);
		d->lookup = false; /* looked: not there, so creating it cannot duplicate */
	}
	r = ensure_labels(d, labels, nlabels, err);
	if (r)
		return r;
	body = with_marker(pb_json_str(d->pl, "body"), d->marker);
	if (!body)
		return oom(err);
	memset(&is, 0, sizeof(is));
	r = pb_github_issue_create(d->g, d->repo, pb_json_str(d->pl, "title"), body, labels, nlabels, &is, err);
	free(body);
	if (r == 0) {
		r = set_result_issue(d, is.number, is.html_url) ? oom(err) : 0;
		pb_github_issue_deinit(&is);
	}
	return r;
}

static int do_labels(gh_dl *d, pb_err *err)
{
	const char *add[8], *remove[8];
	size_t nadd = strings_of(d->pl, "add", add, 8), nremove = strings_of(d->pl, "remove", remove, 8);
	int64_t number;
	int r = target_issue(d, &number, err);

	if (r == 0 && nadd)
		r = ensure_labels(d, add, nadd, err);
	if (r == 0 && nadd)
		r = pb_github_labels_add(d->g, d->repo, number, add, nadd, err);
	for (size_t i = 0; r == 0 && i < nremove; i++) {
		pb_err e;

		/* removing a label the issue does not carry is 404: already the wanted state */
		pb_err_init(&e);
		r = pb_github_label_remove(d->g, d->repo, number, remove[i], &e);
		if (r == PB_E_NOTFOUND)
			r = 0;
		else
			pb_err_pass(err, r, &e);
	}
	return r;
}

/* A comment's link to a blocker issue: PB_E_UNAVAILABLE while that issue is still being opened. */
static int blocker_link(gh_dl *d, pb_buf *text, pb_err *err)
{
	int64_t id;
	pb_blocker b;
	pb_ghop open;
	char group[64];
	int r;

	if (!cJSON_GetObjectItemCaseSensitive(d->pl, "link_blocker"))
		return 0;
	if (pb_json_int(d->pl, "link_blocker", 1, INT64_MAX, &id))
		return pb_err_set(err, PB_E_INVALID, "GitHub outbox: op #%lld: bad link_blocker", (long long)d->op->id);
	r = pb_store_blocker_get(d->svc->store, id, &b, err);
	if (r == 0 && b.issue_number)
		return pb_buf_printf(text, " Blocker issue: #%lld", (long long)b.issue_number) ? oom(err) : 0;
	if (r && r != PB_E_NOTFOUND)
		return r;
	snprintf(group, sizeof(group), "blocker:%lld", (long long)id);
	r = pb_store_ghop_find(d->svc->store, group, "blocker.open", id, &open, err);
	if (r == 0) {
		bool pending = open.state == PB_GHOP_PENDING;

		pb_ghop_deinit(&open);
		if (pending) /* the blocker's own group opens it: wait for it, as a retry */
			return pb_err_set(err, PB_E_UNAVAILABLE, "waiting for blocker #%lld's issue", (long long)id);
	}
	return r == PB_E_NOTFOUND || r == 0 ? 0 : r;
}

static int do_comment(gh_dl *d, pb_err *err)
{
	int64_t number;
	pb_buf text;
	char *body = NULL;
	int64_t cid = 0;
	int r = target_issue(d, &number, err);

	if (r)
		return r;
	if (d->lookup) {
		pb_github_comment *list = NULL;
		size_t n = 0;

		r = pb_github_comments_list(d->g, d->repo, number, &list, &n, err);
		if (r)
			return r;
		for (size_t i = 0; i < n && !cid; i++)
			if (list[i].body && strstr(list[i].body, d->marker))
				cid = list[i].id;
		pb_github_comments_free(list, n);
		if (cid) {
			pb_info(GH_MOD, "op #%lld: comment %lld already carries its marker", (long long)d->op->id,
				(long long)cid);
			goto out;
		}
		d->lookup = false;
	}
	pb_buf_init(&text);
	r = pb_buf_puts(&text, pb_json_str(d->pl, "body") ? pb_json_str(d->pl, "body") : "") ? oom(err) : 0;
	if (r == 0)
		r = blocker_link(d, &text, err);
	if (r == 0 && !(body = with_marker(pb_buf_str(&text), d->marker)))
		r = oom(err);
	pb_buf_deinit(&text);
	if (r == 0)
		r = pb_github_comment_create(d->g, d->repo, number, body, &cid, err);
	free(body);
out:
	if (r == 0) {
		d->result = cJSON_CreateObject();
		if (!d->result || !cJSON_AddNumberToObject(d->result, "id", (double)cid))
			r = oom(err);
	}
	return r;
}

static int do_close(gh_dl *d, pb_err *err)
{
	int64_t number;
	int r = target_issue(d, &number, err);

	return r ? r : pb_github_issue_close(d->g, d->repo, number, pb_json_str(d->pl, "reason"), NULL, err);
}

static int do_body(gh_dl *d, pb_err *err)
{
	pb_github_issue_patch patch = { 0 };
	int64_t number;
	char *body;
	int r = target_issue(d, &number, err);

	if (r)
		return r;
	body = with_marker(pb_json_str(d->pl, "body"), d->marker);
	if (!body)
		return oom(err);
	patch.body = body;
	r = pb_github_issue_update(d->g, d->repo, number, &patch, NULL, err);
	free(body);
	return r;
}

/* A deployment is created through the raw call: its payload carries the op id GET /deployments shows back. */
static int do_deployment(gh_dl *d, pb_err *err)
{
	const char *env = pb_json_str(d->pl, "environment");
	cJSON *req = NULL, *resp = NULL, *payload;
	char path[512];
	int64_t id = 0;
	int r;

	if (!env || !pb_json_str(d->pl, "ref") || !pb_json_str(d->pl, "ref")[0])
		return pb_err_set(err, PB_E_INVALID, "the promotion has no validated revision to deploy");
	if (d->lookup) {
		cJSON *all = NULL, *it;
		pb_buf q;

		pb_buf_init(&q);
		pb_buf_printf(&q, "/repos/%s/deployments?environment=%s", d->repo, env);
		r = pb_github_get_all(d->g, pb_buf_str(&q), NULL, 1000, &all, err);
		pb_buf_deinit(&q);
		if (r)
			return r;
		cJSON_ArrayForEach(it, all) {
			int64_t op = 0;

			if (pb_json_int(cJSON_GetObjectItemCaseSensitive(it, "payload"), "promobot_op", 1, INT64_MAX,
					&op) == 0 &&
			    op == d->op->id)
				pb_json_int(it, "id", 1, INT64_MAX, &id);
		}
		cJSON_Delete(all);
		d->lookup = id == 0 ? false : d->lookup;
	}
	if (!id) {
		req = cJSON_CreateObject();
		payload = cJSON_CreateObject();
		if (!req || !payload || !cJSON_AddNumberToObject(payload, "promobot_op", (double)d->op->id) ||
		    !cJSON_AddStringToObject(req, "ref", pb_json_str(d->pl, "ref")) ||
		    !cJSON_AddStringToObject(req, "environment", env) ||
		    !cJSON_AddStringToObject(req, "description", pb_json_str(d->pl, "description")) ||
		    !cJSON_AddFalseToObject(req, "auto_merge") || !cJSON_AddArrayToObject(req, "required_contexts")) {
			cJSON_Delete(req);
			cJSON_Delete(payload);
			return oom(err);
		}
		cJSON_AddItemToObject(req, "payload", payload);
		snprintf(path, sizeof(path), "/repos/%s/deployments", d->repo);
		r = pb_github_request(d->g, "POST", path, req, false, &resp, err);
		cJSON_Delete(req);
		if (r == 0 && pb_json_int(resp, "id", 1, INT64_MAX, &id))
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: a deployment without an id for POST %s", path);
		cJSON_Delete(resp);
		if (r)
			return r;
	}
	d->result = cJSON_CreateObject();
	if (!d->result || !cJSON_AddNumberToObject(d->result, "id", (double)id))
		return oom(err);
	return 0;
}

static int do_deployment_status(gh_dl *d, pb_err *err)
{
	const char *state = pb_json_str(d->pl, "state");
	pb_ghop dep;
	cJSON *res;
	int64_t gid = 0;
	int r;

	r = pb_store_ghop_find(d->svc->store, d->op->group, "deployment", d->op->ref_id, &dep, err);
	if (r == PB_E_NOTFOUND)
		return pb_err_set(err, PB_E_NOTFOUND, "no GitHub deployment was decided for deployment #%lld",
				  (long long)d->op->ref_id);
	if (r)
		return r;
	res = dep.state == PB_GHOP_DONE ? cJSON_Parse(dep.result) : NULL;
	if (res)
		pb_json_int(res, "id", 1, INT64_MAX, &gid);
	cJSON_Delete(res);
	pb_ghop_deinit(&dep);
	if (!gid)
		return pb_err_set(err, PB_E_NOTFOUND, "the GitHub deployment for deployment #%lld was not created",
				  (long long)d->op->ref_id);
	if (d->lookup) {
		cJSON *all = NULL, *newest;
		char path[512];
		bool same;

		snprintf(path, sizeof(path), "/repos/%s/deployments/%lld/statuses", d->repo, (long long)gid);
		r = pb_github_get_all(d->g, path, NULL, 100, &all, err);
		if (r)
			return r;
		newest = cJSON_GetArrayItem(all, 0); /* newest first */
		same = newest && state && pb_json_str(newest, "state") && !strcmp(pb_json_str(newest, "state"), state);
		cJSON_Delete(all);
		if (same)
			return 0;
		d->lookup = false;
	}
	return pb_github_deployment_status(d->g, d->repo, gid, state, pb_json_str(d->pl, "log_url"),
					   pb_json_str(d->pl, "environment_url"), pb_json_str(d->pl, "description"),
					   err);
}

static int do_completion_step(gh_dl *d, bool maturity, pb_err *err)
{
	pb_ghops_completion c;
	pb_promotion p;
	int64_t from = 0, to = 0;
	char summary[256] = "";
	int r = pb_store_promotion_get(d->svc->store, d->op->promotion_id, &p, err);

	if (r)
		return r;
	if (pb_json_int(d->pl, "from", 0, PB_STAGE_COUNT - 1, &from) ||
	    pb_json_int(d->pl, "to", 0, PB_STAGE_COUNT - 1, &to))
		return pb_err_set(err, PB_E_INVALID, "GitHub outbox: op #%lld: bad stages", (long long)d->op->id);
	memset(&c, 0, sizeof(c));
	c.component = pb_json_str(d->pl, "component");
	c.from = (pb_stage)from;
	c.to = (pb_stage)to;
	c.date = pb_json_str(d->pl, "date");
	c.promotion_id = p.id;
	c.issue_number = p.issue_number;
	r = maturity ? pb_ghops_maturity(d->g, d->svc->cfg, &c, summary, sizeof(summary), err)
		     : pb_ghops_project(d->g, d->svc->cfg, &c, summary, sizeof(summary), err);
	if (r == 0 && summary[0]) {
		d->result = cJSON_CreateObject();
		if (!d->result || !cJSON_AddStringToObject(d->result, "summary", summary))
			return oom(err);
	}
	return r;
}

/* Safe to repeat: the file is read first, and the same text is not committed twice. */
static int do_lessons_commit(gh_dl *d, pb_err *err)
{
	const char *path = pb_json_str(d->pl, "path"), *text = pb_json_str(d->pl, "text");
	pb_github_content cur;
	char message[256], sha[41] = "";
	int r;

	if (!path || !text)
		return pb_err_set(err, PB_E_INVALID, "GitHub outbox: op #%lld: no path or text", (long long)d->op->id);
	memset(&cur, 0, sizeof(cur));
	r = pb_github_content_get(d->g, d->repo, path, NULL, &cur, err);
	if (r == 0 && cur.len == strlen(text) && memcmp(cur.data, text, cur.len) == 0) {
		pb_github_content_deinit(&cur);
		return 0;
	}
	if (r == PB_E_NOTFOUND) {
		pb_err_init(err);
		r = 0;
	} else if (r == 0) {
		pb_strlcpy(sha, cur.sha, sizeof(sha));
	}
	pb_github_content_deinit(&cur);
	if (r)
		return r;
	snprintf(message, sizeof(message), "Lessons learned of promotion #%lld", (long long)d->op->promotion_id);
	r = pb_github_content_put(d->g, d->repo, path, text, strlen(text), message, sha[0] ? sha : NULL, NULL, NULL,
				  err);
	/* someone committed in between (409) or the create raced (422): the next attempt re-reads */
	if (r == PB_E_CONFLICT)
		r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: %s changed while committing the lessons; trying again",
			       path);
	return r;
}

int gh_run_op(gh_dl *d, pb_err *err)
{
	const char *k = d->op->kind;

	if (!strcmp(k, "issue.open") || !strcmp(k, "blocker.open"))
		return do_issue_open(d, err);
	if (!strcmp(k, "labels"))
		return do_labels(d, err);
	if (!strcmp(k, "comment"))
		return do_comment(d, err);
	if (!strcmp(k, "close"))
		return do_close(d, err);
	if (!strcmp(k, "body"))
		return do_body(d, err);
	if (!strcmp(k, "deployment"))
		return do_deployment(d, err);
	if (!strcmp(k, "deployment.status"))
		return do_deployment_status(d, err);
	if (!strcmp(k, "lessons.commit"))
		return do_lessons_commit(d, err);
	if (!strcmp(k, "maturity") || !strcmp(k, "project"))
		return do_completion_step(d, !strcmp(k, "maturity"), err);
	return pb_err_set(err, PB_E_INVALID, "GitHub outbox: unknown op kind \"%s\"", k);
}
