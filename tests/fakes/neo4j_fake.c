/* neo4j_fake.c — static Neo4j HTTP API fake (discovery, tx/commit, Basic auth) that runs inside test containers. */
/*
 * Follows PROTOCOLS.md "Neo4j HTTP": GET / discovery (no auth); POST
 * /db/{db}/tx/commit with Basic auth (401 + Neo.ClientError.Security.Unauthorized
 * otherwise); Cypher errors come back with HTTP 200 and a non-empty "errors";
 * includeStats adds a "stats" object. A tiny in-memory store is enough for the
 * probe statements promobot runs; any other statement is a SyntaxError.
 *
 * Usage: neo4j_fake [--port N] [--user U] [--password P] [--database D]
 *                   [--slow-ms N] [--fail-after N] [--cypher-error] [--unauthorized]
 *        neo4j_fake --health [--port N]     (exit 0 when the fake answers GET /)
 * It prints the port it listens on (useful with --port 0) as one line on stdout.
 * NEO4J_AUTH=user/password (as in the official image) sets credentials; "none" disables auth.
 * Plain sockets and libc only: it is linked statically and copied into a busybox rootfs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ (1 << 20)
#define MAX_NODES 256
#define VERSION "5.13.0"

typedef struct opts {
	int port;
	char user[64];
	char password[128];
	char database[64];
	int auth;
	long slow_ms;
	long fail_after;
	int keep_alive;     /* --keep-alive: serve many requests per connection, as Neo4j does */
	int slow_on_usr1;   /* --slow-on-usr1: slow_ms applies only after SIGUSR1 (a test slows it down mid-run) */
	int cypher_error;
	int unauthorized;
} opts;

static opts O;
static char nodes[MAX_NODES][128];   /* PromobotProbe ids */
static long tx_served;

/* ---- small output buffer ---- */
typedef struct obuf { char *p; size_t len, cap; } obuf;

static void ob_put(obuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			exit(2);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void ob_printf(obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(obuf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		ob_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void ob_json_str(obuf *b, const char *s)
{
	ob_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			ob_put(b, e, 2);
		} else if (ch < 0x20) {
			ob_printf(b, "\\u%04x", ch);
		} else {
			ob_put(b, (const char *)&ch, 1);
		}
	}
	ob_put(b, "\"", 1);
}

/* ---- I/O ---- */
static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *reason, const char *extra, const obuf *body)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: %s\r\n%s\r\n",
			 status, reason, body ? body->len : 0, O.keep_alive ? "keep-alive" : "close",
			 extra ? extra : "");

	write_all(fd, head, (size_t)n);
	if (body && body->len)
		write_all(fd, body->p, body->len);
}

static void respond_error(int fd, int status, const char *reason, const char *code, const char *msg)
{
	obuf b = { 0 };

	ob_printf(&b, "{\"results\":[],\"errors\":[{\"code\":");
	ob_json_str(&b, code);
	ob_printf(&b, ",\"message\":");
	ob_json_str(&b, msg);
	ob_printf(&b, "}]}");
	respond(fd, status, reason, status == 401 ? "WWW-Authenticate: Basic realm=\"Neo4j\"\r\n" : NULL, &b);
	free(b.p);
}

/* ---- tiny JSON helpers: enough to read our own requests ---- */

/* Reads a JSON string starting at *p == '"' into out; returns pointer after it or NULL. */
static const char *json_str(const char *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'u': ch = '?'; p += (p[1] && p[2] && p[3] && p[4]) ? 4 : 0; break;
			case '\0': return NULL;
			default: ch = *p; break;
			}
		}
		if (n + 1 < size)
			out[n++] = ch;
	}
	if (*p != '"')
		return NULL;
	if (size)
		out[n] = '\0';
	return p + 1;
}

