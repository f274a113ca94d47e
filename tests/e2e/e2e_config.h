/* e2e_config.h — the example config as the e2e suites start from it: parsed, storage moved into a temp folder. */
#ifndef TEST_E2E_CONFIG_H
#define TEST_E2E_CONFIG_H

#include <cjson/cJSON.h>

/*
 * $PROMOBOT_SRC/config/promobot.example.json parsed, with storage.path set to
 * "<dir>/promobot.db", workdirs made absolute and no `http` section (suites run in parallel: no fixed
 * admin port; tests/bot/test_runtime.c covers the listener). Asserts on failure;
 * the caller owns the result.
 */
cJSON *e2e_example_config(const char *dir);

#endif
