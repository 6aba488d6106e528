/* Progress read from a running node's store, read-only. The control protocol has no cheap
 * count, and listing the outbox would load the node it measures; a WAL reader costs the node
 * nothing (it never blocks the writer) and a count by index costs the bench microseconds. */
#include "bench.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

enum { DB_BUSY_MS = 2000 };

enum db_query { Q_RECEIVED, Q_DELIVERED, Q_LOG_SIZE, Q_COUNT };

static const char *const db_sql[Q_COUNT] = {
	[Q_RECEIVED] = "SELECT count(*) FROM messages WHERE dir = 1",
	/* delivered (2) or answered (3): a receipt is stored */
	[Q_DELIVERED] = "SELECT count(*) FROM messages WHERE state IN (2, 3) AND dir = 0",
	[Q_LOG_SIZE] = "SELECT coalesce(max(idx) + 1, 0) FROM log_entries",
};

struct bench_db {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
};

struct bench_db *bench_db_open(const char *path)
{
	struct bench_db *d = calloc(1, sizeof(*d));

	if (!d)
		bench_die("out of memory");
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		bench_die("open %s read-only: %s", path, sqlite3_errmsg(d->db));
	sqlite3_busy_timeout(d->db, DB_BUSY_MS);
	for (int i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v2(d->db, db_sql[i], -1, &d->q[i], NULL) != SQLITE_OK)
			bench_die("%s: %s", path, sqlite3_errmsg(d->db));
	return d;
}

void bench_db_close(struct bench_db *d)
{
	if (!d)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(d->q[i]);
	sqlite3_close(d->db);
	free(d);
}

static long db_int(struct bench_db *d, sqlite3_stmt *st)
{
	long v = -1;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		bench_die("store read: %s", sqlite3_errmsg(d->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return v;
}

long bench_db_received(struct bench_db *d)
{
	return db_int(d, d->q[Q_RECEIVED]);
}

long bench_db_delivered(struct bench_db *d)
{
	return db_int(d, d->q[Q_DELIVERED]);
}

long bench_db_log_size(struct bench_db *d)
{
	return db_int(d, d->q[Q_LOG_SIZE]);
}

/* The watcher thread: its own read-only connections (a SQLite connection stays on one
 * thread), counts every BENCH_WATCH_MS until both targets are met, stopped or past the
 * deadline. */
static void *watch_main(void *arg)
{
	struct bench_watch *w = arg;
	struct bench_db *s = w->sender_db ? bench_db_open(w->sender_db) : NULL;
	struct bench_db *r = w->receiver_db ? bench_db_open(w->receiver_db) : NULL;

	for (;;) {
		double now = bench_now();
		if (s && w->t_delivered == 0 && (w->delivered = bench_db_delivered(s)) >= w->delivered_target)
			w->t_delivered = now;
		if (r && w->t_received == 0 && (w->received = bench_db_received(r)) >= w->received_target)
			w->t_received = now;
		if ((!s || w->t_delivered > 0) && (!r || w->t_received > 0))
			break;
		if (atomic_load(&w->stop) || now > w->deadline)
			break;
		bench_sleep_ms(BENCH_WATCH_MS);
	}
	bench_db_close(s);
	bench_db_close(r);
	return NULL;
}

void bench_watch_start(struct bench_watch *w, double timeout_s)
{
	w->t_delivered = w->t_received = 0;
	w->delivered = w->received = 0;
	w->deadline = bench_now() + timeout_s;
	atomic_store(&w->stop, false);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		bench_die("cannot start the watcher thread");
}

void bench_watch_join(struct bench_watch *w, bool stop_now)
{
	if (stop_now)
		atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
}
