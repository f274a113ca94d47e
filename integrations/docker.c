/* docker.c — Docker Engine API client over pb_http: images, containers, logs, stats. */
#include "docker.h"
#include "docker_priv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pb_lane.h"
#include "pb_clock.h"
#include "pb_http.h"
#include "pb_json.h"

#define DK_DEFAULT_TIMEOUT_MS 60000L
#define DK_ERRBODY_MAX 4096
#define DK_LINE_MAX (1u << 20)
#define DK_LOGS_MAX ((size_t)1 << 20)
#define DK_STATS_WINDOW_MS 1000   /* dockerd's stats collection interval */

struct pb_docker {
	pb_http *http;
	char host[300];
	char sock[256];     /* unix socket path, "" for tcp */
	char base[300];     /* "http://localhost" (unix) or "http://h:p" */
	char api[16];       /* negotiated, "" until pinged */
	char libpod[32];    /* podman's Libpod-Api-Version ("4.3.1"); "" for dockerd */
	long timeout_ms;
};

/* ---- construction ---- */

int pb_docker_new(const char *host, long timeout_ms, pb_docker **out, pb_err *err)
{
	const char *env = getenv("DOCKER_HOST");
	pb_docker *d;
	int r;

	*out = NULL;
	if (env && *env)
		host = env;
	if (!host || !*host)
		host = PB_DOCKER_DEFAULT_HOST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (strlen(host) >= sizeof(d->host)) {
		free(d);
		return pb_err_set(err, PB_E_INVALID, "docker host too long");
	}
	pb_strlcpy(d->host, host, sizeof(d->host));
	if (strncmp(host, "unix://", 7) == 0 && host[7] == '/') {
		pb_strlcpy(d->sock, host + 7, sizeof(d->sock));
		pb_strlcpy(d->base, "http://localhost", sizeof(d->base));
	} else if (strncmp(host, "tcp://", 6) == 0 && host[6] && !strpbrk(host + 6, "/?#@ ")) {
		snprintf(d->base, sizeof(d->base), "http://%s", host + 6);
	} else {
		free(d);
		return pb_err_set(err, PB_E_INVALID,
				  "docker host \"%s\": expected unix:///path/to/docker.sock or tcp://host:port",
				  host);
	}
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : DK_DEFAULT_TIMEOUT_MS;
	r = pb_http_new(&d->http);
	if (r) {
		free(d);
		return r < 0 ? r : pb_err_set(err, r, "docker: cannot initialise libcurl");
	}
	*out = d;
	return 0;
}

void pb_docker_free(pb_docker *d)
{
	if (!d)
		return;
	pb_http_free(d->http);
	free(d);
}

const char *pb_docker_host(const pb_docker *d)
{
	return d->host;
}

const char *pb_docker_api_version(const pb_docker *d)
{
	return d->api;
}

bool pb_docker_is_podman(const pb_docker *d)
{
	return d->libpod[0] != '\0';
}

/* ---- request plumbing ---- */

typedef struct dk_call {
	const char *method;
	const char *path;          /* after the version prefix, with query */
	const char *ctype;         /* Content-Type of body */
	const void *body;
	size_t body_len;
	const char *reg_auth;      /* X-Registry-Auth */
	long timeout_ms;           /* 0 = client default */
	size_t max_body;
	int (*on_data)(void *ud, const char *data, size_t len);
	void *on_data_ud;
	bool unversioned;
	const char *container;     /* the container a 404 is about (see dk_status_error) */
} dk_call;

/*
 * Turns an engine error reply into err: "<what>: <message> (HTTP <status>)".
 * container: the container a 404 is about, or NULL. dockerd says "No such container: <id>";
 * podman says "no container with name or ID \"<id>\" found: no such container". Callers and
 * operators match on Docker's wording, so podman's 404 gets it in front and keeps its own text:
 * "<what>: No such container: <id> (HTTP 404), engine said: <podman's message>".
 */
static int dk_status_error(long status, const char *body, size_t len, const char *what,
			   const char *container, pb_err *err)
{
	char msg[300] = "";
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const cJSON *cause = cJSON_GetObjectItemCaseSensitive(j, "cause");
	int code = status == 404 ? PB_E_NOTFOUND : status == 409 ? PB_E_CONFLICT : PB_E_FAILED;

	/*
	 * podman (4.x) answers a taken container name with HTTP 500 and cause "that name is already
	 * in use" where dockerd sends 409: same condition, so the same code. The message keeps the
	 * status the engine really sent.
	 */
	if (status == 500 && cJSON_IsString(cause) && strcmp(cause->valuestring, "that name is already in use") == 0)
		code = PB_E_CONFLICT;

	if (cJSON_IsString(m))
		pb_strlcpy(msg, m->valuestring, sizeof(msg));
	else if (len) {
		size_t n = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
		memcpy(msg, body, n);
		msg[n] = '\0';
		msg[strcspn(msg, "\r\n")] = '\0';
	}
	cJSON_Delete(j);
	if (status == 404 && container && msg[0] && !strstr(msg, "No such container"))
		return pb_err_set(err, code, "%s: No such container: %s (HTTP %ld), engine said: %s", what,
				  container, status, msg);
	if (msg[0])
		return pb_err_set(err, code, "%s: %s (HTTP %ld)", what, msg, status);
	return pb_err_set(err, code, "%s: engine answered HTTP %ld", what, status);
}

static int dk_negotiate(pb_docker *d, pb_err *err);
static bool ref_ok(const char *s);

static int dk_do(pb_docker *d, const dk_call *c, pb_http_resp *resp, const char *what, pb_err *err)
{
	pb_http_header hd[2];
	size_t nh = 0;
	char url[2048];
	pb_err herr;
	pb_http_req q;
	int r;

	if (!c->unversioned && !d->api[0]) {
		r = dk_negotiate(d, err);
		if (r)
			return r;
	}
	if (c->unversioned)
		snprintf(url, sizeof(url), "%s%s", d->base, c->path);
	else
		snprintf(url, sizeof(url), "%s/v%s%s", d->base, d->api, c->path);
	if (c->ctype)
		hd[nh++] = (pb_http_header){ "Content-Type", c->ctype };
	if (c->reg_auth)
		hd[nh++] = (pb_http_header){ "X-Registry-Auth", c->reg_auth };
	memset(&q, 0, sizeof(q));
	q.method = c->method;
	q.url = url;
	q.unix_socket = d->sock[0] ? d->sock : NULL;
	q.headers = hd;
	q.nheaders = nh;
	q.body = c->body;
	q.body_len = c->body_len;
	q.timeout_ms = c->timeout_ms ? c->timeout_ms : d->timeout_ms;
	q.max_body = c->max_body;
	q.on_data = c->on_data;
	q.on_data_ud = c->on_data_ud;
	pb_err_init(&herr);
	r = pb_http_do(d->http, &q, resp, &herr);
	if (r < 0)
		return pb_err_set(err, r, "%s: %s", what, pb_err_text(&herr));
	if (r)
		return pb_err_set(err, PB_E_UNAVAILABLE, "%s: Docker engine at %s is unreachable: %s",
				  what, d->host, pb_err_text(&herr));
	return 0;
}

/* Plain JSON call: transport + status check; 2xx/304 → 0 with resp filled. */
static int dk_json(pb_docker *d, const dk_call *c, pb_http_resp *resp, const char *what, pb_err *err)
{
	int r = dk_do(d, c, resp, what, err);

	if (r)
		return r;
	if (resp->status >= 400 || resp->status < 200)
		return dk_status_error(resp->status, resp->body.data, resp->body.len, what, c->container, err);
	return 0;
}

