/* deploy_flow.c — deploy steps 2–8 on the Docker Engine: image, ports, swap, health, validation, rollback. */
#include "pb_deploy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker.h"
#include "health.h"
#include "pb_clock.h"
#include "pb_lane.h"
#include "pb_lease_keeper.h"
#include "pb_log.h"

#define FLOW_POLL_MS 250
#define FLOW_STOP_TIMEOUT_S 10
#define FLOW_LOG_TAIL 20

struct pb_engine {
	const pb_config *cfg;
	pb_docker *docker;
};

int pb_engine_new(const pb_config *cfg, struct pb_engine **out, pb_err *err)
{
	struct pb_engine *e;
	int r;

	*out = NULL;
	if (!cfg || !cfg->docker_enabled)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = cfg;
	r = pb_docker_new(cfg->docker.host, cfg->docker.timeout_s > 0 ? cfg->docker.timeout_s * 1000L : 0,
			  &e->docker, err);
	if (r) {
		free(e);
		return r;
	}
	*out = e;
	return 0;
}

void pb_engine_free(struct pb_engine *engine)
{
	if (!engine)
		return;
	pb_docker_free(engine->docker);
	free(engine);
}

int pb_engine_check(struct pb_engine *engine, pb_err *err)
{
	if (!engine)
		return pb_err_set(err, PB_E_UNAVAILABLE, "no deploy engine is configured");
	return pb_docker_ping(engine->docker, err) ? PB_E_UNAVAILABLE : 0;
}

/* ---- one run ---- */

typedef struct flow {
	pb_cmd_ctx *ctx;
	const pb_component *c;
	const pb_deploy_cfg *d;
	const pb_promotion *p;
	pb_docker *dk;
	pb_deploy_outcome *out;
	char label[200];
	char previous[PB_ID_MAX];   /* the renamed previous container, "" if none */
	bool moved;                 /* the previous container was stopped (and maybe renamed) */
	bool renamed;
	char new_id[80];
	char image_id[PB_ID_MAX];
	pb_deployment dep;
	bool dep_recorded;
	pb_lease_keeper *keeper;    /* renews the component lease between boundaries; NULL when none runs */
	bool leased;                /* the deploy holds its component lease: boundaries renew it */
	bool changing;              /* past the read-only steps: a failure rolls back */
} flow;

static pb_card *flow_card(flow *f, const char *title)
{
	pb_card *card = pb_card_new(title);

	if (!card)
		return NULL;
	pb_card_thread(card, f->p->id, f->label, PB_THREAD_REPLY);
	card->audience = PB_AUDIENCE_THREAD;
	return card;
}

static void emit(flow *f, pb_card *card)
{
	if (!card)
		return;
	pb_sink_emit(f->ctx->sink, card);
	pb_card_free(card);
}

