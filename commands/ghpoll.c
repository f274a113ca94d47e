/* ghpoll.c — the GitHub poller: blocker issues people open on GitHub become blockers; promotion issues changed by hand are drift. */
#include "pb_ghpoll.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "github.h"
#include "pb_ghbody.h"
#include "pb_log.h"
#include "pb_workflow.h"

#define GH_MARKER "<!-- promobot:"
#define GH_LIFECYCLE_PREFIX "promotion:"

/* A command context for work no chat message started: `actor` is audited, cards go to the system sink. */
static void poll_ctx(pb_cmd_ctx *ctx, const pb_services *svc, const char *actor)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->svc = svc;
	ctx->caller.id = actor;
	ctx->caller.name = actor;
	ctx->sink = svc->system_sink;
	pb_err_init(&ctx->err);
}

/* The component's thread, or the channel when it has no open promotion (never a caller: there is none). */
static pb_card *component_news(pb_cmd_ctx *ctx, const char *component, const char *title)
{
	pb_card *card = pb_cmd_component_card(ctx, component, title);

	if (card && card->audience == PB_AUDIENCE_CALLER)
		card->audience = PB_AUDIENCE_CHANNEL;
	return card;
}

/* "[BLOCKER] Neo4j: disk full" → "disk full" (the component's name or id, then ':', is dropped too). */
static void blocker_text(const pb_component *c, const char *title, char *out, size_t size)
{
	const char *s = title;
	const char *names[] = { c->name, c->id };

	if (strncmp(s, "[BLOCKER]", 9) == 0)
		s += 9;
	while (*s && isspace((unsigned char)*s))
		s++;
	for (size_t i = 0; i < 2; i++) {
		size_t n = names[i] ? strlen(names[i]) : 0;

		if (n && strncmp(s, names[i], n) == 0 && s[n] == ':') {
			s += n + 1;
			while (*s && isspace((unsigned char)*s))
				s++;
			break;
		}
	}
	pb_strlcpy(out, *s ? s : title, size);
}

static bool promobot_opened(const pb_github_issue *i)
{
	return i->body && strstr(i->body, GH_MARKER) != NULL;
}

/* Stores one blocker issue a person opened; told in the component's thread. */
static int import_blocker(const pb_services *svc, const pb_component *c, const pb_github_issue *i, pb_err *err)
{
	pb_cmd_ctx ctx;
	pb_blocker b;
	pb_card *card;
	char actor[PB_ID_MAX], detail[PB_TEXT_MAX];
	int r;

	snprintf(actor, sizeof(actor), "github:%s", i->user[0] ? i->user : "unknown");
	poll_ctx(&ctx, svc, actor);
	memset(&b, 0, sizeof(b));
	pb_strlcpy(b.component, c->id, sizeof(b.component));
	b.severity = pb_ghbody_blocker_severity(i->body);
	blocker_text(c, i->title, b.text, sizeof(b.text));
	pb_strlcpy(b.opened_by, actor, sizeof(b.opened_by));
	b.opened_at = pb_services_now(svc);
	b.issue_number = i->number;
	r = pb_store_begin(svc->store, err);
	if (r)
		return r;
	r = pb_store_blocker_add(svc->store, &b, err);
	snprintf(detail, sizeof(detail), "#%lld %s: %s (GitHub issue #%lld)", (long long)b.id,
		 pb_severity_name(b.severity), b.text, (long long)i->number);
	if (!r && (r = pb_cmd_audit(&ctx, 0, c->id, "blocker.opened", detail)) != 0)
		pb_err_set(err, r, "%s", pb_err_text(&ctx.err));
	if (!r)
		r = pb_store_commit(svc->store, err);
	if (r) {
		pb_store_rollback(svc->store);
		return r;
	}
	pb_info("ghpoll", "%s: GitHub issue #%lld by %s stored as %s blocker #%lld", c->id, (long long)i->number,
		actor, pb_severity_name(b.severity), (long long)b.id);
	card = component_news(&ctx, c->id, "🚧 Blocker opened on GitHub");
	pb_card_text(card, "#%lld [%s] %s — issue #%lld opened by %s", (long long)b.id,
		     pb_severity_name(b.severity), b.text, (long long)i->number, i->user[0] ? i->user : "someone");
	if (i->html_url[0])
		pb_card_field(card, "Issue", "%s", i->html_url);
	if (b.severity == PB_SEV_CRITICAL)
		pb_card_field(card, "Effect", "approval and deploy of %s are stopped until it is resolved", c->id);
	pb_card_field(card, "Resolve", "close issue #%lld on GitHub", (long long)i->number);
	pb_sink_emit(ctx.sink, card);
	pb_card_free(card);
	return 0;
}

