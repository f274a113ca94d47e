/* harness.c — builds a throwaway config/store and records what commands reply. */
#include "harness.h"
#include "pb_file.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECKS(cov) \
	"\"checks\": [" \
	"{\"name\":\"unit\",\"criterion\":\"tests\",\"argv\":[\"true\"]}," \
	"{\"name\":\"cov\",\"criterion\":\"coverage\",\"argv\":[\"echo\",\"TOTAL 120 10 " cov "%%\"]," \
	" \"coverage_regex\":\"TOTAL[^%%]* ([0-9.]+)%%\"}," \
	"{\"name\":\"lint\",\"criterion\":\"lint\",\"argv\":[\"grep\",\"-qvx\",\"lint-broken\",\"%s/rev\"]}," \
	"{\"name\":\"types\",\"criterion\":\"types\",\"argv\":[\"true\"]}," \
	"{\"name\":\"sec\",\"criterion\":\"security\",\"argv\":[\"true\"]}]"

#define CONFIG_FMT \
	"{" \
	"\"storage\": {\"path\": \"%s/promobot.db\"}," \
	"\"chat\": {\"platform\": \"console\"}," \
	"\"users\": {" \
	"  \"alice\": {\"name\": \"Alice\", \"roles\": [\"requester\", \"approver\"]}," \
	"  \"bob\": {\"name\": \"Bob\", \"roles\": [\"approver\"]}," \
	"  \"erin\": {\"name\": \"Erin\", \"roles\": [\"approver\"]}," \
	"  \"carol\": {\"name\": \"Carol\", \"roles\": [\"deployer\", \"admin\"]}," \
	"  \"dave\": {\"name\": \"Dave\", \"roles\": [\"requester\"]}" \
	"}," \
	"\"policy\": %s,%s" \
	"\"components\": [" \
	" {\"id\": \"neo4j\", \"name\": \"Neo4j\", \"group\": \"Core Infrastructure\", \"stage\": \"development\", %s" \
	"  \"revision\": {\"command\": [\"cat\", \"%s/rev\"]}, \"maturity_file\": \"%s/MATURITY.md\", " CHECKS("85") "," \
	"  \"environments\": {\"staging\": %s}}," \
	" {\"id\": \"graph-api\", \"name\": \"Graph API\", \"group\": \"Apps\", \"stage\": \"development\"," \
	"  \"dependencies\": [\"neo4j\"], \"revision\": {\"value\": \"v1\"}, " CHECKS("90") "}," \
	" {\"id\": \"lowcov\", \"name\": \"Low Coverage\", \"group\": \"Apps\", \"stage\": \"development\"," \
	"  \"revision\": {\"value\": \"v1\"}, " CHECKS("64.5") "}" \
	"]}"

static void capture(pb_sink *sink, const pb_card *card)
{
	th *h = sink->userdata;

	h->ncards++;
	if (card->is_error)
		h->nerrors++;
	if (card->audience == PB_AUDIENCE_THREAD)
		h->nthread++;
	if (card->role == PB_THREAD_OPEN)
		h->nopen++;
	pb_card_render_text(card, &h->out);
	pb_buf_puts(&h->out, "\n");
}

void th_set_revision(th *h, const char *rev)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rev", h->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", rev);
	fclose(f);
}

#define TH_STAGING_DEFAULT \
	"{\"image\": \"neo4j:5.13\", \"container_name\": \"neo4j-staging\"," \
	" \"validation\": {\"kind\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 7687}}"

void th_setup(th *h, const char *policy)
{
	th_setup_ex(h, policy, NULL, NULL);
}

static void th_make_dir(th *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/promobot-th-XXXXXX");
	cr_assert_not_null(mkdtemp(h->dir));
	th_set_revision(h, "rev-1");
}

/* Parses json as the config and opens the store, clock, services and sink around it. */
static void th_open(th *h, const char *json)
{
	pb_problems probs = { 0 };
	pb_err err;
	int r;

	r = pb_config_parse(json, strlen(json), h->dir, &h->cfg, &probs);
	for (size_t i = 0; i < probs.count; i++)
		fprintf(stderr, "harness config: %s\n", probs.items[i]);
	cr_assert_eq(r, 0, "harness config invalid");
	pb_problems_deinit(&probs);
	pb_err_init(&err);
	cr_assert_eq(pb_store_open(h->cfg->storage_path, &h->store, &err), 0, "%s", pb_err_text(&err));
	pb_fake_clock_init(&h->clock, TH_EPOCH_MS);
	h->svc.cfg = h->cfg;
	h->svc.store = h->store;
	h->svc.clock = &h->clock.clock;
	h->svc.lock_owner = "test-owner";
	h->sink.emit = capture;
	h->sink.userdata = h;
	pb_buf_init(&h->out);
}

void th_setup_ex(th *h, const char *policy, const char *top, const char *staging)
{
	th_setup_full(h, policy, top, staging, NULL);
}

void th_setup_full(th *h, const char *policy, const char *top, const char *staging, const char *neo4j_extra)
{
	char *json;
	size_t size = 16384;

	th_make_dir(h);
	json = malloc(size);
	/* dirs: storage, revision command, maturity_file, then each component's lint check (reads the revision file) */
	snprintf(json, size, CONFIG_FMT, h->dir, policy ? policy : "{\"required_approvals\": 1}", top ? top : "",
		 neo4j_extra ? neo4j_extra : "", h->dir, h->dir, h->dir, staging ? staging : TH_STAGING_DEFAULT, h->dir, h->dir);
	th_open(h, json);
	free(json);
}