static void say(flow *f, const char *title, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(flow *f, const char *title, const char *fmt, ...)
{
	pb_card *card = flow_card(f, title);
	char text[1024];
	va_list ap;

	if (!card)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pb_card_text(card, "%s", text);
	emit(f, card);
}

/* First failure wins: the cause the caller and the thread see. */
static int flow_fail(flow *f, const char *title, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int flow_fail(flow *f, const char *title, const char *fmt, ...)
{
	pb_card *card;
	va_list ap;

	if (!f->out->cause[0]) {
		va_start(ap, fmt);
		vsnprintf(f->out->cause, sizeof(f->out->cause), fmt, ap);
		va_end(ap);
		pb_log_redact(f->out->cause, sizeof(f->out->cause));
	}
	pb_err_set(&f->ctx->err, PB_E_FAILED, "%s", f->out->cause);
	card = flow_card(f, title);
	if (card) {
		card->is_error = true;
		pb_card_text(card, "%s", f->out->cause);
		emit(f, card);
	}
	pb_warn("deploy", "%s: %s", f->label, f->out->cause);
	return PB_E_FAILED;
}

static void flow_init(flow *f, pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
		      const pb_promotion *p, pb_deploy_outcome *out)
{
	memset(f, 0, sizeof(*f));
	memset(out, 0, sizeof(*out));
	f->ctx = ctx;
	f->c = c;
	f->d = d;
	f->p = p;
	f->out = out;
	f->dk = ctx->svc->engine ? ctx->svc->engine->docker : NULL;
	snprintf(f->label, sizeof(f->label), "%s → %s #%lld", c->id, pb_stage_name(d->stage), (long long)p->id);
}

/*
 * A restore (an interrupted deploy's, a rollback's) waits for the previous
 * container's health and validation like a deploy does, which can outlast
 * ha.lease_s: its component lease is renewed meanwhile, or another replica's
 * command would take it over and work on the same containers at once. A
 * keeper that cannot start (or a lease that is not held) leaves it as before.
 */
static void keep_lease(flow *f)
{
	pb_err e;

	pb_err_init(&e);
	if (pb_lease_keeper_start(f->ctx->svc, f->c->id, &f->keeper, &e))
		pb_warn("deploy", "%s: the component lease is not renewed during the restore: %s", f->label,
			pb_err_text(&e));
}

static void ports_text(const pb_deploy_cfg *d, char *out, size_t size)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < d->nports && n < size; i++) {
		const pb_port_cfg *pc = &d->ports[i];
		int w = snprintf(out + n, size - n, "%s%s:%d->%d/%s", i ? ", " : "",
				 pc->host_ip ? pc->host_ip : "127.0.0.1", pc->host_port, pc->container_port,
				 pc->proto ? pc->proto : "tcp");
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (d->network_mode && strcmp(d->network_mode, "host") == 0 && n + 16 < size)
		snprintf(out + n, size - n, "%s(host network)", n ? " " : "");
}

/* ---- storage ---- */

static void dep_record(flow *f, const char *status, const char *detail)
{
	pb_err e;

	if (!f->ctx->svc->store)
		return;
	pb_strlcpy(f->dep.status, status, sizeof(f->dep.status));
	if (detail)
		pb_strlcpy(f->dep.detail, detail, sizeof(f->dep.detail));
	pb_err_init(&e);
	if (!f->dep_recorded) {
		f->dep.promotion_id = f->p->id;
		pb_strlcpy(f->dep.component, f->c->id, sizeof(f->dep.component));
		pb_strlcpy(f->dep.environment, pb_stage_name(f->d->stage), sizeof(f->dep.environment));
		/* an external deployment has neither: its row records the validation only */
		pb_strlcpy(f->dep.container_name, f->d->container_name ? f->d->container_name : "",
			   sizeof(f->dep.container_name));
		pb_strlcpy(f->dep.image, f->d->image ? f->d->image : "", sizeof(f->dep.image));
		ports_text(f->d, f->dep.ports, sizeof(f->dep.ports));
		f->dep.started_at = pb_services_now(f->ctx->svc);
		if (pb_store_deployment_add(f->ctx->svc->store, &f->dep, &e) == 0)
			f->dep_recorded = true;
		else
			pb_warn("deploy", "%s: recording the deployment failed: %s", f->label, pb_err_text(&e));
		return;
	}
	if (strcmp(status, "running") != 0)
		f->dep.finished_at = pb_services_now(f->ctx->svc);
	if (pb_store_deployment_update(f->ctx->svc->store, &f->dep, &e) != 0)
		pb_warn("deploy", "%s: updating the deployment failed: %s", f->label, pb_err_text(&e));
}

/* ---- step 2: image ---- */

#define PULL_MAX_LAYERS 64

typedef struct pull_progress {
	int complete;
	char seen[PULL_MAX_LAYERS][24];
	int nseen;
} pull_progress;

static void on_pull(void *ud, const char *status, const char *id)
{
	pull_progress *pp = ud;
	int i;

	/*
	 * Summarised in one card afterwards; only the log sees individual layers. A layer counts
	 * once: dockerd finishes it with "Pull complete" (after "Download complete"), podman's
	 * compat stream only with "Download complete", sometimes repeated.
	 */
	if (strcmp(status, "Pull complete") != 0 && strcmp(status, "Download complete") != 0)
		return;
	for (i = 0; i < pp->nseen; i++)
		if (strcmp(pp->seen[i], id) == 0)
			return;
	if (pp->nseen < PULL_MAX_LAYERS)
		pb_strlcpy(pp->seen[pp->nseen++], id, sizeof(pp->seen[0]));
	pp->complete++;
	pb_debug("deploy", "layer %s pulled", id);
}

static int step_image(flow *f)
{
	const pb_deploy_cfg *d = f->d;
	pb_docker_pull_stats st;
	pull_progress pp = { 0 };
	pb_card *card;
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_docker_image_inspect(f->dk, d->image, f->image_id, sizeof(f->image_id), &e);
	if (r && r != PB_E_NOTFOUND)
		return flow_fail(f, "❌ Image check failed", "%s", pb_err_text(&e));
	if (r == PB_E_NOTFOUND && d->pull == PB_PULL_NEVER)
		return flow_fail(f, "❌ Image missing", "image %s is not present on %s and the pull policy is "
				 "\"never\"", d->image, pb_docker_host(f->dk));
	if (r == 0 && d->pull != PB_PULL_ALWAYS) {
		say(f, "📦 Image present", "%s is present locally (%.19s); pull policy \"%s\".", d->image,
		    f->image_id, d->pull == PB_PULL_NEVER ? "never" : "missing");
		return 0;
	}
	say(f, "⬇️ Pulling image", "Pulling %s (%s).", d->image,
	    d->pull == PB_PULL_ALWAYS ? "pull policy \"always\"" : "not present locally");
	pb_err_init(&e);
	r = pb_docker_image_pull(f->dk, d->image, &st, on_pull, &pp, &e);
	if (r)
		return flow_fail(f, "❌ Pull failed", "%s", pb_err_text(&e));
	pb_err_init(&e);
	r = pb_docker_image_inspect(f->dk, d->image, f->image_id, sizeof(f->image_id), &e);
	if (r)
		return flow_fail(f, "❌ Pull failed", "pulled %s but cannot inspect it: %s", d->image,
				 pb_err_text(&e));
	card = flow_card(f, "📦 Image pulled");
	if (card) {
		pb_card_text(card, "%s", st.last_status[0] ? st.last_status : d->image);
		pb_card_field(card, "Layers", "%d (%d downloaded)", st.layers, pp.complete);
		pb_card_field(card, "Progress lines", "%d", st.lines);
		if (st.digest[0])
			pb_card_field(card, "Digest", "%s", st.digest);
		pb_card_field(card, "Image id", "%.19s", f->image_id);
		emit(f, card);
	}
	return 0;
}

/* ---- step 3: port conflicts ---- */

static bool engine_is_local(pb_docker *dk)
{
	return strncmp(pb_docker_host(dk), "unix://", 7) == 0;
}

/* Inode of a listening socket on `port` from /proc/net/tcp{,6}; 0 when none found. */
static unsigned long listen_inode(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];
	size_t i;

	for (i = 0; i < 2; i++) {
		FILE *fp = fopen(files[i], "r");

		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			char local[128];
			unsigned st;
			unsigned long inode;
			char *colon;

			if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3)
				continue;
			colon = strrchr(local, ':');
			if (st == 0x0A && colon && strtol(colon + 1, NULL, 16) == port && inode) {
				fclose(fp);
				return inode;
			}
		}
		fclose(fp);
	}
	return 0;
}

