#include "audit_pool.h"

#include "lib/err.h"
#include "wire/audit.h"
#include "wire/log_verify.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	POOL_QUEUE_MAX = 2048,               /* jobs waiting before the reader helps */
	POOL_BYTES_MAX = 64 << 20,           /* envelope bytes waiting, likewise */
	POOL_THREADS_MAX = 16,
};

struct audit_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, finished;
	struct log_verify_job *todo, **todo_tail, *done;
	size_t queued, running;
	size_t queued_bytes;
	bool stop;
	int n;
	pthread_t threads[POOL_THREADS_MAX];
};

/* Takes the next job; the lock is held. */
static struct log_verify_job *pool_pop(struct audit_pool *p)
{
	struct log_verify_job *j = p->todo;

	if (!j)
		return NULL;
	p->todo = j->next;
	if (!p->todo)
		p->todo_tail = &p->todo;
	p->queued--;
	p->queued_bytes -= j->len;
	p->running++;
	return j;
}

/* Runs j outside the lock and files it as done. */
static void pool_run(struct audit_pool *p, struct log_verify_job *j)
{
	pthread_mutex_unlock(&p->mu);
	log_verify_job_run(j);
	pthread_mutex_lock(&p->mu);
	j->next = p->done;
	p->done = j;
	p->running--;
	pthread_cond_broadcast(&p->finished);
}

static void *pool_main(void *arg)
{
	struct audit_pool *p = arg;
	struct log_verify_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (!(j = pool_pop(p)))
			break;
		pool_run(p, j);
	}
	pthread_mutex_unlock(&p->mu);
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

void audit_pool_defer(void *arg, struct log_verify_job *j)
{
	struct audit_pool *p = arg;
	struct log_verify_job *mine;

	pthread_mutex_lock(&p->mu);
	j->next = NULL;
	*p->todo_tail = j;
	p->todo_tail = &j->next;
	p->queued++;
	p->queued_bytes += j->len;
	pthread_cond_signal(&p->work);
	/* Too much waiting: the reader does a share of the work instead of queueing more. */
	while ((p->queued > POOL_QUEUE_MAX || p->queued_bytes > POOL_BYTES_MAX) &&
	       (mine = pool_pop(p)))
		pool_run(p, mine);
	pthread_mutex_unlock(&p->mu);
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

	pthread_mutex_lock(&p->mu);
	d = pool_take_done(p);
	pthread_mutex_unlock(&p->mu);
	pool_give_back(a, d);
}

void audit_pool_drain(struct audit_pool *p, struct audit *a)
{
	struct log_verify_job *d, *mine;

	pthread_mutex_lock(&p->mu);
	while (p->todo || p->running) {
		if ((mine = pool_pop(p)))
			pool_run(p, mine);
		else
			pthread_cond_wait(&p->finished, &p->mu);
	}
	d = pool_take_done(p);
	pthread_mutex_unlock(&p->mu);
	pool_give_back(a, d);
}
