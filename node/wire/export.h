/* The export file of an exchange log (docs/export-format.md): "COEXLOG2\n", then records,
 * each a 4-byte big-endian length and one packed protobuf ExportRecord: the header first,
 * then the node's alarms about partners, then every entry in index order, each SENT or
 * RECEIVED entry followed by its envelope,
 * and every signed head right after the entry that completes it. No I/O: bytes are written
 * to a growable buffer and read through a callback.
 *
 * Decoding is strict so that a file has one encoding: exact field lengths, no unknown
 * fields, and the record must be exactly what protobuf-c packs for its decoded value. */
#ifndef COEX_WIRE_EXPORT_H
#define COEX_WIRE_EXPORT_H

#include "wire/tree_head.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity;

#define EXPORT_MAGIC "COEXLOG2\n"
#define EXPORT_MAGIC_V1 "COEXLOG1\n"           /* an older format, refused by name */
#define EXPORT_HEADER_DOMAIN "coex/1/export-header"

enum {
	EXPORT_MAGIC_LEN = 9,
	EXPORT_VERSION = 2,
	EXPORT_NAME_MAX = 64,                    /* bytes of the node's name */
	EXPORT_REASON_MAX = 127,                 /* bytes of an alarm's reason */
	EXPORT_LEN_PREFIX = 4,
	/* Largest record: an envelope of the largest message a node accepts (64 MiB) with
	 * room for its framing. Checked before anything is allocated. */
	EXPORT_RECORD_MAX = (64 << 20) + 4096,
};

struct export_header {
	uint32_t version;
	uint8_t key[32];                         /* the node's Ed25519 key */
	char name[EXPORT_NAME_MAX + 1];
	uint64_t created_ms;
	uint64_t entry_count;
	uint64_t head_count;
	uint64_t alarm_count;
	uint8_t alarms_hash[32];                 /* SHA-256 of the alarm records, framed */
	uint8_t signature[64];
};

/* A partner's two signed heads that no consistency proof joins (store/store_msg.h). */
struct export_alarm {
	uint8_t peer[32];
	uint64_t detected_ms;
	char reason[EXPORT_REASON_MAX + 1];
	struct tree_head seen, offered;
};

/* Signs h with id (which must be h->key's) over EXPORT_HEADER_DOMAIN || version (4, BE) ||
 * key (32) || name length (1) || name || created_ms (8, BE) || entry_count (8, BE) ||
 * head_count (8, BE) || alarm_count (8, BE) || alarms_hash (32). Returns 0, ERR_INVAL (name
 * too long) or ERR_CRYPTO. */
int export_header_sign(const struct identity *id, struct export_header *h);
/* Returns 0 if h->key signed h, else ERR_CRYPTO (ERR_INVAL: name too long). */
int export_header_verify(const struct export_header *h);

/* ------------------------------------------------------------------ writing */

/* A growable byte buffer. Zero it to start; export_buf_free releases it. */
struct export_buf {
	uint8_t *data;
	size_t len, cap;
};

void export_buf_free(struct export_buf *b);
/* Appends n raw bytes (a chunk of a file already framed). Returns 0 or ERR_NOMEM. */
int export_buf_append(struct export_buf *b, const uint8_t *p, size_t n);
/* Appends the magic, or one framed record. Return 0 or ERR_NOMEM (ERR_INVAL: a record
 * over EXPORT_RECORD_MAX, a name too long). */
int export_put_magic(struct export_buf *b);
int export_put_header(struct export_buf *b, const struct export_header *h);
int export_put_entry(struct export_buf *b, uint64_t index, const uint8_t *entry, size_t len);
int export_put_head(struct export_buf *b, const struct tree_head *h);
int export_put_envelope(struct export_buf *b, const uint8_t hash[32], const uint8_t *env,
			size_t len);
/* ERR_INVAL also for a reason over EXPORT_REASON_MAX bytes. */
int export_put_alarm(struct export_buf *b, const struct export_alarm *a);

/* ------------------------------------------------------------------ reading */

enum export_kind {
	EXPORT_HEADER = 1,
	EXPORT_ENTRY = 2,
	EXPORT_HEAD = 3,
	EXPORT_ENVELOPE = 4,
	EXPORT_ALARM = 5,
};

/* One decoded record. data points into the unpacked message, which the record owns until
 * export_record_release (or until the caller takes it with export_record_take); or, when
 * pb is NULL (entries, heads and envelopes are read in place), into the bytes decoded. */
struct export_record {
	enum export_kind kind;
	struct export_header header;             /* HEADER */
	uint64_t index;                          /* ENTRY */
	const uint8_t *data;                     /* ENTRY: the entry; ENVELOPE: the envelope */
	size_t len;
	struct tree_head head;                   /* HEAD */
	uint8_t hash[32];                        /* ENVELOPE */
	struct export_alarm alarm;               /* ALARM */
	void *pb;
};

/* Decodes one record (without its length prefix). Returns 0, or ERR_PROTO (does not
 * decode, a field of the wrong length, unknown fields, not in canonical form, no kind) or
 * ERR_NOMEM. Release with export_record_release. */
int export_record_decode(const uint8_t *in, size_t len, struct export_record *out);
void export_record_release(struct export_record *r);
/* Hands over what r->data points into: free it with export_record_free_owner(owner). */
void *export_record_take(struct export_record *r);
void export_record_free_owner(void *owner);

/* Reads a file's bytes: writes up to want bytes to buf and their count to *got (0 at the
 * end). Returns 0 or a negative error (-errno). */
typedef int (*export_read_fn)(void *arg, uint8_t *buf, size_t want, size_t *got);

/* Splits a byte stream into records, one at a time, in a buffer of its own (grown to the
 * largest record, at most EXPORT_RECORD_MAX). */
struct export_reader {
	export_read_fn read;
	void *arg;
	uint8_t *buf;
	size_t cap;
	uint64_t offset;                         /* bytes consumed */
	uint64_t records;                        /* records returned */
	bool old_version;                        /* the magic is EXPORT_MAGIC_V1 */
};

void export_reader_init(struct export_reader *r, export_read_fn read, void *arg);
void export_reader_free(struct export_reader *r);
/* Reads and checks the magic. Returns 0, ERR_PROTO (not an export file of this version:
 * r->old_version tells an export of format version 1, which this code does not read), or
 * the read error. */
int export_reader_magic(struct export_reader *r);
/* The next record: returns 1 with *rec, *len (valid until the next call), 0 at a clean end
 * of the file, ERR_PROTO if the file ends inside a record, ERR_TOOBIG if a length exceeds
 * EXPORT_RECORD_MAX, ERR_NOMEM, or the read error. */
int export_reader_next(struct export_reader *r, const uint8_t **rec, size_t *len);

/* The same over a file held in memory (mapped), from *at (just after the magic at first):
 * returns 1 with *rec pointing into data and *at moved past it, 0 at the end, ERR_PROTO if
 * the data ends inside a record, ERR_TOOBIG as export_reader_next. */
int export_mem_next(const uint8_t *data, size_t len, size_t *at, const uint8_t **rec,
		    size_t *rec_len);

#endif