/* The pid holding socket inode `inode`; 0 when not visible to us. */
static int inode_pid(unsigned long inode)
{
	char want[64], path[300], link[64];
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int pid = 0;

	if (!proc)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!pid && (de = readdir(proc)) != NULL) {
		DIR *fds;
		struct dirent *fe;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds)) != NULL) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				long v;

				pid = pb_parse_long(de->d_name, 1, INT_MAX, &v) == 0 ? (int)v : 0;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return pid;
}

/* The running container whose cgroup holds `pid` (cgroup paths carry the container id). */
static const pb_docker_container *pid_container(int pid, const pb_docker_container *list, size_t n)
{
	char path[64], line[1024];
	FILE *fp;
	size_t i;
	const pb_docker_container *hit = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fp = fopen(path, "r");
	if (!fp)
		return NULL;
	while (!hit && fgets(line, sizeof(line), fp))
		for (i = 0; i < n && !hit; i++)
			if (list[i].id[0] && strstr(line, list[i].id))
				hit = &list[i];
	fclose(fp);
	return hit;
}

static void pid_comm(int pid, char *out, size_t size)
{
	char path[64];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	out[0] = '\0';
	fp = fopen(path, "r");
	if (!fp)
		return;
	if (fgets(out, (int)size, fp))
		out[strcspn(out, "\n")] = '\0';
	fclose(fp);
}

/* 0 free, EADDRINUSE taken, other errno when the address cannot be tried. */
static int try_bind(const char *ip, int port, bool udp)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, one = 1, r = 0;

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return EINVAL;
	a.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* Ignore TIME_WAIT leftovers: only a live socket counts as holding the port. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (!udp && listen(fd, 1) < 0))
		r = errno;
	close(fd);
	return r;
}

static int check_port(flow *f, const pb_port_cfg *pc, const pb_docker_container *list, size_t n)
{
	const char *proto = pc->proto ? pc->proto : "tcp";
	const char *ip = pc->host_ip ? pc->host_ip : "127.0.0.1";
	const pb_docker_container *holder;
	bool host_net = f->d->network_mode && strcmp(f->d->network_mode, "host") == 0;
	int port = pc->host_port;
	size_t i, k;
	char comm[64];
	unsigned long inode;
	int pid, r;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i].name, f->d->container_name) == 0)
			continue;
		for (k = 0; k < list[i].nports; k++)
			if (list[i].ports[k].public_port == port && strcmp(list[i].ports[k].type, proto) == 0)
				return flow_fail(f, "⛔ Port conflict", "port %d is published by container %s (%.12s); "
						 "nothing was changed", port, list[i].name, list[i].id);
	}
	/* A process on another machine cannot be seen from here: only probe a local engine's host. */
	if (!engine_is_local(f->dk))
		return 0;
	r = try_bind(host_net ? "0.0.0.0" : ip, port, strcmp(proto, "udp") == 0);
	if (r == EADDRNOTAVAIL && host_net)
		r = try_bind(ip, port, strcmp(proto, "udp") == 0);
	if (r != EADDRINUSE)
		return 0;
	inode = strcmp(proto, "tcp") == 0 ? listen_inode(port) : 0;
	pid = inode ? inode_pid(inode) : 0;
	holder = pid ? pid_container(pid, list, n) : NULL;
	if (holder && strcmp(holder->name, f->d->container_name) == 0)
		return 0; /* our own current container: it is stopped before the new one starts */
	if (holder)
		return flow_fail(f, "⛔ Port conflict", "port %d is in use by container %s (%.12s, pid %d); "
				 "nothing was changed", port, holder->name, holder->id, pid);
	if (!pid) {
		/* Holder not visible (no permission): if our own container runs, assume it is ours. */
		for (i = 0; i < n; i++)
			if (strcmp(list[i].name, f->d->container_name) == 0)
				return 0;
		return flow_fail(f, "⛔ Port conflict", "port %d is in use by another process; nothing was changed",
				 port);
	}
	pid_comm(pid, comm, sizeof(comm));
	return flow_fail(f, "⛔ Port conflict", "port %d is in use by another process (pid %d, %s); "
			 "nothing was changed", port, pid, comm[0] ? comm : "?");
}

static int step_ports(flow *f)
{
	pb_docker_container *list = NULL;
	size_t n = 0, i;
	pb_err e;
	int r;

	if (!f->d->nports)
		return 0;
	pb_err_init(&e);
	r = pb_docker_container_list(f->dk, false, NULL, 0, &list, &n, &e);
	if (r)
		return flow_fail(f, "❌ Port check failed", "%s", pb_err_text(&e));
	for (i = 0; i < f->d->nports && !r; i++)
		r = check_port(f, &f->d->ports[i], list, n);
	free(list);
	if (!r) {
		char ports[256];

		ports_text(f->d, ports, sizeof(ports));
		say(f, "🔌 Ports free", "%s: not published by another container nor bound by another process.",
		    ports);
	}
	return r;
}

/* ---- step 4: previous container ---- */

static int step_previous(flow *f)
{
	const pb_deploy_cfg *d = f->d;
	pb_docker_state st;
	pb_err e;
	int r;

	pb_err_init(&e);
	r = pb_docker_container_inspect(f->dk, d->container_name, &st, &e);
	if (r == PB_E_NOTFOUND) {
		say(f, "🆕 First deployment", "No container named %s yet: nothing to replace.", d->container_name);
		return 0;
	}
	if (r)
		return flow_fail(f, "❌ Inspect failed", "%s", pb_err_text(&e));
	snprintf(f->previous, sizeof(f->previous), "%s-previous-%lld", d->container_name, (long long)f->p->id);
	/* A leftover from an interrupted earlier attempt of this promotion blocks the rename. */
	pb_err_init(&e);
	if (pb_docker_container_remove(f->dk, f->previous, &e) == 0)
		pb_info("deploy", "%s: removed stale %s", f->label, f->previous);
	pb_err_init(&e);
	r = pb_docker_container_stop(f->dk, st.id, FLOW_STOP_TIMEOUT_S, &e);
	if (r) {
		f->previous[0] = '\0';
		return flow_fail(f, "❌ Stop failed", "%s", pb_err_text(&e));
	}
	f->moved = true;
	pb_err_init(&e);
	r = pb_docker_container_rename(f->dk, st.id, f->previous, &e);
	if (r)
		return flow_fail(f, "❌ Rename failed", "%s", pb_err_text(&e));
	f->renamed = true;
	pb_strlcpy(f->dep.previous_container, f->previous, sizeof(f->dep.previous_container));
	say(f, "⏸️ Previous container kept", "Stopped %s (%.12s) and renamed it %s so it can come back.",
	    d->container_name, st.id, f->previous);
	return 0;
}

