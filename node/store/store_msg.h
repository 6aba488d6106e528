/* Messages, the outbox, and the exchange log (entries, Merkle tree nodes, signed tree heads)
 * in the store. Thread-agnostic: the node runs every write here on its commit thread, inside
 * one transaction per batch (store_batch_begin/commit), so nothing is acknowledged before it
 * is durable. Reads may run on another connection (another struct store on the same file).
 * Functions return 0 or a negative ERR_* code and write out-parameters only on success. */
#ifndef COEX_STORE_STORE_MSG_H
#define COEX_STORE_STORE_MSG_H

#include "wire/tree_head.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum {
	STORE_MSG_TITLE_MAX = 200,   /* bytes of a stored title, without NUL */
	STORE_HASH_PREFIX_MIN = 4,   /* shortest hex prefix store_msg_find accepts */
	STORE_LOG_PROOF_MAX = 64,    /* hashes in the longest proof (= MERKLE_MAX_PROOF) */
};

/* OUT: authored here; IN: addressed here; RELAY: passed on for a forwarded thread (sealed,
 * unreadable here), queued in the outbox of its next hop. */
enum store_msg_dir { STORE_MSG_OUT = 0, STORE_MSG_IN = 1, STORE_MSG_RELAY = 2 };

/* Message states, as shown by the CLI. */
enum store_msg_state {
	STORE_MSG_QUEUED = 0,    /* out: durably queued, not yet sent */
	STORE_MSG_SENT = 1,      /* out: sent at least once, no receipt yet */
	STORE_MSG_DELIVERED = 2, /* out: the recipient's receipt is stored */
	STORE_MSG_ANSWERED = 3,  /* a response to it was sent or received */
	STORE_MSG_EXPIRED = 4,   /* out: expired before delivery; never sent again */
	STORE_MSG_RECEIVED = 5,  /* in: committed, receipt sent */
};

struct store_msg {
	uint8_t hash[32];          /* SHA-256 of the envelope: the message's name */
	uint8_t id[16];            /* the body's id */
	uint8_t author[32];
	uint8_t recipient[32];
	uint8_t peer[32];          /* the partner it went to (out) or came from (in) */
	enum store_msg_dir dir;
	int kind;                  /* enum message_kind of wire/message.h */
	enum store_msg_state state;
	int64_t created_ms, expires_ms, stored_ms;
	bool has_thread;
	uint8_t thread[16];
	bool has_reply_to;
	uint8_t reply_to[32];
	char title[STORE_MSG_TITLE_MAX + 1]; /* proposals: the title (cut by the caller), else "" */
	uint64_t log_index;        /* its entry in this node's log */
	/* Blobs, verbatim. On insert the caller's pointers are read (NULL allowed with length
	 * 0; receipt NULL: none yet). On get they are malloc'd and owned by the struct (release
	 * with store_msg_release); an empty blob or no receipt reads back as NULL, length 0. */
	uint8_t *envelope;
	size_t envelope_len;
	uint8_t *signed_msg;       /* the plaintext Signed{body, signature} */
	size_t signed_len;
	uint8_t *receipt;          /* the Receipt bytes: sent by us (in) or received (out) */
	size_t receipt_len;
};

/* Frees the blobs of a struct filled by a get, get_by_id or find call and sets them to
 * NULL. Accepts NULL, and structs whose blobs are NULL. */
void store_msg_release(struct store_msg *m);

/* One transaction for a whole commit batch (BEGIN IMMEDIATE; the store's own savepoints
 * nest inside). begin returns 0, ERR_STATE (a transaction is already open) or a store
 * error. commit returns 0 once the batch is durable, ERR_STATE (no batch open), or a store
 * error, in which case the batch has been rolled back and is over. rollback undoes the
 * batch; it does nothing when no transaction is open. */
int store_batch_begin(struct store *s);
int store_batch_commit(struct store *s);
void store_batch_rollback(struct store *s);

/* A read transaction: the reads between begin and end see one snapshot and take the
 * database's locks once instead of once each. begin returns 0, ERR_STATE (a transaction is
 * open) or a store error; end ends it (nothing if none is open). */
int store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* Inserts a message. ERR_EXISTS if its hash or its (author, id) is already stored;
 * ERR_INVAL if dir or state is out of range, title is not NUL-terminated within its array,
 * or a blob pointer is NULL with a non-zero length. */
int store_msg_insert(struct store *s, const struct store_msg *m);
/* By hash. ERR_NOTFOUND. */
int store_msg_get(struct store *s, const uint8_t hash[32], struct store_msg *out);
/* By (author, id): the de-duplication key. ERR_NOTFOUND. */
int store_msg_get_by_id(struct store *s, const uint8_t author[32], const uint8_t id[16],
			struct store_msg *out);
