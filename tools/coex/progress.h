/* A progress bar on stderr for long work (export, verify, audit, drain): done of total, the
 * rate so far and the time left. Drawn only when stderr is a terminal, only once the work
 * has taken a moment, and at most a few times a second.
 * Scripts (stderr not a terminal) see nothing; $COEX_NO_PROGRESS turns it off too. */
#ifndef COEX_CLI_PROGRESS_H
#define COEX_CLI_PROGRESS_H

#include <stdint.h>

struct progress {
	int on;                  /* stderr is a terminal */
	int drawn;               /* a line is on the screen */
	const char *what;        /* "exporting", "auditing acme.coexlog" */
	const char *unit;        /* "entries", "bytes" */
	uint64_t total;
	uint64_t start_ms, last_ms;
};

/* Starts a bar for total units of work (0 if unknown yet). what and unit must outlive p. */
void progress_start(struct progress *p, const char *what, const char *unit, uint64_t total);
void progress_set_total(struct progress *p, uint64_t total);
/* done units so far: redraws if due. */
void progress_update(struct progress *p, uint64_t done);
/* Clears the bar, leaving the line for the result. */
void progress_end(struct progress *p);

#endif
