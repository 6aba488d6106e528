/* coex-bench-export N FILE [BATCH]: writes a synthetic export of about N entries shaped like
 * a busy sender's log, for timing `coex audit` at a size no benchmark run reaches quickly:
 *
 *     per batch of BATCH proposals (default 32):
 *       BATCH x (SENT entry + its 1 KiB envelope)                  then a head
 *       the receiver logs them (RECEIVED), signs one head
 *       BATCH x RECEIPT entry (receiver's head + inclusion proof)  then a head
 *
 * so per two entries: one envelope hash, one receipt (a proof of ~log2(N) hashes) and, per
 * batch, two own heads and one receiver head to verify. The file verifies with `coex audit`.
 * Not a test; a tool for the audit part of the benchmark. */
#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "crypto/merkle_range.h"
#include "tree_mem.h"
#include "lib/err.h"
#include "wire/export.h"
#include "wire/log_entry.h"
#include "wire/receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ENV_LEN = 1024, BATCH_MAX = 4096 };

#define T0 UINT64_C(1700000000000)

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
	fprintf(stderr, "coex-bench-export: %s\n", what);
	exit(1);
}

struct gen {
	FILE *out;
	struct identity a, b;
	struct merkle_range ra;      /* the sender's log */
	struct tree_mem tb;          /* the receiver's */
	uint64_t now, heads;
	struct export_buf buf;
};

static void flush(struct gen *g)
{
	if (g->buf.len && fwrite(g->buf.data, 1, g->buf.len, g->out) != g->buf.len)
		die("write failed");
	g->buf.len = 0;
}

static uint8_t *entry_bytes(int type, uint64_t now, const uint8_t peer[32], const uint8_t hash[32],
			    const uint8_t author[32], const uint8_t *receipt, size_t rlen, size_t *len)
{
	struct log_entry e;
	uint8_t *p;

	memset(&e, 0, sizeof(e));
	e.type = (enum log_entry_type)type;
	e.time_ms = now;
	memcpy(e.peer, peer, 32);
	e.has_message = true;
	memcpy(e.envelope_hash, hash, 32);
	memcpy(e.message_id, hash, 16);
	memcpy(e.author, author, 32);
	e.receipt = receipt;
	e.receipt_len = rlen;
	if (log_entry_encode(&e, &p, len) != 0)
		die("log_entry_encode");
	return p;
}

static void put_entry(struct gen *g, const uint8_t *e, size_t len)
{
	uint8_t leaf[32];

	if (export_put_entry(&g->buf, g->ra.size, e, len) != 0)
		die("export_put_entry");
	merkle_leaf_hash(e, len, leaf);
	merkle_range_append(&g->ra, leaf);
}

static void put_head(struct gen *g)
{
	struct tree_head h;

	memset(&h, 0, sizeof(h));
	h.size = g->ra.size;
	h.time_ms = g->now;
	merkle_range_root(&g->ra, h.root);
	if (tree_head_sign(&g->a, &h) != 0 || export_put_head(&g->buf, &h) != 0)
		die("head");
	g->heads++;
}

