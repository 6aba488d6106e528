#include "net/commit.h"
#include "crypto/identity.h"
#include "lib/err.h"
#include "lib/failpoint.h"
#include "lib/log.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct commit {
	uv_loop_t *loop;
	struct store *w;                /* used by the worker thread only */
	const struct identity *self;
	uv_check_t check;               /* starts a batch after each loop turn's I/O */
	uv_timer_t lazy_timer;          /* commits lazy jobs no other job took along */
	uv_work_t work, prep_work;
	/* A job goes queued -> preparing -> ready -> batch: the prepare stage (signatures) of
	 * the next jobs runs on one worker while the current batch commits on another. */
	struct commit_job *queued, **queued_tail;
	size_t queued_urgent;           /* of which not lazy */
	bool lazy_due;                  /* the lazy ones waited long enough, or the node stops */
	struct commit_job *preparing;   /* in the prepare stage */
	struct commit_job *ready, **ready_tail;
	struct commit_job *batch;       /* in flight */
	bool busy, prep_busy, stopping;
	int open_handles;
	struct tree_head head;          /* the latest head: loop thread only */
	struct tree_head batch_head;
	bool batch_signed;
	uint64_t last_head_ms;          /* worker thread: the latest head's time */
	struct commit_stats stats;
	void (*stopped)(void *arg);
	void *stopped_arg;
};

static uint64_t commit_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Signs a head for the batch if the log grew. */
static int commit_sign_head(struct commit *c, uint64_t size_before, struct tree_head **out)
{
	uint64_t size;
	int r;

	*out = NULL;
	if ((r = store_log_size(c->w, &size)) != 0 || size == size_before)
		return r;
	memset(&c->batch_head, 0, sizeof(c->batch_head));
	c->batch_head.size = size;
	/* Heads never go back in time, even if the clock does (a corrected clock must not make
	 * the node's own log look tampered with). */
	c->batch_head.time_ms = commit_wall_ms();
	if (c->batch_head.time_ms < c->last_head_ms)
		c->batch_head.time_ms = c->last_head_ms;
	if ((r = store_log_root(c->w, size, c->batch_head.root)) != 0 ||
	    (r = tree_head_sign(c->self, &c->batch_head)) != 0)
		return r;
	if ((r = store_head_add(c->w, &c->batch_head)) != 0)
		return r;
	c->last_head_ms = c->batch_head.time_ms;
	*out = &c->batch_head;
	return 0;
}

/* Runs jobs first..last (last excluded) in one transaction. Returns 0, or the error of the
 * first job that failed (everything rolled back), or a batch error (all jobs failed). */
static int commit_run_batch(struct commit *c, struct commit_job *first, struct commit_job *last,
			    int *job_failed)
{
	struct tree_head *head;
	uint64_t size_before;
	int r;

	*job_failed = 0;
	if ((r = store_batch_begin(c->w)) != 0)
		return r;
	if ((r = store_log_size(c->w, &size_before)) != 0)
		goto fail;
	for (struct commit_job *j = first; j != last; j = j->next) {
		if (j->unprepared)
			continue;
		if ((r = j->run(c->w, j)) != 0) {
			j->err = r;
			*job_failed = 1;
			goto fail;
		}
	}
	if ((r = commit_sign_head(c, size_before, &head)) != 0)
		goto fail;
	for (struct commit_job *j = first; j != last; j = j->next)
		if (!j->unprepared && j->after && (r = j->after(c->w, j, head)) != 0)
			goto fail;
	failpoint("commit.before");
	if ((r = store_batch_commit(c->w)) != 0)
		goto fail;
	failpoint("commit.after");
	c->batch_signed = head != NULL; /* published to the loop thread in commit_after_work */
	return 0;
fail:
	store_batch_rollback(c->w);
	return r;
}

static void commit_prepare_list(struct commit_job *j);

