/* store_msg.h: messages, the outbox and commit batches. The log is in test_store_log.c. */
#include "testutil.h"

#include "lib/err.h"
#include "store/store.h"
#include "store/store_msg.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[256];
	char path[512];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
	snprintf(f->path, sizeof(f->path), "%s/coex.db", f->dir);
	assert_int_equal(store_open(f->path, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->path, &f->s), 0);
}

static uint8_t envelope_bytes[300], signed_bytes[200], receipt_bytes[120];

/* Message n: hash, id and stored_ms derived from n; no thread, reply or receipt. The blobs
 * point at static buffers. */
static struct store_msg msg(uint8_t n, enum store_msg_dir dir, int64_t stored_ms)
{
	struct store_msg m;

	memset(&m, 0, sizeof(m));
	memset(m.hash, n, sizeof(m.hash));
	m.hash[31] = 0xa5;
	memset(m.id, n ^ 0x11, sizeof(m.id));
	memset(m.author, dir == STORE_MSG_OUT ? 0xa0 : 0xb0, sizeof(m.author));
	memset(m.recipient, dir == STORE_MSG_OUT ? 0xb0 : 0xa0, sizeof(m.recipient));
	memset(m.peer, 0xb0, sizeof(m.peer));
	m.dir = dir;
	m.kind = 1;
	m.state = dir == STORE_MSG_OUT ? STORE_MSG_QUEUED : STORE_MSG_RECEIVED;
	m.created_ms = stored_ms - 5;
	m.expires_ms = stored_ms + 86400000;
	m.stored_ms = stored_ms;
	snprintf(m.title, sizeof(m.title), "message %u", n);
	m.log_index = n;
	m.envelope = envelope_bytes;
	m.envelope_len = sizeof(envelope_bytes) - n;
	m.signed_msg = signed_bytes;
	m.signed_len = sizeof(signed_bytes) - n;
	return m;
}

static void assert_meta_equal(const struct store_msg *a, const struct store_msg *b)
{
	assert_memory_equal(a->hash, b->hash, sizeof(a->hash));
	assert_memory_equal(a->id, b->id, sizeof(a->id));
	assert_memory_equal(a->author, b->author, sizeof(a->author));
	assert_memory_equal(a->recipient, b->recipient, sizeof(a->recipient));
	assert_memory_equal(a->peer, b->peer, sizeof(a->peer));
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->expires_ms, b->expires_ms);
	assert_int_equal(a->stored_ms, b->stored_ms);
	assert_int_equal(a->has_thread, b->has_thread);
	if (a->has_thread)
		assert_memory_equal(a->thread, b->thread, sizeof(a->thread));
	assert_int_equal(a->has_reply_to, b->has_reply_to);
	if (a->has_reply_to)
		assert_memory_equal(a->reply_to, b->reply_to, sizeof(a->reply_to));
	assert_string_equal(a->title, b->title);
	assert_int_equal(a->log_index, b->log_index);
}

static void assert_blob_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	assert_int_equal(alen, blen);
	if (alen)
		assert_memory_equal(a, b, alen);
	else
		assert_null(b);
}

/* got was read with blobs; want holds the caller's blobs. */
static void assert_msg_equal(const struct store_msg *want, const struct store_msg *got)
{
	assert_meta_equal(want, got);
	assert_blob_equal(want->envelope, want->envelope_len, got->envelope, got->envelope_len);
	assert_blob_equal(want->signed_msg, want->signed_len, got->signed_msg, got->signed_len);
	assert_blob_equal(want->receipt, want->receipt_len, got->receipt, got->receipt_len);
}