static void batch(struct gen *g, unsigned n, uint64_t *seq)
{
	uint8_t env[ENV_LEN], hash[BATCH_MAX][32], *recv[BATCH_MAX], *e, leaf[32];
	size_t recv_len[BATCH_MAX], len;
	uint64_t first = tree_mem_size(&g->tb);
	struct merkle_nodes rd = tree_mem_nodes(&g->tb);
	struct receipt r;

	g->now += 7;
	for (unsigned i = 0; i < n; i++) {
		memcpy(env, seq, sizeof(*seq));
		memset(env + sizeof(*seq), (int)(*seq & 0xff), ENV_LEN - sizeof(*seq));
		(*seq)++;
		crypto_hash_sha256(hash[i], env, ENV_LEN);
		e = entry_bytes(LOG_ENTRY_SENT, g->now, g->b.pk, hash[i], g->a.pk, NULL, 0, &len);
		put_entry(g, e, len);
		free(e);
		if (export_put_envelope(&g->buf, hash[i], env, ENV_LEN) != 0)
			die("envelope");
		recv[i] = entry_bytes(LOG_ENTRY_RECEIVED, g->now, g->a.pk, hash[i], g->a.pk, NULL, 0,
				      &recv_len[i]);
		merkle_leaf_hash(recv[i], recv_len[i], leaf);
		if (tree_mem_append(&g->tb, leaf) != 0)
			die("merkle_append");
	}
	put_head(g);
	memset(&r, 0, sizeof(r));
	r.head.size = tree_mem_size(&g->tb);
	r.head.time_ms = g->now + 1;
	if (merkle_root(&rd, r.head.size, r.head.root) != 0 || tree_head_sign(&g->b, &r.head) != 0)
		die("receiver head");
	g->now += 5;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *rb;
		size_t rlen;

		memcpy(r.envelope_hash, hash[i], 32);
		r.received_ms = g->now;
		r.log_index = first + i;
		r.entry = recv[i];
		r.entry_len = recv_len[i];
		if (merkle_prove_inclusion(&rd, r.log_index, r.head.size, r.proof, RECEIPT_PROOF_MAX,
					   &r.n_proof) != 0 || receipt_encode(&r, &rb, &rlen) != 0)
			die("receipt");
		e = entry_bytes(LOG_ENTRY_RECEIPT, g->now, g->b.pk, hash[i], g->a.pk, rb, rlen, &len);
		put_entry(g, e, len);
		free(e);
		free(rb);
		free(recv[i]);
	}
	put_head(g);
	flush(g);
}

int main(int argc, char **argv)
{
	struct gen g;
	struct export_header h;
	unsigned long long want = 0;
	unsigned per = 32;
	uint64_t seq = 0;

	if (argc < 3 || argc > 4 || (want = strtoull(argv[1], NULL, 10)) < 2)
		die("usage: coex-bench-export N FILE [BATCH]");
	if (argc == 4 && ((per = (unsigned)atoi(argv[3])) < 1 || per > BATCH_MAX))
		die("BATCH must be 1..4096");
	if (sodium_init() < 0)
		die("sodium_init");
	memset(&g, 0, sizeof(g));
	if (identity_generate(&g.a) != 0 || identity_generate(&g.b) != 0)
		die("identity_generate");
	merkle_range_init(&g.ra);
	g.now = T0;
	if (!(g.out = fopen(argv[2], "wb")))
		die("cannot open the output file");
	/* Every count is known before the first record: 2 entries and per batch 2 heads. */
	uint64_t props = (want + 1) / 2, batches = (props + per - 1) / per;
	memset(&h, 0, sizeof(h));
	h.version = EXPORT_VERSION;
	memcpy(h.key, g.a.pk, 32);
	snprintf(h.name, sizeof(h.name), "bench-sender");
	h.created_ms = T0 + 12 * batches + 1000;
	h.entry_count = 2 * props;
	h.head_count = 2 * batches;
	crypto_hash_sha256(h.alarms_hash, NULL, 0); /* no alarms */
	if (export_put_magic(&g.buf) != 0 || export_header_sign(&g.a, &h) != 0 ||
	    export_put_header(&g.buf, &h) != 0)
		die("header");
	while (props > 0) {
		unsigned n = props < per ? (unsigned)props : per;
		batch(&g, n, &seq);
		props -= n;
	}
	if (g.ra.size != h.entry_count || g.heads != h.head_count || fclose(g.out) != 0)
		die("counts or close");
	export_buf_free(&g.buf);
	tree_mem_free(&g.tb);
	identity_wipe(&g.a);
	identity_wipe(&g.b);
	fprintf(stderr, "%llu entries, %llu heads\n", (unsigned long long)h.entry_count,
		(unsigned long long)h.head_count);
	return 0;
}
