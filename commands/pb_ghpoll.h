/* pb_ghpoll.h — reading GitHub back: blocker issues people open themselves, and drift of promotion issues. */
#ifndef PB_GHPOLL_H
#define PB_GHPOLL_H

#include <stddef.h>

#include "pb_err.h"
#include "pb_services.h"

/*
 * One poll round (the runtime runs it every github.poll_interval_s on the
 * background pool; every GET is conditional, so an unchanged list or issue
 * costs a 304 that GitHub does not count):
 *
 *  Blockers — for each component with a github_repo, the OPEN issues
 *  labelled promotion:blocked + component:<id>. One that promobot did not
 *  open (no hidden `<!-- promobot:` marker in its body) and that no stored
 *  blocker links by issue number becomes a stored blocker: severity from the
 *  form's Severity section (unknown → high), text = the title without
 *  "[BLOCKER] <Name>: ", audited "blocker.opened" by "github:<login>", told
 *  in the component's thread. A stored open blocker whose issue left the open
 *  list is looked up (issue_get) and resolved ("blocker.resolved" by github)
 *  only when GitHub says it is closed, deleted (410) or gone (404).
 *
 *  Drift — for each open promotion with an issue, the issue is compared with
 *  what the promotion implies: open, and the promotion:* lifecycle labels of
 *  pb_ghlabels_expected(state). A contradiction is stored (gh_drift) and
 *  becomes visible (card, status, a thread message, audit "github.drift")
 *  once a second poll sees it against the same promotion state and
 *  updated_at — an update still on its way to GitHub is not drift. It is
 *  cleared ("github.drift_cleared") when the issue matches again.
 *
 * A GitHub failure (5xx, hang, rate limit, garbage) is logged and counted in
 * `failed`; what it concerns is left exactly as it was. Cards go to
 * svc->system_sink. Returns 0, or <0 / PB_E_BUSY on a storage failure (err).
 */
typedef struct pb_ghpoll_stats {
	size_t repos;          /* components whose blocker issues were listed */
	size_t imported;       /* blocker issues stored as blockers */
	size_t resolved;       /* blockers resolved because their issue was closed/deleted */
	size_t checked;        /* promotion issues compared */
	size_t drift_shown;    /* drift confirmed (or changed) this round */
	size_t drift_cleared;  /* shown drift that matches again */
	size_t failed;         /* GitHub calls that failed (logged; nothing changed for them) */
} pb_ghpoll_stats;

int pb_ghpoll_run(const pb_services *svc, pb_ghpoll_stats *stats, pb_err *err);

#endif
