#include "lib/err.h"

#include <string.h>

const char *err_str(int err)
{
	switch (err) {
	case 0: return "success";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVAL: return "invalid argument";
	case ERR_PROTO: return "malformed input";
	case ERR_TOOBIG: return "too large";
	case ERR_CRYPTO: return "authentication failed";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "already exists";
	case ERR_EXPIRED: return "expired";
	case ERR_REPLAY: return "replayed";
	case ERR_DENIED: return "not allowed";
	case ERR_STORE: return "store failure";
	case ERR_STATE: return "invalid state";
	case ERR_TIMEOUT: return "timed out";
	case ERR_LIMIT: return "limit reached";
	case ERR_AMBIGUOUS: return "ambiguous";
	case ERR_USED: return "already used";
	case ERR_FULL: return "storage full";
	case ERR_UNAVAILABLE: return "unavailable";
	default: break;
	}
	if (err < 0 && err > ERR_BASE)
		return strerror(-err);
	return "unknown error";
}
