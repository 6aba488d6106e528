/* Framing of Noise messages on a stream: a 2-byte big-endian length, then the message.
 *
 * The reader is incremental and zero-copy where it can be: a frame that lies whole in the
 * input is returned in place; only a frame split across reads is copied, into a buffer
 * sized by its (already checked) length and freed once the frame is delivered, so an idle
 * link holds no buffer. No I/O. */
#ifndef COEX_WIRE_FRAME_H
#define COEX_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct frame_reader {
	size_t max;          /* largest accepted frame length */
	uint8_t hdr[2];
	size_t hdr_have;
	uint8_t *partial;    /* malloc'd while a frame spans reads */
	size_t need;         /* length of the frame being assembled */
	size_t have;
	int delivered_partial; /* partial must be freed on the next call */
};

/* max: the largest frame length accepted (1..65535). */
void frame_reader_init(struct frame_reader *fr, size_t max);
void frame_reader_free(struct frame_reader *fr);

/* Consumes bytes from (*in, *in_len), advancing them. Returns 1 with the next complete frame
 * in (*frame, *frame_len), valid until the next call or free; 0 when all input is consumed
 * and no frame is complete; ERR_PROTO for a zero length; ERR_TOOBIG for a length over max;
 * ERR_NOMEM. After an error the reader must not be fed again. */
int frame_reader_next(struct frame_reader *fr, const uint8_t **in, size_t *in_len,
		      const uint8_t **frame, size_t *frame_len);

/* Writes the 2-byte header for a frame of len bytes. Returns 0 or ERR_TOOBIG. */
int frame_header_write(uint8_t hdr[2], size_t len);

#endif
