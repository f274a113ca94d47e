/* github.c — GitHub REST + GraphQL client on pb_http: auth (PAT / App JWT), pagination, ETags, limits, retries. */
#include "github.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "github_priv.h"
#include "pb_http.h"
#include "pb_json.h"
#include "pb_log.h"
#include "pb_str.h"

#define GH_MOD "github"
#define GH_MAX_BODY ((size_t)4 << 20)   /* contents are ≤ 1 MB (1.4 MB as base64) */
#define GH_ETAG_SLOTS 64
#define GH_ETAG_BODY_MAX ((size_t)256 << 10) /* bigger answers are not kept: 64 slots stay ≤ 16 MiB */
#define GH_ATTEMPTS 4
#define GH_BACKOFF_MS 1000
#define GH_BACKOFF_MAX_MS 30000
#define GH_SECONDARY_MIN_MS 60000       /* GitHub: wait at least a minute without retry-after */
#define GH_MAX_WAIT_MS (3660 * 1000)    /* a primary limit resets within the hour */
#define GH_TOKEN_RENEW_S 300            /* renew installation tokens 5 min before expiry */
#define GH_URL_MAX 2048

typedef struct etag_slot {
	char *url;
	char *etag;
	char *body;
	uint64_t used;
} etag_slot;

struct pb_github {
	pb_http *http;
	const pb_clock *clock;
	char *api_url;
	char *graphql_url;
	char *user_agent;
	char *ca_file;
	long timeout_ms;
	char *token;              /* PAT or the current installation token */
	bool app;
	int64_t app_id;
	int64_t installation_id;
	char *app_pem;
	size_t app_pem_len;
	int64_t token_expires;    /* epoch s; 0 = never (PAT) */
	/* write budget: a token bucket */
	double bucket;
	double bucket_cap;
	double refill_per_ms;
	int64_t bucket_at;        /* mono ms of the last refill */
	uint64_t rng;
	etag_slot etags[GH_ETAG_SLOTS];
	uint64_t etag_tick;
	bool maybe_sent;
	int secondary_hits;       /* consecutive secondary limits without retry-after */
	pb_github_stats stats;
	bool (*gate)(void *ud);   /* asked before every try of every request; NULL = always */
	void *gate_ud;
	bool gate_refused;        /* the last call stopped because the gate said no */
};

/* ---- helpers ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Borrowed string member or "" (GitHub sends null for absent text). */
static const char *jstr(const cJSON *o, const char *key)
{
	const char *s = pb_json_str(o, key);

	return s ? s : "";
}

static int64_t jid(const cJSON *o, const char *key)
{
	int64_t v = 0;

	/* Ids are positive and below 2^53 (exact in a double). */
	if (pb_json_int(o, key, 0, INT64_C(9007199254740991), &v) != 0)
		return 0;
	return v;
}

/* "2024-05-01T12:00:00Z" → epoch seconds; 0 when malformed. */
static int64_t parse_iso(const char *s)
{
	struct tm tm;
	const char *end;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end != 'Z' && *end != '\0' && *end != '.'))
		return 0;
	return (int64_t)timegm(&tm);
}

/* Percent-encodes each segment of a path, keeping the '/' between them. */
/* Percent-encodes each segment of a path, keeping the '/' between them (malloc'd, NULL on OOM). */
static char *esc_path(const char *p)
{
	pb_buf out;

	pb_buf_init(&out);
	pb_buf_puts(&out, "");
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char *seg = strndup(p, len), *e = seg ? pb_http_escape(seg) : NULL;

		free(seg);
		if (!e) {
			pb_buf_deinit(&out);
			return NULL;
		}
		pb_buf_puts(&out, e);
		free(e);
		if (!slash)
			break;
		pb_buf_puts(&out, "/");
		p = slash + 1;
	}
	if (out.oom) {
		pb_buf_deinit(&out);
		return NULL;
	}
	return pb_buf_steal(&out);
}

/* "/repos/<owner>/<name>" with both parts escaped. */
/* "/repos/<owner>/<name>" (both escaped) followed by the printf'd tail. */
static int repo_vpath(pb_buf *b, const char *repo, pb_err *err, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int repo_vpath(pb_buf *b, const char *repo, pb_err *err, const char *fmt, va_list ap)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;
	char *e;

	if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/'))
		return pb_err_set(err, PB_E_INVALID, "GitHub: repository \"%s\" is not \"owner/name\"",
				  repo ? repo : "");
	e = esc_path(repo);
	if (!e)
		return -ENOMEM;
	pb_buf_printf(b, "/repos/%s", e);
	free(e);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	{
		char *tail = NULL;

		if (vasprintf(&tail, fmt, ap) < 0)
			return -ENOMEM;
		pb_buf_puts(b, tail);
		free(tail);
	}
#pragma GCC diagnostic pop
	return b->oom ? -ENOMEM : 0;
}

static char *b64_encode(const void *data, size_t len, bool url)
{
	size_t elen = 4 * ((len + 2) / 3);
	char *out = malloc(elen + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	if (url) {
		size_t n = strlen(out);

		while (n && out[n - 1] == '=')
			out[--n] = '\0';
		for (char *p = out; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	return out;
}

/* Standard base64 with GitHub's line breaks ignored; NULL when invalid. */
static char *b64_decode(const char *in, size_t *out_len)
{
	size_t n = strlen(in), k = 0;
	char *clean = malloc(n + 1), *out = NULL;
	int r;

	if (!clean)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (in[i] != '\n' && in[i] != '\r')
			clean[k++] = in[i];
	if (k % 4)
		goto out;
	out = malloc(k / 4 * 3 + 1);
	if (!out)
		goto out;
	r = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)k);
	if (r < 0) {
		free(out);
		out = NULL;
		goto out;
	}
	for (size_t i = k; i > 0 && clean[i - 1] == '='; i--)
		r--;
	out[r] = '\0';
	*out_len = (size_t)r;
out:
	free(clean);
	return out;
}

/* ---- GitHub App JWT ---------------------------------------------------- */

int pb_github_app_jwt(const char *pem, size_t pem_len, int64_t app_id, int64_t now_s, char **out,
		      pb_err *err)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char payload[128];
	char *h64 = NULL, *p64 = NULL, *s64 = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	BIO *bio = NULL;
	pb_buf input;
	int r = 0;

	*out = NULL;
	pb_buf_init(&input);
	/* iat a minute back against clock drift; exp 9 min ahead (GitHub allows 10). */
	snprintf(payload, sizeof(payload), "{\"iat\":%" PRId64 ",\"exp\":%" PRId64 ",\"iss\":\"%" PRId64 "\"}",
		 now_s - 60, now_s + 540, app_id);
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!key) {
		r = pb_err_set(err, PB_E_INVALID, "GitHub App: the private key is not a PEM private key");
		goto out;
	}
	h64 = b64_encode(header, sizeof(header) - 1, true);
	p64 = b64_encode(payload, strlen(payload), true);
	if (!h64 || !p64 || pb_buf_printf(&input, "%s.%s", h64, p64) < 0) {
		r = -ENOMEM;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input.data, input.len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input.data, input.len) != 1) {
		r = pb_err_set(err, PB_E_INVALID, "GitHub App: cannot sign the JWT with the private key (RSA needed)");
		goto out;
	}
	s64 = b64_encode(sig, siglen, true);
	if (!s64 || pb_buf_printf(&input, ".%s", s64) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*out = pb_buf_steal(&input);
	if (!*out)
		r = -ENOMEM;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	free(sig);
	free(h64);
	free(p64);
	free(s64);
	pb_buf_deinit(&input);
	return r;
}

