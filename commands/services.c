/* services.c — opens and closes the per-worker clients handlers use (pb_services). */
#include "pb_services.h"

#include <stdlib.h>
#include <string.h>

#include "github.h"
#include "pb_deploy.h"
#include "pb_log.h"
#include "pb_str.h"

int pb_services_store_open(const pb_config *cfg, pb_store **out, pb_err *err)
{
	char *password = NULL;
	int r;

	*out = NULL;
	if (cfg->storage_password_env || cfg->storage_password_file) {
		pb_err e;

		pb_err_init(&e);
		password = pb_secret_read(cfg->storage_password_env, cfg->storage_password_file, &e);
		if (!password)
			return pb_err_set(err, PB_E_INVALID, "storage: the PostgreSQL password: %s", pb_err_text(&e));
	}
	r = pb_store_open_with(cfg->storage_url, password, out, err);
	if (r == 0)
		pb_store_set_lease_s(*out, cfg->ha.lease_s);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	return r;
}

int pb_services_open(pb_services *svc, const pb_config *cfg, const pb_clock *clock, const char *owner,
		     unsigned flags, pb_err *err)
{
	pb_err e;
	int r;

	memset(svc, 0, sizeof(*svc));
	svc->cfg = cfg;
	svc->clock = clock ? clock : pb_clock_system();
	/* unique per replica and worker (a worker runs one command at a time): host:pid:nonce:worker */
	pb_lease_token(owner ? owner : "promobot", svc->owner_buf, sizeof(svc->owner_buf));
	svc->lock_owner = svc->owner_buf;
	r = pb_services_store_open(cfg, &svc->store, err);
	if (r)
		return r;
	/* A github section that cannot be used (no token) is a config error, said at start-up. */
	if (cfg->github.enabled && !(flags & PB_SVC_NO_GITHUB)) {
		r = pb_github_new(&cfg->github, svc->clock, &svc->github, err);
		if (r) {
			pb_store_close(svc->store);
			svc->store = NULL;
			return r;
		}
	}
	if (flags & PB_SVC_NO_ENGINE)
		return 0;
	pb_err_init(&e);
	r = pb_engine_new(cfg, &svc->engine, &e);
	if (r && (flags & PB_SVC_ENGINE_OPTIONAL)) {
		pb_warn("services", "%s: no deploy engine: %s", svc->owner_buf, pb_err_text(&e));
		svc->engine = NULL;
		r = 0;
	} else if (r) {
		pb_err_set(err, r, "%s", pb_err_text(&e));
		pb_github_free(svc->github);
		pb_store_close(svc->store);
		svc->github = NULL;
		svc->store = NULL;
	}
	return r;
}

void pb_services_close(pb_services *svc)
{
	if (!svc)
		return;
	pb_engine_free(svc->engine);
	pb_github_free(svc->github);
	pb_store_close(svc->store);
	svc->engine = NULL;
	svc->github = NULL;
	svc->store = NULL;
}

int64_t pb_services_now(const pb_services *svc)
{
	return pb_clock_now(svc ? svc->clock : NULL);
}

static void observe_tx(void *ud, double seconds)
{
	const pb_metrics_promobot *m = ud;

	pb_metric_observe(m->storage_tx, NULL, seconds);
}

void pb_services_set_metrics(pb_services *svc, const pb_metrics_promobot *m)
{
	svc->metrics = m;
	if (svc->store)
		pb_store_set_tx_observer(svc->store, m ? observe_tx : NULL, (void *)m);
}
