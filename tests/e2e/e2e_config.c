/* e2e_config.c — the config files of the e2e suites: the example as they start from it, written and edited in place. */
#include "e2e_config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_file.h"

/* The file at `path` parsed; asserts that it is JSON. */
static cJSON *read_json(const char *path)
{
	pb_buf text;
	pb_err err;
	cJSON *cfg;

	pb_buf_init(&text);
	pb_err_init(&err);
	cr_assert_eq(pb_file_read(path, 1 << 20, &text, &err), 0, "%s", err.msg);
	cfg = cJSON_Parse(pb_buf_str(&text));
	pb_buf_deinit(&text);
	cr_assert_not_null(cfg, "%s: not JSON", path);
	return cfg;
}

cJSON *e2e_example_config(const char *dir)
{
	char src[512];
	const char *root = getenv("PROMOBOT_SRC");
	cJSON *cfg, *comp;

	cr_assert_not_null(root, "PROMOBOT_SRC must name the source tree");
	snprintf(src, sizeof(src), "%s/config/promobot.example.json", root);
	cfg = read_json(src);
	snprintf(src, sizeof(src), "%s/promobot.db", dir);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "storage"), "path", cJSON_CreateString(src));
	cJSON_DeleteItemFromObject(cfg, "http");
	/* checks run in the components' workdirs, relative to the example's folder: made absolute */
	cJSON_ArrayForEach(comp, cJSON_GetObjectItem(cfg, "components")) {
		cJSON *v = cJSON_GetObjectItem(comp, "workdir");

		if (cJSON_IsString(v)) {
			snprintf(src, sizeof(src), "%s/config/%s", root, v->valuestring);
			cJSON_ReplaceItemInObject(comp, "workdir", cJSON_CreateString(src));
		}
	}
	return cfg;
}

void e2e_config_write(const char *path, const cJSON *cfg)
{
	char *text = cJSON_Print(cfg);
	pb_err err;
	int rc;

	cr_assert_not_null(text);
	pb_err_init(&err);
	rc = pb_file_write_atomic(path, text, strlen(text), &err);
	free(text);
	cr_assert_eq(rc, 0, "%s", err.msg);
}

void e2e_config_edit(const char *path, void (*fn)(cJSON *cfg, int arg), int arg)
{
	cJSON *cfg = read_json(path);

	fn(cfg, arg);
	e2e_config_write(path, cfg);
	cJSON_Delete(cfg);
}