/* ---- construction ------------------------------------------------------ */

static int read_key_file(const char *path, char **out, size_t *len, pb_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return pb_err_set(err, PB_E_NOTFOUND, "GitHub App: cannot read private_key_file %s: %s", path,
				  strerror(errno));
	buf = malloc(64 * 1024 + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, 64 * 1024 + 1, f);
	fclose(f);
	if (n > 64 * 1024) {
		free(buf);
		return pb_err_set(err, PB_E_INVALID, "GitHub App: private_key_file %s is larger than 64 KiB", path);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int pb_github_new(const pb_github_cfg *cfg, const pb_clock *clock, pb_github **out, pb_err *err)
{
	pb_github *g;
	size_t n;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->clock = clock;
	g->api_url = xstrdup(cfg->api_url ? cfg->api_url : "https://api.github.com");
	g->user_agent = xstrdup(cfg->user_agent && cfg->user_agent[0] ? cfg->user_agent
								       : "promobot/" PROMOBOT_VERSION);
	g->ca_file = xstrdup(cfg->ca_file);
	g->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
	if (!g->api_url || !g->user_agent || (cfg->ca_file && !g->ca_file)) {
		r = -ENOMEM;
		goto fail;
	}
	n = strlen(g->api_url);
	while (n > 1 && g->api_url[n - 1] == '/')
		g->api_url[--n] = '\0';
	/* GitHub Enterprise: REST at /api/v3, GraphQL at /api/graphql. */
	if (n >= 7 && strcmp(g->api_url + n - 7, "/api/v3") == 0)
		r = asprintf(&g->graphql_url, "%.*s/api/graphql", (int)(n - 7), g->api_url);
	else
		r = asprintf(&g->graphql_url, "%s/graphql", g->api_url);
	if (r < 0) {
		g->graphql_url = NULL;
		r = -ENOMEM;
		goto fail;
	}
	{
		int per_min = cfg->content_writes_per_min > 0 ? cfg->content_writes_per_min : 80;

		/* Burst + refill over any 60 s window stays within per_min. */
		g->bucket_cap = per_min >= 8 ? per_min / 8 : 1;
		g->bucket = g->bucket_cap;
		g->refill_per_ms = (per_min - g->bucket_cap) / 60000.0;
		if (g->refill_per_ms <= 0)
			g->refill_per_ms = per_min / 60000.0;
		g->bucket_at = pb_clock_mono_ms(clock);
	}
	g->rng = (uint64_t)pb_clock_mono_ms(clock) * 2654435761u + (uint64_t)(uintptr_t)g;
	if (!g->rng)
		g->rng = 88172645463325252ull;
	g->stats.rate_remaining = -1;
	if (cfg->app) {
		g->app = true;
		g->app_id = cfg->app_id;
		g->installation_id = cfg->installation_id;
		r = read_key_file(cfg->private_key_file ? cfg->private_key_file : "", &g->app_pem, &g->app_pem_len,
				  err);
		if (r != 0)
			goto fail;
		/* A wrong key file is a configuration error: say so now, not at the first call. */
		{
			char *jwt = NULL;

			r = pb_github_app_jwt(g->app_pem, g->app_pem_len, g->app_id, pb_clock_now(clock), &jwt, err);
			free(jwt);
			if (r != 0) {
				pb_err_prefix(err, "%s", cfg->private_key_file);
				goto fail;
			}
		}
	} else {
		g->token = pb_secret_read(cfg->token_env, cfg->token_file, err);
		if (!g->token) {
			pb_err_prefix(err, "GitHub token");
			r = PB_E_INVALID;
			goto fail;
		}
	}
	r = pb_http_new(&g->http);
	if (r != 0) {
		pb_err_set(err, r, "GitHub: cannot create the HTTP client");
		goto fail;
	}
	*out = g;
	return 0;
fail:
	pb_github_free(g);
	return r;
}

void pb_github_free(pb_github *g)
{
	if (!g)
		return;
	pb_http_free(g->http);
	for (int i = 0; i < GH_ETAG_SLOTS; i++) {
		free(g->etags[i].url);
		free(g->etags[i].etag);
		free(g->etags[i].body);
	}
	if (g->token) {
		explicit_bzero(g->token, strlen(g->token));
		free(g->token);
	}
	if (g->app_pem) {
		explicit_bzero(g->app_pem, g->app_pem_len);
		free(g->app_pem);
	}
	free(g->api_url);
	free(g->graphql_url);
	free(g->user_agent);
	free(g->ca_file);
	free(g);
}

bool pb_github_maybe_sent(const pb_github *g)
{
	return g->maybe_sent;
}

void pb_github_set_gate(pb_github *g, bool (*may_send)(void *ud), void *ud)
{
	g->gate = may_send;
	g->gate_ud = ud;
}

static bool gh_gate(void *ud)
{
	pb_github *g = ud;

	if (!g->gate || g->gate(g->gate_ud))
		return true;
	g->gate_refused = true;
	return false;
}

bool pb_github_may_send(pb_github *g)
{
	g->gate_refused = false;
	return gh_gate(g);
}

bool pb_github_gate_refused(const pb_github *g)
{
	return g->gate_refused;
}

void pb_github_get_stats(const pb_github *g, pb_github_stats *out)
{
	*out = g->stats;
}

/* ---- ETag cache -------------------------------------------------------- */

static etag_slot *etag_find(pb_github *g, const char *url)
{
	for (int i = 0; i < GH_ETAG_SLOTS; i++)
		if (g->etags[i].url && strcmp(g->etags[i].url, url) == 0)
			return &g->etags[i];
	return NULL;
}

static void etag_store(pb_github *g, const char *url, const char *etag, const pb_buf *body)
{
	etag_slot *s = etag_find(g, url);

	if (body->len > GH_ETAG_BODY_MAX) {
		if (s) {
			free(s->url);
			free(s->etag);
			free(s->body);
			s->url = s->etag = s->body = NULL;
		}
		return;
	}

	if (!s) {
		/* Least recently used slot goes. */
		s = &g->etags[0];
		for (int i = 1; i < GH_ETAG_SLOTS && s->url; i++)
			if (!g->etags[i].url || g->etags[i].used < s->used)
				s = &g->etags[i];
	}
	free(s->url);
	free(s->etag);
	free(s->body);
	s->url = strdup(url);
	s->etag = strdup(etag);
	s->body = strdup(pb_buf_str(body));
	if (!s->url || !s->etag || !s->body) {
		free(s->url);
		free(s->etag);
		free(s->body);
		s->url = s->etag = s->body = NULL;
		return;
	}
	s->used = ++g->etag_tick;
}

/* ---- write budget ------------------------------------------------------ */

static void bucket_take(pb_github *g)
{
	int64_t now = pb_clock_mono_ms(g->clock);

	g->bucket += (double)(now - g->bucket_at) * g->refill_per_ms;
	if (g->bucket > g->bucket_cap)
		g->bucket = g->bucket_cap;
	g->bucket_at = now;
	if (g->bucket < 1.0) {
		int64_t wait = (int64_t)((1.0 - g->bucket) / g->refill_per_ms) + 1;

		pb_clock_sleep_ms(g->clock, wait);
		g->stats.waited_ms += wait;
		now = pb_clock_mono_ms(g->clock);
		g->bucket += (double)(now - g->bucket_at) * g->refill_per_ms;
		g->bucket_at = now;
	}
	g->bucket -= 1.0;
}

/* ---- rate limits: classify GitHub's answers ----------------------------- */

int64_t gh_header_int(const pb_http_resp *resp, const char *name, int64_t min, int64_t max, bool *ok)
{
	char v[64];
	long val;

	*ok = false;
	if (pb_http_resp_header(resp, name, v, sizeof(v)) != 0 || pb_parse_long(v, (long)min, (long)max, &val) != 0)
		return 0;
	*ok = true;
	return val;
}

int64_t gh_limit_wait(const pb_http_resp *resp, int attempt, int64_t now_ms, int *secondary_hits,
		      pb_github_stats *stats)
{
	bool has_rem, has_reset, has_retry;
	int64_t rem = gh_header_int(resp, "x-ratelimit-remaining", 0, INT32_MAX, &has_rem);
	int64_t reset = gh_header_int(resp, "x-ratelimit-reset", 0, INT64_C(4102444800), &has_reset);
	int64_t retry = gh_header_int(resp, "retry-after", 0, 86400, &has_retry);

	stats->requests++;
	if (attempt > 1)
		stats->retries++;
	if (has_rem)
		stats->rate_remaining = rem;
	if (has_reset)
		stats->rate_reset = reset;
	if (resp->status >= 500)
		return PB_HTTP_RETRY;
	if (resp->status != 403 && resp->status != 429) {
		*secondary_hits = 0;
		return PB_HTTP_DONE;
	}
	if (has_retry)
		return retry > 0 ? retry * 1000 : 1;
	if (has_rem && rem == 0 && has_reset) {
		int64_t wait = reset * 1000 - now_ms;

		/* One extra second: the reset is whole seconds and clocks differ a little. */
		return (wait > 0 ? wait : 0) + 1000;
	}
	/* A secondary limit names itself; other 403s (permissions) are final. */
	if (strstr(pb_buf_str(&resp->body), "secondary rate limit") || resp->status == 429) {
		int64_t wait = GH_SECONDARY_MIN_MS;

		for (int i = 0; i < *secondary_hits && wait < 15 * 60000; i++)
			wait *= 2;
		(*secondary_hits)++;
		return wait;
	}
	return PB_HTTP_DONE;
}

static int64_t gh_classify(void *ud, const pb_http_resp *resp, int attempt)
{
	pb_github *g = ud;

	return gh_limit_wait(resp, attempt, pb_clock_wall_ms(g->clock), &g->secondary_hits, &g->stats);
}

/* ---- the call ---------------------------------------------------------- */

/* Renews the installation token when it is missing or within 5 minutes of expiry. */
static int ensure_token(pb_github *g, pb_err *err);

static bool is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Maps an error answer to a code and "GitHub: <message> (HTTP n) for METHOD /path". */
int gh_error_from(const pb_http_resp *resp, const char *method, const char *shown, pb_err *err)
{
	char ct[128] = "";
	cJSON *j = NULL;
	const char *msg = NULL;
	char detail[256] = "";
	int code;
	long st = resp->status;

	code = st == 404 || st == 410	 ? PB_E_NOTFOUND
	       : st == 401 || st == 403 ? PB_E_REFUSED
	       : st == 409		 ? PB_E_CONFLICT
	       : st == 400 || st == 422 ? PB_E_INVALID
					 : PB_E_UNAVAILABLE;
	if (st == 403 || st == 429) {
		bool ok;

		if (gh_header_int(resp, "x-ratelimit-remaining", 0, 0, &ok) == 0 && ok)
			code = PB_E_UNAVAILABLE;
		else if (strstr(pb_buf_str(&resp->body), "secondary rate limit") || st == 429)
			code = PB_E_UNAVAILABLE;
	}
	pb_http_resp_header(resp, "content-type", ct, sizeof(ct));
	if (strstr(ct, "html"))
		return pb_err_set(err, code,
				  "GitHub: HTTP %ld with an HTML page instead of JSON (a proxy's error page?) for %s %s",
				  st, method, shown);
	if (strstr(ct, "json"))
		j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
	msg = pb_json_str(j, "message");
	if (msg) {
		cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);

		if (cJSON_IsObject(e0))
			snprintf(detail, sizeof(detail), " [%s%s%s%s%s]", jstr(e0, "field"),
				 pb_json_str(e0, "code") ? ": " : "", jstr(e0, "code"),
				 pb_json_str(e0, "message") ? " " : "", jstr(e0, "message"));
		code = pb_err_set(err, code, "GitHub: %.200s%s (HTTP %ld) for %s %s", msg, detail, st, method, shown);
	} else if (resp->body.len && !strstr(ct, "json")) {
		/* Plain text (e.g. the User-Agent refusal): its first line says why. */
		code = pb_err_set(err, code, "GitHub: %.*s (HTTP %ld) for %s %s",
				  (int)strcspn(pb_buf_str(&resp->body), "\r\n(") > 200
					  ? 200
					  : (int)strcspn(pb_buf_str(&resp->body), "\r\n("),
				  pb_buf_str(&resp->body), st, method, shown);
	} else {
		code = pb_err_set(err, code, "GitHub: HTTP %ld for %s %s", st, method, shown);
	}
	cJSON_Delete(j);
	return code;
}

/*
 * One request with auth, budget, ETag, limits and retries. url_or_path is a
 * path under api_url or (for link pages) a full URL that must start with
 * api_url. *out gets the JSON (NULL for an empty body); next (may be NULL,
 * GH_URL_MAX bytes) gets link rel="next" or "".
 */
static int gh_call(pb_github *g, const char *method, const char *url_or_path, const char *body,
		   bool idempotent, cJSON **out, char *next, pb_err *err)
{
	pb_http_header hdrs[7];
	size_t nh = 0;
	pb_buf url, auth;
	pb_http_req req;
	pb_http_resp resp;
	pb_http_policy pol;
	etag_slot *cached = NULL;
	const char *shown;
	char etag[256];
	bool get = strcmp(method, "GET") == 0;
	int r;

	if (out)
		*out = NULL;
	if (next)
		next[0] = '\0';
	g->maybe_sent = false;
	g->gate_refused = false;
	pb_buf_init(&url);
	pb_buf_init(&auth);
	pb_http_resp_init(&resp);
	if (strncmp(url_or_path, "http://", 7) == 0 || strncmp(url_or_path, "https://", 8) == 0) {
		/* A link URL from a response: never send the token to another host. */
		if (strncmp(url_or_path, g->api_url, strlen(g->api_url)) != 0 &&
		    strncmp(url_or_path, g->graphql_url, strlen(g->graphql_url)) != 0) {
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: refusing to follow a link outside %s",
				       g->api_url);
			goto out;
		}
		pb_buf_puts(&url, url_or_path);
	} else {
		pb_buf_printf(&url, "%s%s", g->api_url, url_or_path);
	}
	shown = pb_buf_str(&url) + (strncmp(pb_buf_str(&url), g->api_url, strlen(g->api_url)) == 0
					    ? strlen(g->api_url)
					    : 0);
	r = ensure_token(g, err);
	if (r != 0)
		goto out;
	pb_buf_printf(&auth, "Bearer %s", g->token);
	if (url.oom || auth.oom) {
		r = -ENOMEM;
		goto out;
	}
	hdrs[nh++] = (pb_http_header){ "Accept", "application/vnd.github+json" };
	hdrs[nh++] = (pb_http_header){ "X-GitHub-Api-Version", "2022-11-28" };
	hdrs[nh++] = (pb_http_header){ "User-Agent", g->user_agent };
	hdrs[nh++] = (pb_http_header){ "Authorization", pb_buf_str(&auth) };
	if (body)
		hdrs[nh++] = (pb_http_header){ "Content-Type", "application/json" };
	if (get && (cached = etag_find(g, pb_buf_str(&url))) != NULL) {
		cached->used = ++g->etag_tick;
		hdrs[nh++] = (pb_http_header){ "If-None-Match", cached->etag };
	}
	if (is_write(method))
		bucket_take(g);
	/* the write budget may have waited: the gate is asked again before every try (pol.may_send) */

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = pb_buf_str(&url);
	req.headers = hdrs;
	req.nheaders = nh;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.timeout_ms = g->timeout_ms;
	req.max_body = GH_MAX_BODY;
	req.ca_file = g->ca_file;
	req.follow_redirects = get;
	req.no_resend = !idempotent; /* libcurl must not resend a create on a dead reused connection */

	memset(&pol, 0, sizeof(pol));
	pol.attempts = GH_ATTEMPTS;
	pol.idempotent = idempotent;
	pol.backoff_ms = GH_BACKOFF_MS;
	pol.backoff_max_ms = GH_BACKOFF_MAX_MS;
	pol.max_wait_ms = GH_MAX_WAIT_MS;
	pol.clock = g->clock;
	pol.rng = &g->rng;
	pol.classify = gh_classify;
	pol.classify_ud = g;
	pol.may_send = gh_gate;
	pol.may_send_ud = g;

	r = pb_http_do_policy(g->http, &req, &pol, &resp, err);
	g->stats.waited_ms += pol.waited_ms;
	pb_debug(GH_MOD, "%s %s -> %ld (%d tries, waited %" PRId64 " ms)", method, shown, resp.status, pol.tries,
		 pol.waited_ms);
	if (r != 0) {
		g->maybe_sent = !idempotent && resp.maybe_sent;
		pb_err_prefix(err, "GitHub");
		goto out;
	}
	if (resp.status == 304 && cached) {
		g->stats.not_modified++;
		pb_buf_reset(&resp.body);
		pb_buf_puts(&resp.body, cached->body);
		resp.status = 200;
	} else if (resp.status >= 300) {
		/* A 4xx is GitHub refusing: nothing happened. A 5xx may come after the work. */
		g->maybe_sent = !idempotent && resp.status >= 500;
		r = gh_error_from(&resp, method, shown, err);
		goto out;
	}
	if (next) {
		int lr = pb_http_link_next(&resp, next, GH_URL_MAX);

		if (lr == PB_E_INVALID) {
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: link header URL too long for %s %s", method,
				       shown);
			goto out;
		}
	}
	if (resp.body.len && out) {
		char ct[128] = "";

		pb_http_resp_header(&resp, "content-type", ct, sizeof(ct));
		if (ct[0] && !strstr(ct, "json")) {
			r = pb_err_set(err, PB_E_UNAVAILABLE,
				       "GitHub: HTTP %ld with %.60s instead of JSON for %s %s", resp.status, ct,
				       method, shown);
			goto out;
		}
		*out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
		if (!*out) {
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: malformed JSON (%zu bytes) in the answer to %s %s",
				       resp.body.len, method, shown);
			goto out;
		}
	}
	if (get && !cached && pb_http_resp_header(&resp, "etag", etag, sizeof(etag)) == 0 && etag[0])
		etag_store(g, pb_buf_str(&url), etag, &resp.body);
	else if (get && cached && resp.body.len && pb_http_resp_header(&resp, "etag", etag, sizeof(etag)) == 0 &&
		 strcmp(etag, cached->etag) != 0)
		etag_store(g, pb_buf_str(&url), etag, &resp.body);