/* By a lowercase hex prefix of the hash (at least 4 characters). ERR_NOTFOUND,
 * ERR_AMBIGUOUS, ERR_INVAL (not lowercase hex, shorter than 4 or longer than 64). */
int store_msg_find(struct store *s, const char *hex_prefix, struct store_msg *out);
/* By hash, without the blobs (envelope, signed_msg, receipt stay NULL). ERR_NOTFOUND. */
int store_msg_get_meta(struct store *s, const uint8_t hash[32], struct store_msg *out);
/* ERR_NOTFOUND; ERR_INVAL (state out of range). */
int store_msg_set_state(struct store *s, const uint8_t hash[32], enum store_msg_state state);
/* Sets state to `to` only if it is `from`: ERR_NOTFOUND if no such message is in `from`. */
int store_msg_set_state_from(struct store *s, const uint8_t hash[32], enum store_msg_state from,
			     enum store_msg_state to);
/* A receipt came: stores it and sets the state to delivered, in one write. ERR_NOTFOUND;
 * ERR_INVAL (no receipt). */
int store_msg_set_delivered(struct store *s, const uint8_t hash[32], const uint8_t *receipt,
			    size_t len);
/* Stores the receipt bytes (len 0: clears it). ERR_NOTFOUND; ERR_INVAL (NULL with len > 0). */
int store_msg_set_receipt(struct store *s, const uint8_t hash[32], const uint8_t *receipt,
			  size_t len);
/* Calls fn for each message of direction dir (all directions if dir < 0; ERR_INVAL if
 * dir > 1), newest first (by stored_ms, then insertion order), at most limit (0: all);
 * blobs are not loaded (envelope/signed_msg/receipt NULL). fn returns 0 to go on, non-zero
 * to stop (that value is returned). fn may call other store functions, but must not call
 * the same function on the same store, nor delete messages. */
int store_msg_list(struct store *s, int dir, size_t limit,
		   int (*fn)(void *arg, const struct store_msg *m), void *arg);
/* Same, for the messages whose thread field is thread (ordered oldest first), blobs loaded:
 * they are owned by the store and valid only until fn returns. */
int store_msg_thread(struct store *s, const uint8_t thread[16],
		     int (*fn)(void *arg, const struct store_msg *m), void *arg);
/* Calls fn, as store_msg_thread does, for each forward this node authored (dir OUT, kind
 * forwarded), oldest first. */
int store_msg_forwarded(struct store *s, int (*fn)(void *arg, const struct store_msg *m), void *arg);
/* Counts by (dir, state), for metrics and status; a negative dir or state matches all. */
int store_msg_count(struct store *s, int dir, int state, uint64_t *out);

/* The outbox: messages waiting for a receipt, in per-peer order. An entry's sequence number
 * is its message's position in the store (its rowid: increasing with insertion across all
 * peers, never reused, since messages are never deleted); add writes it to *seq_out if not
 * NULL. Queue a message in the transaction that inserts it, as the node does, and the
 * outbox is in queue order; a message removed and queued again keeps its old place.
 * add: ERR_EXISTS if hash is already queued, ERR_NOTFOUND if no message has that hash.
 * remove: ERR_NOTFOUND. */
int store_outbox_add(struct store *s, const uint8_t hash[32], const uint8_t peer[32],
		     uint64_t *seq_out);
int store_outbox_remove(struct store *s, const uint8_t hash[32]);
/* Calls fn(arg, seq, hash) for peer's outbox entries with seq > after_seq, in order, at
 * most limit (0: all). Streams: never loads the whole outbox. fn returns as for
 * store_msg_list and must not change the outbox nor call store_outbox_scan. */
int store_outbox_scan(struct store *s, const uint8_t peer[32], uint64_t after_seq, size_t limit,
		      int (*fn)(void *arg, uint64_t seq, const uint8_t hash[32]), void *arg);
int store_outbox_count(struct store *s, const uint8_t peer[32], uint64_t *out);

/* The exchange log: an append-only sequence of entries in an RFC 9162 tree; its signed
 * heads are stored as the wire's struct tree_head. */

/* Appends entry (its leaf hash = SHA-256(0x00 || entry); NULL allowed if len is 0) and
 * stores every tree node it completes, atomically (a savepoint, inside the caller's batch
 * if any); *index_out gets its index if not NULL. O(log n). */
int store_log_append(struct store *s, const uint8_t *entry, size_t len, uint64_t *index_out);
int store_log_size(struct store *s, uint64_t *out);
/* Entry bytes (malloc'd, never NULL on success; the caller frees) and its leaf hash
 * (leaf_hash may be NULL). ERR_NOTFOUND. */