static int resolve_blocker(const pb_services *svc, const pb_blocker *b, const char *why, pb_err *err)
{
	pb_cmd_ctx ctx;
	pb_card *card;
	char detail[PB_TEXT_MAX];
	int r;

	poll_ctx(&ctx, svc, "github");
	r = pb_store_begin(svc->store, err);
	if (r)
		return r;
	r = pb_store_blocker_resolve(svc->store, b->id, "github", pb_services_now(svc), err);
	snprintf(detail, sizeof(detail), "#%lld %s (GitHub issue #%lld %s)", (long long)b->id, b->text,
		 (long long)b->issue_number, why);
	if (!r && (r = pb_cmd_audit(&ctx, 0, b->component, "blocker.resolved", detail)) != 0)
		pb_err_set(err, r, "%s", pb_err_text(&ctx.err));
	if (!r)
		r = pb_store_commit(svc->store, err);
	if (r) {
		pb_store_rollback(svc->store);
		/* resolved meanwhile from chat: nothing left to do */
		return r == PB_E_CONFLICT ? 0 : r;
	}
	card = component_news(&ctx, b->component, "✅ Blocker resolved on GitHub");
	pb_card_text(card, "#%lld [%s] %s — issue #%lld %s", (long long)b->id, pb_severity_name(b->severity),
		     b->text, (long long)b->issue_number, why);
	pb_sink_emit(ctx.sink, card);
	pb_card_free(card);
	return 0;
}

static bool listed(const pb_github_issue *v, size_t n, int64_t number)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].number == number)
			return true;
	return false;
}

/* Stored open blockers whose issue left the open list: resolved when GitHub confirms it is closed or gone. */
static int reconcile_closed(const pb_services *svc, const pb_component *c, const pb_github_issue *open,
			    size_t nopen, pb_ghpoll_stats *st, pb_err *err)
{
	pb_blocker *bl = NULL;
	size_t nb = 0;
	int r = pb_store_blockers_open(svc->store, c->id, &bl, &nb, err);

	for (size_t k = 0; !r && k < nb; k++) {
		pb_github_issue gi;
		const char *why = NULL;
		pb_err ge;
		int g;

		if (!bl[k].issue_number || listed(open, nopen, bl[k].issue_number))
			continue;
		pb_err_init(&ge);
		g = pb_github_issue_get(svc->github, c->github_repo, bl[k].issue_number, &gi, &ge);
		if (g == 0) {
			if (strcmp(gi.state, "closed") == 0)
				why = "was closed";
			pb_github_issue_deinit(&gi);
		} else if (g == PB_E_NOTFOUND) {
			why = strstr(pb_err_text(&ge), "HTTP 410") ? "was deleted" : "no longer exists (deleted or transferred)";
		} else {
			pb_warn("ghpoll", "%s: blocker #%lld: %s (left as it is)", c->id, (long long)bl[k].id,
				pb_err_text(&ge));
			st->failed++;
		}
		if (why) {
			r = resolve_blocker(svc, &bl[k], why, err);
			if (!r)
				st->resolved++;
		}
	}
	free(bl);
	return r;
}

static int by_number(const void *a, const void *b)
{
	const pb_github_issue *x = a, *y = b;

	return (x->number > y->number) - (x->number < y->number);
}

static int poll_blockers(const pb_services *svc, const pb_component *c, pb_ghpoll_stats *st, pb_err *err)
{
	pb_github_issue *v = NULL;
	size_t n = 0;
	char labels[PB_ID_MAX + 64];
	pb_err ge;
	int r = 0, g;

	snprintf(labels, sizeof(labels), "%s,component:%s", PB_GH_LABEL_BLOCKED, c->id);
	pb_err_init(&ge);
	g = pb_github_issues_list(svc->github, c->github_repo, labels, "open", &v, &n, &ge);
	if (g == -ENOMEM)
		return pb_err_set(err, g, "%s", pb_err_text(&ge));
	if (g) {
		pb_warn("ghpoll", "%s: listing blocker issues: %s (nothing changed)", c->id, pb_err_text(&ge));
		st->failed++;
		return 0;
	}
	st->repos++;
	/* oldest first, so blocker ids follow the order people opened them */
	qsort(v, n, sizeof(*v), by_number);
	for (size_t i = 0; !r && i < n; i++) {
		pb_blocker known;

		if (promobot_opened(&v[i]))
			continue;
		r = pb_store_blocker_by_issue(svc->store, c->id, v[i].number, &known, err);
		if (r == 0)
			continue; /* already linked (imported earlier, or opened from chat) */
		if (r != PB_E_NOTFOUND)
			break;
		r = import_blocker(svc, c, &v[i], err);
		if (!r)
			st->imported++;
	}
	if (!r)
		r = reconcile_closed(svc, c, v, n, st, err);
	pb_github_issues_free(v, n);
	return r;
}

