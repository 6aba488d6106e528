/* Fuzzes log entries: the input is a packed LogEntry, as the store, an export or a
 * partner's receipt carries it. What decodes must be one of the documented types with exact
 * field lengths and re-encode to a fixed point. Each input is also checked as the first
 * entry of a log (log_verify_entry, the node's and the auditor's check), which must accept
 * exactly what passes the documented rules, worked out here from the decoded entry: a
 * message for SENT, RECEIVED and RECEIPT, a receipt only on RECEIPT, and that receipt
 * decoding, naming the entry's message and verifying under the entry's peer key
 * (receipt_verify). The seeds come from a real run whose keys are in seed_keys.h. */
#include "lib/err.h"
#include "crypto/merkle.h"
#include "wire/log_entry.h"
#include "wire/log_verify.h"
#include "wire/receipt.h"

#include "seed_keys.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SEED_KEYS = sizeof(seed_keys) / sizeof(seed_keys[0]) };

static bool entry_same(const struct log_entry *a, const struct log_entry *b)
{
	return a->type == b->type && a->time_ms == b->time_ms &&
	       memcmp(a->peer, b->peer, 32) == 0 && a->has_message == b->has_message &&
	       (!a->has_message || (memcmp(a->envelope_hash, b->envelope_hash, 32) == 0 &&
				    memcmp(a->message_id, b->message_id, 16) == 0 &&
				    memcmp(a->author, b->author, 32) == 0)) &&
	       a->receipt_len == b->receipt_len &&
	       (a->receipt_len == 0 || memcmp(a->receipt, b->receipt, a->receipt_len) == 0) &&
	       strcmp(a->note, b->note) == 0;
}

static void check_round_trip(const struct log_entry *e)
{
	struct log_entry back;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	int r;

	if ((r = log_entry_encode(e, &p1, &n1)) != 0) {
		if (r != ERR_NOMEM)
			__builtin_trap(); /* what decodes, encodes */
		return;
	}
	if (log_entry_decode(p1, n1, &back) != 0 || !entry_same(e, &back) ||
	    log_entry_encode(&back, &p2, &n2) != 0 || n1 != n2 || memcmp(p1, p2, n1) != 0)
		__builtin_trap();
	log_entry_release(&back);
	free(p1);
	free(p2);
}

/* A RECEIPT entry's receipt, by the rules: 0 if it holds up. */
static int receipt_ok(const struct log_entry *e)
{
	struct receipt r;
	bool known = false;
	int rc;

	if (e->receipt_len == 0 || receipt_decode(e->receipt, e->receipt_len, &r) != 0)
		return ERR_PROTO;
	rc = memcmp(r.envelope_hash, e->envelope_hash, 32) == 0
		     ? receipt_verify(&r, e->peer, e->envelope_hash)
		     : ERR_PROTO;
	if (rc != 0 && rc != ERR_PROTO && rc != ERR_CRYPTO && rc != ERR_NOMEM)
		__builtin_trap();
	for (size_t k = 0; k < SEED_KEYS; k++)
		known |= memcmp(e->peer, seed_keys[k], 32) == 0;
	if (rc == 0 && !known)
		__builtin_trap(); /* a head signed by a key the run did not have */
	receipt_release(&r);
	return rc;
}

/* Whether a decoded entry passes the documented rules. */
static bool entry_ok(const struct log_entry *e)
{
	bool names_message = e->type == LOG_ENTRY_SENT || e->type == LOG_ENTRY_RECEIVED ||
			     e->type == LOG_ENTRY_RECEIPT;

	if (names_message && !e->has_message)
		return false;
	if (e->type != LOG_ENTRY_RECEIPT)
		return e->receipt_len == 0;
	return receipt_ok(e) == 0;
}

/* The input as entry 0 of a log; returns whether it passed, or -1 if out of memory. */
static int verify_as_first(const uint8_t *data, size_t size)
{
	struct log_verify v;
	struct log_verify_opts o = {.pk = seed_keys[0]};
	struct log_verify_info info;
	const struct log_verify_fail *f;
	uint8_t leaf[32];
	int r;

	log_verify_init(&v, &o);
	r = log_verify_entry(&v, 0, data, size, &info);
	if (r == ERR_NOMEM)
		return -1;
	f = log_verify_result(&v);
	merkle_leaf_hash(data, size, leaf);
	if ((r == 0) == f->failed || v.pending != 0 || memcmp(info.leaf, leaf, 32) != 0 ||
	    (f->failed && (f->index != 0 || strncmp(f->reason, "entry 0: ", 9) != 0)))
		__builtin_trap();
	return !f->failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log_entry e;
	const char *name;
	int r, verified;

	if (sodium_init() < 0 || (verified = verify_as_first(data, size)) < 0)
		return 0;
	if ((r = log_entry_decode(data, size, &e)) != 0) {
		if (r != ERR_PROTO && r != ERR_NOMEM)
			__builtin_trap();
		if (verified && r == ERR_PROTO)
			__builtin_trap(); /* the log took what does not decode */
		return 0;
	}
	name = log_entry_type_str(e.type);
	if (e.type < LOG_ENTRY_SENT || e.type > LOG_ENTRY_INTRODUCED ||
	    strcmp(name, "unknown") == 0 || strcmp(name, "unspecified") == 0 ||
	    memchr(e.note, '\0', sizeof(e.note)) == NULL || (e.receipt_len > 0) != (e.receipt != NULL))
		__builtin_trap();
	check_round_trip(&e);
	if (verified != entry_ok(&e))
		__builtin_trap(); /* the log's check and the rules disagree */
	log_entry_release(&e);
	return 0;
}
