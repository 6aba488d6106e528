#include "wire/frame.h"
#include "lib/err.h"
#include "wire/limits.h"

#include <stdlib.h>
#include <string.h>

void frame_reader_init(struct frame_reader *fr, size_t max)
{
	memset(fr, 0, sizeof(*fr));
	fr->max = max > LIMIT_FRAME_MAX ? LIMIT_FRAME_MAX : max;
}

void frame_reader_free(struct frame_reader *fr)
{
	free(fr->partial);
	fr->partial = NULL;
	fr->have = fr->need = fr->hdr_have = 0;
	fr->delivered_partial = 0;
}

int frame_header_write(uint8_t hdr[2], size_t len)
{
	if (len > LIMIT_FRAME_MAX)
		return ERR_TOOBIG;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return 0;
}

/* Reads the length header; returns 1 when it is complete and valid. */
static int frame_reader_header(struct frame_reader *fr, const uint8_t **in, size_t *in_len)
{
	while (fr->hdr_have < 2 && *in_len > 0) {
		fr->hdr[fr->hdr_have++] = **in;
		(*in)++;
		(*in_len)--;
	}
	if (fr->hdr_have < 2)
		return 0;
	fr->need = (size_t)fr->hdr[0] << 8 | fr->hdr[1];
	if (fr->need == 0)
		return ERR_PROTO;
	if (fr->need > fr->max)
		return ERR_TOOBIG;
	return 1;
}

int frame_reader_next(struct frame_reader *fr, const uint8_t **in, size_t *in_len,
		      const uint8_t **frame, size_t *frame_len)
{
	size_t take;
	int r;

	if (fr->delivered_partial)
		frame_reader_free(fr);
	if (fr->partial == NULL) {
		if ((r = frame_reader_header(fr, in, in_len)) <= 0)
			return r;
		if (*in_len >= fr->need) { /* whole frame in the input: no copy */
			*frame = *in;
			*frame_len = fr->need;
			*in += fr->need;
			*in_len -= fr->need;
			fr->hdr_have = 0;
			return 1;
		}
		if (!(fr->partial = malloc(fr->need)))
			return ERR_NOMEM;
		fr->have = 0;
	}
	take = fr->need - fr->have < *in_len ? fr->need - fr->have : *in_len;
	memcpy(fr->partial + fr->have, *in, take);
	fr->have += take;
	*in += take;
	*in_len -= take;
	if (fr->have < fr->need)
		return 0;
	*frame = fr->partial;
	*frame_len = fr->need;
	fr->delivered_partial = 1;
	return 1;
}
