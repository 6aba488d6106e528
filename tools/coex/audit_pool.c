#include "audit_pool.h"

#include "lib/err.h"
#include "wire/audit.h"
#include "wire/log_verify.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	POOL_QUEUE_MAX = 4096,               /* jobs waiting before the reader helps */
	POOL_BYTES_MAX = 64 << 20,           /* envelope bytes waiting, likewise */
	POOL_THREADS_MAX = 16,
	POOL_STAGE = 64,                     /* jobs handed over in one go */
	POOL_STAGE_BYTES = 1 << 20,
	POOL_TAKE = 16,                      /* jobs a worker takes at a time */
};

struct audit_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, finished;
	struct log_verify_job *todo, **todo_tail, *done;
	size_t queued, running;
	size_t queued_bytes;
	bool stop;
	/* Staged by the reading thread, not yet handed over: no lock per job. */
	struct log_verify_job *stage, **stage_tail;
	size_t n_stage, stage_bytes;
	int n;
	pthread_t threads[POOL_THREADS_MAX];
	struct log_verify_memo reader_memo;  /* for the jobs the reading thread runs */
};

/* Takes up to max jobs into a list; the lock is held. Returns how many. */
static size_t pool_pop(struct audit_pool *p, struct log_verify_job **list, size_t max)
{
	struct log_verify_job *j, **tail = list;
	size_t n = 0;

	while (n < max && (j = p->todo)) {
		p->todo = j->next;
		p->queued--;
		p->queued_bytes -= j->len;
		*tail = j;
		tail = &j->next;
		n++;
	}
	*tail = NULL;
	if (!p->todo)
		p->todo_tail = &p->todo;
	p->running += n;
	return n;
}

/* Runs the jobs of list outside the lock and files them as done. */
static void pool_run(struct audit_pool *p, struct log_verify_job *list, size_t n,
		     struct log_verify_memo *memo)
{
	struct log_verify_job *j, *last = NULL;

	pthread_mutex_unlock(&p->mu);
	for (j = list; j; j = j->next) {
		log_verify_job_run_memo(j, memo);
		last = j;
	}
	pthread_mutex_lock(&p->mu);
	if (last) {
		last->next = p->done;
		p->done = list;
	}
	p->running -= n;
	pthread_cond_broadcast(&p->finished);
}

static void *pool_main(void *arg)
{
	struct audit_pool *p = arg;
	struct log_verify_job *list;
	struct log_verify_memo *memo = calloc(1, sizeof(*memo)); /* NULL: runs without */
	size_t n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if ((n = pool_pop(p, &list, POOL_TAKE)) == 0)
			break;
		pool_run(p, list, n, memo);
	}
	pthread_mutex_unlock(&p->mu);
	free(memo);
	return NULL;
}

int audit_pool_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n - 1 > POOL_THREADS_MAX ? POOL_THREADS_MAX : (int)(n - 1);
}

int audit_pool_new(int threads, struct audit_pool **out)
{
	struct audit_pool *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return ERR_NOMEM;
	if (threads < 1)
		threads = 1;
	if (threads > POOL_THREADS_MAX)
		threads = POOL_THREADS_MAX;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	p->todo_tail = &p->todo;
	p->stage_tail = &p->stage;
	for (; p->n < threads; p->n++) {
		if ((r = pthread_create(&p->threads[p->n], NULL, pool_main, p)) != 0) {
			audit_pool_free(p);
			return -r;
		}
	}
	*out = p;
	return 0;
}

void audit_pool_free(struct audit_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->finished);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Hands the staged jobs to the workers; while too much waits, the reader runs some. */
static void pool_publish(struct audit_pool *p)
{
	struct log_verify_job *mine;
	size_t n;

	if (!p->stage)
		return;
	pthread_mutex_lock(&p->mu);
	*p->todo_tail = p->stage;
	p->todo_tail = p->stage_tail;
	p->queued += p->n_stage;
	p->queued_bytes += p->stage_bytes;
	p->stage = NULL;
	p->stage_tail = &p->stage;
	p->n_stage = p->stage_bytes = 0;
	pthread_cond_broadcast(&p->work);
	while ((p->queued > POOL_QUEUE_MAX || p->queued_bytes > POOL_BYTES_MAX) &&
	       (n = pool_pop(p, &mine, POOL_TAKE)) > 0)
		pool_run(p, mine, n, &p->reader_memo);
	pthread_mutex_unlock(&p->mu);
}

void audit_pool_defer(void *arg, struct log_verify_job *j)
{
	struct audit_pool *p = arg;

	j->next = NULL;
	*p->stage_tail = j;
	p->stage_tail = &j->next;
	p->n_stage++;
	p->stage_bytes += j->len;
	if (p->n_stage >= POOL_STAGE || p->stage_bytes >= POOL_STAGE_BYTES)
		pool_publish(p);
}

/* Takes the finished jobs; the lock is held. */
static struct log_verify_job *pool_take_done(struct audit_pool *p)
{
	struct log_verify_job *d = p->done;

	p->done = NULL;
	return d;
}

static void pool_give_back(struct audit *a, struct log_verify_job *d)
{
	struct log_verify_job *next;

	for (; d; d = next) {
		next = d->next;
		audit_job_done(a, d);
	}
}

void audit_pool_collect(struct audit_pool *p, struct audit *a)
{
	struct log_verify_job *d;

	pool_publish(p);
	pthread_mutex_lock(&p->mu);
	d = pool_take_done(p);
	pthread_mutex_unlock(&p->mu);
	pool_give_back(a, d);
}

void audit_pool_drain(struct audit_pool *p, struct audit *a)
{
	struct log_verify_job *d, *mine;
	size_t n;

	pool_publish(p);
	pthread_mutex_lock(&p->mu);
	while (p->todo || p->running) {
		if ((n = pool_pop(p, &mine, POOL_TAKE)) > 0)
			pool_run(p, mine, n, &p->reader_memo);
		else
			pthread_cond_wait(&p->finished, &p->mu);
	}
	d = pool_take_done(p);
	pthread_mutex_unlock(&p->mu);
	pool_give_back(a, d);
}