/* ---- step 5: create + start ---- */

static void free_env(char **env, size_t n)
{
	size_t i;

	for (i = 0; env && i < n; i++)
		if (env[i]) {
			memset(env[i], 0, strlen(env[i]));
			free(env[i]);
		}
	free(env);
}

/* "NAME=value" strings; secrets read now (and registered with the log redactor). */
static int build_env(flow *f, char ***out)
{
	const pb_deploy_cfg *d = f->d;
	char **env = calloc(d->nenv + 1, sizeof(*env));
	size_t i;
	pb_err e;

	*out = NULL;
	if (!env)
		return -ENOMEM;
	for (i = 0; i < d->nenv; i++) {
		const pb_envvar_cfg *v = &d->env[i];
		char *val = NULL;
		pb_buf b;

		if (v->value_env || v->value_file) {
			pb_err_init(&e);
			val = pb_secret_read(v->value_env, v->value_file, &e);
			if (!val) {
				free_env(env, d->nenv);
				return flow_fail(f, "❌ Secret missing", "env %s: %s", v->name, pb_err_text(&e));
			}
		}
		pb_buf_init(&b);
		pb_buf_printf(&b, "%s=%s", v->name, val ? val : (v->value ? v->value : ""));
		if (val) {
			memset(val, 0, strlen(val));
			free(val);
		}
		if (b.oom) {
			pb_buf_deinit(&b);
			free_env(env, d->nenv);
			return -ENOMEM;
		}
		env[i] = pb_buf_steal(&b);
	}
	*out = env;
	return 0;
}

static int step_create(flow *f)
{
	const pb_deploy_cfg *d = f->d;
	const char *keys[3] = { "promobot.component", "promobot.environment", "promobot.promotion" };
	const char *vals[3];
	char pid[32], ports[256];
	pb_docker_create spec;
	char **env = NULL;
	pb_err e;
	int r;

	r = build_env(f, &env);
	if (r)
		return r;
	snprintf(pid, sizeof(pid), "%lld", (long long)f->p->id);
	vals[0] = f->c->id;
	vals[1] = pb_stage_name(d->stage);
	vals[2] = pid;
	memset(&spec, 0, sizeof(spec));
	spec.name = d->container_name;
	spec.image = d->image;
	spec.env = (const char *const *)env;
	spec.nenv = d->nenv;
	spec.cmd = (const char *const *)d->cmd;
	spec.ncmd = d->ncmd;
	spec.label_keys = keys;
	spec.label_values = vals;
	spec.nlabels = 3;
	spec.ports = d->ports;
	spec.nports = d->nports;
	spec.binds = (const char *const *)d->volumes;
	spec.nbinds = d->nvolumes;
	spec.restart_policy = d->restart_policy ? d->restart_policy : "unless-stopped";
	spec.network_mode = d->network_mode;
	spec.health = &d->container_health;
	pb_err_init(&e);
	r = pb_docker_container_create(f->dk, &spec, f->new_id, sizeof(f->new_id), &e);
	free_env(env, d->nenv);
	if (r)
		return flow_fail(f, "❌ Create failed", "%s", pb_err_text(&e));
	pb_strlcpy(f->dep.container_id, f->new_id, sizeof(f->dep.container_id));
	pb_strlcpy(f->dep.image_id, f->image_id, sizeof(f->dep.image_id));
	pb_err_init(&e);
	r = pb_docker_container_start(f->dk, f->new_id, &e);
	if (r)
		return flow_fail(f, "❌ Start failed", "%s", pb_err_text(&e));
	ports_text(d, ports, sizeof(ports));
	say(f, "▶️ Container started", "%s (%.12s) from %s; ports %s; restart policy %s.", d->container_name,
	    f->new_id, d->image, ports[0] ? ports : "none", spec.restart_policy);
	return 0;
}

/* ---- step 6: running + healthy ---- */

static void logs_card(flow *f, const char *id, bool tty, pb_card *card)
{
	pb_buf logs;
	pb_err e;

	pb_buf_init(&logs);
	pb_err_init(&e);
	if (pb_docker_container_logs(f->dk, id, tty, FLOW_LOG_TAIL, &logs, &e) == 0 && logs.len) {
		pb_log_redact(logs.data, logs.len + 1);
		pb_card_pre(card, pb_buf_str(&logs));
	}
	pb_buf_deinit(&logs);
}

/*
 * Polls inspect until the container runs (and is healthy when it has a
 * healthcheck), it fails, or timeout_s passes. 0 ok; PB_E_FAILED with why set.
 */