static void test_insert_get(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1000), b = msg(2, STORE_MSG_IN, 2000), got;

	a.has_thread = true;
	memset(a.thread, 0x77, sizeof(a.thread));
	a.has_reply_to = true;
	memset(a.reply_to, 0x66, sizeof(a.reply_to));
	a.receipt = receipt_bytes;
	a.receipt_len = sizeof(receipt_bytes);
	a.kind = 5;
	a.log_index = UINT64_MAX; /* kept bit for bit */
	memset(a.title, 't', STORE_MSG_TITLE_MAX);
	a.title[STORE_MSG_TITLE_MAX] = '\0';
	b.title[0] = '\0';
	b.envelope = NULL; /* empty blobs read back as NULL, 0 */
	b.envelope_len = 0;
	b.signed_len = 0;
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_insert(f->s, &b), 0);

	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_msg_equal(&a, &got);
	store_msg_release(&got);
	assert_null(got.envelope);
	assert_int_equal(got.envelope_len, 0);
	store_msg_release(&got); /* twice is harmless */
	store_msg_release(NULL);

	assert_int_equal(store_msg_get_by_id(f->s, b.author, b.id, &got), 0);
	b.signed_msg = NULL;
	assert_msg_equal(&b, &got);
	assert_null(got.receipt);
	store_msg_release(&got);

	assert_int_equal(store_msg_get_by_id(f->s, a.author, a.id, &got), 0);
	assert_msg_equal(&a, &got);
	store_msg_release(&got);
}

static void test_insert_errors(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1000), x, got, untouched;

	assert_int_equal(store_msg_insert(f->s, &a), 0);
	x = msg(2, STORE_MSG_OUT, 1000); /* same hash, other id */
	memcpy(x.hash, a.hash, sizeof(x.hash));
	assert_int_equal(store_msg_insert(f->s, &x), ERR_EXISTS);
	x = msg(2, STORE_MSG_OUT, 1000); /* same (author, id), other hash */
	memcpy(x.id, a.id, sizeof(x.id));
	assert_int_equal(store_msg_insert(f->s, &x), ERR_EXISTS);
	memset(x.author, 0xcc, sizeof(x.author)); /* the same id from another author is new */
	assert_int_equal(store_msg_insert(f->s, &x), 0);

	x = msg(3, STORE_MSG_OUT, 1000);
	x.dir = (enum store_msg_dir)3;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x = msg(3, STORE_MSG_OUT, 1000);
	x.state = (enum store_msg_state)6;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x.state = (enum store_msg_state)-1;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x = msg(3, STORE_MSG_OUT, 1000);
	memset(x.title, 't', sizeof(x.title)); /* no NUL */
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x = msg(3, STORE_MSG_OUT, 1000);
	x.envelope = NULL;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x = msg(3, STORE_MSG_OUT, 1000);
	x.signed_msg = NULL;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);
	x = msg(3, STORE_MSG_OUT, 1000);
	x.receipt_len = 3;
	assert_int_equal(store_msg_insert(f->s, &x), ERR_INVAL);

	/* not found, and *out untouched */
	memset(&got, 0xee, sizeof(got));
	untouched = got;
	assert_int_equal(store_msg_get(f->s, x.hash, &got), ERR_NOTFOUND);
	assert_int_equal(store_msg_get_by_id(f->s, x.author, x.id, &got), ERR_NOTFOUND);
	memset(x.author, 0xdd, sizeof(x.author)); /* a's id, another author */
	assert_int_equal(store_msg_get_by_id(f->s, x.author, a.id, &got), ERR_NOTFOUND);
	assert_memory_equal(&got, &untouched, sizeof(got));
}

