/* Group commit: every write the node makes for the exchange runs off the event loop, on a
 * thread-pool thread, in one SQLite transaction per batch. Jobs submitted during one loop
 * turn (and while a batch is in flight) form the next batch. A job's prepare() (signing,
 * sealing: work that needs no store) runs on that thread too, in order, before the batch's
 * transaction, so the loop thread only moves bytes. After a batch's writes, if the
 * log grew, one tree head is signed for the whole batch; then each job's after() builds what
 * needs that head (receipts); then the batch commits (durable), and only then does each
 * job's done() run on the loop thread. */
#ifndef COEX_NET_COMMIT_H
#define COEX_NET_COMMIT_H

#include "wire/tree_head.h"

#include <stdbool.h>
#include <uv.h>

struct identity;
struct store;
struct commit;

struct commit_job {
	struct commit_job *next;
	/* Worker thread, optional: work without the store before the batch's transaction. An
	 * error fails this job alone (run() is then skipped; done() sees the error). */
	int (*prepare)(struct commit_job *job);
	/* Worker thread: the job's writes. Returns 0 or an error (the batch is then retried
	 * with each job alone, so one bad job does not fail the others). */
	int (*run)(struct store *w, struct commit_job *job);
	/* Worker thread, optional: runs after the batch's head was signed (head is NULL if the
	 * log did not grow). An error fails the whole batch. */
	int (*after)(struct store *w, struct commit_job *job, const struct tree_head *head);
	/* Loop thread: the batch committed (err == 0) or failed. */
	void (*done)(struct commit_job *job);
	int err;
	/* Set by the submitter: writes nothing waits for (a partner's latest head, a display
	 * state). Such a job starts no batch, and so costs no fsync, of its own: it joins the next
	 * batch other jobs start, or after COMMIT_LAZY_MS one of its own; at commit_stop, a
	 * last batch. At low load this keeps the disk free for the writes someone waits on. */
	bool lazy;
	bool prepared, unprepared;      /* commit.c: prepare() ran; it failed */
};

enum { COMMIT_LAZY_MS = 500 };

struct commit_stats {
	uint64_t batches, jobs, max_batch;
	uint64_t last_batch_us;
};

/* Opens its own connection to db_path. Returns 0 or a negative code. */
int commit_new(uv_loop_t *loop, const char *db_path, const struct identity *self,
	       struct commit **out);
/* Queues job; done() will run exactly once. */
void commit_submit(struct commit *c, struct commit_job *job);
/* The latest head this node signed (zero size if none). */
const struct tree_head *commit_head(const struct commit *c);
const struct commit_stats *commit_stats(const struct commit *c);
/* Waits for the batch in flight, fails queued jobs with ERR_UNAVAILABLE (lazy ones are
 * committed in a last batch), closes handles; done() runs when everything is closed. */
void commit_stop(struct commit *c, void (*done)(void *arg), void *arg);
void commit_free(struct commit *c);

#endif
