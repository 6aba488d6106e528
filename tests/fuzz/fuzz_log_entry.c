/* Fuzzes log entries: the input is a packed LogEntry, as the store, an export or a
 * partner's receipt carries it. What decodes must be one of the documented types with exact
 * field lengths and re-encode to a fixed point. A RECEIPT entry's receipt goes through the
 * auditor's check: it decodes, names the entry's message and verifies under the entry's
 * peer key (seeds from the real run in seed_keys.h pass it). */
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

/* The auditor's check of a RECEIPT entry (wire/log_verify.c). */
static void check_receipt(const struct log_entry *e)
{
	struct receipt r;
	bool known = false;
	int rc;

	if (receipt_decode(e->receipt, e->receipt_len, &r) != 0)
		return;
	if (memcmp(r.envelope_hash, e->envelope_hash, 32) == 0) {
		rc = receipt_verify(&r, e->peer, e->envelope_hash);
		if (rc != 0 && rc != ERR_PROTO && rc != ERR_CRYPTO && rc != ERR_NOMEM)
			__builtin_trap();
		for (size_t k = 0; k < SEED_KEYS; k++)
			known |= memcmp(e->peer, seed_keys[k], 32) == 0;
		/* a head signed by a key the run did not have cannot verify */
		if (rc == 0 && !known)
			__builtin_trap();
	}
	receipt_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log_entry e;
	const char *name;
	int r;

	if (sodium_init() < 0)
		return 0;
	if ((r = log_entry_decode(data, size, &e)) != 0) {
		if (r != ERR_PROTO && r != ERR_NOMEM)
			__builtin_trap();
		return 0;
	}
	name = log_entry_type_str(e.type);
	if (e.type < LOG_ENTRY_SENT || e.type > LOG_ENTRY_INTRODUCED ||
	    strcmp(name, "unknown") == 0 || strcmp(name, "unspecified") == 0 ||
	    memchr(e.note, '\0', sizeof(e.note)) == NULL || (e.receipt_len > 0) != (e.receipt != NULL))
		__builtin_trap();
	check_round_trip(&e);
	if (e.type == LOG_ENTRY_RECEIPT && e.has_message && e.receipt_len > 0)
		check_receipt(&e);
	log_entry_release(&e);
	return 0;
}