static void test_find(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1000), b = msg(2, STORE_MSG_OUT, 1000);
	struct store_msg c = msg(3, STORE_MSG_OUT, 1000), got, untouched;
	char hex[65], ref[70];

	/* a = abcd0..., b = abcd1..., c = ffff...: the prefix "abcd" is shared */
	a.hash[0] = b.hash[0] = 0xab;
	a.hash[1] = b.hash[1] = 0xcd;
	a.hash[2] = 0x0f;
	b.hash[2] = 0x10;
	memset(c.hash, 0xff, sizeof(c.hash));
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_insert(f->s, &b), 0);
	assert_int_equal(store_msg_insert(f->s, &c), 0);

	assert_int_equal(store_msg_find(f->s, "abcd", &got), ERR_AMBIGUOUS);
	assert_int_equal(store_msg_find(f->s, "abcd0", &got), 0);
	assert_msg_equal(&a, &got);
	store_msg_release(&got);
	assert_int_equal(store_msg_find(f->s, "abcd10", &got), 0);
	assert_msg_equal(&b, &got);
	store_msg_release(&got);
	assert_int_equal(store_msg_find(f->s, "ffff", &got), 0);
	assert_msg_equal(&c, &got);
	store_msg_release(&got);
	sodium_bin2hex(hex, sizeof(hex), b.hash, sizeof(b.hash));
	for (size_t len = 5; len <= 64; len++) {
		snprintf(ref, sizeof(ref), "%.*s", (int)len, hex);
		assert_int_equal(store_msg_find(f->s, ref, &got), 0);
		assert_memory_equal(got.hash, b.hash, sizeof(b.hash));
		store_msg_release(&got);
	}

	memset(&got, 0xee, sizeof(got));
	untouched = got;
	assert_int_equal(store_msg_find(f->s, "abcd2", &got), ERR_NOTFOUND);
	assert_int_equal(store_msg_find(f->s, "0000", &got), ERR_NOTFOUND);
	assert_int_equal(store_msg_find(f->s, "abc", &got), ERR_INVAL);  /* too short */
	assert_int_equal(store_msg_find(f->s, "", &got), ERR_INVAL);
	assert_int_equal(store_msg_find(f->s, "ABCD", &got), ERR_INVAL); /* lowercase only */
	assert_int_equal(store_msg_find(f->s, "abcg", &got), ERR_INVAL);
	assert_int_equal(store_msg_find(f->s, "abcd ", &got), ERR_INVAL);
	snprintf(ref, sizeof(ref), "%s0", hex); /* longer than a hash */
	assert_int_equal(store_msg_find(f->s, ref, &got), ERR_INVAL);
	assert_memory_equal(&got, &untouched, sizeof(got));
}

static void test_set_state_receipt(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1000), got;
	uint8_t missing[32];

	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_set_state(f->s, a.hash, STORE_MSG_SENT), 0);
	assert_int_equal(store_msg_set_state(f->s, a.hash, STORE_MSG_SENT), 0); /* unchanged: ok */
	assert_int_equal(store_msg_set_receipt(f->s, a.hash, receipt_bytes, 7), 0);
	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_int_equal(got.state, STORE_MSG_SENT);
	assert_blob_equal(receipt_bytes, 7, got.receipt, got.receipt_len);
	store_msg_release(&got);

	assert_int_equal(store_msg_set_state(f->s, a.hash, STORE_MSG_DELIVERED), 0);
	assert_int_equal(store_msg_set_receipt(f->s, a.hash, NULL, 0), 0); /* clears */
	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_int_equal(got.state, STORE_MSG_DELIVERED);
	assert_null(got.receipt);
	assert_int_equal(got.receipt_len, 0);
	a.state = STORE_MSG_DELIVERED;
	assert_msg_equal(&a, &got); /* nothing else changed */
	store_msg_release(&got);

	memset(missing, 0x99, sizeof(missing));
	assert_int_equal(store_msg_set_state(f->s, missing, STORE_MSG_SENT), ERR_NOTFOUND);
	assert_int_equal(store_msg_set_receipt(f->s, missing, receipt_bytes, 7), ERR_NOTFOUND);
	assert_int_equal(store_msg_set_state(f->s, a.hash, (enum store_msg_state)6), ERR_INVAL);
	assert_int_equal(store_msg_set_state(f->s, a.hash, (enum store_msg_state)-1), ERR_INVAL);
	assert_int_equal(store_msg_set_receipt(f->s, a.hash, NULL, 7), ERR_INVAL);
}

struct seen {
	size_t n, stop_after;
	uint8_t first[32][32];
};

static int on_msg(void *arg, const struct store_msg *m)
{
	struct seen *sn = arg;

	if (sn->n < 32)
		memcpy(sn->first[sn->n], m->hash, 32);
	sn->n++;
	return sn->stop_after && sn->n == sn->stop_after ? 42 : 0;
}