out:
	if (auth.data)
		explicit_bzero(auth.data, auth.len);
	pb_buf_deinit(&auth);
	pb_buf_deinit(&url);
	pb_http_resp_deinit(&resp);
	return r;
}

static int ensure_token(pb_github *g, pb_err *err)
{
	int64_t now = pb_clock_now(g->clock);
	char path[96];
	char *jwt = NULL, *saved;
	cJSON *j = NULL;
	const char *tok, *exp;
	int r;

	if (!g->app || (g->token && now < g->token_expires - GH_TOKEN_RENEW_S))
		return 0;
	r = pb_github_app_jwt(g->app_pem, g->app_pem_len, g->app_id, now, &jwt, err);
	if (r != 0)
		return r;
	pb_log_add_secret(jwt);
	/* The token call itself authenticates with the JWT. */
	saved = g->token;
	g->token = jwt;
	g->app = false;
	snprintf(path, sizeof(path), "/app/installations/%" PRId64 "/access_tokens", g->installation_id);
	r = gh_call(g, "POST", path, NULL, true, &j, NULL, err);
	g->app = true;
	g->token = saved;
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
	if (r != 0) {
		pb_err_prefix(err, "GitHub App installation token");
		goto out;
	}
	tok = pb_json_str(j, "token");
	exp = pb_json_str(j, "expires_at");
	if (!tok || !tok[0] || !parse_iso(exp)) {
		r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub App: the access token answer lacks token/expires_at");
		goto out;
	}
	if (g->token) {
		explicit_bzero(g->token, strlen(g->token));
		free(g->token);
	}
	g->token = strdup(tok);
	if (!g->token) {
		r = -ENOMEM;
		goto out;
	}
	pb_log_add_secret(g->token);
	g->token_expires = parse_iso(exp);
out:
	cJSON_Delete(j);
	return r;
}

