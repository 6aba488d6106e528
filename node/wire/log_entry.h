/* Entries of the exchange log (protobuf LogEntry) as our struct. No I/O. */
#ifndef COEX_WIRE_LOG_ENTRY_H
#define COEX_WIRE_LOG_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values of the protobuf LogEntryType enum. */
enum log_entry_type {
	LOG_ENTRY_SENT = 1,
	LOG_ENTRY_RECEIVED = 2,
	LOG_ENTRY_RECEIPT = 3,
	LOG_ENTRY_PARTNER_ADDED = 4,
	LOG_ENTRY_PARTNER_REMOVED = 5,
	LOG_ENTRY_INVITE_USED = 6,
	LOG_ENTRY_INTRODUCED = 7,
};

struct log_entry {
	enum log_entry_type type;
	uint64_t time_ms;
	uint8_t peer[32];
	bool has_message;               /* SENT, RECEIVED, RECEIPT */
	uint8_t envelope_hash[32];
	uint8_t message_id[16];
	uint8_t author[32];
	const uint8_t *receipt;         /* RECEIPT: encode reads it; decode makes a malloc'd copy */
	size_t receipt_len;
	char note[65];
};

/* Packs e into a malloc'd buffer. Returns 0, ERR_INVAL or ERR_NOMEM. */
int log_entry_encode(const struct log_entry *e, uint8_t **out, size_t *len);
/* Unpacks and validates (known type, exact lengths). Returns 0, ERR_PROTO or ERR_NOMEM;
 * release with log_entry_release. */
int log_entry_decode(const uint8_t *in, size_t len, struct log_entry *out);
void log_entry_release(struct log_entry *e);
/* "sent", "received", "receipt", "partner_added", ... */
const char *log_entry_type_str(enum log_entry_type t);

#endif
