/* The node's configuration file, DATA/coex.conf (INI, read with inih).
 *
 *     [node]            name (required), listen, log_level, data, metrics_listen
 *     [limits]          every key optional; defaults below, ranges and meanings in config.c
 *     [partner NAME]    id (required), address, forward_to; repeatable, one section per
 *                       partner
 *
 * Unknown sections and keys, repeated keys and values out of range are errors, reported
 * with the file, line and key. Lines are at most CONFIG_LINE_MAX bytes; ';' starts a
 * comment at the start of a line or after whitespace, '#' at the start of a line. */
#ifndef COEX_APP_CONFIG_H
#define COEX_APP_CONFIG_H

#include "crypto/identity.h"
#include "lib/log.h"

#include <stddef.h>
#include <stdint.h>

enum {
	CONFIG_NAME_MAX = 64,      /* bytes in a node or partner name */
	CONFIG_FORWARD_TO_MAX = 16, /* partners in one forward_to list */
	CONFIG_HOST_MAX = 253,     /* bytes in a host name or address, without brackets */
	CONFIG_ADDRESS_MAX = 255,  /* bytes in "host:port" */
	CONFIG_PATH_MAX = 1023,    /* bytes in [node] data */
	CONFIG_LINE_MAX = 198,     /* bytes in a line, without "\n" (inih's default buffer) */
};

#define CONFIG_DEFAULT_LISTEN "0.0.0.0:7400"

/* Defaults of every [limits] key: the one place they are written down. */
enum config_limit_default {
	CONFIG_DEFAULT_FRAME_BYTES = 65535,
	CONFIG_DEFAULT_MESSAGE_BYTES = 4194304,
	CONFIG_DEFAULT_HANDSHAKES_PER_ADDRESS = 16,
	CONFIG_DEFAULT_HANDSHAKES_TOTAL = 256,
	CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS = 10000,
	CONFIG_DEFAULT_CLOCK_SKEW_MS = 300000,
	CONFIG_DEFAULT_KEEPALIVE_MS = 15000,
	CONFIG_DEFAULT_DEAD_MS = 45000,
	CONFIG_DEFAULT_RECONNECT_MIN_MS = 1000,
	CONFIG_DEFAULT_RECONNECT_MAX_MS = 60000,
	CONFIG_DEFAULT_INVITE_TTL_S = 86400,
	CONFIG_DEFAULT_CONTROL_CLIENTS = 64,
	CONFIG_DEFAULT_OUTBOX_PER_PARTNER = 100000,
	CONFIG_DEFAULT_INBOUND_PER_S = 1000,
};

struct config_limits {
	uint32_t frame_bytes;            /* largest frame on a partner link */
	uint32_t message_bytes;          /* largest message */
	uint32_t handshakes_per_address; /* handshakes in progress from one IP address */
	uint32_t handshakes_total;       /* handshakes in progress in all (>= per address) */
	uint32_t handshake_timeout_ms;
	uint32_t clock_skew_ms;          /* tolerated difference in partners' timestamps */
	uint32_t keepalive_ms;           /* idle time before a keepalive */
	uint32_t dead_ms;                /* silence before a link is dropped (> keepalive) */
	uint32_t reconnect_min_ms;       /* first redial delay, doubling up to ... */
	uint32_t reconnect_max_ms;       /* ... this (>= reconnect_min_ms) */
	uint32_t invite_ttl_s;           /* lifetime of an invite code */
	uint32_t control_clients;        /* control socket clients at once */
	uint32_t outbox_per_partner;     /* messages queued for one partner */
	uint32_t inbound_per_s;          /* messages accepted from one partner per second */
};

/* A [partner NAME] section, to be merged into the store at start. */
struct config_partner {
	char name[CONFIG_NAME_MAX + 1];
	uint8_t id[IDENTITY_PK_LEN];
	char address[CONFIG_ADDRESS_MAX + 1]; /* "host:port", or "" when not given */
	char forward_to[CONFIG_FORWARD_TO_MAX][CONFIG_NAME_MAX + 1]; /* auto-forward policy */
	size_t n_forward_to;
	int line;                             /* line of the section header, for messages */
};

struct config {
	char name[CONFIG_NAME_MAX + 1];
	char listen[CONFIG_ADDRESS_MAX + 1];    /* as written, e.g. "[::]:7400" */
	char listen_host[CONFIG_HOST_MAX + 1];  /* host part, IPv6 without brackets */
	uint16_t listen_port;
	enum log_level log_level;
	char data[CONFIG_PATH_MAX + 1];         /* absolute path, or "" when not given */
	char metrics_listen[CONFIG_ADDRESS_MAX + 1]; /* HTTP metrics endpoint, "" when off */
	struct config_limits limits;
	struct config_partner *partners;        /* owned; release with config_free */
	size_t n_partners;
};

/* Fills *out with the defaults of every limit. */
void config_limits_default(struct config_limits *out);

/* Reads and validates the file at path into *out (free it with config_free).
 * On failure writes a one-line message to err (errlen may be 0), such as
 *     coex.conf:7: [limits] keepalive_ms: must be an integer between 100 and 3600000, got "abc"
 * naming the file as given, the line (when there is one) and the key; *out is untouched.
 * Returns 0, ERR_INVAL (invalid content: the first error in file order), ERR_NOMEM or
 * -errno (cannot open or read, e.g. -ENOENT). */
int config_load(const char *path, struct config *out, char *err, size_t errlen);
/* Frees what config_load allocated and clears the partner list. Accepts NULL. */
void config_free(struct config *cfg);

/* Creates a commented config file at path with [node] name and listen (CONFIG_DEFAULT_LISTEN
 * if listen is NULL), every [limits] key commented out with its default and meaning.
 * Validates name and listen as config_load does. Writes a temporary file, fsyncs it and
 * links it into place, so path appears whole or not at all; mode 0644.
 * Returns 0, ERR_INVAL (bad name or listen), ERR_EXISTS (path exists: never overwritten)
 * or -errno, with a message in err. */
int config_write_initial(const char *path, const char *name, const char *listen, char *err,
			 size_t errlen);

/* Checks a node or partner name: 1..CONFIG_NAME_MAX bytes of UTF-8 without control
 * characters or ';', not starting or ending with a space. Returns 0 or ERR_INVAL. */
int config_name_check(const char *name);

/* Splits "host:port" ("[v6addr]:port" for IPv6). host must be an IPv4 address, an IPv6
 * address in brackets or a DNS host name; port 0..65535 (0: any free port, for listen only;
 * callers that dial check for 0 themselves). Writes host (without brackets,
 * NUL-terminated) and *port only on success. Returns 0, ERR_INVAL or ERR_TOOBIG (host
 * does not fit hostcap). */
int config_parse_hostport(const char *s, char *host, size_t hostcap, uint16_t *port);

#endif