int pb_github_request(pb_github *g, const char *method, const char *path, const cJSON *body,
		      bool idempotent, cJSON **out, pb_err *err)
{
	char *b = NULL;
	int r;

	if (body && !(b = cJSON_PrintUnformatted(body)))
		return -ENOMEM;
	r = gh_call(g, method, path, b, idempotent, out, NULL, err);
	free(b);
	return r;
}

int pb_github_get_all(pb_github *g, const char *path, const char *items_key, size_t max_items,
		      cJSON **out, pb_err *err)
{
	char *next = malloc(GH_URL_MAX), *cur = NULL;
	cJSON *all = cJSON_CreateArray();
	pb_buf first;
	int r = 0;

	*out = NULL;
	pb_buf_init(&first);
	if (!max_items)
		max_items = 10000;
	pb_buf_printf(&first, "%s%sper_page=100", path, strchr(path, '?') ? "&" : "?");
	if (!next || !all || first.oom) {
		r = -ENOMEM;
		goto out;
	}
	cur = pb_buf_steal(&first);
	while (cur) {
		cJSON *page = NULL, *items, *it;

		r = gh_call(g, "GET", cur, NULL, true, &page, next, err);
		if (r != 0)
			goto out;
		items = items_key ? cJSON_GetObjectItemCaseSensitive(page, items_key) : page;
		if (!cJSON_IsArray(items)) {
			cJSON_Delete(page);
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: the list at %s is not an array", path);
			goto out;
		}
		while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
			if ((size_t)cJSON_GetArraySize(all) >= max_items) {
				cJSON_Delete(it);
				continue;
			}
			cJSON_AddItemToArray(all, it);
		}
		cJSON_Delete(page);
		free(cur);
		cur = NULL;
		if (next[0] && (size_t)cJSON_GetArraySize(all) < max_items && !(cur = strdup(next))) {
			r = -ENOMEM;
			goto out;
		}
	}
	*out = all;
	all = NULL;