static int on_msg_no_blobs(void *arg, const struct store_msg *m)
{
	assert_null(m->envelope);
	assert_null(m->signed_msg);
	assert_null(m->receipt);
	assert_int_equal(m->envelope_len + m->signed_len + m->receipt_len, 0);
	return on_msg(arg, m);
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	/* n, dir, stored_ms: two ties on stored_ms, broken by insertion order */
	static const struct {
		uint8_t n;
		enum store_msg_dir dir;
		int64_t ms;
	} rows[] = {
		{1, STORE_MSG_OUT, 100}, {2, STORE_MSG_IN, 300}, {3, STORE_MSG_OUT, 200},
		{4, STORE_MSG_IN, 200},  {5, STORE_MSG_OUT, 50}, {6, STORE_MSG_IN, 400},
	};
	static const uint8_t all[] = {6, 2, 4, 3, 1, 5}, out[] = {3, 1, 5}, in[] = {6, 2, 4};
	struct seen sn;

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, -1, 0, on_msg, &sn), 0);
	assert_int_equal(sn.n, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct store_msg m = msg(rows[i].n, rows[i].dir, rows[i].ms);
		m.receipt = receipt_bytes;
		m.receipt_len = 9;
		assert_int_equal(store_msg_insert(f->s, &m), 0);
	}

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, -1, 0, on_msg_no_blobs, &sn), 0);
	assert_int_equal(sn.n, sizeof(all));
	for (size_t i = 0; i < sizeof(all); i++)
		assert_int_equal(sn.first[i][0], all[i]);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, STORE_MSG_OUT, 0, on_msg_no_blobs, &sn), 0);
	assert_int_equal(sn.n, sizeof(out));
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(sn.first[i][0], out[i]);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, STORE_MSG_IN, 2, on_msg, &sn), 0); /* limit */
	assert_int_equal(sn.n, 2);
	assert_int_equal(sn.first[0][0], in[0]);
	assert_int_equal(sn.first[1][0], in[1]);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, -1, 100, on_msg, &sn), 0);
	assert_int_equal(sn.n, sizeof(all));

	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 3; /* fn stops it: its value comes back */
	assert_int_equal(store_msg_list(f->s, -1, 0, on_msg, &sn), 42);
	assert_int_equal(sn.n, 3);
	/* and the statement was reset: the next call starts over */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, -1, 1, on_msg, &sn), 0);
	assert_int_equal(sn.first[0][0], all[0]);

	assert_int_equal(store_msg_list(f->s, 3, 0, on_msg, &sn), ERR_INVAL);
}

struct thread_seen {
	size_t n;
	uint8_t order[8];
};

static int on_thread_msg(void *arg, const struct store_msg *m)
{
	struct thread_seen *ts = arg;

	/* blobs are loaded, and belong to the store */
	assert_blob_equal(envelope_bytes, sizeof(envelope_bytes) - m->hash[0], m->envelope,
			  m->envelope_len);
	assert_blob_equal(signed_bytes, sizeof(signed_bytes) - m->hash[0], m->signed_msg,
			  m->signed_len);
	assert_true(m->has_thread);
	assert_true(ts->n < sizeof(ts->order));
	ts->order[ts->n++] = m->hash[0];
	return ts->n == 2 && m->hash[0] == 9 ? -7 : 0;
}

