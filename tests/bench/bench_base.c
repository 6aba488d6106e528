/* Baselines, measured in the same run as the node: the public-key work every proposal needs
 * (the author's signature and the receiver's verification: the crypto floor), the cheap
 * symmetric work around it, SHA-256 (libsodium's and coex's own, which the audit mostly
 * runs), and the disk's durable group-commit rate. */
#include "bench.h"

#include "crypto/sha256.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	BASE_MSG = 1024,             /* bytes per crypto operation */
	BASE_ROUNDS = 3,             /* the median of three rounds */
	BASE_CHECK_EVERY = 32,       /* operations between clock reads */
	BASE_ROW_BYTES = 1229,       /* ~1.2 KiB: an envelope and its metadata */
	BASE_BATCH_ROWS = 100,
};

struct base_ctx {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t sig[crypto_sign_BYTES];
	uint8_t box_k[crypto_box_BEFORENMBYTES];
	uint8_t nonce[crypto_box_NONCEBYTES];      /* a fresh one per seal */
	uint8_t boxed_nonce[crypto_box_NONCEBYTES]; /* the one boxed was sealed with */
	uint8_t aead_k[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint8_t msg[BASE_MSG];
	uint8_t boxed[BASE_MSG + crypto_box_MACBYTES];
	uint8_t out[BASE_MSG + 64];
};

typedef int (*base_op)(struct base_ctx *c);

static int op_sign(struct base_ctx *c)
{
	return crypto_sign_detached(c->sig, NULL, c->msg, BASE_MSG, c->sk);
}

static int op_verify(struct base_ctx *c)
{
	return crypto_sign_verify_detached(c->sig, c->msg, BASE_MSG, c->pk);
}

static int op_box_seal(struct base_ctx *c)
{
	randombytes_buf(c->nonce, sizeof(c->nonce));
	return crypto_box_easy_afternm(c->out, c->msg, BASE_MSG, c->nonce, c->box_k);
}

static int op_box_open(struct base_ctx *c)
{
	return crypto_box_open_easy_afternm(c->out, c->boxed, sizeof(c->boxed), c->boxed_nonce,
					    c->box_k);
}

static int op_aead(struct base_ctx *c)
{
	unsigned long long n;

	return crypto_aead_chacha20poly1305_ietf_encrypt(c->out, &n, c->msg, BASE_MSG, NULL, 0, NULL,
							 c->nonce, c->aead_k);
}

static int op_sha256(struct base_ctx *c)
{
	return crypto_hash_sha256(c->out, c->msg, BASE_MSG);
}

/* One SHA-256 of len bytes by libsodium (impl < 0) or by crypto/sha256 (impl >= 0). */
static void sha_once(int impl, uint8_t out[32], const uint8_t *in, size_t len)
{
	if (impl < 0)
		crypto_hash_sha256(out, in, len);
	else
		sha256_with((enum sha256_impl)impl, out, in, len);
}

/* MB/s (10^6 bytes) hashing len-byte inputs for about seconds, on this core. */
static double sha_mb_per_s(int impl, const uint8_t *in, size_t len, double seconds)
{
	double t0 = bench_now(), t = t0;
	uint8_t out[32];
	long n = 0;

	while (t < t0 + seconds) {
		for (int i = 0; i < BASE_CHECK_EVERY; i++)
			sha_once(impl, out, in, len);
		n += BASE_CHECK_EVERY;
		t = bench_now();
	}
	return (double)n * (double)len / (t - t0) / 1e6;
}

/* SHA-256 throughput by input size: libsodium against crypto/sha256 on this CPU. */
static void bench_sha256(double seconds)
{
	static const struct {
		size_t len;
		const char *key, *label;
	} sizes[] = {
		{ 64, "64", "64 B" },
		{ 1024, "1k", "1 KiB" },
		{ 1 << 20, "1m", "1 MiB" },
	};
	uint8_t *in = malloc(1 << 20);
	char key[64], label[96];

	if (!in)
		bench_die("out of memory");
	randombytes_buf(in, 1 << 20);
	report_section(sha256_best() == SHA256_SHANI
			       ? "baselines: SHA-256, one core, MB/s (coex: x86 SHA extensions)"
			       : "baselines: SHA-256, one core, MB/s (coex: libsodium, no SHA extensions)");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double sodium = sha_mb_per_s(-1, in, sizes[i].len, seconds);
		double ours = sha_mb_per_s((int)sha256_best(), in, sizes[i].len, seconds);

		snprintf(key, sizeof(key), "sha256_sodium_%s_mb_per_s", sizes[i].key);
		snprintf(label, sizeof(label), "libsodium crypto_hash_sha256, %s inputs", sizes[i].label);
		report_add(key, label, sodium, "MB/s", RATIO_NONE);
		snprintf(key, sizeof(key), "sha256_coex_%s_mb_per_s", sizes[i].key);
		snprintf(label, sizeof(label), "coex sha256, %s inputs", sizes[i].label);
		report_add(key, label, ours, "MB/s", RATIO_NONE);
	}
	free(in);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Operations per second on this core: the median of BASE_ROUNDS rounds of seconds/ROUNDS. */
static double base_rate(struct base_ctx *c, base_op op, double seconds, const char *name)
{
	double rates[BASE_ROUNDS];

	for (int r = 0; r < BASE_ROUNDS; r++) {
		double t0 = bench_now(), t = t0, end = t0 + seconds / BASE_ROUNDS;
		long n = 0;

		while (t < end) {
			for (int i = 0; i < BASE_CHECK_EVERY; i++)
				if (op(c) != 0)
					bench_die("baseline %s failed", name);
			n += BASE_CHECK_EVERY;
			t = bench_now();
		}
		rates[r] = (double)n / (t - t0);
	}
	qsort(rates, BASE_ROUNDS, sizeof(rates[0]), cmp_double);
	return rates[BASE_ROUNDS / 2];
}

void bench_crypto(const struct bench_sizes *z)
{
	struct base_ctx *c = sodium_malloc(sizeof(*c));
	uint8_t bpk[crypto_box_PUBLICKEYBYTES], bsk[crypto_box_SECRETKEYBYTES];
	double sign, verify, seal, open, aead, sha, floor1;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!c)
		bench_die("out of memory");
	randombytes_buf(c->msg, sizeof(c->msg));
	crypto_sign_keypair(c->pk, c->sk);
	crypto_box_keypair(bpk, bsk);
	if (crypto_box_beforenm(c->box_k, bpk, bsk) != 0)
		bench_die("crypto_box_beforenm failed");
	crypto_aead_chacha20poly1305_ietf_keygen(c->aead_k);
	op_sign(c);
	randombytes_buf(c->nonce, sizeof(c->nonce));
	randombytes_buf(c->boxed_nonce, sizeof(c->boxed_nonce));
	crypto_box_easy_afternm(c->boxed, c->msg, BASE_MSG, c->boxed_nonce, c->box_k);