static int wait_healthy(flow *f, const char *id, int timeout_s, pb_docker_state *st, char *why, size_t wsize)
{
	int64_t start = pb_clock_mono_ms(NULL), deadline = start + (int64_t)(timeout_s > 0 ? timeout_s : 120) * 1000;
	pb_err e;
	int r;

	for (;;) {
		pb_err_init(&e);
		r = pb_docker_container_inspect(f->dk, id, st, &e);
		if (r) {
			snprintf(why, wsize, "%s", pb_err_text(&e));
			return PB_E_FAILED;
		}
		if (st->running && (!st->health[0] || strcmp(st->health, "healthy") == 0))
			return 0;
		if (strcmp(st->health, "unhealthy") == 0) {
			snprintf(why, wsize, "container %s is unhealthy: %s", st->name,
				 st->health_output[0] ? st->health_output : "(no probe output)");
			why[strcspn(why, "\r\n")] = '\0';
			return PB_E_FAILED;
		}
		if (!st->running && (strcmp(st->status, "exited") == 0 || strcmp(st->status, "dead") == 0)) {
			snprintf(why, wsize, "container %s exited with code %d%s%s", st->name, st->exit_code,
				 st->error[0] ? ": " : "", st->error);
			return PB_E_FAILED;
		}
		if (st->restart_count > 0) {
			snprintf(why, wsize, "container %s restarted %d time(s) while starting", st->name,
				 st->restart_count);
			return PB_E_FAILED;
		}
		if (pb_clock_mono_ms(NULL) + FLOW_POLL_MS > deadline) {
			snprintf(why, wsize, "container %s not %s within %d s (status %s%s%s)", st->name,
				 st->health[0] ? "healthy" : "running", timeout_s > 0 ? timeout_s : 120, st->status,
				 st->health[0] ? ", health " : "", st->health);
			return PB_E_FAILED;
		}
		pb_lane_leave();
		poll(NULL, 0, FLOW_POLL_MS);
		pb_lane_enter();
	}
}

static int step_wait(flow *f)
{
	int64_t t0 = pb_clock_mono_ms(NULL);
	pb_docker_state st;
	char why[600];
	pb_card *card;

	if (wait_healthy(f, f->new_id, f->d->healthy_timeout_s, &st, why, sizeof(why)) == 0) {
		say(f, "💚 Container healthy", "%s is running%s after %.1f s.", f->d->container_name,
		    st.health[0] ? " and healthy" : " (no container healthcheck)", (double)(pb_clock_mono_ms(NULL) - t0) / 1000.0);
		return 0;
	}
	snprintf(f->out->cause, sizeof(f->out->cause), "%s", why);
	pb_err_set(&f->ctx->err, PB_E_FAILED, "%s", why);
	card = flow_card(f, "❌ Container not healthy");
	if (card) {
		card->is_error = true;
		pb_card_text(card, "%s", why);
		logs_card(f, f->new_id, st.tty, card);
		emit(f, card);
	}
	return PB_E_FAILED;
}

/* ---- step 7: validation ---- */

static int validate(flow *f, const char *title, pb_health_report *rep)
{
	long wait_ms = (long)(f->d->healthy_timeout_s > 0 ? f->d->healthy_timeout_s : 120) * 1000L;
	pb_card *card;
	pb_err e;
	size_t i;
	int r;

	pb_err_init(&e);
	r = pb_health_run(&f->d->health, wait_ms, rep, &e);
	card = flow_card(f, title);
	if (card) {
		card->is_error = r != 0;
		for (i = 0; i < rep->nsteps; i++)
			pb_card_item(card, rep->steps[i].ok ? PB_ITEM_PASS : PB_ITEM_FAIL, "%s — %s",
				     rep->steps[i].name, rep->steps[i].detail);
		if (rep->version[0])
			pb_card_field(card, "Version", "%s", rep->version);
		if (rep->queries)
			pb_card_field(card, "Response times", "p50 %.1f ms · p95 %.1f ms · max %.1f ms (%d queries)",
				      rep->p50_ms, rep->p95_ms, rep->max_ms, rep->queries);
		if (r)
			pb_card_text(card, "%s", pb_err_text(&e));
		emit(f, card);
	}
	if (r && !f->out->cause[0])
		snprintf(f->out->cause, sizeof(f->out->cause), "%s", pb_err_text(&e));
	if (r)
		pb_err_set(&f->ctx->err, PB_E_FAILED, "%s", pb_err_text(&e));
	return r ? PB_E_FAILED : 0;
}

/* ---- rollback ---- */

/* Removes the new container and brings the previous one back; fills out->rollback_ok. */
static void rollback(flow *f)
{
	const pb_deploy_cfg *d = f->d;
	pb_health_report rep;
	pb_docker_state st;
	char why[600] = "";
	const char *prev_ref;
	pb_card *card;
	pb_err e;
	bool ok = false;

	memset(&rep, 0, sizeof(rep));
	if (f->new_id[0]) {
		int rr;

		pb_err_init(&e);
		rr = pb_docker_container_remove(f->dk, f->new_id, &e);
		if (rr && rr != PB_E_NOTFOUND)
			snprintf(why, sizeof(why), "removing the new container failed: %s", pb_err_text(&e));
	}
	if (!f->moved) {
		f->out->rolled_back = false;
		if (f->new_id[0])
			say(f, "🧹 Cleaned up", "Removed the new container %.12s; there was no previous container "
			    "to restore.", f->new_id);
		return;
	}
	f->out->rolled_back = true;
	prev_ref = f->renamed ? f->previous : d->container_name;
	pb_err_init(&e);
	if (!why[0] && f->renamed && pb_docker_container_rename(f->dk, f->previous, d->container_name, &e) != 0)
		snprintf(why, sizeof(why), "%s", pb_err_text(&e));
	else if (!why[0])
		prev_ref = d->container_name;
	pb_err_init(&e);
	if (!why[0] && pb_docker_container_start(f->dk, prev_ref, &e) != 0)
		snprintf(why, sizeof(why), "%s", pb_err_text(&e));
	if (!why[0] && wait_healthy(f, prev_ref, d->healthy_timeout_s, &st, why, sizeof(why)) == 0)
		ok = validate(f, "🔁 Previous deployment verified", &rep) == 0;
	if (!ok && !why[0])
		snprintf(why, sizeof(why), "the restored container failed validation: %s", rep.cause);
	f->out->rollback_ok = ok;
	card = flow_card(f, ok ? "↩️ Rolled back" : "🚨 Rollback FAILED");
	if (card) {
		card->is_error = !ok;
		if (ok)
			pb_card_text(card, "Removed the new container and restored %s; it answers again.",
				     d->container_name);
		else
			pb_card_text(card, "The previous container (%s) is NOT back: %s. Act now.", prev_ref, why);
		pb_card_field(card, "Cause", "%s", f->out->cause);
		emit(f, card);
	}
}

