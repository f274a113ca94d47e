/* pb_log.h — leveled logging to stderr with secret redaction. */
#ifndef PB_LOG_H
#define PB_LOG_H

typedef enum { PB_LOG_DEBUG, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR } pb_log_level;

void pb_log_set_level(pb_log_level level);
/* Registers a secret value; any later log line containing it prints "***" instead.
 * The string is copied. Short values (< 6 bytes) are ignored to avoid mangling text. */
void pb_log_add_secret(const char *secret);
void pb_log_clear_secrets(void);
void pb_log(pb_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Applies the redaction to buf in place (used by anything that echoes peer text). */
void pb_log_redact(char *buf, unsigned long size);

#define pb_debug(mod, ...) pb_log(PB_LOG_DEBUG, mod, __VA_ARGS__)
#define pb_info(mod, ...) pb_log(PB_LOG_INFO, mod, __VA_ARGS__)
#define pb_warn(mod, ...) pb_log(PB_LOG_WARN, mod, __VA_ARGS__)
#define pb_error(mod, ...) pb_log(PB_LOG_ERROR, mod, __VA_ARGS__)

#endif