out:
	free(cur);
	free(next);
	pb_buf_deinit(&first);
	cJSON_Delete(all);
	return r;
}

/* ---- issues ------------------------------------------------------------ */

void pb_github_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void pb_github_issue_deinit(pb_github_issue *i)
{
	if (!i)
		return;
	free(i->title);
	free(i->body);
	pb_github_strv_free(i->labels, i->nlabels);
	memset(i, 0, sizeof(*i));
}

void pb_github_issues_free(pb_github_issue *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pb_github_issue_deinit(&v[i]);
	free(v);
}

bool pb_github_issue_has_label(const pb_github_issue *i, const char *name)
{
	for (size_t k = 0; k < i->nlabels; k++)
		if (strcasecmp(i->labels[k], name) == 0)
			return true;
	return false;
}

/* Label names of an array of label objects (or strings). */
int gh_label_names(const cJSON *arr, char ***out, size_t *n)
{
	const cJSON *l;
	size_t k = 0, cap = (size_t)cJSON_GetArraySize(arr);
	char **v = calloc(cap ? cap : 1, sizeof(*v));

	*out = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(l, arr) {
		const char *name = cJSON_IsString(l) ? l->valuestring : pb_json_str(l, "name");

		if (!name)
			continue;
		v[k] = strdup(name);
		if (!v[k]) {
			pb_github_strv_free(v, k);
			return -ENOMEM;
		}
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

int gh_issue_read(const cJSON *j, pb_github_issue *out, pb_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(j) || pb_json_int(j, "number", 1, INT32_MAX, &out->number) != 0)
		return pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: an issue without a valid number");
	out->id = jid(j, "id");
	pb_strlcpy(out->node_id, jstr(j, "node_id"), sizeof(out->node_id));
	pb_strlcpy(out->state, jstr(j, "state"), sizeof(out->state));
	pb_strlcpy(out->state_reason, jstr(j, "state_reason"), sizeof(out->state_reason));
	pb_strlcpy(out->html_url, jstr(j, "html_url"), sizeof(out->html_url));
	pb_strlcpy(out->user, jstr(cJSON_GetObjectItemCaseSensitive(j, "user"), "login"), sizeof(out->user));
	out->pull_request = cJSON_GetObjectItemCaseSensitive(j, "pull_request") != NULL;
	out->title = strdup(jstr(j, "title"));
	out->body = xstrdup(pb_json_str(j, "body"));
	if (!out->title || (pb_json_str(j, "body") && !out->body) ||
	    gh_label_names(cJSON_GetObjectItemCaseSensitive(j, "labels"), &out->labels, &out->nlabels) != 0) {
		pb_github_issue_deinit(out);
		return -ENOMEM;
	}
	return 0;
}

static cJSON *string_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* Runs method on path (repo-relative suffix printf'd after "/repos/o/r"), body taken. */
static int repo_call(pb_github *g, const char *repo, const char *method, cJSON *body, bool idempotent,
		     cJSON **out, pb_err *err, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static int repo_call(pb_github *g, const char *repo, const char *method, cJSON *body, bool idempotent,
		     cJSON **out, pb_err *err, const char *fmt, ...)
{
	pb_buf path;
	va_list ap;
	int r;

	pb_buf_init(&path);
	va_start(ap, fmt);
	r = repo_vpath(&path, repo, err, fmt, ap);
	va_end(ap);
	if (r == 0)
		r = pb_github_request(g, method, pb_buf_str(&path), body, idempotent, out, err);
	pb_buf_deinit(&path);
	cJSON_Delete(body);
	return r;
}

/* Every page of a repository list (see pb_github_get_all); the path is printf'd after "/repos/o/r". */
static int repo_list(pb_github *g, const char *repo, const char *items_key, size_t max, cJSON **all,
		     pb_err *err, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int repo_list(pb_github *g, const char *repo, const char *items_key, size_t max, cJSON **all,
		     pb_err *err, const char *fmt, ...)
{
	pb_buf path;
	va_list ap;
	int r;

	*all = NULL;
	pb_buf_init(&path);
	va_start(ap, fmt);
	r = repo_vpath(&path, repo, err, fmt, ap);
	va_end(ap);
	if (r == 0)
		r = pb_github_get_all(g, pb_buf_str(&path), items_key, max, all, err);
	pb_buf_deinit(&path);
	return r;
}

int pb_github_issue_create(pb_github *g, const char *repo, const char *title, const char *body,
			   const char *const *labels, size_t nlabels, pb_github_issue *out, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	int r;

	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "title", title);
	if (body)
		cJSON_AddStringToObject(b, "body", body);
	if (nlabels)
		cJSON_AddItemToObject(b, "labels", string_array(labels, nlabels));
	r = repo_call(g, repo, "POST", b, false, &j, err, "/issues");
	if (r == 0)
		r = gh_issue_read(j, out, err);
	cJSON_Delete(j);
	return r;
}

int pb_github_issue_get(pb_github *g, const char *repo, int64_t number, pb_github_issue *out, pb_err *err)
{
	cJSON *j = NULL;
	int r = repo_call(g, repo, "GET", NULL, true, &j, err, "/issues/%" PRId64, number);

	if (r == 0)
		r = gh_issue_read(j, out, err);
	cJSON_Delete(j);
	return r;
}

int pb_github_issue_update(pb_github *g, const char *repo, int64_t number, const pb_github_issue_patch *p,
			   pb_github_issue *out, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	int r;

	if (!b)
		return -ENOMEM;
	if (p->title)
		cJSON_AddStringToObject(b, "title", p->title);
	if (p->body)
		cJSON_AddStringToObject(b, "body", p->body);
	if (p->state)
		cJSON_AddStringToObject(b, "state", p->state);
	if (p->state_reason)
		cJSON_AddStringToObject(b, "state_reason", p->state_reason);
	/* Absolute values: repeating the PATCH changes nothing more. */
	r = repo_call(g, repo, "PATCH", b, true, &j, err, "/issues/%" PRId64, number);
	if (r == 0 && out)
		r = gh_issue_read(j, out, err);
	cJSON_Delete(j);
	return r;
}

int pb_github_issue_close(pb_github *g, const char *repo, int64_t number, const char *state_reason,
			  pb_github_issue *out, pb_err *err)
{
	pb_github_issue_patch p = { .state = "closed", .state_reason = state_reason ? state_reason : "completed" };

	return pb_github_issue_update(g, repo, number, &p, out, err);
}

int pb_github_issues_list(pb_github *g, const char *repo, const char *labels, const char *state,
			  pb_github_issue **out, size_t *n, pb_err *err)
{
	char *lab = labels ? pb_http_escape(labels) : NULL;
	cJSON *all = NULL, *it;
	pb_github_issue *v = NULL;
	size_t k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (labels && !lab)
		return -ENOMEM;
	r = repo_list(g, repo, NULL, 0, &all, err, "/issues?state=%s%s%s", state ? state : "open",
		      lab ? "&labels=" : "", lab ? lab : "");
	free(lab);
	if (r != 0)
		goto out;
	v = calloc((size_t)cJSON_GetArraySize(all) + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, all) {
		/* The issues endpoint also lists pull requests: they are not ours. */
		if (cJSON_GetObjectItemCaseSensitive(it, "pull_request"))
			continue;
		r = gh_issue_read(it, &v[k], err);
		if (r != 0)
			goto out;
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	pb_github_issues_free(v, k);
	cJSON_Delete(all);
	return r;
}

/* ---- labels ------------------------------------------------------------ */

int pb_github_labels_add(pb_github *g, const char *repo, int64_t number, const char *const *labels, size_t n,
			 pb_err *err)
{
	cJSON *b = cJSON_CreateObject();

	if (!b)
		return -ENOMEM;
	cJSON_AddItemToObject(b, "labels", string_array(labels, n));
	/* Adding is a set union: repeating it is harmless. */
	return repo_call(g, repo, "POST", b, true, NULL, err, "/issues/%" PRId64 "/labels", number);
}

int pb_github_label_remove(pb_github *g, const char *repo, int64_t number, const char *name, pb_err *err)
{
	char *e = pb_http_escape(name);
	int r;

	if (!e)
		return -ENOMEM;
	r = repo_call(g, repo, "DELETE", NULL, true, NULL, err, "/issues/%" PRId64 "/labels/%s", number, e);
	free(e);
	return r;
}

int pb_github_label_create(pb_github *g, const char *repo, const char *name, const char *color,
			   const char *description, pb_err *err)
{
	cJSON *b = cJSON_CreateObject();
	pb_err scratch;
	int r;

	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "name", name);
	if (color)
		cJSON_AddStringToObject(b, "color", color);
	if (description)
		cJSON_AddStringToObject(b, "description", description);
	pb_err_init(&scratch);
	r = repo_call(g, repo, "POST", b, false, NULL, &scratch, "/labels");
	/* 422 already_exists: the label is there, which is what the caller wanted to know. */
	if (r == PB_E_INVALID && strstr(pb_err_text(&scratch), "already_exists"))
		return pb_err_set(err, PB_E_CONFLICT, "GitHub: label \"%s\" already exists in %s", name, repo);
	return pb_err_pass(err, r, &scratch);
}

int pb_github_labels_list(pb_github *g, const char *repo, char ***names, size_t *n, pb_err *err)
{
	cJSON *all = NULL;
	int r;

	*names = NULL;
	*n = 0;
	r = repo_list(g, repo, NULL, 0, &all, err, "/labels");
	if (r == 0)
		r = gh_label_names(all, names, n);
	cJSON_Delete(all);
	return r;
}

/* ---- comments ---------------------------------------------------------- */

void pb_github_comments_free(pb_github_comment *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].body);
	free(v);
}

int pb_github_comment_create(pb_github *g, const char *repo, int64_t number, const char *body,
			     int64_t *id_out, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	int r;

	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "body", body);
	r = repo_call(g, repo, "POST", b, false, &j, err, "/issues/%" PRId64 "/comments", number);
	if (r == 0 && id_out)
		*id_out = jid(j, "id");
	cJSON_Delete(j);
	return r;
}