/* ---- external deployments: validated and watched, never touched ---- */

/* "http://127.0.0.1:8099/" or "127.0.0.1:9001 (tcp)": what the validation talks to. */
static void target_text(const pb_deploy_cfg *d, char *out, size_t size)
{
	if (d->health.kind == PB_HEALTH_TCP)
		snprintf(out, size, "%s:%d (tcp)", d->health.host ? d->health.host : "127.0.0.1", d->health.port);
	else
		snprintf(out, size, "%s (%s)", d->health.url ? d->health.url : "?",
			 d->health.kind == PB_HEALTH_NEO4J ? "neo4j" : "http");
}

/*
 * Other tooling deployed the component: the environment's post-deploy
 * validation against the running target decides, and nothing is rolled back
 * (there is nothing of ours to restore). The deployment row has no container.
 */
static int deploy_external(flow *f)
{
	pb_health_report rep;
	char target[320], detail[400];
	pb_card *card;
	int r;

	target_text(f->d, target, sizeof(target));
	say(f, "🌐 External deployment", "%s is deployed to %s by other tooling: promobot touches no engine. "
	    "Validating the running target %s.", f->c->id, pb_stage_name(f->d->stage), target);
	snprintf(detail, sizeof(detail), "external deployment: validating %s", target);
	dep_record(f, "running", detail);
	r = validate(f, "🔎 Post-deployment validation", &rep);
	if (r) {
		if (f->dep_recorded)
			dep_record(f, "failed", f->out->cause);
		pb_err_set(&f->ctx->err, PB_E_FAILED, "%s", f->out->cause);
		return PB_E_FAILED;
	}
	snprintf(detail, sizeof(detail), "external deployment validated at %s", target);
	dep_record(f, "succeeded", detail);
	card = flow_card(f, "✅ Deployment validated");
	if (card) {
		pb_card_field(card, "Deployment", "external (deployed by other tooling; no container)");
		pb_card_field(card, "Target", "%s", target);
		emit(f, card);
	}
	return 0;
}

static int plan_external(flow *f)
{
	char target[320];
	pb_card *card = flow_card(f, "📝 Deploy plan (dry run)");

	if (!card)
		return -ENOMEM;
	target_text(f->d, target, sizeof(target));
	pb_card_field(card, "Deployment", "external (deployed by other tooling; promobot touches no engine)");
	pb_card_field(card, "Validation", "%s", target);
	pb_card_item(card, PB_ITEM_PENDING, "validate the running target (first contact retried for up to %d s)",
		     f->d->healthy_timeout_s);
	pb_card_item(card, PB_ITEM_PENDING, "valid → observing (probed every %d s); invalid → failed with the cause",
		     f->d->monitoring.interval_s);
	pb_card_text(card, "Dry run: nothing was changed.");
	emit(f, card);
	return 0;
}

/* ---- entry points ---- */

static int engine_ready(flow *f)
{
	pb_err e;

	if (!f->dk) {
		snprintf(f->out->cause, sizeof(f->out->cause), "no deploy engine is configured");
		return pb_err_set(&f->ctx->err, PB_E_UNAVAILABLE, "%s", f->out->cause);
	}
	pb_err_init(&e);
	if (pb_docker_ping(f->dk, &e) != 0) {
		snprintf(f->out->cause, sizeof(f->out->cause), "%s", pb_err_text(&e));
		pb_err_set(&f->ctx->err, PB_E_UNAVAILABLE, "%s", pb_err_text(&e));
		say(f, "🔌 Docker engine unreachable", "%s. Nothing was changed.", pb_err_text(&e));
		return PB_E_UNAVAILABLE;
	}
	return 0;
}

/*
 * A step boundary: the lease is renewed here too (the keeper covers the long
 * steps between boundaries). A deploy whose component lease could not be
 * renewed stops here (another replica may already treat it as interrupted)
 * and says so.
 */
static int lease_held(flow *f, const char *next)
{
	char why[300];
	pb_err e;

	if (!f->leased)
		return 0;
	pb_err_init(&e);
	if (!pb_lease_keeper_lost(f->keeper, why, sizeof(why))) {
		if (pb_store_lock_renew(f->ctx->svc->store, f->c->id, f->ctx->svc->lock_owner,
					pb_services_now(f->ctx->svc), &e) == 0)
			return 0;
		pb_strlcpy(why, pb_err_text(&e), sizeof(why));
	}
	return flow_fail(f, "⛔ Lease lost", "the lease on %s was lost (%s); stopped before %s", f->c->id, why, next);
}

static int execute_steps(flow *f, pb_health_report *rep)
{
	int r;

	r = engine_ready(f);
	if (!r)
		r = step_image(f);
	if (!r)
		r = lease_held(f, "checking ports");
	if (!r)
		r = step_ports(f);
	if (!r)
		r = lease_held(f, "stopping the previous container");
	if (r)
		return r;
	f->changing = true;
	r = step_previous(f);
	if (f->moved || !r)
		dep_record(f, "running", NULL);
	if (!r)
		r = lease_held(f, "creating the new container");
	if (!r)
		r = step_create(f);
	if (!r)
		r = lease_held(f, "waiting for the new container");
	if (!r)
		r = step_wait(f);
	if (!r)
		r = lease_held(f, "the post-deployment validation");
	if (!r)
		r = validate(f, "🔎 Post-deployment validation", rep);
	if (!r)
		r = lease_held(f, "declaring the deployment validated");
	return r;
}

