/* Threads for the auditor's signature and hash checks (wire/log_verify.h jobs), so that an
 * audit uses every core: the reading thread parses, hashes entries and keeps the tree, the
 * workers verify signatures and hash envelopes. When the queue is full the reading thread
 * runs jobs itself instead of waiting. The result does not depend on the scheduling: the
 * first failure is chosen by entry index and order of the checks. */
#ifndef COEX_CLI_AUDIT_POOL_H
#define COEX_CLI_AUDIT_POOL_H

#include <stddef.h>

struct audit;
struct audit_pool;
struct log_verify_job;

/* Starts threads workers (at least 1). Returns 0 or a negative error. */
int audit_pool_new(int threads, struct audit_pool **out);
/* Stops the workers; every job must have been drained first. Accepts NULL. */
void audit_pool_free(struct audit_pool *p);

/* The opts.defer hook (arg: the pool). Called on the reading thread. */
void audit_pool_defer(void *arg, struct log_verify_job *j);
/* Hands the finished jobs back to a (audit_job_done), on the reading thread. */
void audit_pool_collect(struct audit_pool *p, struct audit *a);
/* Waits until every job is finished (helping), then hands them all back to a. */
void audit_pool_drain(struct audit_pool *p, struct audit *a);

/* How many worker threads suit this machine: one per core but the reading thread's, at
 * least 1; 0 on a single core (then the checks run inline). */
int audit_pool_threads(void);

#endif