int pb_github_comments_list(pb_github *g, const char *repo, int64_t number, pb_github_comment **out, size_t *n,
			    pb_err *err)
{
	cJSON *all = NULL;
	int r;

	*out = NULL;
	*n = 0;
	r = repo_list(g, repo, NULL, 0, &all, err, "/issues/%" PRId64 "/comments", number);
	if (r == 0)
		r = gh_comments_read(all, out, n);
	cJSON_Delete(all);
	return r;
}

int gh_comments_read(const cJSON *all, pb_github_comment **out, size_t *n)
{
	const cJSON *it;
	pb_github_comment *v = NULL;
	size_t k = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	v = calloc((size_t)cJSON_GetArraySize(all) + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, all) {
		v[k].id = jid(it, "id");
		v[k].body = strdup(jstr(it, "body"));
		if (!v[k].body) {
			r = -ENOMEM;
			goto out;
		}
		pb_strlcpy(v[k].user, jstr(cJSON_GetObjectItemCaseSensitive(it, "user"), "login"), sizeof(v[k].user));
		pb_strlcpy(v[k].html_url, jstr(it, "html_url"), sizeof(v[k].html_url));
		v[k].created_at = parse_iso(pb_json_str(it, "created_at"));
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	pb_github_comments_free(v, k);
	return r;
}

/* ---- contents ---------------------------------------------------------- */

void pb_github_content_deinit(pb_github_content *c)
{
	if (!c)
		return;
	free(c->data);
	memset(c, 0, sizeof(*c));
}

static bool sha_valid(const char *s)
{
	return s && strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

int pb_github_content_get(pb_github *g, const char *repo, const char *path, const char *ref,
			  pb_github_content *out, pb_err *err)
{
	char *p = esc_path(path), *e = ref ? pb_http_escape(ref) : NULL;
	cJSON *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!p || (ref && !e)) {
		r = -ENOMEM;
		goto out;
	}
	r = repo_call(g, repo, "GET", NULL, true, &j, err, "/contents/%s%s%s", p, e ? "?ref=" : "", e ? e : "");
	if (r == 0)
		r = gh_content_read(j, repo, path, out, err);
out:
	cJSON_Delete(j);
	free(p);
	free(e);
	return r;
}

int gh_content_read(const cJSON *j, const char *repo, const char *path, pb_github_content *out, pb_err *err)
{
	const char *content, *sha;

	memset(out, 0, sizeof(*out));
	content = pb_json_str(j, "content");
	sha = pb_json_str(j, "sha");
	if (!cJSON_IsObject(j) || strcmp(jstr(j, "type"), "file") != 0 || !content || !sha_valid(sha) ||
	    strcmp(jstr(j, "encoding"), "base64") != 0)
		return pb_err_set(err, PB_E_INVALID, "GitHub: %s in %s is not a file with base64 content", path, repo);
	out->data = b64_decode(content, &out->len);
	if (!out->data)
		return pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: %s in %s: invalid base64 content", path, repo);
	pb_strlcpy(out->sha, sha, sizeof(out->sha));
	return 0;
}

int pb_github_content_put(pb_github *g, const char *repo, const char *path, const char *data, size_t len,
			  const char *message, const char *sha, const char *branch, char *new_sha, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	char *b64 = b64_encode(data, len, false), *p = esc_path(path);
	int r;

	if (!b || !b64 || !p) {
		cJSON_Delete(b);
		r = -ENOMEM;
		goto out;
	}
	cJSON_AddStringToObject(b, "message", message);
	cJSON_AddStringToObject(b, "content", b64);
	if (sha)
		cJSON_AddStringToObject(b, "sha", sha);
	if (branch)
		cJSON_AddStringToObject(b, "branch", branch);
	/* With a sha a repeat cannot commit twice (it gets 409), so retrying is safe. */
	r = repo_call(g, repo, "PUT", b, true, &j, err, "/contents/%s", p);
	if (r == 0 && new_sha) {
		const char *s = pb_json_str(cJSON_GetObjectItemCaseSensitive(j, "content"), "sha");

		pb_strlcpy(new_sha, sha_valid(s) ? s : "", 41);
	}
out:
	free(b64);
	free(p);
	cJSON_Delete(j);
	return r;
}

/* ---- refs, checks, statuses -------------------------------------------- */

int pb_github_ref_sha(pb_github *g, const char *repo, const char *ref, char *sha, pb_err *err)
{
	char *e = esc_path(strncmp(ref, "refs/", 5) == 0 ? ref + 5 : ref);
	cJSON *j = NULL;
	const char *s;
	int r;

	sha[0] = '\0';
	if (!e)
		return -ENOMEM;
	r = repo_call(g, repo, "GET", NULL, true, &j, err, "/git/ref/%s", e);
	if (r == 0) {
		s = pb_json_str(cJSON_GetObjectItemCaseSensitive(j, "object"), "sha");
		if (!sha_valid(s))
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: ref %s in %s has no valid sha", ref, repo);
		else
			pb_strlcpy(sha, s, 41);
	}
	cJSON_Delete(j);
	free(e);
	return r;
}

int pb_github_check_runs(pb_github *g, const char *repo, const char *sha, pb_github_check **out, size_t *n,
			 pb_err *err)
{
	char *e = esc_path(sha);
	cJSON *all = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if (!e)
		return -ENOMEM;
	r = repo_list(g, repo, "check_runs", 0, &all, err, "/commits/%s/check-runs", e);
	free(e);
	if (r == 0)
		r = gh_checks_read(all, out, n);
	cJSON_Delete(all);
	return r;
}

int gh_checks_read(const cJSON *all, pb_github_check **out, size_t *n)
{
	const cJSON *it;
	pb_github_check *v = NULL;
	size_t k = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	v = calloc((size_t)cJSON_GetArraySize(all) + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, all) {
		v[k].id = jid(it, "id");
		pb_strlcpy(v[k].name, jstr(it, "name"), sizeof(v[k].name));
		pb_strlcpy(v[k].status, jstr(it, "status"), sizeof(v[k].status));
		pb_strlcpy(v[k].conclusion, jstr(it, "conclusion"), sizeof(v[k].conclusion));
		pb_strlcpy(v[k].html_url, jstr(it, "html_url"), sizeof(v[k].html_url));
		pb_strlcpy(v[k].output_title, jstr(cJSON_GetObjectItemCaseSensitive(it, "output"), "title"),
			   sizeof(v[k].output_title));
		pb_strlcpy(v[k].output_summary, jstr(cJSON_GetObjectItemCaseSensitive(it, "output"), "summary"),
			   sizeof(v[k].output_summary));
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	free(v);
	return r;
}

void pb_github_combined_deinit(pb_github_combined *c)
{
	if (!c)
		return;
	free(c->statuses);
	memset(c, 0, sizeof(*c));
}

int pb_github_combined_status(pb_github *g, const char *repo, const char *sha, pb_github_combined *out,
			      pb_err *err)
{
	char *e = esc_path(sha);
	cJSON *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!e)
		return -ENOMEM;
	/* One page: the combined state covers every context; 100 statuses are plenty to show. */
	r = repo_call(g, repo, "GET", NULL, true, &j, err, "/commits/%s/status?per_page=100", e);
	free(e);
	if (r == 0)
		r = gh_combined_read(j, sha, out, err);
	cJSON_Delete(j);
	return r;
}

int gh_combined_read(const cJSON *j, const char *sha, pb_github_combined *out, pb_err *err)
{
	const cJSON *arr, *it;
	size_t k = 0;

	memset(out, 0, sizeof(*out));
	arr = cJSON_GetObjectItemCaseSensitive(j, "statuses");
	pb_strlcpy(out->state, jstr(j, "state"), sizeof(out->state));
	if (!out->state[0] || !cJSON_IsArray(arr))
		return pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: the combined status of %s lacks state/statuses", sha);
	out->statuses = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*out->statuses));
	if (!out->statuses)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		pb_strlcpy(out->statuses[k].context, jstr(it, "context"), sizeof(out->statuses[k].context));
		pb_strlcpy(out->statuses[k].state, jstr(it, "state"), sizeof(out->statuses[k].state));
		pb_strlcpy(out->statuses[k].target_url, jstr(it, "target_url"), sizeof(out->statuses[k].target_url));
		pb_strlcpy(out->statuses[k].description, jstr(it, "description"),
			   sizeof(out->statuses[k].description));
		k++;
	}
	out->n = k;
	return 0;
}