static void test_thread(void **state)
{
	struct fixture *f = *state;
	uint8_t t1[16], t2[16], none[16];
	struct thread_seen ts;
	struct store_msg m;

	memset(t1, 1, sizeof(t1));
	memset(t2, 2, sizeof(t2));
	memset(none, 3, sizeof(none));
	for (uint8_t n = 1; n <= 6; n++) {
		/* t1: 1, 3, 5 stored at 300, 100, 200; t2: 2, 4; 6 has no thread */
		m = msg(n, n % 2 ? STORE_MSG_OUT : STORE_MSG_IN, n == 1 ? 300 : n == 3 ? 100 : 200);
		m.has_thread = n != 6;
		memcpy(m.thread, n % 2 ? t1 : t2, sizeof(m.thread));
		assert_int_equal(store_msg_insert(f->s, &m), 0);
	}
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, t1, on_thread_msg, &ts), 0);
	assert_int_equal(ts.n, 3);
	assert_memory_equal(ts.order, "\x03\x05\x01", 3);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, t2, on_thread_msg, &ts), 0);
	assert_int_equal(ts.n, 2);
	assert_memory_equal(ts.order, "\x02\x04", 2);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, none, on_thread_msg, &ts), 0);
	assert_int_equal(ts.n, 0);

	/* order is by stored_ms, not insertion */
	m = msg(9, STORE_MSG_IN, 250);
	m.has_thread = true;
	memcpy(m.thread, t2, sizeof(m.thread));
	assert_int_equal(store_msg_insert(f->s, &m), 0);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, t2, on_thread_msg, &ts), 0);
	assert_int_equal(ts.n, 3);
	m = msg(10, STORE_MSG_IN, 150);
	m.has_thread = true;
	memcpy(m.thread, t2, sizeof(m.thread));
	assert_int_equal(store_msg_insert(f->s, &m), 0);
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, t2, on_thread_msg, &ts), 0);
	assert_int_equal(ts.n, 4);
	assert_memory_equal(ts.order, "\x0a\x02\x04\x09", 4);
}

static void test_thread_stop(void **state)
{
	struct fixture *f = *state;
	uint8_t t[16];
	struct thread_seen ts;
	struct store_msg m;

	memset(t, 1, sizeof(t));
	for (uint8_t n = 8; n <= 10; n++) { /* 8, 9, 10: fn stops at 9, the second */
		m = msg(n, STORE_MSG_IN, n);
		m.has_thread = true;
		memcpy(m.thread, t, sizeof(t));
		assert_int_equal(store_msg_insert(f->s, &m), 0);
	}
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(store_msg_thread(f->s, t, on_thread_msg, &ts), -7);
	assert_int_equal(ts.n, 2);
}

