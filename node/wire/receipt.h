/* Receipts: the receiver's signed proof that a message sits in its log. No I/O.
 * A receipt carries the receiver's log entry for the message (verbatim), a signed tree head
 * that includes it and the RFC 9162 inclusion proof, so that one signature per commit batch
 * covers every receipt of the batch. */
#ifndef COEX_WIRE_RECEIPT_H
#define COEX_WIRE_RECEIPT_H

#include "wire/tree_head.h"

#include <stddef.h>
#include <stdint.h>

enum { RECEIPT_PROOF_MAX = 64 };

struct receipt {
	uint8_t envelope_hash[32];
	uint64_t received_ms;
	uint64_t log_index;
	uint8_t *entry;                 /* malloc'd on decode; the caller's on encode */
	size_t entry_len;
	struct tree_head head;
	uint8_t proof[RECEIPT_PROOF_MAX][32];
	size_t n_proof;
};

/* Packs r into a malloc'd buffer. Returns 0 or ERR_NOMEM. */
int receipt_encode(const struct receipt *r, uint8_t **out, size_t *len);
/* Unpacks and checks lengths. Returns 0, ERR_PROTO or ERR_NOMEM; release with receipt_release. */
int receipt_decode(const uint8_t *in, size_t len, struct receipt *out);
void receipt_release(struct receipt *r);

/* Checks a receipt from the node whose key is pk for the message named envelope_hash:
 * the head's signature, that the entry is a RECEIVED entry naming envelope_hash, and the
 * entry's inclusion at log_index under the head. Returns 0, ERR_CRYPTO or ERR_PROTO. */
int receipt_verify(const struct receipt *r, const uint8_t pk[32], const uint8_t envelope_hash[32]);

#endif
