/* The node verifies its own exchange log: every own signed head's signature, and every
 * head's root against the root recomputed from the stored entries' bytes (leaf hashes are
 * recomputed, and compared with the ones stored in the tree, never trusted from it), with
 * wire/log_verify.h doing the checking.
 *
 * In pages, so that neither a control request nor start-up holds the loop for long: a page
 * goes on from a state (the last head verified and the compact range of the entries it
 * covers) to the first head after LOG_CHECK_PAGE_ENTRIES entries or LOG_CHECK_PAGE_SIGS
 * signatures. A state that comes back from outside (coex log verify) is checked first: its
 * range must give the root of the signed head it names.
 *
 * The last state verified is kept in the store (the log_checked table), so the check at
 * start-up only goes over what was added since. */
#ifndef COEX_STORE_LOG_CHECK_H
#define COEX_STORE_LOG_CHECK_H

#include "crypto/merkle_range.h"
#include "wire/log_verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum {
	LOG_CHECK_PAGE_ENTRIES = 4096,
	LOG_CHECK_PAGE_SIGS = 256,
	LOG_CHECK_SKEW_MS = 5 * 60 * 1000,  /* a head may be dated this far back or ahead */
};

struct log_check_state {
	uint64_t heads;                 /* heads verified */
	uint64_t head_seq;              /* the last one's store position; 0: none yet */
	struct merkle_range range;      /* the entries it covers: range.size of them */
};

struct log_check_result {
	bool done;                      /* false: call again with the updated state */
	bool ok;                        /* when done */
	uint64_t log_size, head_count;  /* in the store */
	uint64_t uncovered;             /* when done and ok: entries after the last head */
	uint64_t first_bad_index;       /* when done and not ok */
	char reason[LOG_VERIFY_REASON_MAX];
};

/* Verifies the next page of s's log, signed by pk, from *st (all zero: from the start);
 * now_ms bounds the heads' times. On return 0, *res says how it went; *st is advanced
 * unless a failure was found. Returns ERR_INVAL if *st does not match the log (then
 * nothing is written), or a store error. */
int log_check_page(struct store *s, const uint8_t pk[32], uint64_t now_ms,
		   struct log_check_state *st, struct log_check_result *res);

/* Remembers st as verified (the store's log_checked row). Returns 0 or a store error. */
int log_check_mark(struct store *s, const struct log_check_state *st, uint64_t now_ms);

/* The check at start-up: goes on from the state remembered (from the start if there is none,
 * or if it no longer matches the log), to the end of the log, and remembers the new state.
 * Returns 0 if the log verifies; else writes what is wrong to err[0..errlen) and returns
 * ERR_CRYPTO (the log does not verify; err is the reason, naming the entry: "entry 5: its
 * bytes do not match the leaf hash stored for it (the entry was changed)") or a store error
 * (err: "cannot verify the exchange log: ..."). Call it
 * before anything is appended; the node should refuse to start on ERR_CRYPTO rather than
 * sign new heads over a log that was changed. */
int log_check_at_start(struct store *s, const uint8_t node_pk[32], char *err, size_t errlen);

#endif