static void test_count(void **state)
{
	struct fixture *f = *state;
	uint64_t n = 99;

	assert_int_equal(store_msg_count(f->s, -1, -1, &n), 0);
	assert_int_equal(n, 0);
	for (uint8_t i = 1; i <= 10; i++) {
		struct store_msg m = msg(i, i <= 6 ? STORE_MSG_OUT : STORE_MSG_IN, i);
		assert_int_equal(store_msg_insert(f->s, &m), 0);
	}
	assert_int_equal(store_msg_set_state(f->s, msg(1, 0, 0).hash, STORE_MSG_DELIVERED), 0);
	assert_int_equal(store_msg_set_state(f->s, msg(2, 0, 0).hash, STORE_MSG_DELIVERED), 0);
	assert_int_equal(store_msg_set_state(f->s, msg(7, 0, 0).hash, STORE_MSG_ANSWERED), 0);
	assert_int_equal(store_msg_count(f->s, -1, -1, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_OUT, -1, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_IN, -1, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_OUT, STORE_MSG_QUEUED, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_OUT, STORE_MSG_DELIVERED, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_IN, STORE_MSG_RECEIVED, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_msg_count(f->s, -1, STORE_MSG_ANSWERED, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_msg_count(f->s, STORE_MSG_OUT, STORE_MSG_ANSWERED, &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(store_msg_count(f->s, 3, -1, &n), ERR_INVAL);
	assert_int_equal(store_msg_count(f->s, -1, 6, &n), ERR_INVAL);
	assert_int_equal(n, 99);
}

struct scan {
	size_t n, stop_after;
	uint64_t seq[16];
	uint8_t hash0[16];
};

static int on_entry(void *arg, uint64_t seq, const uint8_t hash[32])
{
	struct scan *sc = arg;

	assert_true(sc->n < 16);
	sc->seq[sc->n] = seq;
	sc->hash0[sc->n] = hash[0];
	sc->n++;
	return sc->stop_after && sc->n == sc->stop_after ? 5 : 0;
}

static void test_outbox(void **state)
{
	struct fixture *f = *state;
	uint8_t pa[32], pb[32], pc[32], missing[32];
	struct store_msg m9 = msg(9, STORE_MSG_OUT, 9);
	uint64_t seq[9], n = 99, s2 = 0;
	struct scan sc;

	memset(pa, 0xa1, sizeof(pa));
	memset(pb, 0xb2, sizeof(pb));
	memset(pc, 0xc3, sizeof(pc));
	/* messages 1..8 queued for a, b, a, a, b, b, a, b: interleaved */
	for (uint8_t i = 1; i <= 8; i++) {
		struct store_msg m = msg(i, STORE_MSG_OUT, i);
		const uint8_t *peer = (i == 1 || i == 3 || i == 4 || i == 7) ? pa : pb;
		assert_int_equal(store_msg_insert(f->s, &m), 0);
		assert_int_equal(store_outbox_add(f->s, m.hash, peer, &seq[i]), 0);
		if (i > 1)
			assert_true(seq[i] > seq[i - 1]);
	}
	assert_int_equal(store_outbox_count(f->s, pa, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_outbox_count(f->s, pb, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_outbox_count(f->s, pc, &n), 0);
	assert_int_equal(n, 0);

	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, 0, 0, on_entry, &sc), 0);
	assert_int_equal(sc.n, 4);
	assert_memory_equal(sc.hash0, "\x01\x03\x04\x07", 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sc.seq[i], seq[sc.hash0[i]]);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pb, 0, 0, on_entry, &sc), 0);
	assert_memory_equal(sc.hash0, "\x02\x05\x06\x08", 4);

	/* resume after a seq, with a limit */
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, seq[3], 2, on_entry, &sc), 0);
	assert_int_equal(sc.n, 2);
	assert_memory_equal(sc.hash0, "\x04\x07", 2);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, seq[7], 0, on_entry, &sc), 0);
	assert_int_equal(sc.n, 0);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, UINT64_MAX, 0, on_entry, &sc), 0);
	assert_int_equal(sc.n, 0);
	memset(&sc, 0, sizeof(sc));
	sc.stop_after = 2;
	assert_int_equal(store_outbox_scan(f->s, pb, 0, 0, on_entry, &sc), 5);
	assert_int_equal(sc.n, 2);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pc, 0, 0, on_entry, &sc), 0);
	assert_int_equal(sc.n, 0);

	/* errors */
	assert_int_equal(store_outbox_add(f->s, msg(1, 0, 0).hash, pa, &s2), ERR_EXISTS);
	assert_int_equal(store_outbox_add(f->s, msg(1, 0, 0).hash, pc, &s2), ERR_EXISTS);
	memset(missing, 0x99, sizeof(missing));
	assert_int_equal(store_outbox_add(f->s, missing, pa, &s2), ERR_NOTFOUND);
	assert_int_equal(s2, 0);
	assert_int_equal(store_outbox_remove(f->s, missing), ERR_NOTFOUND);

	/* remove from the middle and the end; a message queued again keeps its place (its
	 * seq is its position in the store) */
	assert_int_equal(store_outbox_remove(f->s, msg(3, 0, 0).hash), 0);
	assert_int_equal(store_outbox_remove(f->s, msg(3, 0, 0).hash), ERR_NOTFOUND);
	assert_int_equal(store_outbox_remove(f->s, msg(8, 0, 0).hash), 0);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, 0, 0, on_entry, &sc), 0);
	assert_memory_equal(sc.hash0, "\x01\x04\x07", 3);
	assert_int_equal(store_outbox_add(f->s, msg(8, 0, 0).hash, pb, &s2), 0);
	assert_int_equal(s2, seq[8]);
	assert_int_equal(store_outbox_add(f->s, msg(3, 0, 0).hash, pa, NULL), 0);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pa, 0, 0, on_entry, &sc), 0);
	assert_memory_equal(sc.hash0, "\x01\x03\x04\x07", 4);
	assert_int_equal(store_outbox_count(f->s, pa, &n), 0);
	assert_int_equal(n, 4);

	/* a message stored after a reopen is queued after every earlier one */
	reopen(f);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(f->s, pb, 0, 0, on_entry, &sc), 0);
	assert_memory_equal(sc.hash0, "\x02\x05\x06\x08", 4);
	assert_int_equal(sc.seq[3], s2);
	assert_int_equal(store_msg_insert(f->s, &m9), 0);
	assert_int_equal(store_outbox_add(f->s, m9.hash, pb, &n), 0);
	assert_true(n > s2);
}

