/* Fuzzes receipts: the input is a packed Receipt, as a partner sends it on a link. It is
 * decoded and put through the check the sender runs (receipt_verify: the tree head's
 * signature, the entry is the receiver's RECEIVED entry for the envelope, its inclusion
 * proof leads to the signed root), twice:
 *   - against the key set of the real run the seeds come from (seed_keys.h), so mutations of
 *     a real receipt's entry, index, proof and envelope hash reach every check;
 *   - with its tree head re-signed by a fixed key, so any head (size, root) reaches the
 *     entry and proof checks.
 * Whatever passes must hold up: the same receipt fails with another key, another envelope
 * hash, one bit of its proof or entry changed. Decoded receipts must re-encode to a fixed
 * point. */
#include "crypto/identity.h"
#include "lib/err.h"
#include "wire/log_entry.h"
#include "wire/receipt.h"

#include "seed_keys.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SEED_KEYS = sizeof(seed_keys) / sizeof(seed_keys[0]) };

static struct identity signer;

static bool fuzz_init(void)
{
	static int ready = -1;
	uint8_t seed[32];

	if (ready < 0) {
		memset(seed, 3, sizeof(seed));
		ready = sodium_init() >= 0 && identity_from_seed(&signer, seed) == 0;
	}
	return ready == 1;
}

static bool receipt_same(const struct receipt *a, const struct receipt *b)
{
	return memcmp(a->envelope_hash, b->envelope_hash, 32) == 0 &&
	       a->received_ms == b->received_ms && a->log_index == b->log_index &&
	       a->entry_len == b->entry_len && memcmp(a->entry, b->entry, a->entry_len) == 0 &&
	       memcmp(&a->head, &b->head, sizeof(a->head)) == 0 && a->n_proof == b->n_proof &&
	       memcmp(a->proof, b->proof, a->n_proof * 32) == 0;
}

/* Encodes r, decodes that and encodes again: the same receipt, the same bytes. */
static void check_round_trip(const struct receipt *r)
{
	struct receipt back;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;

	if (receipt_encode(r, &p1, &n1) != 0)
		return;
	if (receipt_decode(p1, n1, &back) != 0 || !receipt_same(r, &back) ||
	    receipt_encode(&back, &p2, &n2) != 0 || n1 != n2 || memcmp(p1, p2, n1) != 0)
		__builtin_trap();
	receipt_release(&back);
	free(p1);
	free(p2);
}

static int verify(const struct receipt *r, const uint8_t pk[32], const uint8_t hash[32])
{
	int rc = receipt_verify(r, pk, hash);

	if (rc != 0 && rc != ERR_PROTO && rc != ERR_CRYPTO && rc != ERR_NOMEM)
		__builtin_trap();
	return rc;
}

/* r passed with pk: check that it says what receipt_verify promises, and that changing any
 * part it vouches for makes it fail. */
static void check_accepted(const struct receipt *r, const uint8_t pk[32])
{
	struct receipt t = *r;
	struct log_entry e;
	uint8_t wrong_pk[32], wrong_hash[32], *entry;

	if (r->log_index >= r->head.size || log_entry_decode(r->entry, r->entry_len, &e) != 0)
		__builtin_trap();
	if (e.type != LOG_ENTRY_RECEIVED || !e.has_message ||
	    memcmp(e.envelope_hash, r->envelope_hash, 32) != 0)
		__builtin_trap();
	log_entry_release(&e);
	memcpy(wrong_pk, pk, 32);
	wrong_pk[0] ^= 1;
	memcpy(wrong_hash, r->envelope_hash, 32);
	wrong_hash[0] ^= 1;
	if (verify(r, wrong_pk, r->envelope_hash) == 0 || verify(r, pk, wrong_hash) == 0)
		__builtin_trap();
	for (size_t i = 0; i < r->n_proof; i++) {
		t.proof[i][i % 32] ^= 0x80;
		if (verify(&t, pk, r->envelope_hash) == 0)
			__builtin_trap();
		t.proof[i][i % 32] ^= 0x80;
	}
	if (!(entry = malloc(r->entry_len)))
		return;
	memcpy(entry, r->entry, r->entry_len);
	entry[r->entry_len - 1] ^= 1;
	t.entry = entry;
	if (verify(&t, pk, r->envelope_hash) == 0)
		__builtin_trap();
	free(entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receipt r, resigned;
	int rc;

	if (!fuzz_init())
		return 0;
	if ((rc = receipt_decode(data, size, &r)) != 0) {
		if (rc != ERR_PROTO && rc != ERR_NOMEM)
			__builtin_trap();
		return 0;
	}
	if (r.n_proof > RECEIPT_PROOF_MAX || r.entry_len == 0 || !r.entry)
		__builtin_trap();
	check_round_trip(&r);
	for (size_t k = 0; k < SEED_KEYS; k++)
		if (verify(&r, seed_keys[k], r.envelope_hash) == 0)
			check_accepted(&r, seed_keys[k]);
	resigned = r;
	if (tree_head_sign(&signer, &resigned.head) != 0)
		__builtin_trap();
	if (verify(&resigned, signer.pk, r.envelope_hash) == 0)
		check_accepted(&resigned, signer.pk);
	receipt_release(&r);
	return 0;
}
