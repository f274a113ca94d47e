/* test_json.c — bounded reads of peer numbers: out-of-range, fractional and missing values refused. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "pb_err.h"
#include "pb_json.h"

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	cr_assert_not_null(j, "bad test JSON %s", s);
	return j;
}

Test(json, integers_in_range_are_read)
{
	cJSON *j = parse("{\"port\":7474,\"neg\":-3,\"big\":4503599627370496}");
	int64_t v;
	int p;

	cr_assert_eq(pb_json_int(j, "port", 0, 65535, &v), 0);
	cr_assert_eq(v, 7474);
	cr_assert_eq(pb_json_int32(j, "neg", -10, 10, &p), 0);
	cr_assert_eq(p, -3);
	cr_assert_eq(pb_json_int(j, "big", 0, INT64_MAX, &v), 0);
	cr_assert_eq(v, 4503599627370496LL);
	cJSON_Delete(j);
}

Test(json, hostile_numbers_are_refused)
{
	/* the values a fuzzer found in engine answers, and their relatives */
	const char *docs[] = {
		"{\"v\":7.65556e+97}", "{\"v\":4.243e+12}", "{\"v\":-4.243e+12}", "{\"v\":1.5}",
		"{\"v\":1e400}", "{\"v\":-1e400}", "{\"v\":\"7474\"}", "{\"v\":true}", "{\"v\":[1]}",
		"{\"v\":65536}", "{\"v\":-1}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *j = cJSON_Parse(docs[i]);
		int p = 42;

		if (!j)
			continue; /* cJSON itself refused it: fine too */
		cr_assert_eq(pb_json_int32(j, "v", 0, 65535, &p), PB_E_INVALID, "%s accepted", docs[i]);
		cr_assert_eq(p, 42, "out written for %s", docs[i]);
		cJSON_Delete(j);
	}
}

Test(json, missing_and_null_are_notfound)
{
	cJSON *j = parse("{\"n\":null}");
	int64_t v = 9;

	cr_assert_eq(pb_json_int(j, "n", 0, 10, &v), PB_E_NOTFOUND);
	cr_assert_eq(pb_json_int(j, "absent", 0, 10, &v), PB_E_NOTFOUND);
	cr_assert_eq(pb_json_int(NULL, "absent", 0, 10, &v), PB_E_NOTFOUND);
	cr_assert_eq(v, 9);
	cJSON_Delete(j);
}

Test(json, doubles_and_counters)
{
	cJSON *j = parse("{\"d\":12.5,\"u\":123456789012,\"neg\":-1,\"frac\":0.5,\"huge\":1e300}");
	double d;
	uint64_t u;

	cr_assert_eq(pb_json_double(j, "d", 0, 100, &d), 0);
	cr_assert_float_eq(d, 12.5, 1e-9);
	cr_assert_eq(pb_json_double(j, "huge", 0, 1e9, &d), PB_E_INVALID);
	cr_assert_eq(pb_json_u64(j, "u", &u), 0);
	cr_assert_eq(u, 123456789012ULL);
	cr_assert_eq(pb_json_u64(j, "neg", &u), PB_E_INVALID);
	cr_assert_eq(pb_json_u64(j, "frac", &u), PB_E_INVALID);
	cr_assert_eq(pb_json_u64(j, "huge", &u), PB_E_INVALID);
	cJSON_Delete(j);
}

Test(json, strings)
{
	cJSON *j = parse("{\"s\":\"hello\",\"n\":1}");
	char buf[4];

	cr_assert_str_eq(pb_json_str(j, "s"), "hello");
	cr_assert_null(pb_json_str(j, "n"));
	cr_assert_eq(pb_json_strcpy(j, "s", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "hel");
	cr_assert_eq(pb_json_strcpy(j, "n", buf, sizeof(buf)), PB_E_INVALID);
	cr_assert_eq(pb_json_strcpy(j, "x", buf, sizeof(buf)), PB_E_NOTFOUND);
	cJSON_Delete(j);
}

Test(json, int_or_gives_the_default_and_names_the_bad_field)
{
	cJSON *j = parse("{\"PublicPort\":7.65556e+97,\"Pid\":\"42\",\"ok\":7474,\"nul\":null}");
	int64_t v = -5;
	int p = -5;
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(pb_json_int_or(j, "absent", 0, 65535, 0, &v, &err), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(pb_json_int32_or(j, "nul", 0, 65535, 9, &p, &err), 0);
	cr_assert_eq(p, 9);
	cr_assert_eq(pb_json_int32_or(j, "ok", 0, 65535, 0, &p, &err), 0);
	cr_assert_eq(p, 7474);
	cr_assert(!err.set);
	cr_assert_eq(pb_json_int32_or(j, "PublicPort", 0, 65535, 0, &p, &err), PB_E_INVALID);
	cr_expect_str_eq(pb_err_text(&err), "PublicPort: 7.65556e+97 is not an integer in [0, 65535]");
	cr_assert_eq(p, 7474, "a refused value leaves out untouched");
	pb_err_init(&err);
	cr_assert_eq(pb_json_int_or(j, "Pid", 0, 100, 0, &v, &err), PB_E_INVALID);
	cr_expect_str_eq(pb_err_text(&err), "Pid: not a number (an integer in [0, 100] was expected)");
	cJSON_Delete(j);
}