/* "1.43" → 1043, a comparable integer; -1 when malformed (the engine's header: bounded before any arithmetic). */
long dk_api_num(const char *v)
{
	long maj, min;
	char *e;

	maj = strtol(v, &e, 10);
	if (e == v || *e != '.' || maj < 0 || maj > 999)
		return -1;
	min = strtol(e + 1, &e, 10);
	if (*e || min < 0 || min > 999)
		return -1;
	return maj * 1000 + min;
}

int pb_docker_ping(pb_docker *d, pb_err *err)
{
	dk_call c = { .method = "GET", .path = "/_ping", .unversioned = true, .max_body = 4096 };
	char theirs[32];
	char what[400];
	pb_http_resp resp;
	int r;

	snprintf(what, sizeof(what), "ping %s", d->host);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	if (r)
		goto out;
	if (pb_http_resp_header(&resp, "API-Version", theirs, sizeof(theirs)) == 0 && dk_api_num(theirs) > 0 &&
	    dk_api_num(theirs) < dk_api_num(PB_DOCKER_API_MAX))
		pb_strlcpy(d->api, theirs, sizeof(d->api));
	else
		pb_strlcpy(d->api, PB_DOCKER_API_MAX, sizeof(d->api));
	/* podman's compat API says who it is in every reply; dockerd never sends this header. */
	if (pb_http_resp_header(&resp, "Libpod-Api-Version", theirs, sizeof(theirs)) != 0 || !ref_ok(theirs))
		theirs[0] = '\0';
	pb_strlcpy(d->libpod, theirs, sizeof(d->libpod));
out:
	pb_http_resp_deinit(&resp);
	return r;
}

static int dk_negotiate(pb_docker *d, pb_err *err)
{
	return pb_docker_ping(d, err);
}

int pb_docker_version(pb_docker *d, char *out, size_t size, pb_err *err)
{
	dk_call c = { .method = "GET", .path = "/version", .max_body = 65536 };
	pb_http_resp resp;
	cJSON *j;
	const cJSON *v;
	int r;

	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, "docker version", err);
	if (!r) {
		j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		v = cJSON_GetObjectItemCaseSensitive(j, "Version");
		if (cJSON_IsString(v))
			pb_strlcpy(out, v->valuestring, size);
		else
			r = pb_err_set(err, PB_E_FAILED, "docker version: unexpected reply");
		cJSON_Delete(j);
	}
	pb_http_resp_deinit(&resp);
	return r;
}

/* ---- helpers ---- */

/* Image references and container ids/names go into URL paths: allow only their alphabet. */
static bool ref_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '-' || ch == '_' || ch == '/' || ch == ':' || ch == '@'))
			return false;
	}
	return true;
}

static bool id_ok(const char *s)
{
	return ref_ok(s) && !strpbrk(s, "/:@");
}

static void copy_str(const cJSON *obj, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		pb_strlcpy(out, v->valuestring, size);
	else if (size)
		out[0] = '\0';
}

/* Largest double below 2^64: a counter read with this bound converts to uint64_t without UB. */
#define DK_U64_MAX_DOUBLE 18446744073709549568.0

/* A non-negative counter (bytes, nanoseconds) as a double; absent = 0, bad → PB_E_INVALID with err. */
static int get_counter(const cJSON *obj, const char *key, double *out, pb_err *err)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	int r = pb_json_double(obj, key, 0, DK_U64_MAX_DOUBLE, out);

	if (r == PB_E_NOTFOUND) {
		*out = 0;
		return 0;
	}
	if (!r && *out != floor(*out))
		r = PB_E_INVALID;
	if (r && cJSON_IsNumber(v))
		return pb_err_set(err, PB_E_INVALID, "%s: %.15g is not a whole counter in [0, 2^64)", key,
				  v->valuedouble);
	if (r)
		return pb_err_set(err, PB_E_INVALID, "%s: not a number", key);
	return 0;
}

int pb_docker_ref_split(const char *ref, char *repo, size_t rsize, char *tag, size_t tsize)
{
	const char *at = strchr(ref, '@');
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(ref, ':');
	size_t n;

	if (!ref_ok(ref))
		return PB_E_INVALID;
	if (at) {
		n = (size_t)(at - ref);
		pb_strlcpy(tag, at + 1, tsize);
	} else if (colon && (!slash || colon > slash)) {
		n = (size_t)(colon - ref);
		pb_strlcpy(tag, colon + 1, tsize);
	} else {
		n = strlen(ref);
		pb_strlcpy(tag, "latest", tsize);
	}
	if (n == 0 || n >= rsize || !tag[0])
		return PB_E_INVALID;
	memcpy(repo, ref, n);
	repo[n] = '\0';
	return 0;
}

/* ---- NDJSON progress streams (pull, push, import) ---- */

/* Index of layer id in s (added when new), -1 when the table is full. */
static int stream_layer(dk_stream *s, const char *id)
{
	int i;

	for (i = 0; i < s->nlayers; i++)
		if (strcmp(s->layer_ids[i], id) == 0)
			return i;
	s->stats->layers++;
	if (s->nlayers >= DK_MAX_LAYERS)
		return -1;
	pb_strlcpy(s->layer_ids[s->nlayers], id, sizeof(s->layer_ids[0]));
	return s->nlayers++;
}

static void stream_line(dk_stream *s, const char *line, size_t len)
{
	cJSON *j;
	const cJSON *e;
	char status[256], id[64];

	if (len == 0)
		return;
	j = cJSON_ParseWithLength(line, len);
	if (!j)
		return;
	if (s->stats)
		s->stats->lines++;
	/* An in-band error: the HTTP status was already 200, so this is the only signal. */
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!s->error[0]) {
		const cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "errorDetail");
		const cJSON *dm = cJSON_GetObjectItemCaseSensitive(det, "message");

		if (cJSON_IsString(e) && e->valuestring[0])
			pb_strlcpy(s->error, e->valuestring, sizeof(s->error));
		else if (cJSON_IsString(dm) && dm->valuestring[0])
			pb_strlcpy(s->error, dm->valuestring, sizeof(s->error));
	}
	copy_str(j, "status", status, sizeof(status));
	copy_str(j, "id", id, sizeof(id));
	if (s->stats && status[0]) {
		if (strncmp(status, "Status: ", 8) == 0)
			pb_strlcpy(s->stats->last_status, status + 8, sizeof(s->stats->last_status));
		else if (strncmp(status, "Digest: ", 8) == 0)
			pb_strlcpy(s->stats->digest, status + 8, sizeof(s->stats->digest));
		else if (id[0] && strncmp(status, "Pulling from ", 13) != 0) {
			/* "Pulling from <repo>" carries the tag as its id, not a layer. */
			int k = stream_layer(s, id);
			bool present = strcmp(status, "Already exists") == 0;

			/*
			 * A layer is done once: dockerd ends each with "Pull complete" (after "Download
			 * complete" and extraction); podman's compat stream has no extraction phase and ends
			 * each with "Download complete", sometimes twice.
			 */
			if (k >= 0 && !s->layer_done[k] &&
			    (present || strcmp(status, "Pull complete") == 0 || strcmp(status, "Download complete") == 0)) {
				s->layer_done[k] = true;
				s->stats->layers_done++;
				s->layers_present += present;
			}
		}
	}
	if (s->progress && status[0])
		s->progress(s->ud, status, id);
	cJSON_Delete(j);
}

