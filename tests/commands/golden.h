/* golden.h — golden MATURITY.md files (tests/commands/golden/maturity) for the editor's and the GitHub commit's tests. */
#ifndef TEST_GOLDEN_H
#define TEST_GOLDEN_H

/* The file's bytes (malloc'd); fails the test when it cannot be read. */
char *golden(const char *name);
/* s with every LF turned into CRLF (malloc'd). */
char *crlf(const char *s);

#endif
