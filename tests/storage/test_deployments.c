/* test_deployments.c — deployments: add, update, latest per promotion. */
#include <criterion/criterion.h>
#include <string.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(deployments, .init = st_fixture_init, .fini = st_fixture_fini);

static void fill(pb_deployment *d, int64_t promotion_id, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->started_at = ST_NOW;
	d->promotion_id = promotion_id;
	pb_strlcpy(d->component, "neo4j", sizeof(d->component));
	pb_strlcpy(d->environment, "staging", sizeof(d->environment));
	pb_strlcpy(d->container_name, name, sizeof(d->container_name));
	pb_strlcpy(d->image, "registry.local/neo4j:5.1", sizeof(d->image));
	pb_strlcpy(d->ports, "127.0.0.1:7476->7474/tcp", sizeof(d->ports));
	pb_strlcpy(d->status, "running", sizeof(d->status));
}

Test(deployments, add_update_latest)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_deployment d1, d2, got;
	pb_err err;

	pb_err_init(&err);
	fill(&d1, id, "neo4j-staging-1");
	cr_assert_eq(pb_store_deployment_add(st_store, &d1, &err), 0, "%s", pb_err_text(&err));
	fill(&d2, id, "neo4j-staging-2");
	pb_strlcpy(d2.previous_container, "neo4j-staging-prev", sizeof(d2.previous_container));
	cr_assert_eq(pb_store_deployment_add(st_store, &d2, &err), 0);
	cr_assert_gt(d2.id, d1.id);
	cr_assert_gt(d2.started_at, 0);

	pb_strlcpy(d2.container_id, "f00dfeed", sizeof(d2.container_id));
	pb_strlcpy(d2.image_id, "sha256:abc", sizeof(d2.image_id));
	pb_strlcpy(d2.status, "succeeded", sizeof(d2.status));
	pb_strlcpy(d2.detail, "healthy after 3 checks", sizeof(d2.detail));
	d2.finished_at = d2.started_at + 30;
	cr_assert_eq(pb_store_deployment_update(st_store, &d2, &err), 0, "%s", pb_err_text(&err));

	cr_assert_eq(pb_store_deployment_latest(st_store, id, &got, &err), 0);
	cr_assert_eq(got.id, d2.id);
	cr_assert_eq(got.promotion_id, id);
	cr_assert_str_eq(got.component, "neo4j");
	cr_assert_str_eq(got.environment, "staging");
	cr_assert_str_eq(got.container_id, "f00dfeed");
	cr_assert_str_eq(got.container_name, "neo4j-staging-2");
	cr_assert_str_eq(got.image, "registry.local/neo4j:5.1");
	cr_assert_str_eq(got.image_id, "sha256:abc");
	cr_assert_str_eq(got.previous_container, "neo4j-staging-prev");
	cr_assert_str_eq(got.ports, "127.0.0.1:7476->7474/tcp");
	cr_assert_str_eq(got.status, "succeeded");
	cr_assert_str_eq(got.detail, "healthy after 3 checks");
	cr_assert_eq(got.started_at, d2.started_at);
	cr_assert_eq(got.finished_at, d2.started_at + 30);
}

Test(deployments, missing_rows_are_notfound)
{
	int64_t id = st_promotion(st_store, "neo4j", 2);
	pb_deployment d, got;

	cr_assert_eq(pb_store_deployment_latest(st_store, id, &got, NULL), PB_E_NOTFOUND);
	fill(&d, id, "x");
	d.id = 12345;
	cr_assert_eq(pb_store_deployment_update(st_store, &d, NULL), PB_E_NOTFOUND);
	fill(&d, 999, "x");
	cr_assert_eq(pb_store_deployment_add(st_store, &d, NULL), PB_E_NOTFOUND);
}
