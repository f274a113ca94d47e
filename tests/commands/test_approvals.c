/* test_approvals.c — approver role, no self-approval, N approvals, no-op repeats, reset, reject. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

static th h;
static void setup_one(void) { th_setup(&h, NULL); }
static void setup_two(void) { th_setup(&h, "{\"required_approvals\": 2}"); }
static void setup_self(void) { th_setup(&h, "{\"self_approval\": true}"); }
static void teardown(void) { th_teardown(&h); }

static void to_review(const char *requester)
{
	cr_assert_eq(th_run(&h, requester, "request neo4j staging"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, requester, "validate neo4j"), 0, "%s", th_out(&h));
	cr_assert_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW, "%s", th_out(&h));
}

Test(approvals, requester_cannot_approve_own_promotion, .init = setup_one, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "alice", "approve neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "Alice requested this promotion and cannot approve it"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
	cr_assert_eq(th_run(&h, "bob", "approve neo4j looks good"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
	cr_expect(strstr(th_out(&h), "Bob approved revision rev-1 (1/1): looks good"), "%s", th_out(&h));
}

Test(approvals, admin_requester_is_still_refused, .init = setup_one, .fini = teardown)
{
	to_review("carol");
	cr_assert_eq(th_run(&h, "carol", "approve neo4j"), PB_E_REFUSED, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "cannot approve it"));
}

Test(approvals, policy_may_allow_self_approval, .init = setup_self, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "alice", "approve neo4j"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
}

Test(approvals, non_approver_is_refused, .init = setup_one, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "dave", "approve neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "approve needs one of these roles: approver"), "%s", th_out(&h));
}

Test(approvals, two_required_and_repeat_is_noop, .init = setup_two, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
	cr_expect(strstr(th_out(&h), "(1/2)"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0, "approving twice is a no-op, not an error");
	cr_expect(strstr(th_out(&h), "you already approved neo4j revision rev-1; nothing changed"), "%s", th_out(&h));
	cr_expect_eq(h.nerrors, 0);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
	cr_assert_eq(th_run(&h, "erin", "approve neo4j"), 0);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
	cr_expect(strstr(th_out(&h), "(2/2)"), "%s", th_out(&h));
}

Test(approvals, revalidation_resets_approvals, .init = setup_two, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	th_set_revision(&h, "rev-2");
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "1 reset"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "rev-2"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "erin", "approve neo4j"), 0);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW, "bob's approval bound rev-1 and is gone");
	cr_expect(strstr(th_out(&h), "(1/2)"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_APPROVED);
}

Test(approvals, reject_records_reason_and_blocks, .init = setup_one, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "bob", "reject neo4j"), PB_E_INVALID, "a reason is required");
	cr_assert_eq(th_run(&h, "bob", "reject neo4j heap too small for prod data"), 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_BLOCKED);
	cr_assert_eq(th_run(&h, "bob", "history neo4j"), 0);
	cr_expect(strstr(th_out(&h), "in_review → blocked — heap too small for prod data"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), PB_E_REFUSED);
}

Test(approvals, critical_blocker_prevents_approval, .init = setup_one, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "dave", "block neo4j critical data loss on restart"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "critical blocker #1"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "dave", "unblock 1"), 0, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0, "%s", th_out(&h));
}

Test(approvals, revalidation_of_same_revision_also_resets, .init = setup_two, .fini = teardown)
{
	to_review("alice");
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "1 reset"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "erin", "approve neo4j"), 0);
	cr_expect(strstr(th_out(&h), "(1/2)"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
}
