/* Verifying an exchange log from its parts: entries in index order, each signed tree head
 * right after the entry that completes it. No I/O, no threads: the node feeds it from its
 * store (store/log_check.h) and the auditor from an export file (wire/audit.h).
 *
 * Checks, in the order the parts arrive:
 *   entry:  index is the next one; the bytes decode as a LogEntry of a known type; a SENT,
 *           RECEIVED or RECEIPT entry names a message; a RECEIPT entry's Receipt decodes,
 *           names the entry's envelope hash and verifies against the partner's key in
 *           entry.peer (receipt_verify); its leaf hash is recomputed from the bytes.
 *   head:   its size is the number of entries so far; its time is plausible (not before
 *           2020, not after max_time_ms, not more than skew_ms before the previous head's);
 *           its root is the root recomputed from the entries (a compact range, so memory
 *           stays O(log n)); its signature by the log's key.
 *   envelope (export files): SHA-256 of the bytes is the hash the entry names.
 *
 * The first failure is kept: the entry index it is located at and a reason ("entry 17: leaf
 * does not match head 3's root"). Signature and hash checks may be handed to other threads
 * (opts.defer); every check is ranked in the order it comes up, and the failure reported is
 * the first by that rank, the one a run with every check inline stops at, whatever the
 * scheduling. Heads and entries are numbered from 0. */
#ifndef COEX_WIRE_LOG_VERIFY_H
#define COEX_WIRE_LOG_VERIFY_H

#include "crypto/merkle.h"
#include "crypto/merkle_range.h"
#include "wire/receipt.h"
#include "wire/tree_head.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	LOG_VERIFY_REASON_MAX = 240,   /* bytes of a reason, with its NUL */
	LOG_VERIFY_HEAD_CACHE = 16,    /* receipt heads remembered as already checked */
};
/* Heads dated before 2020-01-01 are implausible. */
#define LOG_VERIFY_EPOCH_MS UINT64_C(1577836800000)

enum log_verify_flags {
	/* Leaf hashes and roots only: no decoding beyond that, no signatures, no receipts,
	 * no envelopes (the cross-check pass over a file already audited). */
	LOG_VERIFY_HASH_ONLY = 1,
	/* Fill in log_verify_info's receipt_leaf (one more hash per receipt). */
	LOG_VERIFY_RECEIPT_LEAF = 2,
};

enum log_verify_job_kind {
	LOG_VERIFY_JOB_HEAD = 1,       /* a head's signature by the log's key */
	LOG_VERIFY_JOB_RECEIPT,        /* a receipt against the partner's key */
	LOG_VERIFY_JOB_ENVELOPE,       /* SHA-256 of an envelope */
};

/* One self-contained check. Created by the verifier; if opts.defer is set it is handed over
 * there, to be run by log_verify_job_run (on any thread) and handed back, on the verifier's
 * thread, with log_verify_job_done, which frees it. */
struct log_verify_job {
	enum log_verify_job_kind kind;
	uint64_t index;                /* entry the failure is located at */
	uint64_t order;                /* rank among all checks: the first failing one is kept */
	uint64_t head_no;              /* HEAD: the head's number */
	uint8_t pk[32];                /* the key that must have signed */
	struct tree_head head;         /* HEAD */
	bool head_checked;             /* RECEIPT: an earlier check covers the head's signature */
	uint8_t hash[32];              /* RECEIPT, ENVELOPE: the envelope hash */
	const uint8_t *data;           /* ENVELOPE: the bytes, owned by owner */
	size_t len;
	void (*release)(void *owner);  /* ENVELOPE: frees data (may be NULL) */
	void *owner;
	int err;                       /* result: 0, or ERR_CRYPTO / ERR_PROTO */
	char reason[LOG_VERIFY_REASON_MAX];
	struct log_verify_job *next;   /* for the deferring code's queues */
	struct receipt receipt;        /* RECEIPT: decoded, owned by the job (kept last: only
	                                * a RECEIPT job initialises it) */
};

struct log_verify_opts {
	const uint8_t *pk;             /* the log's own key (32 bytes): signs its heads */
	unsigned flags;                /* enum log_verify_flags */
	uint64_t skew_ms;              /* how far a head's time may go back */
	uint64_t max_time_ms;          /* no head after this (0: no bound) */
	void (*defer)(void *arg, struct log_verify_job *j);
	void *defer_arg;
};

