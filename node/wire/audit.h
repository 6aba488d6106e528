/* The offline auditor: verifies an export file (wire/export.h) record by record, and
 * cross-checks two parties' files. No I/O: the caller reads the file (export_reader) and
 * feeds each record; signature and hash checks may run on other threads (opts.defer, see
 * wire/log_verify.h).
 *
 * One file: the header comes first and is signed by its key; entries are contiguous from 0
 * and each decodes; each SENT/RECEIVED entry is followed by exactly one envelope whose
 * SHA-256 is the hash the entry names; each head comes right after the entry that completes
 * it, is signed by the header's key, has a plausible time and the root recomputed from the
 * entries; each RECEIPT entry's receipt verifies against the partner's key; at the end the
 * counts match the header and the last head covers every entry. The alarms right after the
 * header match the hash the header signs; each alarm's two heads are checked against the
 * partner's key and for what they show (enum audit_evidence): an alarm is about the
 * partner and does not fail the file, unless its evidence is bad.
 *
 * Two files A and B (--against): A's RECEIPT entries from B's key are "probes" of B's log:
 * B's entry at the receipted index must be the receipted entry (the same leaf), and B's root
 * of the first receipt.head.size entries must be the receipted head's root. Probes are
 * collected while auditing A (opts.collect_peer) and answered while B streams past
 * (opts.probes); then the same the other way round. A's alarms about B's key are probes too
 * (opts.alarm_probes): B's log must have both evidence heads, or the alarm is confirmed. */
#ifndef COEX_WIRE_AUDIT_H
#define COEX_WIRE_AUDIT_H

#include "wire/export.h"
#include "wire/log_verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	AUDIT_SKEW_MS = 5 * 60 * 1000,   /* clock skew tolerated between heads (design.md §10) */
	AUDIT_NAME_MAX = EXPORT_NAME_MAX,
};

/* One receipt of the other party, to be found in the other party's log; or one evidence
 * head of an alarm about the other party (alarm_probes: index and leaf unused). */
struct audit_probe {
	uint64_t origin;                 /* the RECEIPT entry's index / the alarm's number */
	uint64_t index;                  /* the receipted entry, in the other log */
	uint8_t leaf[32];                /* its leaf hash */
	uint64_t size;                   /* the receipted (or evidence) head */
	uint8_t root[32];
	bool checked;                    /* answered (the file got that far) */
	bool missing;                    /* answered: the other log does not have this head */
};

/* What an alarm's two heads show by themselves (docs/export-format.md §6.1). */
enum audit_evidence {
	AUDIT_EVIDENCE_BAD = 0,          /* a signature does not verify, or nothing inconsistent */
	AUDIT_EVIDENCE_PROVEN,           /* inconsistent on their face: same size, other roots;
	                                  * or the smaller signed (skew) later than the larger */
	AUDIT_EVIDENCE_SIGNED,           /* both signed by the partner; the inconsistency rests
	                                  * on a consistency proof the file cannot hold: shown
	                                  * by auditing --against the partner's export */
};

struct audit_alarm {
	struct export_alarm alarm;
	enum audit_evidence evidence;
	char detail[LOG_VERIFY_REASON_MAX]; /* what the heads show, or what is wrong with them */
};

struct audit_opts {
	unsigned flags;                  /* LOG_VERIFY_HASH_ONLY for a probes-only pass */
	const uint8_t *collect_peer;     /* collect probes of receipts by this key (or NULL) */
	const struct audit_probe *probes;/* probes to answer against this file (copied) */
	size_t n_probes;
	const char *probes_name;         /* this file's node, as named in probe failures */
	const struct audit_probe *alarm_probes; /* evidence heads of alarms about this file's
	                                  * node, to look for in its log (copied) */
	size_t n_alarm_probes;
	const char *alarms_name;         /* the node that raised them */
	void (*defer)(void *arg, struct log_verify_job *j);
	void *defer_arg;
};

struct audit_result {
	bool header_ok;                  /* a signed header was read */
	struct export_header header;
	uint64_t entries, heads, receipts, envelopes;
	/* The first failure in this file. */
	bool failed;
	uint64_t first_bad_index;
	char reason[LOG_VERIFY_REASON_MAX];
	/* The first probe that failed (index: the probe's origin, in the other file). */
	bool probe_failed;
	uint64_t probe_index;
	char probe_reason[LOG_VERIFY_REASON_MAX];
	uint64_t probes_checked;
	/* Probes collected (opts.collect_peer), in origin order; owned by the audit. */
	const struct audit_probe *collected;
	size_t n_collected;
	/* The alarms this file carries, in file order; owned by the audit. */
	const struct audit_alarm *alarms;
	size_t n_alarms;
	/* opts.alarm_probes answered (missing set), sorted by size; the first that failed. */
	const struct audit_probe *alarm_probes;
	size_t n_alarm_probes;
	bool alarm_probe_failed;
	uint64_t alarm_probe_index;      /* an entry index in this file */
	char alarm_probe_reason[LOG_VERIFY_REASON_MAX];
};

struct audit;

/* Returns 0 and a new audit, or ERR_NOMEM. */
int audit_new(const struct audit_opts *opts, struct audit **out);
void audit_free(struct audit *a);

/* One record's bytes (without the length prefix). Returns 0 to go on, ERR_PROTO once the
 * file is found bad (stop; see audit_result), or ERR_NOMEM. */
int audit_record(struct audit *a, const uint8_t *rec, size_t len);
/* Reading the magic (export_reader_magic) or a record (export_reader_next) failed with r
 * (for the magic, ERR_STATE: a version 1 export). Records the failure; returns ERR_PROTO. */
int audit_magic_failed(struct audit *a, int r);
int audit_read_failed(struct audit *a, int r);
/* The file ended cleanly: checks counts and coverage, and probes left unanswered. Returns
 * 0 or ERR_PROTO. */
int audit_finish(struct audit *a);

/* Reads a whole file through read(arg) (an export_reader inside) and feeds it: the magic,
 * every record, then audit_finish, or the reading failure. Every AUDIT_TICK_RECORDS records
 * tick(tick_arg, bytes read so far) runs (may be NULL), e.g. to hand back finished jobs.
 * Returns 0 (audit_result says how it went) or ERR_NOMEM. Jobs may still be pending. */
enum { AUDIT_TICK_RECORDS = 256 };
int audit_stream(struct audit *a, export_read_fn read, void *arg,
		 void (*tick)(void *tick_arg, uint64_t offset), void *tick_arg);

/* The same over a whole file in memory (e.g. mapped), which must stay valid and unchanged
 * until audit_free: records are read in place, envelopes hashed without a copy. */
int audit_stream_mem(struct audit *a, const uint8_t *data, size_t len,
		     void (*tick)(void *tick_arg, uint64_t offset), void *tick_arg);

/* A job handed to opts.defer is back (run by log_verify_job_run). */
void audit_job_done(struct audit *a, struct log_verify_job *j);
/* Jobs handed out and not yet back. */
uint64_t audit_pending(const struct audit *a);

/* The result so far; final after audit_finish (or a failure) once no job is pending. */
const struct audit_result *audit_result(struct audit *a);

#endif