int dk_stream_data(void *ud, const char *data, size_t len)
{
	dk_stream *s = ud;
	size_t i, start = 0;

	if (s->raw.len < DK_ERRBODY_MAX)
		pb_buf_append(&s->raw, data, len < DK_ERRBODY_MAX ? len : DK_ERRBODY_MAX);
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (s->line.len) {
			pb_buf_append(&s->line, data + start, i - start);
			stream_line(s, s->line.data, s->line.len);
			pb_buf_reset(&s->line);
		} else {
			stream_line(s, data + start, i - start);
		}
		start = i + 1;
	}
	if (start < len)
		pb_buf_append(&s->line, data + start, len - start);
	if (s->line.oom || s->raw.oom || s->line.len > DK_LINE_MAX) {
		s->oom = 1;
		return 1;
	}
	return 0;
}

void dk_stream_init(dk_stream *s)
{
	pb_buf_init(&s->line);
	pb_buf_init(&s->raw);
}

void dk_stream_finish(dk_stream *s)
{
	if (s->line.len)
		stream_line(s, s->line.data, s->line.len);
	pb_buf_reset(&s->line);
}

void dk_stream_deinit(dk_stream *s)
{
	pb_buf_deinit(&s->line);
	pb_buf_deinit(&s->raw);
}

/* Runs a streaming call and turns in-band or HTTP errors into err. */
static int dk_stream_call(pb_docker *d, dk_call *c, dk_stream *s, const char *what, pb_err *err)
{
	pb_http_resp resp;
	int r;

	dk_stream_init(s);
	c->on_data = dk_stream_data;
	c->on_data_ud = s;
	/* Pulls and imports move whole images: allow far more than one API call. */
	c->timeout_ms = d->timeout_ms * 10;
	pb_http_resp_init(&resp);
	r = dk_do(d, c, &resp, what, err);
	if (s->oom && (r == 0 || r == PB_E_UNAVAILABLE)) {
		pb_err_init(err);
		r = pb_err_set(err, PB_E_FAILED, "%s: progress line too long or out of memory", what);
	}
	if (r)
		goto out;
	dk_stream_finish(s);
	/*
	 * dockerd ends a pull with "Status: Downloaded newer image for …" / "Status: Image is up to
	 * date for …"; podman's compat stream just stops after the last layer. Summarise what it did
	 * report so callers always have a final status to show.
	 */
	if (s->stats && !s->stats->last_status[0] && !s->error[0] && resp.status >= 200 && resp.status < 300 &&
	    s->stats->lines > 0)
		snprintf(s->stats->last_status, sizeof(s->stats->last_status),
			 "%d layer(s) done, %d already present (the engine sent no final status line)",
			 s->stats->layers_done, s->layers_present);
	if (resp.status >= 400 || resp.status < 200)
		r = dk_status_error(resp.status, s->raw.data, s->raw.len, what, NULL, err);
	else if (s->error[0])
		r = pb_err_set(err, PB_E_FAILED, "%s: %s (in the progress stream, HTTP %ld)", what,
			       s->error, resp.status);
out:
	pb_http_resp_deinit(&resp);
	dk_stream_deinit(s);
	return r;
}

/* ---- images ---- */

int pb_docker_image_inspect(pb_docker *d, const char *ref, char *id, size_t size, pb_err *err)
{
	char path[512], what[400];
	dk_call c = { .method = "GET", .path = path, .max_body = 1 << 20 };
	pb_http_resp resp;
	cJSON *j;
	int r;

	snprintf(what, sizeof(what), "inspect image %s", ref ? ref : "");
	if (!ref_ok(ref))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid image reference", what);
	snprintf(path, sizeof(path), "/images/%s/json", ref);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	if (!r) {
		j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		copy_str(j, "Id", id, size);
		cJSON_Delete(j);
		if (!id[0])
			r = pb_err_set(err, PB_E_FAILED, "%s: reply without Id", what);
	}
	pb_http_resp_deinit(&resp);
	return r;
}

static int query_escape(char *out, size_t size, const char *fmt_key, const char *value)
{
	char *e = pb_http_escape(value);

	if (!e)
		return -ENOMEM;
	snprintf(out, size, "%s%s", fmt_key, e);
	free(e);
	return 0;
}

int pb_docker_image_pull(pb_docker *d, const char *ref, pb_docker_pull_stats *stats,
			 pb_docker_progress_fn progress, void *ud, pb_err *err)
{
	char repo[256], tag[160], path[800], what[400], q1[600], q2[200];
	dk_call c = { .method = "POST", .path = path };
	dk_stream s;

	snprintf(what, sizeof(what), "pull %s", ref ? ref : "");
	if (!ref || pb_docker_ref_split(ref, repo, sizeof(repo), tag, sizeof(tag)))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid image reference", what);
	if (query_escape(q1, sizeof(q1), "fromImage=", repo) || query_escape(q2, sizeof(q2), "&tag=", tag))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/images/create?%s%s", q1, q2);
	memset(&s, 0, sizeof(s));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	s.stats = stats;
	s.progress = progress;
	s.ud = ud;
	return dk_stream_call(d, &c, &s, what, err);
}

int pb_docker_image_import(pb_docker *d, const void *tar, size_t len, const char *repo,
			   const char *tag, pb_err *err)
{
	char path[800], what[400], q1[600], q2[200], full[420];
	dk_call c = { .method = "POST", .path = path, .ctype = "application/x-tar", .body = tar,
		      .body_len = len };
	dk_stream s;

	snprintf(what, sizeof(what), "import %s:%s", repo ? repo : "", tag ? tag : "");
	if (!ref_ok(repo) || !id_ok(tag) || strlen(repo) + strlen(tag) + 2 > sizeof(full))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid repository or tag", what);
	/*
	 * repo carries the tag too: podman's compat API (4.x) ignores the tag parameter and
	 * would name the image <repo>:latest, while dockerd parses "repo:tag" and then
	 * applies the (identical) tag parameter on top, so both engines get repo:tag.
	 */
	snprintf(full, sizeof(full), "%s:%s", repo, tag);
	if (query_escape(q1, sizeof(q1), "&repo=", full) || query_escape(q2, sizeof(q2), "&tag=", tag))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/images/create?fromSrc=-%s%s", q1, q2);
	memset(&s, 0, sizeof(s));
	return dk_stream_call(d, &c, &s, what, err);
}

int pb_docker_image_tag(pb_docker *d, const char *ref, const char *repo, const char *tag, pb_err *err)
{
	char path[1200], what[600], q1[400], q2[200];
	dk_call c = { .method = "POST", .path = path, .max_body = 65536 };
	pb_http_resp resp;
	int r;

	snprintf(what, sizeof(what), "tag %s as %s:%s", ref ? ref : "", repo ? repo : "", tag ? tag : "");
	if (!ref_ok(ref) || !ref_ok(repo) || !id_ok(tag))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid reference", what);
	if (query_escape(q1, sizeof(q1), "repo=", repo) || query_escape(q2, sizeof(q2), "&tag=", tag))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/images/%s/tag?%s%s", ref, q1, q2);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	pb_http_resp_deinit(&resp);
	return r;
}

