/* Fuzzes the config file reader: each input is the whole content of a coex.conf, read by
 * config_load from a path as coexd reads it (the file is an in-memory one, rewritten for
 * each input). What it accepts must pass the checks it documents; what it refuses must be
 * refused with a message naming the file. */
#define _GNU_SOURCE /* memfd_create */
#include "app/config.h"
#include "lib/err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct config *c)
{
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;

	if (config_name_check(c->name) != 0 ||
	    config_parse_hostport(c->listen, host, sizeof(host), &port) != 0 ||
	    strcmp(host, c->listen_host) != 0 || port != c->listen_port ||
	    c->limits.dead_ms <= c->limits.keepalive_ms ||
	    c->limits.reconnect_max_ms < c->limits.reconnect_min_ms ||
	    c->limits.handshakes_total < c->limits.handshakes_per_address ||
	    (c->n_partners > 0 && !c->partners))
		__builtin_trap();
	for (size_t i = 0; i < c->n_partners; i++) {
		const struct config_partner *p = &c->partners[i];
		if (config_name_check(p->name) != 0 || p->line <= 0 ||
		    (p->address[0] && config_parse_hostport(p->address, host, sizeof(host), &port) != 0))
			__builtin_trap();
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->partners[j].name, p->name) == 0 ||
			    memcmp(c->partners[j].id, p->id, sizeof(p->id)) == 0)
				__builtin_trap();
	}
}

/* Whether every line, without its '\n', is at most CONFIG_LINE_MAX bytes. */
static int lines_fit(const uint8_t *data, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			if (i - start > CONFIG_LINE_MAX)
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct config cfg;
	char err[1024] = "";
	int r;

	if (fd < 0) {
		if ((fd = memfd_create("coex.conf", 0)) < 0)
			__builtin_trap();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		__builtin_trap();
	r = config_load(path, &cfg, err, sizeof(err));
	if (r == 0) {
		if (memchr(data, '\0', size) || !lines_fit(data, size))
			__builtin_trap(); /* a NUL byte or a long line is an error wherever it is */
		check_accepted(&cfg);
		config_free(&cfg);
	} else if ((r != ERR_INVAL && r != ERR_NOMEM) || strncmp(err, path, strlen(path)) != 0 ||
		   strlen(err) <= strlen(path) + 2 || memchr(err, '\n', strlen(err))) {
		__builtin_trap(); /* a content error, named with the file and what was wrong */
	}
	return 0;
}
