/* The control client: one request to the local coexd over DATA/coexd.sock, one response.
 *
 * Framing (docs/protocol.md, control socket): each message is its length as 4 bytes
 * big-endian, then the packed protobuf (CtlRequest out, CtlResponse back). */
#ifndef COEX_CLI_CLIENT_H
#define COEX_CLI_CLIENT_H

#include <stddef.h>

#include "coex.pb-c.h"

enum {
	CLIENT_MAX_MESSAGE = 64 * 1024 * 1024, /* a longer response is refused before allocating */
	CLIENT_TIMEOUT_MS = 30 * 1000,         /* default deadline for the whole exchange */
};

/* Connects to the daemon's socket at sock_path, sends req and reads one response, all within
 * timeout_ms. On success returns 0 and *out holds the response (free it with
 * coex__ctl_response__free_unpacked); the response's own code may still say the request
 * failed. On failure *out is untouched and err holds a one-line reason:
 *   ERR_UNAVAILABLE  nothing listens at sock_path (err: why connect failed)
 *   ERR_TOOBIG       sock_path does not fit a Unix socket address, or a message is too long
 *   ERR_TIMEOUT      no complete answer before the deadline
 *   ERR_PROTO        the daemon closed early or sent a malformed response
 *   ERR_NOMEM, -errno */
int client_call(const char *sock_path, const Coex__CtlRequest *req, int timeout_ms,
		Coex__CtlResponse **out, char *err, size_t errlen);

#endif