int pb_docker_image_push(pb_docker *d, const char *name, const char *tag, pb_err *err)
{
	char path[800], what[400], q[200];
	/* base64("{}"): the engine requires the header even for an anonymous registry. */
	dk_call c = { .method = "POST", .path = path, .reg_auth = "e30=" };
	dk_stream s;

	snprintf(what, sizeof(what), "push %s:%s", name ? name : "", tag ? tag : "");
	if (!ref_ok(name) || !id_ok(tag))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid reference", what);
	if (query_escape(q, sizeof(q), "tag=", tag))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/images/%s/push?%s", name, q);
	memset(&s, 0, sizeof(s));
	return dk_stream_call(d, &c, &s, what, err);
}

int pb_docker_image_remove(pb_docker *d, const char *ref, bool force, pb_err *err)
{
	char path[512], what[400];
	dk_call c = { .method = "DELETE", .path = path, .max_body = 1 << 20 };
	pb_http_resp resp;
	int r;

	snprintf(what, sizeof(what), "remove image %s", ref ? ref : "");
	if (!ref_ok(ref))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid image reference", what);
	snprintf(path, sizeof(path), "/images/%s?force=%s", ref, force ? "true" : "false");
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	pb_http_resp_deinit(&resp);
	return r;
}

/* ---- containers ---- */

static int parse_ports(const cJSON *arr, pb_docker_container *c, pb_err *err)
{
	const cJSON *p;
	int r;

	cJSON_ArrayForEach(p, arr) {
		pb_docker_port *o;

		if (c->nports >= sizeof(c->ports) / sizeof(c->ports[0]))
			break;
		o = &c->ports[c->nports++];
		copy_str(p, "IP", o->ip, sizeof(o->ip));
		copy_str(p, "Type", o->type, sizeof(o->type));
		/* PublicPort is absent for an exposed but unpublished port: 0 says "not published". */
		r = pb_json_int32_or(p, "PrivatePort", 0, 65535, 0, &o->private_port, err);
		if (!r)
			r = pb_json_int32_or(p, "PublicPort", 0, 65535, 0, &o->public_port, err);
		if (r) {
			pb_err_prefix(err, "Ports[%zu]", c->nports - 1);
			return r;
		}
	}
	return 0;
}

int dk_containers_parse(const char *json, size_t len, pb_docker_container **out, size_t *count,
			dk_no_hostconfig_fn no_hc, void *ud, pb_err *err)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	pb_docker_container *list = NULL;
	const cJSON *it;
	size_t n, i = 0;
	int r = 0;

	*out = NULL;
	*count = 0;
	if (!cJSON_IsArray(j)) {
		r = pb_err_set(err, PB_E_INVALID, "unexpected reply (not a JSON array)");
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(j);
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, j) {
		pb_docker_container *o = &list[i++];
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(it, "Names");
		const cJSON *first = cJSON_GetArrayItem(names, 0);
		const cJSON *hc = cJSON_GetObjectItemCaseSensitive(it, "HostConfig");

		copy_str(it, "Id", o->id, sizeof(o->id));
		if (cJSON_IsString(first))
			pb_strlcpy(o->name, first->valuestring + (first->valuestring[0] == '/'), sizeof(o->name));
		copy_str(it, "Image", o->image, sizeof(o->image));
		copy_str(it, "State", o->state, sizeof(o->state));
		copy_str(hc, "NetworkMode", o->network_mode, sizeof(o->network_mode));
		r = parse_ports(cJSON_GetObjectItemCaseSensitive(it, "Ports"), o, err);
		if (r) {
			pb_err_prefix(err, "container %zu", i - 1);
			goto out;
		}
		/* podman's list (4.x) carries no HostConfig: the caller reads the mode from the container itself. */
		if (!hc && no_hc)
			no_hc(ud, o);
	}
	*out = list;
	*count = n;
	list = NULL;
out:
	free(list);
	cJSON_Delete(j);
	return r;
}

/* HostConfig.NetworkMode from GET /containers/{id}/json; "" when it cannot be read. */
static void network_mode_of(pb_docker *d, const char *id, char *out, size_t size)
{
	char path[300];
	dk_call c = { .method = "GET", .path = path, .max_body = 4 << 20 };
	pb_http_resp resp;
	pb_err e;
	cJSON *j;

	out[0] = '\0';
	if (!id_ok(id))
		return;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	pb_err_init(&e);
	pb_http_resp_init(&resp);
	if (dk_json(d, &c, &resp, "inspect container", &e) == 0) {
		j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		copy_str(cJSON_GetObjectItemCaseSensitive(j, "HostConfig"), "NetworkMode", out, size);
		cJSON_Delete(j);
	}
	pb_http_resp_deinit(&resp);
}

typedef struct dk_nethc {
	pb_docker *d;
} dk_nethc;

static void nethc_lookup(void *ud, pb_docker_container *c)
{
	dk_nethc *nh = ud;

	network_mode_of(nh->d, c->id, c->network_mode, sizeof(c->network_mode));
}

int pb_docker_container_list(pb_docker *d, bool all, const char *const *labels, size_t nlabels,
			     pb_docker_container **out, size_t *count, pb_err *err)
{
	char path[4096], fq[3600] = "";
	dk_call c = { .method = "GET", .path = path, .max_body = 8 << 20 };
	pb_http_resp resp;
	cJSON *f = NULL, *arr;
	size_t i;
	char *ftxt = NULL;
	dk_nethc nh = { d };
	int r;

	*out = NULL;
	*count = 0;
	pb_http_resp_init(&resp);
	if (nlabels) {
		/* filters={"label":["k=v",…]} built with cJSON so label text cannot break the JSON. */
		f = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(f, "label");
		if (!arr) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; i < nlabels; i++)
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(labels[i]))) {
				r = -ENOMEM;
				goto out;
			}
		ftxt = cJSON_PrintUnformatted(f);
		if (!ftxt || query_escape(fq, sizeof(fq), "&filters=", ftxt)) {
			r = -ENOMEM;
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/containers/json?all=%s%s", all ? "true" : "false", fq);
	r = dk_json(d, &c, &resp, "list containers", err);
	if (r)
		goto out;
	r = dk_containers_parse(resp.body.data, resp.body.len, out, count, nethc_lookup, &nh, err);
	if (r > 0) {
		pb_err_prefix(err, "list containers");
		r = PB_E_FAILED;
	}
out:
	free(ftxt);
	cJSON_Delete(f);
	pb_http_resp_deinit(&resp);
	return r;
}

static int add_strings(cJSON *obj, const char *key, const char *const *v, size_t n)
{
	cJSON *arr;
	size_t i;

	if (!n)
		return 0;
	arr = cJSON_AddArrayToObject(obj, key);
	if (!arr)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(v[i])))
			return -ENOMEM;
	return 0;
}

static int add_health(cJSON *root, const pb_container_health_cfg *h)
{
	const double ns = 1e9;
	cJSON *o;

	if (!h || !h->test || !h->ntest)
		return 0;
	o = cJSON_AddObjectToObject(root, "Healthcheck");
	if (!o || add_strings(o, "Test", (const char *const *)h->test, h->ntest))
		return -ENOMEM;
	/* Durations are nanoseconds; 0 leaves the engine's default. */
	if (!cJSON_AddNumberToObject(o, "Interval", h->interval_s * ns) ||
	    !cJSON_AddNumberToObject(o, "Timeout", h->timeout_s * ns) ||
	    !cJSON_AddNumberToObject(o, "Retries", h->retries) ||
	    !cJSON_AddNumberToObject(o, "StartPeriod", h->start_period_s * ns))
		return -ENOMEM;
	return 0;
}

