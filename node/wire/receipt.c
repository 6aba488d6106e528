#include "wire/receipt.h"
#include "crypto/merkle.h"
#include "lib/err.h"
#include "wire/log_entry.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int receipt_encode(const struct receipt *r, uint8_t **out, size_t *len)
{
	Coex__Receipt m = COEX__RECEIPT__INIT;
	Coex__SignedTreeHead h = COEX__SIGNED_TREE_HEAD__INIT;
	ProtobufCBinaryData proof[RECEIPT_PROOF_MAX];
	uint8_t *buf;
	size_t n;

	if (r->n_proof > RECEIPT_PROOF_MAX)
		return ERR_INVAL;
	m.envelope_hash.data = (uint8_t *)r->envelope_hash;
	m.envelope_hash.len = 32;
	m.received_ms = r->received_ms;
	m.log_index = r->log_index;
	m.entry.data = r->entry;
	m.entry.len = r->entry_len;
	h.size = r->head.size;
	h.root.data = (uint8_t *)r->head.root;
	h.root.len = 32;
	h.time_ms = r->head.time_ms;
	h.signature.data = (uint8_t *)r->head.signature;
	h.signature.len = 64;
	m.tree_head = &h;
	for (size_t i = 0; i < r->n_proof; i++) {
		proof[i].data = (uint8_t *)r->proof[i];
		proof[i].len = 32;
	}
	m.inclusion_proof = proof;
	m.n_inclusion_proof = r->n_proof;
	n = coex__receipt__get_packed_size(&m);
	if (!(buf = malloc(n)))
		return ERR_NOMEM;
	coex__receipt__pack(&m, buf);
	*out = buf;
	*len = n;
	return 0;
}

static int receipt_copy(const Coex__Receipt *m, struct receipt *r)
{
	const Coex__SignedTreeHead *h = m->tree_head;

	if (m->envelope_hash.len != 32 || !h || h->root.len != 32 || h->signature.len != 64 ||
	    m->n_inclusion_proof > RECEIPT_PROOF_MAX || m->entry.len == 0)
		return ERR_PROTO;
	for (size_t i = 0; i < m->n_inclusion_proof; i++)
		if (m->inclusion_proof[i].len != 32)
			return ERR_PROTO;
	if (!(r->entry = malloc(m->entry.len)))
		return ERR_NOMEM;
	memcpy(r->entry, m->entry.data, m->entry.len);
	r->entry_len = m->entry.len;
	memcpy(r->envelope_hash, m->envelope_hash.data, 32);
	r->received_ms = m->received_ms;
	r->log_index = m->log_index;
	r->head.size = h->size;
	memcpy(r->head.root, h->root.data, 32);
	r->head.time_ms = h->time_ms;
	memcpy(r->head.signature, h->signature.data, 64);
	for (size_t i = 0; i < m->n_inclusion_proof; i++)
		memcpy(r->proof[i], m->inclusion_proof[i].data, 32);
	r->n_proof = m->n_inclusion_proof;
	return 0;
}

int receipt_decode(const uint8_t *in, size_t len, struct receipt *out)
{
	Coex__Receipt *m = coex__receipt__unpack(NULL, len, in);
	int r;

	if (!m)
		return ERR_PROTO;
	memset(out, 0, sizeof(*out));
	r = receipt_copy(m, out);
	coex__receipt__free_unpacked(m, NULL);
	if (r != 0)
		receipt_release(out);
	return r;
}

void receipt_release(struct receipt *r)
{
	free(r->entry);
	r->entry = NULL;
	r->entry_len = 0;
}

int receipt_verify(const struct receipt *r, const uint8_t pk[32], const uint8_t envelope_hash[32])
{
	struct log_entry e;
	uint8_t leaf[32];
	int rc;

	if (sodium_memcmp(r->envelope_hash, envelope_hash, 32) != 0)
		return ERR_PROTO;
	if ((rc = tree_head_verify(pk, &r->head)) != 0)
		return rc;
	if ((rc = log_entry_decode(r->entry, r->entry_len, &e)) != 0)
		return rc;
	rc = e.type == LOG_ENTRY_RECEIVED && e.has_message &&
			     sodium_memcmp(e.envelope_hash, envelope_hash, 32) == 0
		     ? 0
		     : ERR_PROTO;
	log_entry_release(&e);
	if (rc != 0)
		return rc;
	merkle_leaf_hash(r->entry, r->entry_len, leaf);
	return merkle_verify_inclusion(r->log_index, r->head.size, leaf, r->proof, r->n_proof,
				       r->head.root);
}