int store_log_entry(struct store *s, uint64_t index, uint8_t **entry, size_t *len,
		    uint8_t leaf_hash[32]);
/* Root of the first size entries, inclusion and consistency proofs (RFC 9162), each from
 * stored nodes in O(log n). proof has room for STORE_LOG_PROOF_MAX hashes; *n gets the
 * count. ERR_INVAL if a size exceeds the log's size, index >= size or size1 > size2. */
int store_log_root(struct store *s, uint64_t size, uint8_t root[32]);
int store_log_prove_inclusion(struct store *s, uint64_t index, uint64_t size,
			      uint8_t (*proof)[32], size_t *n);
int store_log_prove_consistency(struct store *s, uint64_t size1, uint64_t size2,
				uint8_t (*proof)[32], size_t *n);
/* Own signed tree heads: one per commit batch. ERR_INVAL unless h->size <= the log's size,
 * h->root is the root of that size, and h->size >= the latest head's size. */
int store_head_add(struct store *s, const struct tree_head *h);
/* The latest own head. ERR_NOTFOUND when none yet. */
int store_head_latest(struct store *s, struct tree_head *out);

/* Witnessing: each partner's latest verified head, and alarms with the two heads that no
 * consistency proof joins (evidence). */
struct store_alarm {
	uint8_t peer[32];
	int64_t detected_ms;
	char reason[128];
	struct tree_head seen, offered;
};

/* ERR_NOTFOUND when none is held yet. */
int store_peer_head_get(struct store *s, const uint8_t peer[32], struct tree_head *out);
int store_peer_head_put(struct store *s, const uint8_t peer[32], const struct tree_head *h);
int store_alarm_add(struct store *s, const struct store_alarm *a);
/* Calls fn for each alarm, oldest first; fn returns 0 to go on. */
int store_alarm_list(struct store *s, int (*fn)(void *arg, const struct store_alarm *a), void *arg);


/* ---- reading the log back (verification, export, coex log) ---- */

/* One item of a walk over the log. Pointers are valid only during the callback. */
struct store_log_item {
	bool is_head;
	uint64_t index;            /* entry: its index */
	const uint8_t *entry;      /* entry: its bytes, verbatim */
	size_t len;
	const uint8_t *leaf;       /* entry: the leaf hash stored in the tree; NULL if none */
	uint64_t seq;              /* head: its position among the own heads (1, 2, ...) */
	struct tree_head head;    /* head */
};

struct store_log_walk;

/* Walks entries [from, to) in index order and, interleaved, the own heads with
 * after_seq < seq <= max_seq in seq order: a head right after the entry that completes it
 * (size <= index + 1; heads with size <= from come before the first entry), and after the
 * last entry those with size <= to. A head whose size is not reached blocks the heads after
 * it. Missing entries are skipped, not invented: the callback sees the indices there are.
 * fn returns 0 to go on, non-zero to stop (returned). Streams: O(1) memory. */
int store_log_walk(struct store *s, uint64_t from, uint64_t to, uint64_t after_seq,
		   uint64_t max_seq,
		   int (*fn)(void *arg, struct store_log_walk *w, const struct store_log_item *it),
		   void *arg);
/* During a walk: the envelope of the stored message named hash, malloc'd (the caller
 * frees; never NULL on success). ERR_NOTFOUND. */
int store_log_walk_envelope(struct store_log_walk *w, const uint8_t hash[32], uint8_t **out,
			    size_t *len);

/* The latest own head and its seq. ERR_NOTFOUND when none yet. */
int store_head_last(struct store *s, uint64_t *seq, struct tree_head *out);
/* The own head at seq. ERR_NOTFOUND. */
int store_head_get(struct store *s, uint64_t seq, struct tree_head *out);
/* How many own heads have seq <= max_seq. */
int store_head_count(struct store *s, uint64_t max_seq, uint64_t *out);

/* How far the log was verified (store/log_check.h): the head verified last (its seq, the
 * number of heads up to it, its size) and the compact range of the first size leaf hashes. */
struct store_log_mark {
	uint64_t head_seq, heads, size;
	uint8_t range[64][32];
	size_t n_range;            /* popcount(size) */
	int64_t checked_ms;
};

/* ERR_NOTFOUND if the log was never verified; ERR_STORE if the row breaks the schema. */
int store_log_mark_get(struct store *s, struct store_log_mark *out);
/* Replaces the mark. ERR_INVAL if n_range > 64 or a number exceeds INT64_MAX. */
int store_log_mark_set(struct store *s, const struct store_log_mark *m);

#endif