/* Finds "key" : value within [p, end); returns pointer to the value or NULL. */
static const char *json_key(const char *p, const char *end, const char *key)
{
	char pat[80];
	size_t kl;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	kl = strlen(pat);
	while (p && p < end) {
		const char *k = strstr(p, pat);

		if (!k || k >= end)
			return NULL;
		k += kl;
		while (*k == ' ' || *k == '\n' || *k == '\t' || *k == '\r')
			k++;
		if (*k == ':') {
			k++;
			while (*k == ' ' || *k == '\n' || *k == '\t' || *k == '\r')
				k++;
			return k;
		}
		p = k;
	}
	return NULL;
}

/* ---- base64 (Basic auth) ---- */
static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int b64dec(const char *in, char *out, size_t size)
{
	size_t n = 0;
	int bits = 0, acc = 0, v;

	for (; *in && *in != '=' && *in != '\r' && *in != '\n'; in++) {
		v = b64val(*in);
		if (v < 0)
			return -1;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	return 0;
}

static int authorized(const char *req)
{
	const char *h = strcasestr(req, "\r\nAuthorization:");
	char enc[512], dec[512], want[300];
	size_t n = 0;

	if (!O.auth)
		return 1;
	if (!h)
		return 0;
	h += 16;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	h += 6;
	while (h[n] && h[n] != '\r' && n + 1 < sizeof(enc)) {
		enc[n] = h[n];
		n++;
	}
	enc[n] = '\0';
	if (b64dec(enc, dec, sizeof(dec)))
		return 0;
	snprintf(want, sizeof(want), "%s:%s", O.user, O.password);
	return strcmp(dec, want) == 0;
}

/* ---- the store and statements ---- */
static int node_find(const char *id)
{
	int i;

	for (i = 0; i < MAX_NODES; i++)
		if (nodes[i][0] && strcmp(nodes[i], id) == 0)
			return i;
	return -1;
}

static void stats_json(obuf *b, int created, int deleted, int props, int labels)
{
	ob_printf(b, ",\"stats\":{\"contains_updates\":%s,\"nodes_created\":%d,\"nodes_deleted\":%d,"
		  "\"properties_set\":%d,\"relationships_created\":0,\"relationship_deleted\":0,"
		  "\"labels_added\":%d,\"labels_removed\":0,\"indexes_added\":0,\"indexes_removed\":0,"
		  "\"constraints_added\":0,\"constraints_removed\":0,\"contains_system_updates\":false,"
		  "\"system_updates\":0}",
		  (created || deleted || props || labels) ? "true" : "false", created, deleted, props, labels);
}

/* Normalises whitespace so "MATCH  (n:X {id: $id})" compares equal to the canonical text. */
static void squash(const char *in, char *out, size_t size)
{
	size_t n = 0;
	int sp = 0;

	for (; *in && n + 1 < size; in++) {
		if (*in == ' ' || *in == '\n' || *in == '\t' || *in == '\r') {
			sp = 1;
			continue;
		}
		if (sp && n)
			out[n++] = ' ';
		sp = 0;
		if (n + 1 < size)
			out[n++] = *in;
	}
	out[n] = '\0';
}

/* Runs one statement; appends its result object to b. 0 ok, -1 Cypher error (msg set). */
static int run_statement(const char *stmt_raw, const char *id, int have_id, int stats, obuf *b,
			 char *msg, size_t msize)
{
	char s[1024];
	int i, count;

	squash(stmt_raw, s, sizeof(s));
	if (O.cypher_error) {
		snprintf(msg, msize, "Invalid input '%.40s': expected a clause (line 1, column 1 (offset: 0))", s);
		return -1;
	}
	if (strcasecmp(s, "RETURN 1") == 0) {
		ob_printf(b, "{\"columns\":[\"1\"],\"data\":[{\"row\":[1],\"meta\":[null]}]");
		if (stats)
			stats_json(b, 0, 0, 0, 0);
		ob_printf(b, "}");
		return 0;
	}
	if (strcasecmp(s, "CALL dbms.components()") == 0 ||
	    strcasecmp(s, "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition") == 0) {
		ob_printf(b, "{\"columns\":[\"name\",\"versions\",\"edition\"],\"data\":[{\"row\":"
			  "[\"Neo4j Kernel\",[\"" VERSION "\"],\"community\"],\"meta\":[null,null,null]}]");
		if (stats)
			stats_json(b, 0, 0, 0, 0);
		ob_printf(b, "}");
		return 0;
	}
	if (strcasecmp(s, "MATCH (n) RETURN count(n)") == 0) {
		for (i = count = 0; i < MAX_NODES; i++)
			count += nodes[i][0] != 0;
		ob_printf(b, "{\"columns\":[\"count(n)\"],\"data\":[{\"row\":[%d],\"meta\":[null]}]", count);
		if (stats)
			stats_json(b, 0, 0, 0, 0);
		ob_printf(b, "}");
		return 0;
	}
	if (!have_id)
		goto syntax;
	if (strcmp(s, "CREATE (n:PromobotProbe {id:$id}) RETURN n.id") == 0 ||
	    strcmp(s, "CREATE (n:PromobotProbe {id: $id}) RETURN n.id") == 0) {
		for (i = 0; i < MAX_NODES && nodes[i][0]; i++)
			;
		if (i == MAX_NODES) {
			snprintf(msg, msize, "store full");
			return -1;
		}
		snprintf(nodes[i], sizeof(nodes[i]), "%s", id);
		ob_printf(b, "{\"columns\":[\"n.id\"],\"data\":[{\"row\":[");
		ob_json_str(b, id);
		ob_printf(b, "],\"meta\":[null]}]");
		if (stats)
			stats_json(b, 1, 0, 1, 1);
		ob_printf(b, "}");
		return 0;
	}
	if (strcmp(s, "MATCH (n:PromobotProbe {id:$id}) RETURN n.id") == 0 ||
	    strcmp(s, "MATCH (n:PromobotProbe {id: $id}) RETURN n.id") == 0) {
		ob_printf(b, "{\"columns\":[\"n.id\"],\"data\":[");
		if (node_find(id) >= 0) {
			ob_printf(b, "{\"row\":[");
			ob_json_str(b, id);
			ob_printf(b, "],\"meta\":[null]}");
		}
		ob_printf(b, "]");
		if (stats)
			stats_json(b, 0, 0, 0, 0);
		ob_printf(b, "}");
		return 0;
	}
	if (strcmp(s, "MATCH (n:PromobotProbe {id:$id}) DETACH DELETE n") == 0 ||
	    strcmp(s, "MATCH (n:PromobotProbe {id: $id}) DETACH DELETE n") == 0) {
		count = 0;
		while ((i = node_find(id)) >= 0) {
			nodes[i][0] = '\0';
			count++;
		}
		ob_printf(b, "{\"columns\":[],\"data\":[]");
		if (stats)
			stats_json(b, 0, count, 0, 0);
		ob_printf(b, "}");
		return 0;
	}
syntax:
	snprintf(msg, msize, "Invalid input '%.40s': this fake only knows promobot's probe statements", s);
	return -1;
}

static void tx_commit(int fd, const char *body)
{
	const char *end = body + strlen(body);
	const char *p = body, *next, *v;
	obuf res = { 0 }, out = { 0 };
	char stmt[2048], id[256], msg[300];
	int n = 0, have_id, stats, failed = 0;

	ob_put(&res, "", 0);
	for (v = json_key(p, end, "statement"); v; v = next < end ? next : NULL) {
		if (!json_str(v, stmt, sizeof(stmt))) {
			respond_error(fd, 400, "Bad Request", "Neo.ClientError.Request.InvalidFormat",
				      "Unable to deserialize request");
			goto out;
		}
		next = json_key(v, end, "statement");
		if (!next)
			next = end;
		/* The statement's own object spans until the next "statement" key. */
		{
			const char *params = json_key(v, next, "parameters");
			const char *idv = params ? json_key(params, next, "id") : NULL;
			const char *is = json_key(v, next, "includeStats");

			have_id = idv && json_str(idv, id, sizeof(id)) != NULL;
			if (!have_id)
				id[0] = '\0';
			stats = is && strncmp(is, "true", 4) == 0;
		}
		if (n)
			ob_put(&res, ",", 1);
		if (run_statement(stmt, id, have_id, stats, &res, msg, sizeof(msg))) {
			failed = 1;
			break;
		}
		n++;
	}
	if (failed) {
		/* The transaction is rolled back: no results, one error, still HTTP 200. */
		ob_printf(&out, "{\"results\":[],\"errors\":[{\"code\":\"Neo.ClientError.Statement.SyntaxError\","
			  "\"message\":");
		ob_json_str(&out, msg);
		ob_printf(&out, "}]}");
	} else {
		ob_printf(&out, "{\"results\":[%s],\"errors\":[]}", res.p ? res.p : "");
	}
	respond(fd, 200, "OK", NULL, &out);
out:
	free(res.p);
	free(out.p);
}

static void discovery(int fd)
{
	obuf b = { 0 };

	ob_printf(&b, "{\"bolt_routing\":\"neo4j://127.0.0.1:7687\",\"transaction\":"
		  "\"http://127.0.0.1:%d/db/{databaseName}/tx\",\"bolt_direct\":\"bolt://127.0.0.1:7687\","
		  "\"neo4j_version\":\"" VERSION "\",\"neo4j_edition\":\"community\"}", O.port);
	respond(fd, 200, "OK", NULL, &b);
	free(b.p);
}

static volatile sig_atomic_t slow_now;

static void on_usr1(int sig)
{
	(void)sig;
	slow_now = 1;
}

/* Serves one request; false when the peer closed (or sent nothing usable). */
static bool handle(int fd)
{
	static char req[MAX_REQ + 1];
	char method[16] = "", path[512] = "", want[160];
	size_t len = 0;
	long clen = 0;
	char *eoh = NULL, *cl;

	while (len < MAX_REQ) {
		ssize_t r = read(fd, req + len, MAX_REQ - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		len += (size_t)r;
		req[len] = '\0';
		if (!eoh && (eoh = strstr(req, "\r\n\r\n")) != NULL) {
			cl = strcasestr(req, "\r\nContent-Length:");
			clen = cl ? strtol(cl + 17, NULL, 10) : 0;
			if (clen < 0 || clen > MAX_REQ / 2) {
				respond_error(fd, 413, "Payload Too Large", "Neo.ClientError.Request.Invalid",
					      "request too large");
				return false;
			}
		}
		if (eoh && (size_t)(eoh + 4 - req) + (size_t)clen <= len)
			break;
	}
	if (!eoh)
		return false;
	if (sscanf(req, "%15s %511s", method, path) != 2)
		return false;
	if (strcmp(method, "GET") == 0 && strcmp(path, "/") == 0) {
		discovery(fd);
		return true;
	}
	snprintf(want, sizeof(want), "/db/%s/tx/commit", O.database);
	if (strcmp(method, "POST") == 0 && strncmp(path, "/db/", 4) == 0 &&
	    strstr(path, "/tx/commit")) {
		if (strcmp(path, want) != 0) {
			respond_error(fd, 404, "Not Found", "Neo.ClientError.Database.DatabaseNotFound",
				      "Database does not exist.");
			return true;
		}
		if (O.unauthorized || !authorized(req)) {
			respond_error(fd, 401, "Unauthorized", "Neo.ClientError.Security.Unauthorized",
				      "The client is unauthorized due to authentication failure.");
			return true;
		}
		if (!strcasestr(req, "\r\nContent-Type: application/json")) {
			respond_error(fd, 415, "Unsupported Media Type", "Neo.ClientError.Request.Invalid",
				      "Content-Type must be application/json");
			return true;
		}
		if (O.fail_after >= 0 && tx_served >= O.fail_after) {
			/* Simulated crash: the process (and so the container) goes away. */
			exit(3);
		}
		tx_served++;
		if (O.slow_ms > 0 && (!O.slow_on_usr1 || slow_now)) {
			struct timespec ts = { O.slow_ms / 1000, (O.slow_ms % 1000) * 1000000L };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		tx_commit(fd, eoh + 4);
		return true;
	}
	respond_error(fd, 404, "Not Found", "Neo.ClientError.Request.Invalid", "No such endpoint");
	return true;
}

static int health(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char buf[64] = "";
	const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 3, 0 };

	a.sin_port = htons((unsigned short)O.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	write_all(fd, req, strlen(req));
	if (read(fd, buf, sizeof(buf) - 1) < 12)
		return 1;
	close(fd);
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static long num_arg(const char *s)
{
	char *e;
	long v = strtol(s, &e, 10);

	if (e == s || *e || v < 0) {
		fprintf(stderr, "neo4j_fake: bad number %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *auth = getenv("NEO4J_AUTH");
	int i, lfd, one = 1, health_mode = 0;

	signal(SIGPIPE, SIG_IGN);
	/* As PID 1 in a container, default-action signals are ignored: exit on stop explicitly. */
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	signal(SIGINT, on_term);
	O.port = 7474;
	O.auth = 1;
	O.fail_after = -1;
	snprintf(O.user, sizeof(O.user), "neo4j");
	snprintf(O.password, sizeof(O.password), "neo4j");
	snprintf(O.database, sizeof(O.database), "neo4j");
	if (auth && strcmp(auth, "none") == 0) {
		O.auth = 0;
	} else if (auth && strchr(auth, '/')) {
		snprintf(O.user, sizeof(O.user), "%.*s", (int)(strchr(auth, '/') - auth), auth);
		snprintf(O.password, sizeof(O.password), "%s", strchr(auth, '/') + 1);
	}
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--health") == 0) { health_mode = 1; continue; }
		if (strcmp(o, "--cypher-error") == 0) { O.cypher_error = 1; continue; }
		if (strcmp(o, "--unauthorized") == 0) { O.unauthorized = 1; continue; }
		if (strcmp(o, "--keep-alive") == 0) { O.keep_alive = 1; continue; }
		if (strcmp(o, "--slow-on-usr1") == 0) { O.slow_on_usr1 = 1; continue; }
		if (!v) {
			fprintf(stderr, "neo4j_fake: unknown or incomplete option %s\n", o);
			return 2;
		}
		i++;
		if (strcmp(o, "--port") == 0) O.port = (int)num_arg(v);
		else if (strcmp(o, "--user") == 0) snprintf(O.user, sizeof(O.user), "%s", v);
		else if (strcmp(o, "--password") == 0) snprintf(O.password, sizeof(O.password), "%s", v);
		else if (strcmp(o, "--database") == 0) snprintf(O.database, sizeof(O.database), "%s", v);
		else if (strcmp(o, "--slow-ms") == 0) O.slow_ms = num_arg(v);
		else if (strcmp(o, "--fail-after") == 0) O.fail_after = num_arg(v);
		else {
			fprintf(stderr, "neo4j_fake: unknown option %s\n", o);
			return 2;
		}
	}
	if (health_mode)
		return health();
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons((unsigned short)O.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "neo4j_fake: cannot listen on 127.0.0.1:%d: %s\n", O.port, strerror(errno));
		return 1;
	}
	if (O.port == 0) {
		/* Port 0: the kernel picked one; tell the parent on stdout. */
		socklen_t al = sizeof(a);

		getsockname(lfd, (struct sockaddr *)&a, &al);
		O.port = ntohs(a.sin_port);
	}
	printf("%d\n", O.port);
	fflush(stdout);
	fprintf(stderr, "neo4j_fake: listening on 127.0.0.1:%d\n", O.port);
	for (;;) {
		struct timeval tv = { 5, 0 };
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		/* One connection at a time: a silent client must not wedge the fake forever. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		/* Keep-alive: serve the connection until the client closes or idles out. */
		while (handle(fd) && O.keep_alive)
			;
		close(fd);
	}
}
