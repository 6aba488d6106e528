/* coexd: the coex node daemon. */
#include "app/node.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char usage[] =
	"usage: coexd [--data DIR]\n"
	"\n"
	"Runs a coex node: partner links, the store and the control socket DIR/coexd.sock.\n"
	"DIR defaults to $COEX_DATA, then ~/.coex; create it first with 'coex init'.\n"
	"Stops cleanly on SIGINT or SIGTERM. Logs go to stderr, one key=value line per event;\n"
	"set [node] log_level in DIR/coex.conf.\n";

int main(int argc, char **argv)
{
	const char *dir = getenv("COEX_DATA");
	char home_dir[4096];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			dir = argv[i] + 7;
		} else {
			fprintf(stderr, "coexd: unknown argument '%s'\n%s", argv[i], usage);
			return 2;
		}
	}
	if (!dir || !*dir) {
		const char *home = getenv("HOME");
		snprintf(home_dir, sizeof(home_dir), "%s/.coex", home ? home : ".");
		dir = home_dir;
	}
	/* libsodium's user-space generator (seeded by the kernel) instead of a getrandom() call
	 * for every nonce and id: the hot path seals one message each. */
	randombytes_set_implementation(&randombytes_internal_implementation);
#ifdef __GLIBC__
	/* Commit batches allocate and free a few MiB per turn on the worker threads; glibc's
	 * defaults give that memory back at once and fault it in again the next turn (page
	 * faults were ~8 % of the sender's CPU). Keep up to 64 MiB of freed heap instead. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
	store_process_init();
	if (sodium_init() < 0) {
		fprintf(stderr, "coexd: libsodium failed to initialize\n");
		return 1;
	}
	return node_run(dir);
}