static int add_ports(cJSON *root, cJSON *hc, const pb_docker_create *s)
{
	cJSON *exposed, *bindings;
	size_t i;

	if (!s->nports)
		return 0;
	exposed = cJSON_AddObjectToObject(root, "ExposedPorts");
	bindings = cJSON_AddObjectToObject(hc, "PortBindings");
	if (!exposed || !bindings)
		return -ENOMEM;
	for (i = 0; i < s->nports; i++) {
		const pb_port_cfg *p = &s->ports[i];
		char key[32], hp[16];
		cJSON *arr, *b;

		snprintf(key, sizeof(key), "%d/%s", p->container_port, p->proto ? p->proto : "tcp");
		snprintf(hp, sizeof(hp), "%d", p->host_port);
		if (!cJSON_GetObjectItemCaseSensitive(exposed, key) &&
		    !cJSON_AddObjectToObject(exposed, key))
			return -ENOMEM;
		arr = cJSON_GetObjectItemCaseSensitive(bindings, key);
		if (!arr)
			arr = cJSON_AddArrayToObject(bindings, key);
		b = cJSON_CreateObject();
		if (!arr || !b || !cJSON_AddItemToArray(arr, b))
			return -ENOMEM;
		if (!cJSON_AddStringToObject(b, "HostIp", p->host_ip ? p->host_ip : "127.0.0.1") ||
		    !cJSON_AddStringToObject(b, "HostPort", hp))
			return -ENOMEM;
	}
	return 0;
}

static cJSON *create_body(const pb_docker_create *s)
{
	cJSON *root = cJSON_CreateObject(), *hc, *labels, *rp;
	size_t i;
	bool host_net = s->network_mode && strcmp(s->network_mode, "host") == 0;

	if (!root || !cJSON_AddStringToObject(root, "Image", s->image))
		goto fail;
	if (add_strings(root, "Env", s->env, s->nenv) || add_strings(root, "Cmd", s->cmd, s->ncmd))
		goto fail;
	labels = cJSON_AddObjectToObject(root, "Labels");
	if (!labels)
		goto fail;
	for (i = 0; i < s->nlabels; i++)
		if (!cJSON_AddStringToObject(labels, s->label_keys[i], s->label_values[i]))
			goto fail;
	if (add_health(root, s->health))
		goto fail;
	hc = cJSON_AddObjectToObject(root, "HostConfig");
	if (!hc)
		goto fail;
	/* Host networking shares the host's ports: publishing would be discarded anyway. */
	if (!host_net && add_ports(root, hc, s))
		goto fail;
	if (add_strings(hc, "Binds", s->binds, s->nbinds))
		goto fail;
	rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
	if (!rp || !cJSON_AddStringToObject(rp, "Name", s->restart_policy ? s->restart_policy : "no"))
		goto fail;
	if (s->network_mode && !cJSON_AddStringToObject(hc, "NetworkMode", s->network_mode))
		goto fail;
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

int pb_docker_container_create(pb_docker *d, const pb_docker_create *spec, char *id, size_t size,
			       pb_err *err)
{
	char path[600], what[300], q[400];
	dk_call c = { .method = "POST", .path = path, .ctype = "application/json", .max_body = 1 << 20 };
	pb_http_resp resp;
	cJSON *body, *j = NULL;
	char *txt = NULL;
	int r;

	snprintf(what, sizeof(what), "create container %s", spec->name ? spec->name : "");
	if (!id_ok(spec->name) || !ref_ok(spec->image))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid name or image", what);
	if (query_escape(q, sizeof(q), "name=", spec->name))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/create?%s", q);
	body = create_body(spec);
	txt = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (!txt)
		return -ENOMEM;
	c.body = txt;
	c.body_len = strlen(txt);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	if (!r) {
		j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		copy_str(j, "Id", id, size);
		if (!id[0])
			r = pb_err_set(err, PB_E_FAILED, "%s: reply without Id", what);
	}
	cJSON_Delete(j);
	/* The body holds secret env values: wipe it before freeing. */
	memset(txt, 0, strlen(txt));
	free(txt);
	pb_http_resp_deinit(&resp);
	return r;
}

/* POST/DELETE without a body; 304 means "already so". */
static int dk_simple(pb_docker *d, const char *method, const char *path, long timeout_ms, const char *id,
		     const char *what, pb_err *err)
{
	dk_call c = { .method = method, .path = path, .max_body = 1 << 20, .timeout_ms = timeout_ms,
		      .container = id };
	pb_http_resp resp;
	int r;

	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	pb_http_resp_deinit(&resp);
	return r;
}

int pb_docker_container_start(pb_docker *d, const char *id, pb_err *err)
{
	char path[300], what[300];

	snprintf(what, sizeof(what), "start container %s", id ? id : "");
	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid id", what);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	return dk_simple(d, "POST", path, 0, id, what, err);
}

int pb_docker_container_stop(pb_docker *d, const char *id, int timeout_s, pb_err *err)
{
	char path[300], what[300];

	snprintf(what, sizeof(what), "stop container %s", id ? id : "");
	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid id", what);
	if (timeout_s < 0)
		timeout_s = 10;
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", id, timeout_s);
	/* The engine waits up to t seconds before killing: give the call that long extra. */
	return dk_simple(d, "POST", path, d->timeout_ms + timeout_s * 1000L, id, what, err);
}

int pb_docker_container_rename(pb_docker *d, const char *id, const char *new_name, pb_err *err)
{
	char path[600], what[400], q[300];

	snprintf(what, sizeof(what), "rename container %s to %s", id ? id : "", new_name ? new_name : "");
	if (!id_ok(id) || !id_ok(new_name))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid name", what);
	if (query_escape(q, sizeof(q), "name=", new_name))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/rename?%s", id, q);
	return dk_simple(d, "POST", path, 0, id, what, err);
}

int pb_docker_container_remove(pb_docker *d, const char *id, pb_err *err)
{
	char path[300], what[300];

	snprintf(what, sizeof(what), "remove container %s", id ? id : "");
	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid id", what);
	snprintf(path, sizeof(path), "/containers/%s?force=true&v=true", id);
	return dk_simple(d, "DELETE", path, 0, id, what, err);
}

int dk_state_parse(const cJSON *j, pb_docker_state *st, pb_err *err)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "State");
	const cJSON *health = cJSON_GetObjectItemCaseSensitive(state, "Health");
	const cJSON *log = cJSON_GetObjectItemCaseSensitive(health, "Log");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "Config");
	int nlog = cJSON_GetArraySize(log);
	char name[130];

	copy_str(j, "Id", st->id, sizeof(st->id));
	copy_str(j, "Name", name, sizeof(name));
	pb_strlcpy(st->name, name + (name[0] == '/'), sizeof(st->name));
	copy_str(j, "Image", st->image_id, sizeof(st->image_id));
	copy_str(state, "Status", st->status, sizeof(st->status));
	st->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
	copy_str(health, "Status", st->health, sizeof(st->health));
	if (nlog > 0)
		copy_str(cJSON_GetArrayItem(log, nlog - 1), "Output", st->health_output,
			 sizeof(st->health_output));
	st->oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "OOMKilled"));
	st->tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "Tty"));
	copy_str(state, "StartedAt", st->started_at, sizeof(st->started_at));
	copy_str(state, "Error", st->error, sizeof(st->error));
	/* Exit codes are 0..255 from dockerd; podman and signals give -1 or 128+n: any int is accepted. */
	if (pb_json_int32_or(j, "RestartCount", 0, INT_MAX, 0, &st->restart_count, err) ||
	    pb_json_int32_or(state, "ExitCode", INT_MIN, INT_MAX, 0, &st->exit_code, err) ||
	    pb_json_int32_or(state, "Pid", 0, INT_MAX, 0, &st->pid, err))
		return PB_E_INVALID;
	return 0;
}

