/* e2e_config.c — the example config as the e2e suites start from it: parsed, storage moved into a temp folder. */
#include "e2e_config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *e2e_example_config(const char *dir)
{
	char src[512], *text;
	const char *root = getenv("PROMOBOT_SRC");
	cJSON *cfg, *comp;
	FILE *f;
	long size;

	cr_assert_not_null(root, "PROMOBOT_SRC must name the source tree");
	snprintf(src, sizeof(src), "%s/config/promobot.example.json", root);
	f = fopen(src, "r");
	cr_assert_not_null(f, "%s", src);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	cfg = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(cfg);
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