/* "in_review" → "in review" */
static void state_words(pb_state s, char *out, size_t size)
{
	pb_strlcpy(out, pb_state_name(s), size);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = ' ';
}

static bool in_list(const char *const *v, const char *name)
{
	for (; v && *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

/* ", label x was removed" after an earlier phrase, "issue #12: label x was removed" first. */
static void label_phrase(pb_buf *text, const char **sep, int64_t number, const char *label, const char *how)
{
	if ((*sep)[0])
		pb_buf_printf(text, "%slabel %s was %s by hand", *sep, label, how);
	else
		pb_buf_printf(text, "issue #%lld: label %s was %s by hand", (long long)number, label, how);
	*sep = ", ";
}

/*
 * What the issue contradicts, "" when nothing: returns 0, PB_E_UNAVAILABLE
 * when GitHub could not tell (ge says why; the stored drift stays).
 */
static int issue_drift(const pb_services *svc, const pb_component *c, const pb_promotion *p, pb_buf *text,
		       pb_err *ge)
{
	const char *const *want = pb_ghlabels_expected(p->state);
	pb_github_issue gi;
	char words[32];
	const char *sep = "";
	int g;

	g = pb_github_issue_get(svc->github, c->github_repo, p->issue_number, &gi, ge);
	if (g == PB_E_NOTFOUND) {
		if (strstr(pb_err_text(ge), "HTTP 410"))
			pb_buf_printf(text, "issue #%lld was deleted on GitHub", (long long)p->issue_number);
		else
			pb_buf_printf(text, "issue #%lld no longer exists in %s (deleted or transferred: GitHub answered 404)",
				      (long long)p->issue_number, c->github_repo);
		sep = ", ";
	} else if (g) {
		return g < 0 && g != -ENOMEM ? PB_E_UNAVAILABLE : g;
	} else {
		if (strcmp(gi.state, "closed") == 0) {
			pb_buf_printf(text, "issue #%lld was closed by hand%s", (long long)p->issue_number,
				      strcmp(gi.state_reason, "not_planned") == 0 ? " (not planned)" : "");
			sep = ", ";
		}
		for (size_t k = 0; want && want[k]; k++)
			if (!pb_github_issue_has_label(&gi, want[k]))
				label_phrase(text, &sep, p->issue_number, want[k], "removed");
		for (size_t k = 0; k < gi.nlabels; k++)
			if (strncmp(gi.labels[k], GH_LIFECYCLE_PREFIX, strlen(GH_LIFECYCLE_PREFIX)) == 0 &&
			    !in_list(want, gi.labels[k]))
				label_phrase(text, &sep, p->issue_number, gi.labels[k], "added");
		pb_github_issue_deinit(&gi);
	}
	if (sep[0]) {
		state_words(p->state, words, sizeof(words));
		pb_buf_printf(text, "; promotion is %s", words);
	}
	return 0;
}

/* Records what one promotion's issue contradicts: stored at once, shown from the second sighting. */
static int record_drift(const pb_services *svc, const pb_promotion *p, const char *text, pb_ghpoll_stats *st,
			pb_err *err)
{
	pb_gh_drift old, d;
	pb_cmd_ctx ctx;
	pb_card *card = NULL;
	bool had, shown_before;
	int64_t now = pb_services_now(svc);
	int r;

	r = pb_store_gh_drift_get(svc->store, p->id, &old, err);
	if (r && r != PB_E_NOTFOUND)
		return r;
	had = r == 0;
	shown_before = had && old.confirmed;
	poll_ctx(&ctx, svc, "github");
	if (!text[0] && !had)
		return 0;
	r = pb_store_begin(svc->store, err);
	if (r)
		return r;
	if (!text[0]) {
		r = pb_store_gh_drift_clear(svc->store, p->id, err);
		if (!r && shown_before && (r = pb_cmd_audit(&ctx, p->id, p->component, "github.drift_cleared",
							     old.text)) != 0)
			pb_err_set(err, r, "%s", pb_err_text(&ctx.err));
	} else {
		memset(&d, 0, sizeof(d));
		d.promotion_id = p->id;
		d.issue_number = p->issue_number;
		pb_strlcpy(d.text, text, sizeof(d.text));
		pb_strlcpy(d.state, pb_state_name(p->state), sizeof(d.state));
		d.updated_at = p->updated_at;
		/* the second sighting against the same promotion version: no update is on its way */
		d.confirmed = had && strcmp(old.state, d.state) == 0 && old.updated_at == p->updated_at;
		d.first_seen_at = had ? old.first_seen_at : now;
		d.checked_at = now;
		r = pb_store_gh_drift_put(svc->store, &d, err);
		if (!r && d.confirmed && (!shown_before || strcmp(old.text, d.text) != 0) &&
		    (r = pb_cmd_audit(&ctx, p->id, p->component, "github.drift", d.text)) != 0)
			pb_err_set(err, r, "%s", pb_err_text(&ctx.err));
		if (!r && d.confirmed && (!shown_before || strcmp(old.text, d.text) != 0)) {
			card = pb_cmd_thread_card(p, "⚠ GitHub drift");
			pb_card_text(card, "%s", d.text);
			pb_card_field(card, "What now", "the bot does not overwrite it: put the issue back by hand, "
				      "or move the promotion (e.g. cancel) so that they agree");
			st->drift_shown++;
		}
	}
	if (!r)
		r = pb_store_commit(svc->store, err);
	if (r) {
		pb_store_rollback(svc->store);
		pb_card_free(card);
		return r;
	}
	if (!text[0] && shown_before) {
		card = pb_cmd_thread_card(p, "✅ GitHub issue matches again");
		pb_card_text(card, "issue #%lld agrees with the promotion again (was: %s)", (long long)p->issue_number,
			     old.text);
		st->drift_cleared++;
	}
	if (card) {
		pb_sink_emit(svc->system_sink, card);
		pb_cmd_emit_parent(&ctx, p);
	}
	pb_card_free(card);
	return 0;
}

static int poll_drift(const pb_services *svc, pb_ghpoll_stats *st, pb_err *err)
{
	pb_state open[PB_ST_COUNT];
	pb_promotion *ps = NULL;
	size_t nopen = 0, np = 0;
	int r;

	for (int s = 0; s < PB_ST_COUNT; s++)
		if (pb_state_is_open((pb_state)s))
			open[nopen++] = (pb_state)s;
	r = pb_store_promotions_in_state(svc->store, open, nopen, &ps, &np, err);
	for (size_t i = 0; !r && i < np; i++) {
		const pb_component *c = pb_config_component(svc->cfg, ps[i].component);
		pb_ghops_summary owed;
		pb_buf text;
		pb_err ge;
		int g;

		if (!c || !c->github_repo || !ps[i].issue_number)
			continue;
		/* updates still owed to the issue: it cannot match yet, and that is no drift */
		r = pb_store_ghops_summary(svc->store, ps[i].id, &owed, err);
		if (r || owed.pending)
			continue;
		pb_buf_init(&text);
		pb_err_init(&ge);
		g = issue_drift(svc, c, &ps[i], &text, &ge);
		if (g == 0 && text.oom)
			g = -ENOMEM;
		if (g == 0) {
			st->checked++;
			r = record_drift(svc, &ps[i], text.len ? pb_buf_str(&text) : "", st, err);
		} else if (g == PB_E_UNAVAILABLE) {
			pb_warn("ghpoll", "promotion #%lld: issue #%lld: %s (drift left as it was)", (long long)ps[i].id,
				(long long)ps[i].issue_number, pb_err_text(&ge));
			st->failed++;
		} else {
			r = pb_err_set(err, g, "%s", pb_err_text(&ge));
		}
		pb_buf_deinit(&text);
	}
	free(ps);
	return r;
}

int pb_ghpoll_run(const pb_services *svc, pb_ghpoll_stats *stats, pb_err *err)
{
	pb_ghpoll_stats st;
	int r = 0;

	memset(&st, 0, sizeof(st));
	if (svc->github) {
		for (size_t i = 0; !r && i < svc->cfg->ncomponents; i++)
			if (svc->cfg->components[i].github_repo)
				r = poll_blockers(svc, &svc->cfg->components[i], &st, err);
		if (!r)
			r = poll_drift(svc, &st, err);
	}
	if (stats)
		*stats = st;
	return r;
}
