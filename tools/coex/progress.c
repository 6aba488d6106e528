#include "progress.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	PROGRESS_DELAY_MS = 300,     /* quick work shows no bar at all */
	PROGRESS_EVERY_MS = 100,
	PROGRESS_WIDTH = 30,         /* cells of the bar */
};

void progress_start(struct progress *p, const char *what, const char *unit, uint64_t total)
{
	const char *off = getenv("COEX_NO_PROGRESS");

	p->on = isatty(STDERR_FILENO) && !(off && *off);
	p->drawn = 0;
	p->what = what;
	p->unit = unit;
	p->total = total;
	p->start_ms = p->last_ms = util_now_ms();
}

void progress_set_total(struct progress *p, uint64_t total)
{
	p->total = total;
}

/* ", 120/s, ETA 3m" from the pace since the start; ETA only once something is done. */
static void progress_pace(const struct progress *p, uint64_t done, uint64_t now, char *out,
			  size_t len)
{
	double rate = now > p->start_ms ? (double)done * 1000.0 / (double)(now - p->start_ms) : 0;
	char eta[32];

	if (rate <= 0) {
		snprintf(out, len, ", ETA -");
		return;
	}
	snprintf(out, len, rate < 10 ? ", %.1f/s" : ", %.0f/s", rate);
	if (p->total > done) {
		util_duration_format((uint64_t)((double)(p->total - done) * 1000.0 / rate) + 999,
				     eta, sizeof eta);
		snprintf(out + strlen(out), len - strlen(out), ", ETA %s", eta);
	}
}

void progress_update(struct progress *p, uint64_t done)
{
	uint64_t now, cells;
	char bar[PROGRESS_WIDTH + 1], pace[64];

	if (!p->on)
		return;
	now = util_now_ms();
	if (now - p->start_ms < PROGRESS_DELAY_MS || now - p->last_ms < PROGRESS_EVERY_MS)
		return;
	p->last_ms = now;
	if (p->total == 0) {
		fprintf(stderr, "\r%s: %llu %s\033[K", p->what, (unsigned long long)done, p->unit);
	} else {
		if (done > p->total)
			done = p->total;
		cells = done * PROGRESS_WIDTH / p->total;
		for (uint64_t i = 0; i < PROGRESS_WIDTH; i++)
			bar[i] = i < cells ? '#' : '.';
		bar[PROGRESS_WIDTH] = '\0';
		progress_pace(p, done, now, pace, sizeof pace);
		fprintf(stderr, "\r%s [%s] %3llu%% %llu/%llu %s%s\033[K", p->what, bar,
			(unsigned long long)(done * 100 / p->total), (unsigned long long)done,
			(unsigned long long)p->total, p->unit, pace);
	}
	fflush(stderr);
	p->drawn = 1;
}

void progress_end(struct progress *p)
{
	if (p->on && p->drawn)
		fputs("\r\033[K", stderr);
	fflush(stderr);
	p->drawn = 0;
}
