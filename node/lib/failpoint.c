#include "lib/failpoint.h"

#ifdef COEX_FAILPOINTS
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The hit counter is process-wide by nature (a test arms one point per process); atomic
 * because the commit thread reaches points too. */
static atomic_long failpoint_hits;

void failpoint(const char *name)
{
	const char *want = getenv("COEX_FAILPOINT");
	size_t len = strlen(name);
	long nth = 1;

	if (!want || strncmp(want, name, len) != 0 || (want[len] != '\0' && want[len] != ':'))
		return;
	if (want[len] == ':')
		nth = strtol(want + len + 1, NULL, 10);
	if (atomic_fetch_add(&failpoint_hits, 1) + 1 < nth)
		return;
	fprintf(stderr, "ts=- level=error msg=failpoint name=%s\n", name);
	kill(getpid(), SIGKILL);
	_exit(137);
}
#else
/* An empty translation unit is not valid C. */
typedef int failpoint_unused;
#endif