static void commit_work(uv_work_t *w)
{
	struct commit *c = w->data;
	uint64_t t0 = uv_hrtime();
	int job_failed, r;

	commit_prepare_list(c->batch); /* those that skipped the prepare stage */
	r = commit_run_batch(c, c->batch, NULL, &job_failed);
	if (r != 0 && job_failed) {
		/* One job failed: run each alone so the others still commit. */
		for (struct commit_job *j = c->batch; j; j = j->next) {
			if (j->unprepared)
				continue;
			j->err = 0;
			if ((r = commit_run_batch(c, j, j->next, &job_failed)) != 0)
				j->err = r;
		}
	} else if (r != 0) {
		for (struct commit_job *j = c->batch; j; j = j->next)
			if (!j->unprepared)
				j->err = r;
	}
	c->stats.last_batch_us = (uv_hrtime() - t0) / 1000;
}

static void commit_kick(struct commit *c);

/* Whether everything has stopped: then done() of commit_stop runs. */
static void commit_maybe_stopped(struct commit *c)
{
	if (c->stopping && !c->busy && !c->prep_busy && !c->queued && !c->ready &&
	    c->open_handles == 0 && c->stopped)
		c->stopped(c->stopped_arg);
}

static void commit_fail_list(struct commit_job *j, int err)
{
	struct commit_job *next;

	for (; j; j = next) {
		next = j->next;
		j->err = err;
		j->done(j);
	}
}

static void commit_after_work(uv_work_t *w, int status)
{
	struct commit *c = w->data;
	struct commit_job *j = c->batch, *next;
	uint64_t n = 0;

	c->batch = NULL;
	c->busy = false;
	if (c->batch_signed)
		c->head = c->batch_head;
	c->batch_signed = false;
	for (; j; j = next, n++) {
		next = j->next;
		if (status != 0 && j->err == 0)
			j->err = status;
		j->done(j);
	}
	c->stats.batches++;
	c->stats.jobs += n;
	if (n > c->stats.max_batch)
		c->stats.max_batch = n;
	commit_kick(c);
	commit_maybe_stopped(c);
}

static void commit_prepare_list(struct commit_job *j)
{
	for (; j; j = j->next) {
		if (j->prepared)
			continue;
		j->err = j->prepare ? j->prepare(j) : 0;
		j->unprepared = j->err != 0;
		j->prepared = true;
	}
}

static void commit_prep_work(uv_work_t *w)
{
	struct commit *c = w->data;

	commit_prepare_list(c->preparing);
}

/* Appends list (in order) to the jobs ready to commit. */
static void commit_make_ready(struct commit *c, struct commit_job *list)
{
	*c->ready_tail = list;
	while (list) {
		c->ready_tail = &list->next;
		list = list->next;
	}
}

static void commit_prep_after(uv_work_t *w, int status)
{
	struct commit *c = w->data;
	struct commit_job *list = c->preparing;

	(void)status; /* a cancelled prepare stage cannot happen: jobs are never cancelled */
	c->preparing = NULL;
	c->prep_busy = false;
	if (c->stopping)
		commit_fail_list(list, ERR_UNAVAILABLE);
	else
		commit_make_ready(c, list);
	commit_kick(c);
	commit_maybe_stopped(c);
}

static bool commit_any_prepare(const struct commit_job *j)
{
	for (; j; j = j->next)
		if (j->prepare)
			return true;
	return false;
}

/* Whether the queued jobs move on: one of them is waited for, or the lazy ones are due. */
static bool commit_queued_due(const struct commit *c)
{
	return c->queued && (c->queued_urgent > 0 || c->lazy_due);
}

static struct commit_job *commit_take_queued(struct commit *c)
{
	struct commit_job *list = c->queued;

	c->queued = NULL;
	c->queued_tail = &c->queued;
	c->queued_urgent = 0;
	c->lazy_due = false;
	uv_timer_stop(&c->lazy_timer);
	return list;
}

/* Moves jobs along: queued ones into the prepare stage, ready ones into a batch. When nothing
 * is in flight, queued jobs go straight into a batch that prepares them itself (one hand-off
 * fewer at low load); when a batch is committing, the next jobs are prepared meanwhile. Lazy
 * jobs alone wait (commit_job.lazy). */
