/* Fuzzes the control-request decoder: the protobuf CtlRequest as coexd unpacks it from
 * a local client (the protobuf-c runtime is linked in, so its decoding is covered too). */
#include "coex.pb-c.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Coex__CtlRequest *req = coex__ctl_request__unpack(NULL, size, data);

	if (req) {
		/* Re-packing what was decoded must not fail or overflow. */
		uint8_t buf[1 << 16];
		size_t n = coex__ctl_request__get_packed_size(req);
		if (n <= sizeof(buf))
			coex__ctl_request__pack(req, buf);
		coex__ctl_request__free_unpacked(req, NULL);
	}
	return 0;
}