/* ---- actions ----------------------------------------------------------- */

int pb_github_workflow_dispatch(pb_github *g, const char *repo, const char *workflow, const char *ref,
				const cJSON *inputs, pb_err *err)
{
	cJSON *b = cJSON_CreateObject();
	char *e = pb_http_escape(workflow);
	int r;

	if (!b || !e) {
		cJSON_Delete(b);
		free(e);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(b, "ref", ref);
	if (inputs)
		cJSON_AddItemToObject(b, "inputs", cJSON_Duplicate(inputs, 1));
	r = repo_call(g, repo, "POST", b, false, NULL, err, "/actions/workflows/%s/dispatches", e);
	free(e);
	return r;
}

void gh_run_read(const cJSON *it, pb_github_run *o)
{
	memset(o, 0, sizeof(*o));
	o->id = jid(it, "id");
	o->run_number = jid(it, "run_number");
	o->workflow_id = jid(it, "workflow_id");
	pb_strlcpy(o->event, jstr(it, "event"), sizeof(o->event));
	pb_strlcpy(o->status, jstr(it, "status"), sizeof(o->status));
	pb_strlcpy(o->conclusion, jstr(it, "conclusion"), sizeof(o->conclusion));
	pb_strlcpy(o->head_sha, jstr(it, "head_sha"), sizeof(o->head_sha));
	pb_strlcpy(o->html_url, jstr(it, "html_url"), sizeof(o->html_url));
	pb_strlcpy(o->display_title, jstr(it, "display_title"), sizeof(o->display_title));
	o->created_at = parse_iso(pb_json_str(it, "created_at"));
}

int pb_github_runs_list(pb_github *g, const char *repo, const char *workflow, const char *event, size_t max,
			pb_github_run **out, size_t *n, pb_err *err)
{
	char *wf = workflow ? pb_http_escape(workflow) : NULL, *ev = event ? pb_http_escape(event) : NULL;
	cJSON *all = NULL, *it;
	pb_github_run *v = NULL;
	size_t k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((workflow && !wf) || (event && !ev)) {
		r = -ENOMEM;
		goto out;
	}
	r = repo_list(g, repo, "workflow_runs", max ? max : 100, &all, err, "/actions/%s%s%s%s%s",
		      wf ? "workflows/" : "", wf ? wf : "", wf ? "/runs" : "runs", ev ? "?event=" : "", ev ? ev : "");
	if (r != 0)
		goto out;
	v = calloc((size_t)cJSON_GetArraySize(all) + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, all)
		gh_run_read(it, &v[k++]);
	*out = v;
	*n = k;
	v = NULL;
out:
	free(v);
	free(wf);
	free(ev);
	cJSON_Delete(all);
	return r;
}

int pb_github_run_get(pb_github *g, const char *repo, int64_t run_id, pb_github_run *out, pb_err *err)
{
	cJSON *j = NULL;
	int r = repo_call(g, repo, "GET", NULL, true, &j, err, "/actions/runs/%" PRId64, run_id);

	if (r == 0) {
		gh_run_read(j, out);
		if (!out->id)
			r = pb_err_set(err, PB_E_UNAVAILABLE, "GitHub: workflow run %" PRId64 " has no valid id", run_id);
	}
	cJSON_Delete(j);
	return r;
}

/* ---- deployments ------------------------------------------------------- */

int pb_github_deployment_create(pb_github *g, const char *repo, const char *ref, const char *environment,
				const char *description, int64_t *id_out, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	int r;

	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "ref", ref);
	cJSON_AddStringToObject(b, "environment", environment);
	cJSON_AddBoolToObject(b, "auto_merge", 0);
	cJSON_AddArrayToObject(b, "required_contexts");
	if (description)
		cJSON_AddStringToObject(b, "description", description);
	r = repo_call(g, repo, "POST", b, false, &j, err, "/deployments");
	if (r == 0) {
		int64_t id = jid(j, "id");

		/* 202 "Auto-merged …" carries a message and no id. */
		if (!id)
			r = pb_err_set(err, PB_E_FAILED, "GitHub: no deployment created for %s: %s", ref,
				       jstr(j, "message"));
		else if (id_out)
			*id_out = id;
	}
	cJSON_Delete(j);
	return r;
}