/* "2026-11-25T10:20:19.857768126Z" (or "+01:00") → ms since the epoch; false when malformed. */
static bool rfc3339_ms(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *p;
	int64_t frac = 0, scale = 1000;
	long off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	/* Years past 9999 are not RFC 3339 and would overflow the millisecond count. */
	if (!p || tm.tm_year < 71 || tm.tm_year > 9999 - 1900)
		return false;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return false;
		off = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	} else if (*p != 'Z') {
		return false;
	}
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*ms = ((int64_t)t - off) * 1000 + frac;
	return true;
}

/*
 * podman runs container healthchecks from systemd timers, and only from them: without systemd
 * (containers, CI, this project's test machines) the check never runs and the health stays
 * "starting" forever, where dockerd runs it itself. True when a running container's check is
 * overdue — no probe ended within interval + timeout (the longest a working scheduler can
 * leave between two results) — so the caller runs it once through podman's own endpoint.
 * With a working scheduler results are fresh and this stays false.
 */
bool dk_health_overdue(const cJSON *j, const pb_docker_state *st, int64_t now_ms)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Healthcheck");
	const cJSON *test = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(hc, "Test"), 0);
	const cJSON *health = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "State"), "Health");
	const cJSON *log = cJSON_GetObjectItemCaseSensitive(health, "Log");
	int nlog = cJSON_GetArraySize(log);
	int64_t interval_ns, timeout_ns, last_ms;
	char last[64];
	pb_err e;

	pb_err_init(&e);
	if (!st->running || !st->health[0] || !cJSON_IsString(test) || strcmp(test->valuestring, "NONE") == 0)
		return false;
	/* Durations in ns up to a year; a nonsensical one leaves the state as read (not overdue). */
	if (pb_json_int_or(hc, "Interval", 0, 365LL * 86400 * 1000000000LL, 0, &interval_ns, &e) ||
	    pb_json_int_or(hc, "Timeout", 0, 365LL * 86400 * 1000000000LL, 0, &timeout_ns, &e))
		return false;
	/* Engine defaults (30 s each) when the container left them unset. */
	if (interval_ns <= 0)
		interval_ns = 30000000000LL;
	if (timeout_ns <= 0)
		timeout_ns = 30000000000LL;
	if (nlog > 0)
		copy_str(cJSON_GetArrayItem(log, nlog - 1), "End", last, sizeof(last));
	else
		pb_strlcpy(last, st->started_at, sizeof(last));
	if (!rfc3339_ms(last, &last_ms))
		return false;
	return now_ms - last_ms >= (interval_ns + timeout_ns) / 1000000;
}

/* GET /containers/{id}/json into st; *overdue set when podman left the healthcheck unrun. */
static int inspect_once(pb_docker *d, const char *id, pb_docker_state *st, bool *overdue, pb_err *err)
{
	char path[300], what[300];
	dk_call c = { .method = "GET", .path = path, .max_body = 4 << 20, .container = id };
	pb_http_resp resp;
	cJSON *j;
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(what, sizeof(what), "inspect container %s", id);
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	if (!r) {
		j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (j) {
			pb_err pe;

			pb_err_init(&pe);
			if (dk_state_parse(j, st, &pe))
				r = pb_err_set(err, PB_E_FAILED, "%s: %s", what, pb_err_text(&pe));
			else if (overdue)
				*overdue = pb_docker_is_podman(d) && dk_health_overdue(j, st, pb_clock_wall_ms(NULL));
		} else {
			r = pb_err_set(err, PB_E_FAILED, "%s: unparsable reply", what);
		}
		cJSON_Delete(j);
	}
	pb_http_resp_deinit(&resp);
	return r;
}

int pb_docker_container_inspect(pb_docker *d, const char *id, pb_docker_state *st, pb_err *err)
{
	char path[400];
	dk_call c = { .method = "GET", .path = path, .max_body = 1 << 20, .unversioned = true };
	pb_http_resp resp;
	pb_err herr;
	bool overdue = false;
	int r;

	memset(st, 0, sizeof(*st));
	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "inspect container %s: invalid id", id ? id : "");
	r = inspect_once(d, id, st, &overdue, err);
	if (r || !overdue)
		return r;
	/*
	 * podman without a scheduler (see dk_health_overdue): run the container's own check once,
	 * as the timer would have, then report the state it produced. Best effort: if the run fails
	 * the state already read stands. The libpod route is versioned with podman's own API version.
	 */
	snprintf(path, sizeof(path), "/v%s/libpod/containers/%s/healthcheck", d->libpod, id);
	pb_err_init(&herr);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, "run healthcheck", &herr);
	pb_http_resp_deinit(&resp);
	if (r)
		return 0;
	return inspect_once(d, id, st, NULL, err);
}

/* ---- logs ---- */

void pb_docker_demux_init(pb_docker_demux *m)
{
	memset(m, 0, sizeof(*m));
}

int pb_docker_demux_feed(pb_docker_demux *m, const char *data, size_t len, pb_docker_frame_fn fn,
			 void *ud)
{
	while (len) {
		if (m->remaining == 0) {
			size_t need = sizeof(m->hdr) - m->hdr_len;
			size_t take = len < need ? len : need;

			memcpy(m->hdr + m->hdr_len, data, take);
			m->hdr_len += take;
			data += take;
			len -= take;
			if (m->hdr_len < sizeof(m->hdr))
				return 0;
			if (m->hdr[0] > 2)
				return PB_E_INVALID;
			m->stream = m->hdr[0];
			m->remaining = (uint32_t)m->hdr[4] << 24 | (uint32_t)m->hdr[5] << 16 |
				       (uint32_t)m->hdr[6] << 8 | (uint32_t)m->hdr[7];
			m->hdr_len = 0;
			continue;
		} else {
			size_t take = len < m->remaining ? len : m->remaining;

			if (fn)
				fn(ud, m->stream, data, take);
			data += take;
			len -= take;
			m->remaining -= (uint32_t)take;
		}
	}
	return 0;
}

typedef struct dk_logs {
	pb_docker_demux demux;
	bool tty;
	pb_buf *out;
	pb_buf raw;                /* first bytes: an error reply is JSON, not frames */
	size_t max;                /* bytes kept in out; 0 = DK_LOGS_MAX */
	int bad;
} dk_logs;

static void logs_frame(void *ud, int stream, const char *data, size_t len)
{
	dk_logs *l = ud;

	(void)stream;
	if (l->out->len + len <= (l->max ? l->max : DK_LOGS_MAX))
		pb_buf_append(l->out, data, len);
}

static int logs_data(void *ud, const char *data, size_t len)
{
	dk_logs *l = ud;

	if (l->raw.len < DK_ERRBODY_MAX)
		pb_buf_append(&l->raw, data, len < DK_ERRBODY_MAX ? len : DK_ERRBODY_MAX);
	if (l->tty) {
		logs_frame(l, 1, data, len);
		return 0;
	}
	if (pb_docker_demux_feed(&l->demux, data, len, logs_frame, l)) {
		l->bad = 1;
		return 1;
	}
	return 0;
}

