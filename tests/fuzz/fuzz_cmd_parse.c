/* fuzz_cmd_parse.c — chat text through the command parser (quotes, escapes, UTF-8, limits). */
#include <assert.h>

#include "fuzz_util.h"
#include "pb_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_strdup(data, size);
	pb_argv a = { 0 };
	pb_err err;

	pb_err_init(&err);
	if (pb_cmd_parse(text, &a, &err) == 0) {
		/* what the parser promises: bounded words, NULL-terminated argv */
		assert(a.argc >= 0 && a.argc <= PB_CMD_MAX_ARGS);
		assert(a.argv == NULL || a.argv[a.argc] == NULL);
		for (int i = 0; i < a.argc; i++)
			assert(strlen(a.argv[i]) <= PB_CMD_MAX_ARG);
	} else {
		assert(err.set);
	}
	pb_argv_deinit(&a);
	free(text);
	return 0;
}