int pb_github_deployment_status(pb_github *g, const char *repo, int64_t deployment_id, const char *state,
				const char *log_url, const char *environment_url, const char *description,
				pb_err *err)
{
	cJSON *b = cJSON_CreateObject();

	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "state", state);
	if (log_url)
		cJSON_AddStringToObject(b, "log_url", log_url);
	if (environment_url)
		cJSON_AddStringToObject(b, "environment_url", environment_url);
	if (description)
		cJSON_AddStringToObject(b, "description", description);
	return repo_call(g, repo, "POST", b, false, NULL, err, "/deployments/%" PRId64 "/statuses", deployment_id);
}

/* ---- GraphQL ----------------------------------------------------------- */

int pb_github_graphql(pb_github *g, const char *query, const cJSON *variables, cJSON **data, pb_err *err)
{
	cJSON *b = cJSON_CreateObject(), *j = NULL;
	char *body = NULL;
	int r;

	if (data)
		*data = NULL;
	if (!b)
		return -ENOMEM;
	cJSON_AddStringToObject(b, "query", query);
	if (variables)
		cJSON_AddItemToObject(b, "variables", cJSON_Duplicate(variables, 1));
	body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	if (!body)
		return -ENOMEM;
	r = gh_call(g, "POST", g->graphql_url, body, false, &j, NULL, err);
	free(body);
	if (r == 0)
		r = gh_graphql_read(j, data, err);
	cJSON_Delete(j);
	return r;
}

int gh_graphql_read(cJSON *j, cJSON **data, pb_err *err)
{
	cJSON *errs, *e0;

	if (data)
		*data = NULL;
	/* GraphQL reports failures with HTTP 200. */
	errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
	e0 = cJSON_GetArrayItem(errs, 0);
	if (e0) {
		const char *type = jstr(e0, "type");

		return pb_err_set(err, strcmp(type, "NOT_FOUND") == 0 ? PB_E_NOTFOUND : PB_E_INVALID,
				  "GitHub GraphQL: %.300s%s%s%s", jstr(e0, "message"), type[0] ? " (" : "", type,
				  type[0] ? ")" : "");
	}
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "data")))
		return pb_err_set(err, PB_E_UNAVAILABLE, "GitHub GraphQL: an answer without data or errors");
	if (data)
		*data = cJSON_DetachItemFromObjectCaseSensitive(j, "data");
	return 0;
}
