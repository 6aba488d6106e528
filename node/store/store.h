/* The node's SQLite store, DATA/coex.db: partners and invites here; messages, the outbox
 * and the exchange log in store_msg.h.
 *
 * The only module that includes sqlite3.h. One struct store is one connection; it is not
 * shared between threads at the same time, and one process at a time owns a database.
 * The file is opened in WAL mode with synchronous=FULL: when a write call returns 0 its
 * transaction is durable. Errors from SQLite are logged here, once, and mapped to
 * ERR_STORE (ERR_FULL when the disk is full, ERR_NOMEM when SQLite ran out of memory).
 * Out-parameters are written only on success. */
#ifndef COEX_STORE_STORE_H
#define COEX_STORE_STORE_H

#include "crypto/identity.h"

#include <stddef.h>
#include <stdint.h>

enum {
	STORE_SCHEMA_VERSION = 9,       /* PRAGMA user_version after all migrations */
	STORE_NAME_MAX = 64,            /* bytes in a partner's local name, without NUL */
	STORE_ADDRESS_MAX = 255,        /* bytes in "host:port", without NUL */
	STORE_ID_PREFIX_MIN = 4,        /* shortest id prefix store_partner_find accepts */
	STORE_NAME_SUFFIX_MAX = 99,     /* redeem tries "name-2" .. "name-99" */
	STORE_INVITE_ID_LEN = 16,
	STORE_INVITE_SECRET_LEN = 32,
};
/* Expired unused invites are kept this long after expiry (so "expired" can be told apart
 * from "unknown"), then pruned. */
#define STORE_INVITE_PRUNE_AFTER_MS ((int64_t)24 * 60 * 60 * 1000)

struct store;

/* A partner: a node we hold a link with. Strings are NUL-terminated; address and
 * introduced_by are "" when unknown or not applicable. */
struct store_partner {
	char name[STORE_NAME_MAX + 1];          /* local name, unique, 1..64 bytes */
	uint8_t id[IDENTITY_PK_LEN];            /* Ed25519 public key, unique */
	char address[STORE_ADDRESS_MAX + 1];    /* "host:port" to dial, or "" */
	int64_t added_ms;                       /* Unix time in ms */
	char introduced_by[STORE_NAME_MAX + 1]; /* local name of the introducer, or "" */
};

/* A one-time invite code we issued. used_ms is 0 and used_by all zero while unused. */
struct store_invite {
	uint8_t invite_id[STORE_INVITE_ID_LEN];
	uint8_t secret[STORE_INVITE_SECRET_LEN];
	int64_t created_ms, expires_ms, used_ms;
	uint8_t used_by[IDENTITY_PK_LEN];
};

/* Process-wide SQLite settings for a daemon (no allocation statistics); call once at start,
 * before any store_open. Optional: stores work without it. */
void store_process_init(void);

/* A store (one SQLite connection) may be used by one thread at a time, never by two at
 * once; open one per thread that needs the database concurrently. */

/* Opens (creating it with mode 0600 if absent) the database at path, a file path, and
 * migrates its schema to STORE_SCHEMA_VERSION, one transaction per step.
 * Returns 0 and *out, or ERR_STORE (cannot open, not a database, written by a newer coex:
 * each logged with the reason), ERR_FULL, ERR_NOMEM or -errno (cannot create the file). */
int store_open(const char *path, struct store **out);
/* Closes the database and frees s. Accepts NULL. */
void store_close(struct store *s);

/* Adds a partner. p->name must be 1..STORE_NAME_MAX bytes; strings must be NUL-terminated
 * within their arrays. Returns 0, ERR_INVAL, ERR_EXISTS (name or id taken) or a store error. */
int store_partner_add(struct store *s, const struct store_partner *p);
/* Removes the partner with this id. Returns 0, ERR_NOTFOUND or a store error. */
int store_partner_remove(struct store *s, const uint8_t id[IDENTITY_PK_LEN]);
/* Reads the partner with this id. Returns 0, ERR_NOTFOUND or a store error. */
int store_partner_get(struct store *s, const uint8_t id[IDENTITY_PK_LEN],
		      struct store_partner *out);
/* Resolves what a user typed: a local name (exact, tried first), a full node id
 * (IDENTITY_ID_LEN base32 characters) or a prefix of one of at least STORE_ID_PREFIX_MIN
 * characters (either case). Returns 0, ERR_NOTFOUND, ERR_AMBIGUOUS (a prefix matches more
 * than one partner) or a store error. */
int store_partner_find(struct store *s, const char *ref, struct store_partner *out);
/* Lists all partners ordered by name (bytewise) into a malloc'd array the caller frees
 * with free(); *out is NULL when *n is 0. Returns 0, ERR_NOMEM or a store error. */
int store_partner_list(struct store *s, struct store_partner **out, size_t *n);
/* Sets a partner's dial address ("" clears it). Returns 0, ERR_INVAL (longer than
 * STORE_ADDRESS_MAX), ERR_NOTFOUND or a store error. */
int store_partner_set_address(struct store *s, const uint8_t id[IDENTITY_PK_LEN],
			      const char *address);

/* Records a new, unused invite (inv->used_ms and inv->used_by are ignored).
 * Returns 0, ERR_INVAL (expires_ms <= created_ms), ERR_EXISTS (same invite_id) or a
 * store error. */
int store_invite_add(struct store *s, const struct store_invite *inv);
/* Reads an invite, secret included (the caller wipes *out when done).
 * Returns 0, ERR_NOTFOUND or a store error. */
int store_invite_get(struct store *s, const uint8_t invite_id[STORE_INVITE_ID_LEN],
		     struct store_invite *out);
/* Redeems an invite for the partner p, in one transaction: the invite must exist
 * (ERR_NOTFOUND), be unused (ERR_USED) and have now_ms < expires_ms (ERR_EXPIRED); it is
 * marked used by p->id at now_ms and p is added as given, unless a partner with p->id
 * already exists, which is kept unchanged. If p->name is taken by another partner the new
 * one is named "name-2", "name-3", ... (cut to fit STORE_NAME_MAX), ERR_EXISTS once
 * STORE_NAME_SUFFIX_MAX is passed. On any error nothing is written.
 * Returns 0 and, if stored is not NULL, the partner as now stored; ERR_INVAL (bad p),
 * ERR_NOTFOUND, ERR_USED, ERR_EXPIRED, ERR_EXISTS or a store error. */
int store_invite_redeem(struct store *s, const uint8_t invite_id[STORE_INVITE_ID_LEN],
			int64_t now_ms, const struct store_partner *p,
			struct store_partner *stored);
/* Deletes unused invites that expired more than STORE_INVITE_PRUNE_AFTER_MS before now_ms;
 * used invites are kept. Writes how many were deleted to *pruned if not NULL.
 * Returns 0 or a store error. */
int store_invite_prune(struct store *s, int64_t now_ms, size_t *pruned);

#endif
