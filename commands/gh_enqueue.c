/* gh_enqueue.c — decides the GitHub side effects of a step, inside the step's own transaction. */
#include "pb_ghout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pb_ghbody.h"

static const pb_component *mirrored(const pb_services *svc, const char *component)
{
	const pb_component *c;

	if (!svc || !svc->cfg || !svc->cfg->github.enabled || !component)
		return NULL;
	c = pb_config_component(svc->cfg, component);
	return c && c->github_repo && c->github_repo[0] ? c : NULL;
}

bool pb_ghout_wanted(const pb_services *svc, const char *component)
{
	return mirrored(svc, component) != NULL;
}

static void promotion_group(int64_t id, char *out, size_t size)
{
	snprintf(out, size, "promotion:%lld", (long long)id);
}

/* Stores one op; takes `payload` (deleted here). */
static int add_op(const pb_services *svc, int64_t promotion_id, const char *group, const char *kind, int64_t ref_id,
		  cJSON *payload, pb_err *err)
{
	pb_ghop op;
	int r;

	memset(&op, 0, sizeof(op));
	op.payload = payload ? cJSON_PrintUnformatted(payload) : NULL;
	cJSON_Delete(payload);
	if (!op.payload)
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	op.promotion_id = promotion_id;
	pb_strlcpy(op.group, group, sizeof(op.group));
	pb_strlcpy(op.kind, kind, sizeof(op.kind));
	op.ref_id = ref_id;
	op.created_at = pb_services_now(svc);
	r = pb_store_ghop_add(svc->store, &op, err);
	cJSON_free(op.payload);
	return r;
}

/* A payload naming the repository; NULL on out of memory. */
static cJSON *payload_for(const pb_component *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "repo", c->github_repo)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool add_strings(cJSON *o, const char *key, const char *const *v, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(o, key);

	for (size_t i = 0; arr && i < n; i++)
		if (v[i] && !cJSON_AddItemToArray(arr, cJSON_CreateString(v[i])))
			return false;
	return arr != NULL;
}