static void commit_kick(struct commit *c)
{
	if (!c->busy && !c->prep_busy && !c->ready && commit_queued_due(c))
		commit_make_ready(c, commit_take_queued(c));
	if (!c->prep_busy && commit_queued_due(c)) {
		struct commit_job *list = commit_take_queued(c);
		if (!commit_any_prepare(list)) {
			commit_make_ready(c, list);
		} else {
			c->preparing = list;
			c->prep_busy = true;
			c->prep_work.data = c;
			if (uv_queue_work(c->loop, &c->prep_work, commit_prep_work, commit_prep_after) != 0) {
				/* Cannot happen with valid arguments: prepare here rather than fail. */
				commit_prepare_list(list);
				c->preparing = NULL;
				c->prep_busy = false;
				commit_make_ready(c, list);
			}
		}
	}
	if (!c->busy && c->ready) {
		c->batch = c->ready;
		c->ready = NULL;
		c->ready_tail = &c->ready;
		c->busy = true;
		c->work.data = c;
		if (uv_queue_work(c->loop, &c->work, commit_work, commit_after_work) != 0) {
			/* Cannot happen with valid arguments; fail the jobs rather than lose them. */
			struct commit_job *list = c->batch;
			c->batch = NULL;
			c->busy = false;
			commit_fail_list(list, ERR_STORE);
		}
	}
}

static void commit_on_check(uv_check_t *h)
{
	commit_kick(h->data);
}

static void commit_on_lazy_timer(uv_timer_t *t)
{
	struct commit *c = t->data;

	c->lazy_due = true;
	commit_kick(c);
}

int commit_new(uv_loop_t *loop, const char *db_path, const struct identity *self,
	       struct commit **out)
{
	struct commit *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return ERR_NOMEM;
	c->loop = loop;
	c->self = self;
	c->queued_tail = &c->queued;
	c->ready_tail = &c->ready;
	if ((r = store_open(db_path, &c->w)) != 0) {
		free(c);
		return r;
	}
	if (store_head_latest(c->w, &c->head) == 0)
		c->last_head_ms = c->head.time_ms;
	uv_check_init(loop, &c->check);
	c->check.data = c;
	uv_timer_init(loop, &c->lazy_timer);
	c->lazy_timer.data = c;
	c->open_handles = 2;
	uv_check_start(&c->check, commit_on_check);
	uv_unref((uv_handle_t *)&c->check);
	uv_unref((uv_handle_t *)&c->lazy_timer);
	*out = c;
	return 0;
}

void commit_submit(struct commit *c, struct commit_job *job)
{
	job->next = NULL;
	job->err = 0;
	job->unprepared = job->prepared = false;
	if (c->stopping) {
		job->err = ERR_UNAVAILABLE;
		job->done(job);
		return;
	}
	*c->queued_tail = job;
	c->queued_tail = &job->next;
	if (!job->lazy)
		c->queued_urgent++;
	else if (!uv_is_active((uv_handle_t *)&c->lazy_timer))
		uv_timer_start(&c->lazy_timer, commit_on_lazy_timer, COMMIT_LAZY_MS, 0);
}

const struct tree_head *commit_head(const struct commit *c)
{
	return &c->head;
}

const struct commit_stats *commit_stats(const struct commit *c)
{
	return &c->stats;
}

static void commit_on_close(uv_handle_t *h)
{
	struct commit *c = h->data;

	c->open_handles--;
	commit_maybe_stopped(c);
}

/* At stop: fails the jobs of list that are waited for, keeps the lazy ones for a last batch. */
static void commit_stop_list(struct commit *c, struct commit_job *list)
{
	struct commit_job *next;

	for (; list; list = next) {
		next = list->next;
		if (list->lazy) {
			list->next = NULL;
			*c->queued_tail = list;
			c->queued_tail = &list->next;
		} else {
			list->err = ERR_UNAVAILABLE;
			list->done(list);
		}
	}
}

void commit_stop(struct commit *c, void (*done)(void *arg), void *arg)
{
	struct commit_job *ready = c->ready, *queued = commit_take_queued(c);

	c->stopping = true;
	c->stopped = done;
	c->stopped_arg = arg;
	c->ready = NULL;
	c->ready_tail = &c->ready;
	commit_stop_list(c, ready); /* in submission order */
	commit_stop_list(c, queued);
	c->lazy_due = true;
	uv_close((uv_handle_t *)&c->check, commit_on_close);
	uv_close((uv_handle_t *)&c->lazy_timer, commit_on_close);
	commit_kick(c);
}

void commit_free(struct commit *c)
{
	if (!c)
		return;
	store_close(c->w);
	free(c);
}
