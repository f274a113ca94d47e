/* test_concurrency.c — storage invariants under two writer processes (filled below). */
#include <criterion/criterion.h>

#include "st_helpers.h"

TestSuite(concurrency, .init = st_fixture_init, .fini = st_fixture_fini);