static size_t count_v(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/*
 * The promotion has (or will have) an issue: an issue.open op was decided
 * for it. Promotions requested before GitHub was configured have none, and
 * their later steps are not mirrored.
 */
static int has_issue(const pb_services *svc, const pb_promotion *p, bool *out, pb_err *err)
{
	char group[64];
	pb_ghop op;
	int r;

	*out = p->issue_number > 0;
	if (*out)
		return 0;
	promotion_group(p->id, group, sizeof(group));
	r = pb_store_ghop_find(svc->store, group, "issue.open", 0, &op, err);
	if (r == 0) {
		pb_ghop_deinit(&op);
		*out = true;
	}
	return r == PB_E_NOTFOUND ? 0 : r;
}

/* The payload of an op that opens an issue: title, body, labels, and the label to look it up by. NULL: out of memory. */
static cJSON *issue_payload(const pb_component *c, const pb_buf *title, const pb_buf *body, const char *const *labels,
			    size_t nlabels, const char *find_labels)
{
	cJSON *o = payload_for(c);

	if (o && (!cJSON_AddStringToObject(o, "title", pb_buf_str(title)) ||
		  !cJSON_AddStringToObject(o, "body", pb_buf_str(body)) || !add_strings(o, "labels", labels, nlabels) ||
		  !cJSON_AddStringToObject(o, "find_labels", find_labels))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

int pb_ghout_promotion_opened(const pb_services *svc, const pb_promotion *p, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	char group[64], comp_label[PB_ID_MAX + 16], target_label[48];
	const char *labels[3];
	pb_buf title, body;
	cJSON *o;
	int r;

	if (!c)
		return 0;
	pb_buf_init(&title);
	pb_buf_init(&body);
	r = pb_ghbody_promotion_title(c, p, &title);
	if (r == 0)
		r = pb_ghbody_promotion_body(svc, c, p, NULL, &body, err);
	if (r) {
		pb_buf_deinit(&title);
		pb_buf_deinit(&body);
		return r < 0 && !pb_err_text(err)[0] ? pb_err_set(err, r, "GitHub outbox: out of memory") : r;
	}
	snprintf(comp_label, sizeof(comp_label), "component:%s", c->id);
	snprintf(target_label, sizeof(target_label), "target:%s", pb_stage_name((pb_stage)p->target_stage));
	labels[0] = PB_GH_LABEL_REQUESTED;
	labels[1] = comp_label;
	labels[2] = target_label;
	o = issue_payload(c, &title, &body, labels, 3, comp_label);
	pb_buf_deinit(&title);
	pb_buf_deinit(&body);
	if (!o)
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	promotion_group(p->id, group, sizeof(group));
	return add_op(svc, p->id, group, "issue.open", 0, o, err);
}

/* One op on the promotion issue (only when it has one); `o` is taken. */
static int promotion_op(const pb_services *svc, const pb_promotion *p, const char *kind, int64_t ref_id, cJSON *o,
			pb_err *err)
{
	char group[64];
	bool issue = false;
	int r = has_issue(svc, p, &issue, err);

	if (r || !issue) {
		cJSON_Delete(o);
		return r;
	}
	if (!o)
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	cJSON_AddStringToObject(o, "issue", "promotion");
	promotion_group(p->id, group, sizeof(group));
	return add_op(svc, p->id, group, kind, ref_id, o, err);
}

static int labels_op(const pb_services *svc, const pb_promotion *p, const pb_component *c,
		     const pb_ghlabels_step *step, pb_err *err)
{
	size_t nadd = count_v(step->add), nremove = count_v(step->remove);
	cJSON *o;

	if (nadd + nremove == 0)
		return 0;
	o = payload_for(c);
	if (o && (!add_strings(o, "add", step->add, nadd) || !add_strings(o, "remove", step->remove, nremove))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "labels", 0, o, err);
}

int pb_ghout_comment(const pb_services *svc, const pb_promotion *p, const char *text, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	cJSON *o;

	if (!c)
		return 0;
	o = payload_for(c);
	if (o && !cJSON_AddStringToObject(o, "body", text)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "comment", 0, o, err);
}

int pb_ghout_lessons_file(const pb_services *svc, const pb_promotion *p, const char *name, const char *text,
			  pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	const char *slash;
	char path[1024];
	cJSON *o;

	if (!c || !c->github_maturity_path)
		return 0;
	/* next to the component's MATURITY.md in its repository, like the local draft next to maturity_file */
	slash = strrchr(c->github_maturity_path, '/');
	snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - c->github_maturity_path + 1) : 0,
		 c->github_maturity_path, name);
	o = payload_for(c);
	if (o && (!cJSON_AddStringToObject(o, "path", path) || !cJSON_AddStringToObject(o, "text", text))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "lessons.commit", 0, o, err);
}

int pb_ghout_comment_text(const pb_services *svc, const pb_promotion *p, const char *lead, const char *user_text,
			  pb_err *err)
{
	pb_buf text;
	int r;

	if (!mirrored(svc, p->component))
		return 0;
	pb_buf_init(&text);
	r = pb_buf_puts(&text, lead);
	if (r == 0 && user_text && user_text[0])
		r = pb_buf_puts(&text, ": ");
	if (r == 0 && user_text && user_text[0])
		r = pb_ghbody_escape(user_text, &text);
	r = r ? pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory") : pb_ghout_comment(svc, p, pb_buf_str(&text), err);
	pb_buf_deinit(&text);
	return r;
}

int pb_ghout_close(const pb_services *svc, const pb_promotion *p, const char *reason, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	cJSON *o;

	if (!c)
		return 0;
	o = payload_for(c);
	if (o && !cJSON_AddStringToObject(o, "reason", reason)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "close", 0, o, err);
}

int pb_ghout_transition(const pb_services *svc, const pb_promotion *p, pb_state from, pb_state to,
			const char *actor, const char *detail, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	const pb_ghlabels_step *step;
	int r;

	if (!c)
		return 0;
	step = pb_ghlabels_for(from, to);
	if (!step)
		return 0;
	r = labels_op(svc, p, c, step, err);
	if (r == 0 && step->comment) {
		pb_buf text;

		pb_buf_init(&text);
		pb_buf_printf(&text, "⚠️ **Promotion %s** (was %s), by %s.", pb_state_name(to), pb_state_name(from),
			      actor ? actor : "promobot");
		if (detail && detail[0]) {
			pb_buf_puts(&text, "\n\n");
			pb_ghbody_escape(detail, &text);
		}
		r = pb_buf_str(&text)[0] ? pb_ghout_comment(svc, p, pb_buf_str(&text), err)
					  : pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
		pb_buf_deinit(&text);
	}
	/* the GitHub Deployment follows the deploy's own transitions (one per promotion: ref = its id) */
	if (r == 0 && to == PB_ST_DEPLOYING)
		r = pb_ghout_deployment(svc, p, p->id, err);
	else if (r == 0 && from == PB_ST_DEPLOYING && to == PB_ST_OBSERVING)
		r = pb_ghout_deployment_status(svc, p, p->id, "success", "deployed and validated", err);
	else if (r == 0 && (from == PB_ST_DEPLOYING || from == PB_ST_OBSERVING) && to == PB_ST_FAILED)
		r = pb_ghout_deployment_status(svc, p, p->id, "failure", detail, err);
	else if (r == 0 && to == PB_ST_ROLLED_BACK) /* the previous container is back: this one is replaced */
		r = pb_ghout_deployment_status(svc, p, p->id, "inactive", "rolled back", err);
	/* a completion closes after its summary comment (pb_ghout_completion's caller) */
	if (r == 0 && step->close_reason && to != PB_ST_COMPLETED)
		r = pb_ghout_close(svc, p, step->close_reason, err);
	return r;
}

int pb_ghout_body_refresh(const pb_services *svc, const pb_promotion *p, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	pb_buf body;
	cJSON *o;
	int r;

	if (!c)
		return 0;
	pb_buf_init(&body);
	r = pb_ghbody_promotion_body(svc, c, p, NULL, &body, err);
	o = r ? NULL : payload_for(c);
	if (o && !cJSON_AddStringToObject(o, "body", pb_buf_str(&body))) {
		cJSON_Delete(o);
		o = NULL;
	}
	pb_buf_deinit(&body);
	if (r)
		return r;
	return promotion_op(svc, p, "body", 0, o, err);
}

static void blocker_group(int64_t id, char *out, size_t size)
{
	snprintf(out, size, "blocker:%lld", (long long)id);
}

int pb_ghout_blocker_opened(const pb_services *svc, const pb_blocker *b, const pb_promotion *p, pb_err *err)
{
	const pb_component *c = mirrored(svc, b->component);
	char group[64], comp_label[PB_ID_MAX + 16], text[256];
	const char *labels[2];
	pb_buf title, body;
	cJSON *o;
	int r;

	if (!c)
		return 0;
	pb_buf_init(&title);
	pb_buf_init(&body);
	r = pb_ghbody_blocker_title(c, b, &title);
	if (r == 0)
		r = pb_ghbody_blocker_body(c, b, p ? (pb_stage)p->target_stage : PB_STAGE_COUNT, NULL, &body);
	snprintf(comp_label, sizeof(comp_label), "component:%s", c->id);
	labels[0] = PB_GH_LABEL_BLOCKED;
	labels[1] = comp_label;
	o = r ? NULL : issue_payload(c, &title, &body, labels, 2, comp_label);
	if (o && (!cJSON_AddStringToObject(o, "issue", "blocker") ||
		  !cJSON_AddNumberToObject(o, "blocker_id", (double)b->id))) {
		cJSON_Delete(o);
		o = NULL;
	}
	pb_buf_deinit(&title);
	pb_buf_deinit(&body);
	if (!o)
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	blocker_group(b->id, group, sizeof(group));
	r = add_op(svc, 0, group, "blocker.open", b->id, o, err);
	if (r || !p)
		return r;
	/* the link to the blocker issue is filled in at delivery, once its number is known */
	snprintf(text, sizeof(text), "🚧 Blocked by blocker #%lld (%s).", (long long)b->id,
		 pb_severity_name(b->severity));
	o = payload_for(c);
	if (o && (!cJSON_AddStringToObject(o, "body", text) ||
		  !cJSON_AddNumberToObject(o, "link_blocker", (double)b->id))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "comment", 0, o, err);
}

int pb_ghout_blocker_resolved(const pb_services *svc, const pb_blocker *b, const char *actor, pb_err *err)
{
	const pb_component *c = mirrored(svc, b->component);
	char group[64], text[256];
	pb_ghop open;
	cJSON *o;
	int r;

	if (!c)
		return 0;
	blocker_group(b->id, group, sizeof(group));
	/* only a blocker whose issue was decided has one to close */
	r = pb_store_ghop_find(svc->store, group, "blocker.open", b->id, &open, err);
	if (r)
		return r == PB_E_NOTFOUND ? 0 : r;
	pb_ghop_deinit(&open);
	snprintf(text, sizeof(text), "✅ Resolved by %s in promobot (blocker #%lld).", actor ? actor : "promobot",
		 (long long)b->id);
	o = payload_for(c);
	if (!o || !cJSON_AddStringToObject(o, "body", text) || !cJSON_AddStringToObject(o, "issue", "blocker") ||
	    !cJSON_AddNumberToObject(o, "blocker_id", (double)b->id)) {
		cJSON_Delete(o);
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	}
	r = add_op(svc, 0, group, "comment", b->id, o, err);
	if (r)
		return r;
	o = payload_for(c);
	if (!o || !cJSON_AddStringToObject(o, "reason", "completed") || !cJSON_AddStringToObject(o, "issue", "blocker") ||
	    !cJSON_AddNumberToObject(o, "blocker_id", (double)b->id)) {
		cJSON_Delete(o);
		return pb_err_set(err, -ENOMEM, "GitHub outbox: out of memory");
	}
	return add_op(svc, 0, group, "close", b->id, o, err);
}

int pb_ghout_deployment(const pb_services *svc, const pb_promotion *p, int64_t deployment_id, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	char description[160];
	cJSON *o;
	int r;

	if (!c)
		return 0;
	snprintf(description, sizeof(description), "promobot: %s to %s (promotion #%lld)", c->id,
		 pb_stage_name((pb_stage)p->target_stage), (long long)p->id);
	o = payload_for(c);
	if (o && (!cJSON_AddStringToObject(o, "ref", p->revision) ||
		  !cJSON_AddStringToObject(o, "environment", pb_stage_name((pb_stage)p->target_stage)) ||
		  !cJSON_AddStringToObject(o, "description", description))) {
		cJSON_Delete(o);
		o = NULL;
	}
	r = promotion_op(svc, p, "deployment", deployment_id, o, err);
	return r ? r : pb_ghout_deployment_status(svc, p, deployment_id, "in_progress", "deploying", err);
}

int pb_ghout_deployment_status(const pb_services *svc, const pb_promotion *p, int64_t deployment_id,
			       const char *state, const char *description, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	const pb_deploy_cfg *d;
	cJSON *o;

	if (!c)
		return 0;
	d = pb_config_deploy(c, (pb_stage)p->target_stage);
	o = payload_for(c);
	if (o && (!cJSON_AddStringToObject(o, "state", state) ||
		  !cJSON_AddStringToObject(o, "description", description ? description : state) ||
		  (d && d->environment_url && !cJSON_AddStringToObject(o, "environment_url", d->environment_url)))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return promotion_op(svc, p, "deployment.status", deployment_id, o, err);
}

int pb_ghout_completion(const pb_services *svc, const pb_promotion *p, const char *date, pb_err *err)
{
	const pb_component *c = mirrored(svc, p->component);
	static const char *const kinds[] = { "maturity", "project" };
	int r = 0;

	if (!c)
		return 0;
	for (size_t i = 0; i < 2 && r == 0; i++) {
		cJSON *o = payload_for(c);

		if (o && (!cJSON_AddStringToObject(o, "component", c->id) ||
			  !cJSON_AddNumberToObject(o, "from", p->from_stage) ||
			  !cJSON_AddNumberToObject(o, "to", p->target_stage) || !cJSON_AddStringToObject(o, "date", date))) {
			cJSON_Delete(o);
			o = NULL;
		}
		r = promotion_op(svc, p, kinds[i], 0, o, err);
	}
	return r;
}
