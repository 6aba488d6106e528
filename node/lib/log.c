#include "lib/log.h"
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The one process-wide setting: written once by main before any thread starts. */
static enum log_level min_level = LOG_INFO;

enum { RATELIMIT_BURST = 5, RATELIMIT_INTERVAL_MS = 1000 };

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, names[level], msg);
	if (n > 0 && (size_t)n < sizeof(line) - 2 && fmt && *fmt) {
		line[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* One write per line so lines from threads never interleave. */
	fprintf(stderr, "%s\n", line);
}

int log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_ms, uint32_t *suppressed_out)
{
	if (rl->last_ms == 0 || now_ms < rl->last_ms) {
		rl->tokens = RATELIMIT_BURST;
		rl->last_ms = now_ms;
	} else if (now_ms - rl->last_ms >= RATELIMIT_INTERVAL_MS) {
		uint64_t add = (now_ms - rl->last_ms) / RATELIMIT_INTERVAL_MS;
		uint64_t t = rl->tokens + add;
		rl->tokens = t > RATELIMIT_BURST ? RATELIMIT_BURST : (uint32_t)t;
		rl->last_ms += add * RATELIMIT_INTERVAL_MS;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return 0;
	}
	rl->tokens--;
	*suppressed_out = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}