/* GET path (a logs query) through the demuxer into out; out holds at most max_bytes. */
static int logs_get(pb_docker *d, const char *id, bool tty, const char *path, size_t max_bytes, pb_buf *out,
		    pb_err *err)
{
	char what[300];
	dk_call c = { .method = "GET", .path = path };
	pb_http_resp resp;
	dk_logs l;
	int r;

	snprintf(what, sizeof(what), "logs of container %s", id);
	memset(&l, 0, sizeof(l));
	pb_buf_init(&l.raw);
	pb_docker_demux_init(&l.demux);
	l.tty = tty;
	l.out = out;
	l.max = max_bytes;
	c.on_data = logs_data;
	c.on_data_ud = &l;
	pb_http_resp_init(&resp);
	r = dk_do(d, &c, &resp, what, err);
	if (resp.status >= 400) {
		/* The demuxer choked on (or swallowed) the JSON error body: report the engine's message. */
		pb_err_init(err);
		r = dk_status_error(resp.status, l.raw.data, l.raw.len, what, id, err);
	} else if (l.bad) {
		pb_err_init(err);
		r = pb_err_set(err, PB_E_FAILED, "%s: malformed log stream", what);
	}
	pb_buf_deinit(&l.raw);
	pb_http_resp_deinit(&resp);
	return r;
}

int pb_docker_container_logs(pb_docker *d, const char *id, bool tty, int tail, pb_buf *out,
			     pb_err *err)
{
	char path[300];

	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "logs of container %s: invalid id", id ? id : "");
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=%d", id, tail > 0 ? tail : 100);
	return logs_get(d, id, tty, path, 0, out, err);
}

int pb_docker_container_logs_since(pb_docker *d, const char *id, bool tty, int64_t since_ms, size_t max_bytes,
				   pb_buf *out, pb_err *err)
{
	char path[320];

	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "logs of container %s: invalid id", id ? id : "");
	if (since_ms < 0)
		since_ms = 0;
	/* since takes "seconds.nanoseconds"; timestamps lets the caller skip the inclusive boundary. */
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&timestamps=1&since=%lld.%09lld", id,
		 (long long)(since_ms / 1000), (long long)(since_ms % 1000) * 1000000LL);
	return logs_get(d, id, tty, path, max_bytes, out, err);
}

bool pb_docker_time_ms(const char *rfc3339, int64_t *ms)
{
	return rfc3339_ms(rfc3339, ms);
}

bool pb_docker_log_line_time(const char *line, size_t len, int64_t *ms, size_t *prefix_len)
{
	char ts[64];
	const char *sp = memchr(line, ' ', len < sizeof(ts) ? len : sizeof(ts));
	size_t n;

	if (!sp)
		return false;
	n = (size_t)(sp - line);
	memcpy(ts, line, n);
	ts[n] = 0;
	if (!rfc3339_ms(ts, ms))
		return false;
	*prefix_len = n + 1;
	return true;
}

/* ---- stats ---- */

int pb_docker_stats_parse(const char *json, size_t len, pb_docker_stats *out)
{
	pb_err err;

	pb_err_init(&err);
	return pb_docker_stats_parse_err(json, len, out, &err);
}

int pb_docker_stats_parse_err(const char *json, size_t len, pb_docker_stats *out, pb_err *err)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	const cJSON *cpu, *pre, *mem, *ms, *percpu;
	double total, pre_total, system, pre_system, usage, v1, v2, limit;
	int64_t online;
	int r;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(j)) {
		r = pb_err_set(err, PB_E_INVALID, "not a JSON object");
		goto out;
	}
	cpu = cJSON_GetObjectItemCaseSensitive(j, "cpu_stats");
	pre = cJSON_GetObjectItemCaseSensitive(j, "precpu_stats");
	mem = cJSON_GetObjectItemCaseSensitive(j, "memory_stats");
	ms = cJSON_GetObjectItemCaseSensitive(mem, "stats");
	/* Counters are non-negative and below 2^64; absent ones (podman's empty precpu_stats) read as 0. */
	r = get_counter(cJSON_GetObjectItemCaseSensitive(cpu, "cpu_usage"), "total_usage", &total, err);
	if (!r)
		r = get_counter(cJSON_GetObjectItemCaseSensitive(pre, "cpu_usage"), "total_usage", &pre_total, err);
	if (!r)
		r = get_counter(cpu, "system_cpu_usage", &system, err);
	if (!r)
		r = get_counter(pre, "system_cpu_usage", &pre_system, err);
	if (!r)
		r = pb_json_int_or(cpu, "online_cpus", 0, 65536, 0, &online, err);
	if (!r)
		r = get_counter(mem, "usage", &usage, err);
	if (!r)
		r = get_counter(ms, "total_inactive_file", &v1, err);
	if (!r)
		r = get_counter(ms, "inactive_file", &v2, err);
	if (!r)
		r = get_counter(mem, "limit", &limit, err);
	if (r)
		goto out;
	if (online <= 0) {
		/* Older engines: count the per-CPU entries like the docker CLI does. */
		percpu = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cpu, "cpu_usage"),
							  "percpu_usage");
		online = cJSON_GetArraySize(percpu);
	}
	if (system > pre_system && total > pre_total)
		out->cpu_percent = (total - pre_total) / (system - pre_system) * (double)online * 100.0;

	if (cJSON_GetObjectItemCaseSensitive(ms, "total_inactive_file") && v1 < usage)
		usage -= v1;          /* cgroup v1 */
	else if (cJSON_GetObjectItemCaseSensitive(ms, "inactive_file") && v2 < usage)
		usage -= v2;          /* cgroup v2 */
	out->mem_used = (uint64_t)usage;
	out->mem_limit = (uint64_t)limit;
	if (out->mem_limit)
		out->mem_percent = (double)out->mem_used / (double)out->mem_limit * 100.0;
out:
	cJSON_Delete(j);
	return r;
}

/* GET /containers/{id}/stats?stream=false into *out (parsed; caller deletes). */
static int stats_sample(pb_docker *d, const char *id, const char *what, cJSON **out, pb_err *err)
{
	char path[300];
	dk_call c = { .method = "GET", .path = path, .max_body = 1 << 20, .container = id };
	pb_http_resp resp;
	int r;

	*out = NULL;
	snprintf(path, sizeof(path), "/containers/%s/stats?stream=false", id);
	pb_http_resp_init(&resp);
	r = dk_json(d, &c, &resp, what, err);
	if (!r) {
		*out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (!cJSON_IsObject(*out)) {
			cJSON_Delete(*out);
			*out = NULL;
			r = pb_err_set(err, PB_E_FAILED, "%s: unparsable reply", what);
		}
	}
	pb_http_resp_deinit(&resp);
	return r;
}

/* system_cpu_usage of cpu_stats or precpu_stats; 0 when absent or not a counter (the parse then says why). */
static double system_usage(const cJSON *j, const char *which)
{
	double v = 0;
	pb_err e;

	pb_err_init(&e);
	if (get_counter(cJSON_GetObjectItemCaseSensitive(j, which), "system_cpu_usage", &v, &e))
		return 0;
	return v;
}

