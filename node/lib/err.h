/* One error space for all of coex.
 *
 * Every fallible function returns int: 0 on success, a negative value on failure.
 * Values at or below ERR_BASE are ours (ERR_*); values between ERR_BASE and 0 are
 * negated errno codes (libuv's codes on Unix are the same), passed through unchanged.
 * Out-parameters are written only on success. */
#ifndef COEX_LIB_ERR_H
#define COEX_LIB_ERR_H

enum {
	ERR_BASE = -10000,
	ERR_NOMEM = ERR_BASE - 1,     /* allocation failed */
	ERR_INVAL = ERR_BASE - 2,     /* invalid argument or value */
	ERR_PROTO = ERR_BASE - 3,     /* malformed input from a peer or file */
	ERR_TOOBIG = ERR_BASE - 4,    /* input exceeds a configured limit */
	ERR_CRYPTO = ERR_BASE - 5,    /* authentication or signature check failed */
	ERR_NOTFOUND = ERR_BASE - 6,  /* no such object */
	ERR_EXISTS = ERR_BASE - 7,    /* object already exists */
	ERR_EXPIRED = ERR_BASE - 8,   /* time limit passed */
	ERR_REPLAY = ERR_BASE - 9,    /* message seen before */
	ERR_DENIED = ERR_BASE - 10,   /* not allowed */
	ERR_STORE = ERR_BASE - 11,    /* the store failed */
	ERR_STATE = ERR_BASE - 12,    /* operation not valid in this state */
	ERR_TIMEOUT = ERR_BASE - 13,  /* no answer in time */
	ERR_LIMIT = ERR_BASE - 14,    /* a capacity limit was reached */
	ERR_AMBIGUOUS = ERR_BASE - 15,/* a prefix matched more than one object */
	ERR_USED = ERR_BASE - 16,     /* a one-time object was already used */
	ERR_FULL = ERR_BASE - 17,     /* storage full */
	ERR_UNAVAILABLE = ERR_BASE - 18, /* the node is not running or not reachable */
	ERR_LAST = ERR_BASE - 19,
};

/* Returns a static, human-readable description of any error code (ours or -errno). */
const char *err_str(int err);

#endif