/* What log_verify_entry learned about an entry. */
struct log_verify_info {
	int type;                      /* enum log_entry_type; 0 with LOG_VERIFY_HASH_ONLY */
	bool has_message;
	uint8_t envelope_hash[32];
	uint8_t peer[32];
	uint8_t leaf[32];              /* its leaf hash */
	bool has_receipt;              /* RECEIPT: what the receipt says of the partner's log */
	uint64_t receipt_index;        /*   the partner's entry for the message */
	uint8_t receipt_leaf[32];      /*   its leaf hash (LOG_VERIFY_RECEIPT_LEAF) */
	uint64_t receipt_size;         /*   the receipted head */
	uint8_t receipt_root[32];
};

struct log_verify_fail {
	bool failed;
	uint64_t index;
	uint64_t order;
	char reason[LOG_VERIFY_REASON_MAX];
};

/* The last inclusion proof that verified, step by step: a proof that reaches the same step
 * with the same node and has the same remaining hashes would compute the same, so it is
 * known to verify without hashing the rest. Consecutive receipts under one head share all
 * but their lowest steps: most of each proof is compared, not hashed. One per thread. */
struct log_verify_memo {
	bool valid;
	uint64_t size;
	uint8_t root[32];
	size_t n;
	uint64_t fn[MERKLE_MAX_PROOF], sn[MERKLE_MAX_PROOF];
	uint8_t r[MERKLE_MAX_PROOF][32];       /* the node going into each step */
	uint8_t proof[MERKLE_MAX_PROOF][32];
};

struct log_verify_cached_head {
	uint8_t pk[32];
	struct tree_head head;
};

/* The verifier's state; fields are read-only outside log_verify.c. */
struct log_verify {
	struct log_verify_opts opts;
	struct merkle_range range;     /* the entries so far */
	uint64_t heads;                /* heads so far */
	bool has_last;
	struct tree_head last;         /* the latest head */
	uint64_t order;
	uint64_t receipts;             /* RECEIPT entries checked */
	uint64_t envelopes;            /* envelopes checked */
	uint64_t pending;              /* jobs handed out, not yet back */
	struct log_verify_cached_head cache[LOG_VERIFY_HEAD_CACHE];
	size_t n_cache, cache_next;
	struct log_verify_fail fail;
	struct log_verify_memo memo;   /* for jobs run inline */
};

/* Starts an empty log. opts is copied; opts->pk must outlive v. */
void log_verify_init(struct log_verify *v, const struct log_verify_opts *opts);

/* Continues from a point already verified: range covers its first range->size entries,
 * heads heads were seen, the latest being last (NULL if none). Nothing is checked here. */
void log_verify_resume(struct log_verify *v, const struct merkle_range *range, uint64_t heads,
		       const struct tree_head *last);

/* The entry at index, its bytes verbatim. info (may be NULL) gets what was learned.
 * Returns 0 to go on; ERR_PROTO once a failure is recorded (stop feeding); ERR_NOMEM. */
int log_verify_entry(struct log_verify *v, uint64_t index, const uint8_t *entry, size_t len,
		     struct log_verify_info *info);

/* The next signed head. Returns as log_verify_entry. */
int log_verify_head(struct log_verify *v, const struct tree_head *h);

/* The envelope of the entry at index, which names hash: checks SHA-256(data) == hash.
 * release(owner) frees data once checked (now, or when a deferred job is done); it is called
 * on every path, also on error. Returns as log_verify_entry. */
int log_verify_envelope(struct log_verify *v, uint64_t index, const uint8_t hash[32],
			const uint8_t *data, size_t len, void (*release)(void *owner), void *owner);

/* Records a failure found by the caller (a bad record, a missing part) at index. Kept if it
 * is the first; returns ERR_PROTO. */
int log_verify_failf(struct log_verify *v, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Runs a job's check and sets j->err and j->reason. Touches nothing but j: any thread. */
void log_verify_job_run(struct log_verify_job *j);
/* The same, with the calling thread's memo (zeroed at first; may be NULL): the result is
 * the same with or without it, only faster. */
void log_verify_job_run_memo(struct log_verify_job *j, struct log_verify_memo *memo);
/* A deferred job is back: merges its result and frees it. */
void log_verify_job_done(struct log_verify *v, struct log_verify_job *j);

/* The first failure so far (failed false if none). Final once no job is pending. */
const struct log_verify_fail *log_verify_result(const struct log_verify *v);

#endif