int pb_docker_container_stats(pb_docker *d, const char *id, pb_docker_stats *out, pb_err *err)
{
	char what[300];
	cJSON *j, *j2, *cpu;
	char *txt;
	pb_err perr;
	int r = 0;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "stats of container %s", id ? id : "");
	if (!id_ok(id))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid id", what);
	r = stats_sample(d, id, what, &j, err);
	if (r)
		return r;
	/*
	 * dockerd answers stream=false with the previous sample (about 1 s older) in precpu_stats,
	 * which the CPU figure is a delta against. podman (4.x) leaves precpu_stats empty, so the
	 * delta would be the container's whole life against the host's uptime (≈0 %). Then take a
	 * second sample one collection interval later and use the first as precpu, as dockerd does;
	 * the wait is the measurement window, like `docker stats --no-stream`.
	 */
	if (system_usage(j, "precpu_stats") <= 0 && system_usage(j, "cpu_stats") > 0) {
		pb_lane_leave();
		poll(NULL, 0, DK_STATS_WINDOW_MS);
		pb_lane_enter();
		r = stats_sample(d, id, what, &j2, err);
		if (r) {
			cJSON_Delete(j);
			return r;
		}
		cpu = cJSON_DetachItemFromObjectCaseSensitive(j, "cpu_stats");
		cJSON_DeleteItemFromObjectCaseSensitive(j2, "precpu_stats");
		if (!cpu || !cJSON_AddItemToObject(j2, "precpu_stats", cpu)) {
			cJSON_Delete(cpu);
			cJSON_Delete(j2);
			cJSON_Delete(j);
			return -ENOMEM;
		}
		cJSON_Delete(j);
		j = j2;
	}
	txt = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!txt)
		return -ENOMEM;
	pb_err_init(&perr);
	if (pb_docker_stats_parse_err(txt, strlen(txt), out, &perr))
		r = pb_err_set(err, PB_E_FAILED, "%s: unusable reply: %s", what, pb_err_text(&perr));
	free(txt);
	return r;
}

/* ---- events ---- */

#define DK_EVENTS_LAG_MS 1000    /* the window ends this long ago: an event stamped before is published */
#define DK_EVENTS_BYTES_MAX ((size_t)8 << 20)

typedef struct dk_events {
	pb_docker_event_reader reader;
	const char *id;
	int64_t after_ns, until_ns;
	int64_t last_ns;           /* newest event delivered */
	char last_action[48];      /* with last_ns: the duplicate test */
	size_t bytes;
	pb_docker_event_fn fn;
	void *ud;
	pb_docker_events_window *win;
	pb_buf raw;                /* first bytes, for an error reply */
	int oom;
} dk_events;

static void events_one(void *ud, const pb_docker_event *ev)
{
	dk_events *e = ud;

	/* the engine filtered by container; podman's window end and the inclusive since are ours */
	if (ev->time_ns <= e->after_ns || ev->time_ns > e->until_ns || strcmp(ev->id, e->id) ||
	    e->win->received >= PB_DOCKER_EVENTS_MAX)
		return;
	/* the engine sends events in order: a repeat comes right after the original */
	if (ev->time_ns == e->last_ns && !strncmp(ev->action, e->last_action, sizeof(e->last_action))) {
		e->win->duplicates++;
		return;
	}
	e->last_ns = ev->time_ns;
	pb_strlcpy(e->last_action, ev->action, sizeof(e->last_action));
	e->win->received++;
	if (e->fn)
		e->fn(e->ud, ev);
}

static int events_data(void *ud, const char *data, size_t len)
{
	dk_events *e = ud;

	if (e->raw.len < DK_ERRBODY_MAX)
		pb_buf_append(&e->raw, data, len < DK_ERRBODY_MAX ? len : DK_ERRBODY_MAX);
	e->bytes += len;
	if (pb_docker_event_reader_feed(&e->reader, data, len) || e->raw.oom) {
		e->oom = 1;
		return 1;
	}
	/* enough for one window: stop reading, the cursor resumes after the last event taken */
	return e->bytes > DK_EVENTS_BYTES_MAX || e->win->received >= PB_DOCKER_EVENTS_MAX;
}

int pb_docker_events_read(pb_docker *d, const char *container_id, int64_t *cursor_ns, pb_docker_event_fn fn,
			  void *ud, pb_docker_events_window *win, pb_err *err)
{
	char path[1024], fq[600] = "", what[300];
	dk_call c = { .method = "GET", .path = path, .container = container_id };
	pb_docker_events_window local;
	pb_http_resp resp;
	dk_events e;
	cJSON *f = NULL, *arr;
	char *ftxt = NULL;
	int64_t until_ns = (pb_clock_wall_ms(NULL) - DK_EVENTS_LAG_MS) * 1000000LL;
	int r;

	if (!win)
		win = &local;
	memset(win, 0, sizeof(*win));
	snprintf(what, sizeof(what), "events of container %s", container_id ? container_id : "");
	if (!id_ok(container_id))
		return pb_err_set(err, PB_E_INVALID, "%s: invalid id", what);
	if (*cursor_ns <= 0) {
		*cursor_ns = until_ns;   /* following starts now */
		return 0;
	}
	if (*cursor_ns >= until_ns)
		return 0;              /* nothing can be in an empty window */
	if (!d->api[0] && (r = dk_negotiate(d, err)))
		return r;
	/* filters={"type":["container"],"container":[id]} built with cJSON */
	f = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(f, "type");
	if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString("container")) ||
	    !(arr = cJSON_AddArrayToObject(f, "container")) ||
	    !cJSON_AddItemToArray(arr, cJSON_CreateString(container_id)) || !(ftxt = cJSON_PrintUnformatted(f)) ||
	    query_escape(fq, sizeof(fq), "&filters=", ftxt)) {
		cJSON_Delete(f);
		free(ftxt);
		return -ENOMEM;
	}
	cJSON_Delete(f);
	free(ftxt);
	if (pb_docker_is_podman(d))
		snprintf(path, sizeof(path), "/events?since=%lld&stream=false%s", (long long)(*cursor_ns / 1000000000LL),
			 fq);
	else
		snprintf(path, sizeof(path), "/events?since=%lld&until=%lld.%09lld%s",
			 (long long)(*cursor_ns / 1000000000LL), (long long)(until_ns / 1000000000LL),
			 (long long)(until_ns % 1000000000LL), fq);
	memset(&e, 0, sizeof(e));
	pb_docker_event_reader_init(&e.reader, events_one, &e);
	pb_buf_init(&e.raw);
	e.id = container_id;
	e.after_ns = *cursor_ns;
	e.until_ns = until_ns;
	e.fn = fn;
	e.ud = ud;
	e.win = win;
	c.on_data = events_data;
	c.on_data_ud = &e;
	pb_http_resp_init(&resp);
	r = dk_do(d, &c, &resp, what, err);
	if (e.oom) {
		pb_err_init(err);
		r = pb_err_set(err, -ENOMEM, "%s: out of memory", what);
		goto out;
	}
	if (r && win->received < PB_DOCKER_EVENTS_MAX && e.bytes <= DK_EVENTS_BYTES_MAX)
		goto out;
	if (resp.status >= 400 || resp.status < 200) {
		pb_err_init(err);
		r = dk_status_error(resp.status, e.raw.data, e.raw.len, what, container_id, err);
		goto out;
	}
	pb_err_init(err);
	r = 0;
	pb_docker_event_reader_finish(&e.reader);
	win->malformed = e.reader.malformed;
	win->oversized = e.reader.oversized;
	win->truncated = win->received >= PB_DOCKER_EVENTS_MAX || e.bytes > DK_EVENTS_BYTES_MAX;
	if (!win->truncated)
		*cursor_ns = until_ns;
	else if (e.last_ns > *cursor_ns)
		*cursor_ns = e.last_ns;
out:
	pb_docker_event_reader_deinit(&e.reader);
	pb_buf_deinit(&e.raw);
	pb_http_resp_deinit(&resp);
	return r;
}
