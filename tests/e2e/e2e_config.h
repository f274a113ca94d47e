/* e2e_config.h — the config files of the e2e suites: the example as they start from it, written and edited in place. */
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

/* Writes cfg, printed, to `path` (replaced). Asserts on failure; cfg stays the caller's. */
void e2e_config_write(const char *path, const cJSON *cfg);

/* Reads the config file at `path`, lets fn change it (with arg) and writes it back. Asserts on failure. */
void e2e_config_edit(const char *path, void (*fn)(cJSON *cfg, int arg), int arg);

#endif