static void test_batch(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1), b = msg(2, STORE_MSG_OUT, 2), got;
	struct store *reader = NULL;
	uint8_t peer[32];
	uint64_t n = 99;
	struct scan sc;

	memset(peer, 0xa1, sizeof(peer));
	assert_int_equal(store_batch_commit(f->s), ERR_STATE); /* none open */
	store_batch_rollback(f->s);                              /* harmless */

	/* a rolled-back batch leaves nothing behind */
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_int_equal(store_batch_begin(f->s), ERR_STATE);
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_outbox_add(f->s, a.hash, peer, NULL), 0);
	assert_int_equal(store_log_append(f->s, (const uint8_t *)"x", 1, NULL), 0);
	assert_int_equal(store_msg_insert(f->s, &a), ERR_EXISTS); /* a failure inside is fine */
	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);   /* seen inside */
	store_msg_release(&got);
	store_batch_rollback(f->s);
	assert_int_equal(store_msg_get(f->s, a.hash, &got), ERR_NOTFOUND);
	assert_int_equal(store_msg_count(f->s, -1, -1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_outbox_count(f->s, peer, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_log_size(f->s, &n), 0);
	assert_int_equal(n, 0);

	/* a committed batch is visible to another connection only once committed */
	assert_int_equal(store_open(f->path, &reader), 0);
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_insert(f->s, &b), 0);
	assert_int_equal(store_outbox_add(f->s, a.hash, peer, NULL), 0);
	assert_int_equal(store_outbox_add(f->s, b.hash, peer, NULL), 0);
	assert_int_equal(store_log_append(f->s, (const uint8_t *)"y", 1, NULL), 0);
	assert_int_equal(store_msg_get(reader, a.hash, &got), ERR_NOTFOUND);
	assert_int_equal(store_batch_commit(f->s), 0);
	assert_int_equal(store_msg_get(reader, a.hash, &got), 0);
	store_msg_release(&got);
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(store_outbox_scan(reader, peer, 0, 0, on_entry, &sc), 0);
	assert_memory_equal(sc.hash0, "\x01\x02", 2);
	assert_int_equal(store_log_size(reader, &n), 0);
	assert_int_equal(n, 1);
	store_close(reader);

	reopen(f);
	assert_int_equal(store_msg_get(f->s, b.hash, &got), 0);
	assert_msg_equal(&b, &got);
	store_msg_release(&got);
}

static void test_reopen_persists(void **state)
{
	struct fixture *f = *state;
	struct store_msg a = msg(1, STORE_MSG_OUT, 1000), b = msg(2, STORE_MSG_IN, 2000), got;
	struct seen sn;

	a.has_thread = true;
	memset(a.thread, 4, sizeof(a.thread));
	a.receipt = receipt_bytes;
	a.receipt_len = 33;
	assert_int_equal(store_msg_insert(f->s, &a), 0);
	assert_int_equal(store_msg_insert(f->s, &b), 0);
	assert_int_equal(store_msg_set_state(f->s, b.hash, STORE_MSG_ANSWERED), 0);
	reopen(f);
	assert_int_equal(store_msg_get(f->s, a.hash, &got), 0);
	assert_msg_equal(&a, &got);
	store_msg_release(&got);
	assert_int_equal(store_msg_find(f->s, "0202", &got), 0);
	b.state = STORE_MSG_ANSWERED;
	assert_msg_equal(&b, &got);
	store_msg_release(&got);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_msg_list(f->s, -1, 0, on_msg, &sn), 0);
	assert_int_equal(sn.n, 2);
	assert_int_equal(sn.first[0][0], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_state_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(envelope_bytes); i++)
		envelope_bytes[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(signed_bytes); i++)
		signed_bytes[i] = (uint8_t)(i * 13 + 2);
	for (size_t i = 0; i < sizeof(receipt_bytes); i++)
		receipt_bytes[i] = (uint8_t)(i * 17 + 3);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
