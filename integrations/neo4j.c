/* neo4j.c — Neo4j HTTP API client: discovery, tx/commit with cJSON-built parameters, error mapping. */
#include "neo4j.h"
#include "neo4j_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_http.h"
#include "pb_json.h"
#include "pb_str.h"

#define NEO4J_MAX_BODY ((size_t)4 << 20)

struct pb_neo4j {
	pb_http *http;
	char *base;
	char *database;
	char *auth;        /* "Basic …" or NULL; secret */
	long timeout_ms;
};

static char *b64(const char *in)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), i, o = 0;
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static void wipe_free(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

int pb_neo4j_new(const char *base_url, const char *user, const char *password, const char *database,
		 long timeout_ms, pb_neo4j **out)
{
	pb_neo4j *n;
	size_t bl;
	int r;

	*out = NULL;
	if (!base_url)
		return PB_E_INVALID;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	n->base = strdup(base_url);
	n->database = strdup(database && *database ? database : "neo4j");
	if (!n->base || !n->database)
		goto oom;
	bl = strlen(n->base);
	while (bl && n->base[bl - 1] == '/')
		n->base[--bl] = '\0';
	if (password) {
		pb_buf cred;
		char *enc;

		pb_buf_init(&cred);
		pb_buf_printf(&cred, "%s:%s", user ? user : "neo4j", password);
		enc = cred.oom ? NULL : b64(pb_buf_str(&cred));
		if (cred.data)
			memset(cred.data, 0, cred.len);
		pb_buf_deinit(&cred);
		if (!enc)
			goto oom;
		n->auth = malloc(strlen(enc) + 7);
		if (n->auth)
			snprintf(n->auth, strlen(enc) + 7, "Basic %s", enc);
		wipe_free(enc);
		if (!n->auth)
			goto oom;
	}
	r = pb_http_new(&n->http);
	if (r) {
		pb_neo4j_free(n);
		return r;
	}
	*out = n;
	return 0;
oom:
	pb_neo4j_free(n);
	return -ENOMEM;
}

void pb_neo4j_free(pb_neo4j *n)
{
	if (!n)
		return;
	pb_http_free(n->http);
	free(n->base);
	free(n->database);
	wipe_free(n->auth);
	free(n);
}

static void copy_str(const cJSON *obj, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		pb_strlcpy(out, v->valuestring, size);
	else if (size)
		out[0] = '\0';
}

int pb_neo4j_discover(pb_neo4j *n, pb_neo4j_info *info, pb_err *err)
{
	pb_http_header hd[] = { { "Accept", "application/json" } };
	pb_http_req q = { .method = "GET", .headers = hd, .nheaders = 1, .max_body = 65536 };
	char url[600];
	pb_http_resp resp;
	int r;

	memset(info, 0, sizeof(*info));
	snprintf(url, sizeof(url), "%s/", n->base);
	q.url = url;
	q.timeout_ms = n->timeout_ms;
	pb_http_resp_init(&resp);
	r = pb_http_do(n->http, &q, &resp, err);
	if (r)
		goto out;
	if (resp.status != 200) {
		r = pb_err_set(err, PB_E_FAILED, "Neo4j discovery %s: HTTP %ld", url, resp.status);
		goto out;
	}
	if (neo4j_discovery_read(resp.body.data, resp.body.len, info))
		r = pb_err_set(err, PB_E_FAILED, "Neo4j discovery %s: not a Neo4j discovery document", url);
out:
	pb_http_resp_deinit(&resp);
	return r;
}

int neo4j_discovery_read(const char *body, size_t len, pb_neo4j_info *info)
{
	cJSON *j = cJSON_ParseWithLength(body, len);

	memset(info, 0, sizeof(*info));
	copy_str(j, "neo4j_version", info->version, sizeof(info->version));
	copy_str(j, "neo4j_edition", info->edition, sizeof(info->edition));
	copy_str(j, "transaction", info->transaction, sizeof(info->transaction));
	cJSON_Delete(j);
	return info->version[0] && info->transaction[0] ? 0 : PB_E_INVALID;
}

static char *statement_body(const char *statement, const cJSON *params)
{
	cJSON *root = cJSON_CreateObject(), *arr, *st, *p;
	char *txt = NULL;

	arr = cJSON_AddArrayToObject(root, "statements");
	st = cJSON_CreateObject();
	if (!arr || !st || !cJSON_AddItemToArray(arr, st))
		goto out;
	if (!cJSON_AddStringToObject(st, "statement", statement))
		goto out;
	if (params) {
		p = cJSON_Duplicate(params, 1);
		if (!p || !cJSON_AddItemToObject(st, "parameters", p)) {
			cJSON_Delete(p);
			goto out;
		}
	}
	if (!cJSON_AddTrueToObject(st, "includeStats"))
		goto out;
	txt = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return txt;
}

/* First entry of "errors" as "<code>: <message>"; 0 when the list is empty. */
static int first_error(const cJSON *root, char *out, size_t size)
{
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	const cJSON *e = cJSON_GetArrayItem(errs, 0);
	char code[128], msg[300];

	if (!e)
		return 0;
	copy_str(e, "code", code, sizeof(code));
	copy_str(e, "message", msg, sizeof(msg));
	snprintf(out, size, "%s: %s", code[0] ? code : "Neo4j error", msg);
	return 1;
}

int pb_neo4j_query(pb_neo4j *n, const char *statement, const cJSON *params, pb_neo4j_result *res,
		   pb_err *err)
{
	pb_http_header hd[3] = { { "Content-Type", "application/json" }, { "Accept", "application/json" } };
	pb_http_req q = { .method = "POST", .headers = hd, .nheaders = 2, .max_body = NEO4J_MAX_BODY };
	char url[600];
	pb_http_resp resp;
	char *body;
	int r;

	memset(res, 0, sizeof(*res));
	if (n->auth)
		hd[q.nheaders++] = (pb_http_header){ "Authorization", n->auth };
	snprintf(url, sizeof(url), "%s/db/%s/tx/commit", n->base, n->database);
	body = statement_body(statement, params);
	if (!body)
		return -ENOMEM;
	q.url = url;
	q.body = body;
	q.body_len = strlen(body);
	q.timeout_ms = n->timeout_ms;
	pb_http_resp_init(&resp);
	r = pb_http_do(n->http, &q, &resp, err);
	res->ms = resp.total_ms;
	if (r)
		goto out;
	r = neo4j_reply_read(resp.status, resp.body.data, resp.body.len, n->base, url, res, err);
out:
	free(body);
	pb_http_resp_deinit(&resp);
	return r;
}

int neo4j_reply_read(long status, const char *body, size_t len, const char *base, const char *url,
		     pb_neo4j_result *res, pb_err *err)
{
	const cJSON *r0, *stats;
	char emsg[450];
	int r = 0;

	res->root = cJSON_ParseWithLength(body, len);
	if (status == 401) {
		r = pb_err_set(err, PB_E_REFUSED, "Neo4j at %s refused the credentials (HTTP 401%s%s)", base,
			       first_error(res->root, emsg, sizeof(emsg)) ? ", " : "",
			       first_error(res->root, emsg, sizeof(emsg)) ? emsg : "");
		goto out;
	}
	/* Cypher errors arrive with HTTP 200: a non-empty "errors" is a failure whatever the status. */
	if (first_error(res->root, emsg, sizeof(emsg))) {
		r = pb_err_set(err, PB_E_FAILED, "%s", emsg);
		goto out;
	}
	if (status != 200 || !res->root) {
		r = pb_err_set(err, PB_E_FAILED, "POST %s: HTTP %ld", url, status);
		goto out;
	}
	r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res->root, "results"), 0);
	res->columns = cJSON_GetObjectItemCaseSensitive(r0, "columns");
	res->data = cJSON_GetObjectItemCaseSensitive(r0, "data");
	stats = cJSON_GetObjectItemCaseSensitive(r0, "stats");
	if (!r0) {
		r = pb_err_set(err, PB_E_FAILED, "POST %s: reply without results", url);
		goto out;
	}
	/* Counts from a peer: a negative, fractional or huge one is a broken reply, not a number to cast. */
	if (pb_json_int32_or(stats, "nodes_created", 0, INT_MAX, 0, &res->nodes_created, err) ||
	    pb_json_int32_or(stats, "nodes_deleted", 0, INT_MAX, 0, &res->nodes_deleted, err)) {
		pb_err_prefix(err, "POST %s: results[0].stats", url);
		r = PB_E_FAILED;
	}
out:
	if (r) {
		cJSON_Delete(res->root);
		res->root = NULL;
		res->columns = res->data = NULL;
	}
	return r;
}

void pb_neo4j_result_deinit(pb_neo4j_result *res)
{
	if (!res)
		return;
	cJSON_Delete(res->root);
	memset(res, 0, sizeof(*res));
}

const cJSON *pb_neo4j_value(const pb_neo4j_result *res, int row, int col)
{
	const cJSON *r = cJSON_GetArrayItem(res->data, row);

	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "row"), col);
}

int pb_neo4j_rows(const pb_neo4j_result *res)
{
	return cJSON_GetArraySize(res->data);
}
