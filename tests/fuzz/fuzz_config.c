/* fuzz_config.c — the config file through the loader and validator (every problem reported, nothing crashes). */
#include <assert.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "pb_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_problems probs = { 0 };
	pb_config *cfg = NULL;
	int r;

	/* relative paths resolve against a directory that exists but holds nothing of ours */
	r = pb_config_parse((const char *)data, size, "/nonexistent-promobot-fuzz", &cfg, &probs);
	if (r == 0)
		assert(cfg != NULL);
	else
		assert(cfg == NULL && (r < 0 || probs.count > 0));
	pb_config_free(cfg);
	pb_problems_deinit(&probs);
	return 0;
}
