/* Frames carried in Noise transport messages (one protobuf Frame each), as our struct.
 * The generated protobuf types stay inside link_frame.c. No I/O. */
#ifndef COEX_WIRE_LINK_FRAME_H
#define COEX_WIRE_LINK_FRAME_H

#include "wire/limits.h"

#include <stddef.h>
#include <stdint.h>

enum link_frame_kind { LINK_FRAME_PING = 1, LINK_FRAME_PONG = 2, LINK_FRAME_CLOSE = 3 };

/* Values of the protobuf CloseReason enum. */
enum link_close_reason {
	LINK_CLOSE_UNSPECIFIED = 0,
	LINK_CLOSE_SHUTDOWN = 1,
	LINK_CLOSE_DUPLICATE = 2,
	LINK_CLOSE_REMOVED = 3,
	LINK_CLOSE_PROTOCOL = 4,
	LINK_CLOSE_TIMEOUT = 5,
	LINK_CLOSE_LIMIT = 6,
};

struct link_frame {
	enum link_frame_kind kind;
	uint64_t nonce;                       /* ping, pong */
	enum link_close_reason reason;        /* close */
	char detail[LIMIT_CLOSE_DETAIL_MAX + 1];
};

/* Packs f. Returns 0, ERR_TOOBIG or ERR_INVAL (unknown kind). */
int link_frame_encode(const struct link_frame *f, uint8_t *out, size_t out_cap, size_t *out_len);

/* Unpacks; an empty or unknown frame kind is ERR_PROTO; a Close detail is truncated to
 * LIMIT_CLOSE_DETAIL_MAX bytes. Returns 0, ERR_PROTO or ERR_NOMEM. */
int link_frame_decode(const uint8_t *in, size_t len, struct link_frame *out);

/* A short, stable name for a close reason ("shutdown", "duplicate", ...). */
const char *link_close_reason_str(enum link_close_reason r);

#endif
