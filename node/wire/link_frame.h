/* Frames carried in Noise transport messages (one protobuf Frame each), as our struct.
 * The generated protobuf types stay inside link_frame.c. No I/O. */
#ifndef COEX_WIRE_LINK_FRAME_H
#define COEX_WIRE_LINK_FRAME_H

#include "wire/limits.h"

#include <stddef.h>
#include <stdint.h>

enum link_frame_kind {
	LINK_FRAME_PING = 1,
	LINK_FRAME_PONG = 2,
	LINK_FRAME_CLOSE = 3,
	LINK_FRAME_ENVELOPE = 4, /* a chunk of an envelope: total_len, data */
	LINK_FRAME_RECEIPT = 5,  /* a packed Receipt: data */
	LINK_FRAME_PROOF_REQUEST = 6, /* size1, size2 */
	LINK_FRAME_PROOF_ANSWER = 7,  /* size1, size2, proof or error (in detail) */
};

enum { LINK_PROOF_MAX = 64 };

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
	uint32_t total_len;                   /* envelope */
	const uint8_t *data;                  /* envelope chunk, receipt: on encode the caller's */
	size_t data_len;                      /* bytes; on decode a malloc'd copy (release it) */
	uint64_t size1, size2;                /* proof request, answer */
	uint8_t proof[LINK_PROOF_MAX][32];    /* proof answer */
	size_t n_proof;
};

/* Frees what link_frame_decode allocated. */
void link_frame_release(struct link_frame *f);

/* Packs f. Returns 0, ERR_TOOBIG or ERR_INVAL (unknown kind). */
int link_frame_encode(const struct link_frame *f, uint8_t *out, size_t out_cap, size_t *out_len);

/* Unpacks; an empty or unknown frame kind is ERR_PROTO; a Close detail is truncated to
 * LIMIT_CLOSE_DETAIL_MAX bytes; an envelope chunk must carry data. Returns 0, ERR_PROTO or
 * ERR_NOMEM; on success call link_frame_release. */
int link_frame_decode(const uint8_t *in, size_t len, struct link_frame *out);

/* A short, stable name for a close reason ("shutdown", "duplicate", ...). */
const char *link_close_reason_str(enum link_close_reason r);

#endif