int pb_deploy_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
		      const pb_promotion *p, pb_deploy_outcome *out)
{
	pb_health_report rep;
	char ports[256];
	pb_card *card;
	pb_err e;
	flow f;
	int r;

	flow_init(&f, ctx, c, d, p, out);
	if (d->external)
		return deploy_external(&f);
	pb_err_init(&e);
	/* held and no keeper (it could not start): the step boundaries still renew it */
	f.leased = pb_lease_keeper_start(ctx->svc, c->id, &f.keeper, &e) != 0 || f.keeper;
	if (f.leased && !f.keeper)
		pb_warn("deploy", "%s: the component lease is renewed only between steps: %s", f.label,
			pb_err_text(&e));
	memset(&rep, 0, sizeof(rep));
	r = execute_steps(&f, &rep);
	if (r && f.changing) {
		/* the keeper still renews: a rollback waits for the previous container's health too */
		if (r < 0 && !out->cause[0])
			snprintf(out->cause, sizeof(out->cause), "internal error: %s", strerror(-r));
		rollback(&f);
		if (f.dep_recorded)
			dep_record(&f, out->rolled_back ? "rolled_back" : "failed", out->cause);
		pb_err_set(&ctx->err, PB_E_FAILED, "%s", out->cause);
		r = PB_E_FAILED;
	}
	pb_lease_keeper_stop(f.keeper);
	if (r)
		return r; /* before `changing`: nothing changed yet */
	dep_record(&f, "succeeded", "deployed and validated");
	ports_text(d, ports, sizeof(ports));
	card = flow_card(&f, "✅ Deployment validated");
	if (card) {
		pb_card_field(card, "Container", "%s (%.12s)", d->container_name, f.new_id);
		pb_card_field(card, "Image", "%s (%.19s)", d->image, f.image_id);
		if (ports[0])
			pb_card_field(card, "Ports", "%s", ports);
		if (f.previous[0])
			pb_card_field(card, "Previous", "%s (kept for rollback)", f.previous);
		emit(&f, card);
	}
	return 0;
}

/* Whether container id carries this promotion's labels (step_create puts them): the interrupted deploy made it. */
static bool made_by_this_deploy(flow *f, const char *id)
{
	char comp[PB_ID_MAX + 32], prom[64];
	const char *labels[2] = { comp, prom };
	pb_docker_container *list = NULL;
	size_t n = 0;
	bool mine = false;
	pb_err e;

	snprintf(comp, sizeof(comp), "promobot.component=%s", f->c->id);
	snprintf(prom, sizeof(prom), "promobot.promotion=%lld", (long long)f->p->id);
	pb_err_init(&e);
	if (pb_docker_container_list(f->dk, true, labels, 2, &list, &n, &e) != 0)
		pb_warn("deploy", "%s: listing the interrupted deploy's containers: %s", f->label, pb_err_text(&e));
	for (size_t i = 0; i < n && !mine; i++)
		mine = strcmp(list[i].id, id) == 0;
	free(list);
	return mine;
}

/*
 * A deploy whose process died: what the engine shows tells how far it got.
 * The previous container renamed <name>-previous-<promotion> means it was
 * moved (and maybe a new one created under the name): the new one goes and
 * the previous comes back. No such rename but a container under the name
 * labelled with this promotion means a first deployment (nothing to replace)
 * got as far as creating it: it goes, like a failed deploy's. No rename but a
 * stopped container under the name means it was stopped only (the new one is
 * created after the rename): it is started again. Anything else changed
 * nothing to undo.
 */
int pb_deploy_restore_interrupted(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
				  const pb_promotion *p, pb_deploy_outcome *out)
{
	pb_docker_state prev, cur;
	pb_err e;
	flow f;
	int r;

	flow_init(&f, ctx, c, d, p, out);
	if (d->external || !f.dk || !d->container_name)
		return 0;
	snprintf(f.previous, sizeof(f.previous), "%s-previous-%lld", d->container_name, (long long)p->id);
	pb_err_init(&e);
	r = pb_docker_container_inspect(f.dk, f.previous, &prev, &e);
	if (r == 0) {
		f.moved = f.renamed = true;
		pb_err_init(&e);
		if (pb_docker_container_inspect(f.dk, d->container_name, &cur, &e) == 0 && strcmp(cur.id, prev.id) != 0)
			pb_strlcpy(f.new_id, cur.id, sizeof(f.new_id));
	} else if (r == PB_E_NOTFOUND) {
		f.previous[0] = '\0';
		pb_err_init(&e);
		r = pb_docker_container_inspect(f.dk, d->container_name, &cur, &e);
		if (r == 0 && made_by_this_deploy(&f, cur.id))
			pb_strlcpy(f.new_id, cur.id, sizeof(f.new_id)); /* a first deployment's, half made */
		else if (r == PB_E_NOTFOUND || (r == 0 && cur.running))
			return 0; /* nothing moved */
		else if (r)
			return flow_fail(&f, "🚨 Restore FAILED", "the engine cannot be asked what the interrupted deploy "
					 "left: %s", pb_err_text(&e));
		else
			f.moved = true;
	} else {
		return flow_fail(&f, "🚨 Restore FAILED", "the engine cannot be asked what the interrupted deploy left: %s",
				 pb_err_text(&e));
	}
	snprintf(out->cause, sizeof(out->cause), "deploy interrupted: the process deploying %s stopped before it "
		 "finished", c->id);
	keep_lease(&f);
	rollback(&f);
	/* the interrupted deploy's row, still "running", gets its end */
	pb_err_init(&e);
	if (pb_store_deployment_latest(ctx->svc->store, p->id, &f.dep, &e) == 0 && strcmp(f.dep.status, "running") == 0) {
		f.dep_recorded = true;
		dep_record(&f, out->rolled_back && out->rollback_ok ? "rolled_back" : "failed", out->cause);
	}
	pb_lease_keeper_stop(f.keeper);
	return out->rollback_ok ? 0 : PB_E_FAILED;
}

