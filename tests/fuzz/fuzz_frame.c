/* Fuzzes the stream framing and the frame codecs: input bytes are fed to the frame reader in
 * chunks whose sizes come from the input itself; every frame is decoded as a link Frame and
 * as a Hello. */
#include "wire/frame.h"
#include "wire/hello.h"
#include "wire/link_frame.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader fr;
	size_t chunk, max;

	if (size < 3)
		return 0;
	chunk = (size_t)data[0] + 1;
	max = ((size_t)data[1] << 8 | data[2]) | 1;
	data += 3;
	size -= 3;
	frame_reader_init(&fr, max);
	while (size > 0) {
		size_t n = size < chunk ? size : chunk, in_len = n, flen;
		const uint8_t *in = data, *f;
		int r;
		while ((r = frame_reader_next(&fr, &in, &in_len, &f, &flen)) == 1) {
			struct link_frame lf;
			struct hello h;
			if (flen > max)
				__builtin_trap();
			if (link_frame_decode(f, flen, &lf) == 0)
				link_frame_release(&lf);
			hello_decode(f, flen, &h);
		}
		if (r < 0)
			break;
		data += n;
		size -= n;
	}
	frame_reader_free(&fr);
	return 0;
}
