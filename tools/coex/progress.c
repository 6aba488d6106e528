#include "progress.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
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

void progress_update(struct progress *p, uint64_t done)
{
	uint64_t now, cells;
	char bar[PROGRESS_WIDTH + 1];

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
		fprintf(stderr, "\r%s [%s] %3llu%% %llu/%llu %s\033[K", p->what, bar,
			(unsigned long long)(done * 100 / p->total), (unsigned long long)done,
			(unsigned long long)p->total, p->unit);
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