static void env_names(const pb_deploy_cfg *d, char *out, size_t size)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < d->nenv && n < size; i++) {
		int w = snprintf(out + n, size - n, "%s%s%s", i ? ", " : "", d->env[i].name,
				 (d->env[i].value_env || d->env[i].value_file || d->env[i].secret) ? " (secret)" : "");
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int pb_deploy_plan(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
		   const pb_promotion *p)
{
	static const char *const pulls[] = { "missing", "always", "never" };
	pb_deploy_outcome out;
	char buf[1024];
	pb_docker_state st;
	pb_card *card;
	pb_err e;
	size_t i, n;
	flow f;
	int r;

	flow_init(&f, ctx, c, d, p, &out);
	if (d->external)
		return plan_external(&f);
	card = flow_card(&f, "📝 Deploy plan (dry run)");
	if (!card)
		return -ENOMEM;
	pb_card_field(card, "Image", "%s (pull: %s)", d->image, pulls[d->pull <= PB_PULL_NEVER ? d->pull : 0]);
	pb_card_field(card, "Container", "%s", d->container_name);
	ports_text(d, buf, sizeof(buf));
	pb_card_field(card, "Ports", "%s", buf[0] ? buf : "none");
	env_names(d, buf, sizeof(buf));
	pb_card_field(card, "Env", "%s", buf[0] ? buf : "none");
	for (i = 0, n = 0, buf[0] = '\0'; i < d->nvolumes && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", d->volumes[i]);
	if (buf[0])
		pb_card_field(card, "Volumes", "%s", buf);
	pb_card_field(card, "Labels", "promobot.component=%s, promobot.environment=%s, promobot.promotion=%lld",
		      c->id, pb_stage_name(d->stage), (long long)p->id);
	pb_card_field(card, "Restart policy", "%s", d->restart_policy ? d->restart_policy : "unless-stopped");
	if (d->network_mode)
		pb_card_field(card, "Network", "%s", d->network_mode);
	pb_card_field(card, "Healthy within", "%d s", d->healthy_timeout_s > 0 ? d->healthy_timeout_s : 120);
	pb_card_field(card, "Validation", "%s%s%s",
		      d->health.kind == PB_HEALTH_NEO4J ? "neo4j" : d->health.kind == PB_HEALTH_HTTP ? "http" :
		      d->health.kind == PB_HEALTH_TCP ? "tcp" : "none", d->health.url ? " " : "",
		      d->health.url ? d->health.url : "");
	pb_err_init(&e);
	r = f.dk ? pb_docker_container_inspect(f.dk, d->container_name, &st, &e) : PB_E_UNAVAILABLE;
	if (r == 0)
		pb_card_item(card, PB_ITEM_PENDING, "stop %s (%.12s, %s) and keep it as %s-previous-%lld", d->container_name,
			     st.id, st.status, d->container_name, (long long)p->id);
	else if (r == PB_E_NOTFOUND)
		pb_card_item(card, PB_ITEM_PENDING, "no existing %s container: first deployment", d->container_name);
	else
		pb_card_item(card, PB_ITEM_PENDING, "existing container unknown: %s",
			     e.set ? pb_err_text(&e) : "no engine");
	pb_card_item(card, PB_ITEM_PENDING, "create and start %s from %s, wait until %s", d->container_name, d->image,
		     d->container_health.test ? "healthy" : "running");
	pb_card_item(card, PB_ITEM_PENDING, "validate; on failure remove it and restore the previous container");
	pb_card_text(card, "Dry run: nothing was changed.");
	emit(&f, card);
	return 0;
}

int pb_rollback_execute(pb_cmd_ctx *ctx, const pb_component *c, const pb_deploy_cfg *d,
			const pb_promotion *p, pb_deploy_outcome *out)
{
	pb_docker_state st;
	pb_err e;
	flow f;
	int r;

	flow_init(&f, ctx, c, d, p, out);
	r = engine_ready(&f);
	if (r)
		return PB_E_FAILED; /* engine_ready put out->cause into ctx->err */
	pb_err_init(&e);
	if (ctx->svc->store && pb_store_deployment_latest(ctx->svc->store, p->id, &f.dep, &e) == 0) {
		f.dep_recorded = true;
		pb_strlcpy(f.previous, f.dep.previous_container, sizeof(f.previous));
	}
	if (!f.previous[0])
		snprintf(f.previous, sizeof(f.previous), "%s-previous-%lld", d->container_name, (long long)p->id);
	pb_err_init(&e);
	if (pb_docker_container_inspect(f.dk, f.previous, &st, &e) == 0) {
		f.moved = f.renamed = true;
	} else {
		f.previous[0] = '\0';
	}
	pb_err_init(&e);
	r = pb_docker_container_inspect(f.dk, d->container_name, &st, &e);
	if (r == 0)
		pb_strlcpy(f.new_id, st.id, sizeof(f.new_id));
	else if (r != PB_E_NOTFOUND)
		return flow_fail(&f, "❌ Rollback failed", "%s", pb_err_text(&e));
	snprintf(out->cause, sizeof(out->cause), "rollback requested by %s", ctx->caller.id ? ctx->caller.id : "?");
	keep_lease(&f);
	rollback(&f);
	pb_lease_keeper_stop(f.keeper);
	if (f.dep_recorded)
		dep_record(&f, "rolled_back", out->cause);
	if (f.moved && !out->rollback_ok) {
		pb_err_set(&ctx->err, PB_E_FAILED, "rollback of %s failed: the previous container is not back",
			   d->container_name);
		return PB_E_FAILED;
	}
	if (!f.moved)
		out->rollback_ok = true;
	return 0;
}
