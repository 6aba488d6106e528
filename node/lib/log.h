/* Structured logging: one line per event, "ts=... level=... msg=... key=value ...", to stderr.
 *
 * The owner of an object logs, once. I/O-free layers (crypto, wire) never log.
 * log_ratelimit() gates anything a remote peer can trigger. */
#ifndef COEX_LIB_LOG_H
#define COEX_LIB_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the minimum level printed (process-wide; set once in main). */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error". Returns 0 or ERR_INVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Prints one line: msg is a short event name; fmt adds "key=value" pairs. */
void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A token bucket for rate-limited logging: burst lines, then one per interval_ms. */
struct log_ratelimit {
	uint64_t last_ms;
	uint32_t tokens;
	uint32_t suppressed;
};
/* Returns 1 if a line may be printed now (and takes a token), 0 otherwise.
 * *suppressed_out receives how many lines were suppressed since the last allowed one. */
int log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms, uint32_t *suppressed_out);

#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)

#endif