	sign = base_rate(c, op_sign, z->crypto_s, "sign");
	verify = base_rate(c, op_verify, z->crypto_s, "verify");
	seal = base_rate(c, op_box_seal, z->crypto_s, "box seal");
	open = base_rate(c, op_box_open, z->crypto_s, "box open");
	aead = base_rate(c, op_aead, z->crypto_s, "aead");
	sha = base_rate(c, op_sha256, z->crypto_s, "sha256");
	floor1 = 1.0 / (1.0 / sign + 1.0 / verify);

	report_section("baselines: libsodium, one core, 1 KiB messages");
	report_add("ed25519_sign_per_s", "Ed25519 sign", sign, "/s", RATIO_NONE);
	report_add("ed25519_verify_per_s", "Ed25519 verify", verify, "/s", RATIO_NONE);
	report_add("box_afternm_seal_per_s", "crypto_box_easy_afternm (+ random nonce)", seal, "/s",
		   RATIO_NONE);
	report_add("box_afternm_open_per_s", "crypto_box_open_easy_afternm", open, "/s", RATIO_NONE);
	report_add("chacha20poly1305_per_s", "ChaCha20-Poly1305 IETF encrypt", aead, "/s", RATIO_NONE);
	report_add("sha256_per_s", "SHA-256", sha, "/s", RATIO_NONE);
	report_add("crypto_floor_1core_per_s", "1 / (t_sign + t_verify), one core", floor1, "/s",
		   RATIO_NONE);
	report_add("cores", "cores online", (double)cores, "", RATIO_NONE);
	report_add("crypto_floor_per_s", "crypto floor (all cores)", floor1 * (double)cores, "/s",
		   RATIO_FLOOR);
	sodium_free(c);
	bench_sha256(z->crypto_s / 2);
}

static void db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die("sqlite baseline: %s: %s", sql, err ? err : "?");
}

/* Commits n transactions of rows rows each; returns rows per second. */
static double sqlite_commits(sqlite3 *db, sqlite3_stmt *ins, long n, int rows, const uint8_t *blob)
{
	double t0 = bench_now();

	for (long i = 0; i < n; i++) {
		db_exec(db, "BEGIN");
		for (int j = 0; j < rows; j++) {
			uint8_t hash[32];
			randombytes_buf(hash, sizeof(hash));
			sqlite3_bind_blob(ins, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
			sqlite3_bind_blob(ins, 2, blob, BASE_ROW_BYTES, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				bench_die("sqlite baseline insert: %s", sqlite3_errmsg(db));
			sqlite3_reset(ins);
		}
		db_exec(db, "COMMIT");
	}
	return (double)(n * rows) / (bench_now() - t0);
}

void bench_sqlite(const struct bench_sizes *z)
{
	char path[BENCH_PATH_MAX + 32];
	uint8_t blob[BASE_ROW_BYTES];
	sqlite3_stmt *ins;
	sqlite3 *db;
	double group, single;

	snprintf(path, sizeof(path), "%s/sqlite-baseline.db", bench_root());
	randombytes_buf(blob, sizeof(blob));
	if (sqlite3_open(path, &db) != SQLITE_OK)
		bench_die("sqlite baseline: open %s: %s", path, sqlite3_errmsg(db));
	db_exec(db, "PRAGMA journal_mode = WAL");
	db_exec(db, "PRAGMA synchronous = FULL");
	db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, hash BLOB UNIQUE, data BLOB)");
	if (sqlite3_prepare_v2(db, "INSERT INTO t (hash, data) VALUES (?1, ?2)", -1, &ins, NULL) != SQLITE_OK)
		bench_die("sqlite baseline: %s", sqlite3_errmsg(db));
	sqlite_commits(db, ins, 3, BASE_BATCH_ROWS, blob); /* warm-up: file growth, WAL creation */
	group = sqlite_commits(db, ins, z->sqlite_batches, BASE_BATCH_ROWS, blob);
	single = sqlite_commits(db, ins, z->sqlite_single, 1, blob);
	sqlite3_finalize(ins);
	sqlite3_close(db);

	report_section("baselines: disk (SQLite WAL, synchronous=FULL, 1.2 KiB rows)");
	report_add("sqlite_group_rows_per_s", "durable group commit, 100 rows per commit", group,
		   "rows/s", RATIO_FLOOR);
	report_add("sqlite_commits_per_s", "durable commit, 1 row per commit", single, "/s",
		   RATIO_NONE);
}