void th_setup_config(th *h, const char *tmpl)
{
	pb_buf b;

	th_make_dir(h);
	pb_buf_init(&b);
	for (const char *s = tmpl; *s;) {
		const char *at = strstr(s, "@DIR@");
		size_t n = at ? (size_t)(at - s) : strlen(s);

		pb_buf_printf(&b, "%.*s", (int)n, s);
		if (!at)
			break;
		pb_buf_puts(&b, h->dir);
		s = at + 5;
	}
	th_open(h, pb_buf_str(&b));
	pb_buf_deinit(&b);
}

void th_teardown(th *h)
{
	char path[600];
	struct dirent *de;
	DIR *d;

	pb_store_close(h->store);
	pb_fake_clock_deinit(&h->clock);
	pb_config_free(h->cfg);
	pb_buf_deinit(&h->out);
	/* everything the tests and commands left in the temp folder: db, rev, MATURITY.md, LESSONS-*.md */
	d = opendir(h->dir);
	while (d && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", h->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(h->dir);
}

void th_write_file(th *h, const char *name, const char *text, size_t len)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

char *th_read_file(th *h, const char *name, size_t *len)
{
	char path[400];
	pb_buf b;
	pb_err e;
	int r;

	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	pb_buf_init(&b);
	pb_err_init(&e);
	r = pb_file_read(path, 16u << 20, &b, &e);
	if (r == PB_E_NOTFOUND)
		return NULL;
	cr_assert_eq(r, 0, "%s", pb_err_text(&e));
	if (len)
		*len = b.len;
	return pb_buf_steal(&b);
}

int th_run(th *h, const char *user, const char *text)
{
	pb_caller caller = pb_caller_for(h->cfg, user, user);

	pb_buf_reset(&h->out);
	h->ncards = h->nerrors = h->nthread = h->nopen = 0;
	return pb_dispatch(&h->svc, &caller, text, &h->sink);
}

int64_t th_now(th *h)
{
	return pb_services_now(&h->svc);
}

void th_force_state(th *h, const char *component, pb_state st)
{
	pb_promotion p;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_store_promotion_open_for(h->store, component, &p, &err), 0);
	cr_assert_eq(pb_store_promotion_set_state(h->store, p.id, p.state, st, th_now(h), &err), 0, "%s",
		     pb_err_text(&err));
}

int th_state(th *h, const char *component)
{
	pb_promotion p;
	pb_err err;

	pb_err_init(&err);
	if (pb_store_promotion_open_for(h->store, component, &p, &err))
		return -1;
	return (int)p.state;
}

const char *th_out(th *h)
{
	return pb_buf_str(&h->out);
}

int64_t th_walk_to(th *h, const char *component, pb_state upto)
{
	static const pb_state path[] = { PB_ST_VALIDATING, PB_ST_IN_REVIEW, PB_ST_APPROVED, PB_ST_DEPLOYING,
					 PB_ST_OBSERVING };
	char cmd[200];
	pb_promotion p;

	snprintf(cmd, sizeof(cmd), "request %s staging", component);
	cr_assert_eq(th_run(h, "alice", cmd), 0, "%s", th_out(h));
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		th_force_state(h, component, path[i]);
		if (path[i] == upto)
			break;
	}
	cr_assert_eq(pb_store_promotion_open_for(h->store, component, &p, NULL), 0);
	return p.id;
}

pb_sample th_sample_at(th *h, int64_t promotion_id, int64_t slot)
{
	pb_sample *list = NULL, s;
	size_t n = 0;

	cr_assert_eq(pb_store_samples_range(h->store, promotion_id, slot, slot + 1, &list, &n, NULL), 0);
	cr_assert_eq(n, 1, "no sample at slot %lld", (long long)slot);
	s = list[0];
	free(list);
	return s;
}

struct th_sweep_ud {
	pb_monitor *mon;
	const pb_services *svc;
};

static int th_check_now(void *ud, int64_t promotion_id, int64_t slot)
{
	struct th_sweep_ud *u = ud;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_check(u->mon, u->svc, promotion_id, slot, &e), 0, "%s", pb_err_text(&e));
	return 0;
}

pb_monitor_sweep_stats th_sweep(th *h, pb_monitor *mon, pb_monitor_submit_fn fn)
{
	struct th_sweep_ud u = { mon, &h->svc };
	pb_monitor_sweep_stats st;
	pb_err e;

	pb_err_init(&e);
	cr_assert_eq(pb_monitor_sweep(mon, &h->svc, fn ? fn : th_check_now, &u, &st, &e), 0, "%s", pb_err_text(&e));
	return st;
}

size_t th_posts_of(th *h, int64_t promotion_id, const char *kind)
{
	pb_obs_post *list = NULL;
	size_t n = 0;

	cr_assert_eq(pb_store_obs_posts_of(h->store, promotion_id, kind, &list, &n, NULL), 0);
	pb_obs_posts_free(list, n);
	return n;
}

void th_target_up(th_target *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)t->port) };
	socklen_t al = sizeof(a);
	int one = 1;

	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(t->fd, 0);
	setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(t->fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind port %d", t->port);
	cr_assert_eq(listen(t->fd, 64), 0);
	fcntl(t->fd, F_SETFL, O_NONBLOCK);
	getsockname(t->fd, (struct sockaddr *)&a, &al);
	t->port = ntohs(a.sin_port);
}

void th_target_drain(th_target *t)
{
	int fd;

	while (t->fd >= 0 && (fd = accept(t->fd, NULL, NULL)) >= 0)
		close(fd);
}

void th_target_down(th_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
