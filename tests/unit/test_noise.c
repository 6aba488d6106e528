#include "testutil.h"

#include "crypto/noise.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SUITE "Noise_IK_25519_ChaChaPoly_BLAKE2b"

/* ---- helpers ---------------------------------------------------------------------- */

struct keypair {
	uint8_t priv[NOISE_DH_LEN];
	uint8_t pub[NOISE_DH_LEN];
};

static void keypair_random(struct keypair *kp)
{
	randombytes_buf(kp->priv, sizeof(kp->priv));
	assert_int_equal(crypto_scalarmult_curve25519_base(kp->pub, kp->priv), 0);
}

/* A completed handshake in memory, with the messages kept for tampering tests. */
struct pair {
	struct keypair is, rs;
	struct noise_handshake ini, resp;
	struct noise_session si, sr;
	uint8_t m1[256], m2[256];
	size_t m1_len, m2_len;
};

static const uint8_t prologue[] = "coex/1";

static void pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	keypair_random(&p->is);
	keypair_random(&p->rs);
	assert_int_equal(noise_handshake_init(&p->ini, NOISE_INITIATOR, prologue, sizeof(prologue) - 1,
					      p->is.priv, p->is.pub, p->rs.pub), 0);
	assert_int_equal(noise_handshake_init(&p->resp, NOISE_RESPONDER, prologue, sizeof(prologue) - 1,
					      p->rs.priv, p->rs.pub, NULL), 0);
}

/* A precomputed ss source, as a node's partner table would be: answers for one rs. */
struct ss_src {
	uint8_t rs[NOISE_DH_LEN], ss[NOISE_DH_LEN];
	int calls;
	bool known;
};

static int ss_lookup(void *arg, const uint8_t rs[NOISE_DH_LEN], uint8_t ss[NOISE_DH_LEN])
{
	struct ss_src *src = arg;

	src->calls++;
	if (!src->known || memcmp(rs, src->rs, NOISE_DH_LEN) != 0)
		return ERR_NOTFOUND;
	memcpy(ss, src->ss, NOISE_DH_LEN);
	return 0;
}

/* ss = DH(priv, pub) computed here with libsodium directly, not with noise_dh(). */
static void ss_src_make(struct ss_src *src, const uint8_t priv[NOISE_DH_LEN],
			const uint8_t rs[NOISE_DH_LEN])
{
	memset(src, 0, sizeof(*src));
	memcpy(src->rs, rs, NOISE_DH_LEN);
	assert_int_equal(crypto_scalarmult_curve25519(src->ss, priv, rs), 0);
	src->known = true;
}

static void pair_initiate(struct pair *p)
{
	assert_int_equal(noise_create_initiation(&p->ini, (const uint8_t *)"hello", 5, p->m1,
						 sizeof(p->m1), &p->m1_len), 0);
	assert_int_equal(p->m1_len, 5 + NOISE_INITIATION_OVERHEAD);
}

static void pair_respond(struct pair *p)
{
	uint8_t pl[64];
	size_t n;

	assert_int_equal(noise_consume_initiation(&p->resp, p->m1, p->m1_len, pl, sizeof(pl), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(pl, "hello", 5);
	assert_memory_equal(p->resp.rs, p->is.pub, NOISE_DH_LEN);
	assert_int_equal(noise_create_response(&p->resp, (const uint8_t *)"hi", 2, p->m2,
					       sizeof(p->m2), &p->m2_len), 0);
	assert_int_equal(p->m2_len, 2 + NOISE_RESPONSE_OVERHEAD);
}

static void pair_finish(struct pair *p)
{
	uint8_t pl[64];
	size_t n;

	assert_int_equal(noise_consume_response(&p->ini, p->m2, p->m2_len, pl, sizeof(pl), &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(pl, "hi", 2);
	assert_int_equal(noise_handshake_split(&p->ini, &p->si), 0);
	assert_int_equal(noise_handshake_split(&p->resp, &p->sr), 0);
	assert_memory_equal(p->si.handshake_hash, p->sr.handshake_hash, NOISE_HASH_LEN);
}

static void pair_handshake(struct pair *p)
{
	pair_init(p);
	pair_initiate(p);
	pair_respond(p);
	pair_finish(p);
}

/* Encrypts with tx, checks the ciphertext if want is given, decrypts with rx. */
static void transport_check(struct noise_cipher *tx, struct noise_cipher *rx, const uint8_t *pl,
			    size_t len, const uint8_t *want, size_t want_len)
{
	uint8_t ct[512], back[512];
	size_t ct_len, back_len;

	assert_true(len + NOISE_TAG_LEN <= sizeof(ct));
	assert_int_equal(noise_session_encrypt(tx, pl, len, ct, sizeof(ct), &ct_len), 0);
	assert_int_equal(ct_len, len + NOISE_TAG_LEN);
	if (want) {
		assert_int_equal(ct_len, want_len);
		assert_memory_equal(ct, want, want_len);
	}
	assert_int_equal(noise_session_decrypt(rx, ct, ct_len, back, sizeof(back), &back_len), 0);
	assert_int_equal(back_len, len);
	if (len)
		assert_memory_equal(back, pl, len);
}

/* ---- official vectors ------------------------------------------------------------- */

struct vector {
	uint8_t init_static[NOISE_DH_LEN], init_ephemeral[NOISE_DH_LEN];
	uint8_t resp_static[NOISE_DH_LEN], resp_ephemeral[NOISE_DH_LEN];
	uint8_t init_remote_static[NOISE_DH_LEN];
	uint8_t handshake_hash[NOISE_HASH_LEN];
	bool has_handshake_hash;
	uint8_t *init_prologue, *resp_prologue;
	size_t init_prologue_len, resp_prologue_len;
	const cJSON *messages;
};

static const char *vec_str(const cJSON *v, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(v, key);

	if (!cJSON_IsString(item))
		fail_msg("vector lacks %s", key);
	return item->valuestring;
}

/* Selects the one IK BLAKE2b vector of a file; name_key is "protocol_name" or "name". */
static const cJSON *vec_find(const cJSON *root, const char *name_key)
{
	const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	const cJSON *v, *found = NULL;
	int count = 0;

	assert_true(cJSON_IsArray(vectors));
	cJSON_ArrayForEach(v, vectors) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, name_key);
		if (cJSON_IsString(name) && strcmp(name->valuestring, SUITE) == 0) {
			found = v;
			count++;
		}
	}
	assert_int_equal(count, 1);
	return found;
}

static void vec_load(struct vector *vec, const cJSON *v)
{
	const cJSON *hh = cJSON_GetObjectItemCaseSensitive(v, "handshake_hash");
	const cJSON *psks = cJSON_GetObjectItemCaseSensitive(v, "init_psks");

	memset(vec, 0, sizeof(*vec));
	assert_true(!psks || cJSON_GetArraySize(psks) == 0);
	tu_hex_exact(vec_str(v, "init_static"), vec->init_static, NOISE_DH_LEN);
	tu_hex_exact(vec_str(v, "init_ephemeral"), vec->init_ephemeral, NOISE_DH_LEN);
	tu_hex_exact(vec_str(v, "resp_static"), vec->resp_static, NOISE_DH_LEN);
	tu_hex_exact(vec_str(v, "resp_ephemeral"), vec->resp_ephemeral, NOISE_DH_LEN);
	tu_hex_exact(vec_str(v, "init_remote_static"), vec->init_remote_static, NOISE_DH_LEN);
	vec->init_prologue = tu_hex(vec_str(v, "init_prologue"), &vec->init_prologue_len);
	vec->resp_prologue = tu_hex(vec_str(v, "resp_prologue"), &vec->resp_prologue_len);
	if (hh) {
		tu_hex_exact(vec_str(v, "handshake_hash"), vec->handshake_hash, NOISE_HASH_LEN);
		vec->has_handshake_hash = true;
	}
	vec->messages = cJSON_GetObjectItemCaseSensitive(v, "messages");
	assert_true(cJSON_IsArray(vec->messages));
	assert_true(cJSON_GetArraySize(vec->messages) >= 2);
}

static void vec_msg(const struct vector *vec, int i, uint8_t **pl, size_t *pl_len, uint8_t **ct,
		    size_t *ct_len)
{
	const cJSON *m = cJSON_GetArrayItem(vec->messages, i);

	*pl = tu_hex(vec_str(m, "payload"), pl_len);
	*ct = tu_hex(vec_str(m, "ciphertext"), ct_len);
}

/* Handshake message 0 or 1: the writer must produce the vector's ciphertext byte for
 * byte, and the reader must get the payload back. */
static void vec_handshake_msg(const struct vector *vec, int i, struct noise_handshake *ini,
			      struct noise_handshake *resp)
{
	uint8_t *pl, *ct, out[1024], back[1024];
	size_t pl_len, ct_len, out_len, back_len;

	vec_msg(vec, i, &pl, &pl_len, &ct, &ct_len);
	if (i == 0) {
		assert_int_equal(noise_create_initiation(ini, pl, pl_len, out, sizeof(out), &out_len), 0);
		assert_int_equal(noise_consume_initiation(resp, ct, ct_len, back, sizeof(back),
							  &back_len), 0);
	} else {
		assert_int_equal(noise_create_response(resp, pl, pl_len, out, sizeof(out), &out_len), 0);
		assert_int_equal(noise_consume_response(ini, ct, ct_len, back, sizeof(back), &back_len), 0);
	}
	assert_int_equal(out_len, ct_len);
	assert_memory_equal(out, ct, ct_len);
	assert_int_equal(back_len, pl_len);
	if (pl_len)
		assert_memory_equal(back, pl, pl_len);
	free(pl);
	free(ct);
}

/* One vector, byte for byte. With precompute, both sides take ss from a lookup (as coexd
 * does for its partners) instead of computing it: the messages must not change. */
static void vec_run(const char *rel, const char *name_key, bool precompute)
{
	char *text = tu_read_file(tu_vector_path(rel), NULL);
	cJSON *root = cJSON_Parse(text);
	struct vector vec;
	struct noise_handshake ini, resp;
	struct noise_session si, sr;
	struct ss_src ini_ss, resp_ss;
	uint8_t pub[NOISE_DH_LEN], init_pub[NOISE_DH_LEN];
	int n;

	assert_non_null(root);
	vec_load(&vec, vec_find(root, name_key));
	/* sanity: the initiator's remote static is the responder's public key */
	assert_int_equal(crypto_scalarmult_curve25519_base(pub, vec.resp_static), 0);
	assert_memory_equal(pub, vec.init_remote_static, NOISE_DH_LEN);

	assert_int_equal(crypto_scalarmult_curve25519_base(init_pub, vec.init_static), 0);

	assert_int_equal(noise_handshake_init(&ini, NOISE_INITIATOR, vec.init_prologue,
					      vec.init_prologue_len, vec.init_static, init_pub,
					      vec.init_remote_static), 0);
	noise_handshake_set_ephemeral(&ini, vec.init_ephemeral);
	assert_int_equal(noise_handshake_init(&resp, NOISE_RESPONDER, vec.resp_prologue,
					      vec.resp_prologue_len, vec.resp_static,
					      vec.init_remote_static, NULL), 0);
	noise_handshake_set_ephemeral(&resp, vec.resp_ephemeral);
	if (precompute) {
		ss_src_make(&ini_ss, vec.init_static, vec.init_remote_static);
		ss_src_make(&resp_ss, vec.resp_static, init_pub);
		assert_memory_equal(ini_ss.ss, resp_ss.ss, NOISE_DH_LEN);
		noise_handshake_set_ss_lookup(&ini, ss_lookup, &ini_ss);
		noise_handshake_set_ss_lookup(&resp, ss_lookup, &resp_ss);
	}

	/* -> e, es, s, ss */
	vec_handshake_msg(&vec, 0, &ini, &resp);
	assert_memory_equal(resp.rs, init_pub, NOISE_DH_LEN);
	if (precompute) {
		assert_int_equal(ini_ss.calls, 1);
		assert_int_equal(resp_ss.calls, 1);
		assert_null(ini.ss_lookup); /* asked once, then forgotten */
		assert_null(resp.ss_arg);
	}
	/* <- e, ee, se */
	vec_handshake_msg(&vec, 1, &ini, &resp);

	assert_int_equal(noise_handshake_split(&ini, &si), 0);
	assert_int_equal(noise_handshake_split(&resp, &sr), 0);
	assert_memory_equal(si.handshake_hash, sr.handshake_hash, NOISE_HASH_LEN);
	if (vec.has_handshake_hash)
		assert_memory_equal(si.handshake_hash, vec.handshake_hash, NOISE_HASH_LEN);

	/* transport messages alternate, the initiator first */
	n = cJSON_GetArraySize(vec.messages);
	for (int i = 2; i < n; i++) {
		uint8_t *pl, *ct;
		size_t pl_len, ct_len;
		bool from_initiator = i % 2 == 0;

		vec_msg(&vec, i, &pl, &pl_len, &ct, &ct_len);
		transport_check(from_initiator ? &si.send : &sr.send,
				from_initiator ? &sr.recv : &si.recv, pl, pl_len, ct, ct_len);
		free(pl);
		free(ct);
	}
	noise_session_wipe(&si);
	noise_session_wipe(&sr);
	free(vec.init_prologue);
	free(vec.resp_prologue);
	cJSON_Delete(root);
	free(text);
}

static void test_vector_cacophony(void **state)
{
	(void)state;
	vec_run("noise/cacophony/cacophony.txt", "protocol_name", false);
	vec_run("noise/cacophony/cacophony.txt", "protocol_name", true);
}

static void test_vector_snow(void **state)
{
	(void)state;
	vec_run("noise/snow/snow.txt", "protocol_name", false);
	vec_run("noise/snow/snow.txt", "protocol_name", true);
}

static void test_vector_noise_c(void **state)
{
	(void)state;
	vec_run("noise/noise-c/noise-c-basic.txt", "name", false);
	vec_run("noise/noise-c/noise-c-basic.txt", "name", true);
}

/* ---- behaviour -------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct pair p;
	uint8_t buf[300];
	(void)state;

	pair_handshake(&p);
	randombytes_buf(buf, sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len += 37) {
		transport_check(&p.si.send, &p.sr.recv, buf, len, NULL, 0);
		transport_check(&p.sr.send, &p.si.recv, buf, len, NULL, 0);
	}
	/* the states were wiped by split */
	assert_int_equal(p.ini.role, 0);
	assert_true(sodium_is_zero(p.resp.s_priv, NOISE_DH_LEN));
	noise_session_wipe(&p.si);
	noise_session_wipe(&p.sr);
}

static void test_tampered_initiation(void **state)
{
	struct pair p;
	struct noise_handshake fresh;
	uint8_t pl[64];
	size_t n = 999;
	(void)state;

	pair_init(&p);
	pair_initiate(&p);
	fresh = p.resp;
	for (size_t i = 0; i < p.m1_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct noise_handshake resp = fresh;

			p.m1[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(noise_consume_initiation(&resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
					 ERR_CRYPTO);
			p.m1[i] ^= (uint8_t)(1u << bit);
			/* a failed step leaves the state unusable */
			assert_int_equal(noise_create_response(&resp, NULL, 0, pl, sizeof(pl), &n),
					 ERR_STATE);
		}
	}
	assert_int_equal(n, 999);
	noise_handshake_wipe(&fresh);
}

static void test_tampered_response(void **state)
{
	struct pair p;
	struct noise_handshake fresh;
	uint8_t pl[64];
	size_t n = 999;
	(void)state;

	pair_init(&p);
	pair_initiate(&p);
	pair_respond(&p);
	fresh = p.ini;
	for (size_t i = 0; i < p.m2_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct noise_handshake ini = fresh;
			struct noise_session s;

			p.m2[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(noise_consume_response(&ini, p.m2, p.m2_len, pl, sizeof(pl), &n),
					 ERR_CRYPTO);
			p.m2[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(noise_handshake_split(&ini, &s), ERR_STATE);
		}
	}
	assert_int_equal(n, 999);
	/* the untampered response still works */
	p.ini = fresh;
	pair_finish(&p);
	noise_handshake_wipe(&fresh);
}

static void test_truncated(void **state)
{
	struct pair p;
	struct noise_handshake saved;
	uint8_t pl[64], ct[64];
	size_t n = 999, ct_len;
	(void)state;

	pair_init(&p);
	pair_initiate(&p);
	/* shorter than the fixed part: ERR_PROTO, and the state is untouched */
	for (size_t len = 0; len < NOISE_INITIATION_OVERHEAD; len++)
		assert_int_equal(noise_consume_initiation(&p.resp, p.m1, len, pl, sizeof(pl), &n),
				 ERR_PROTO);
	/* a cut payload fails authentication */
	saved = p.resp;
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len - 1, pl, sizeof(pl), &n),
			 ERR_CRYPTO);
	p.resp = saved;
	pair_respond(&p);
	for (size_t len = 0; len < NOISE_RESPONSE_OVERHEAD; len++)
		assert_int_equal(noise_consume_response(&p.ini, p.m2, len, pl, sizeof(pl), &n),
				 ERR_PROTO);
	pair_finish(&p);
	assert_int_equal(noise_session_encrypt(&p.si.send, pl, 3, ct, sizeof(ct), &ct_len), 0);
	for (size_t len = 0; len < NOISE_TAG_LEN; len++)
		assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, len, pl, sizeof(pl), &n), ERR_PROTO);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len - 1, pl, sizeof(pl), &n),
			 ERR_CRYPTO);
	assert_int_equal(n, 999);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, pl, sizeof(pl), &n), 0);
	assert_int_equal(n, 3);
	noise_handshake_wipe(&saved);
}

static void test_wrong_state(void **state)
{
	struct pair p;
	struct noise_session s;
	uint8_t buf[256] = {0};
	size_t n;
	(void)state;

	pair_init(&p);
	/* roles */
	assert_int_equal(noise_create_initiation(&p.resp, NULL, 0, buf, sizeof(buf), &n), ERR_STATE);
	assert_int_equal(noise_consume_initiation(&p.ini, buf, 200, buf, sizeof(buf), &n), ERR_STATE);
	/* steps */
	assert_int_equal(noise_create_response(&p.resp, NULL, 0, buf, sizeof(buf), &n), ERR_STATE);
	assert_int_equal(noise_consume_response(&p.ini, buf, 100, buf, sizeof(buf), &n), ERR_STATE);
	assert_int_equal(noise_handshake_split(&p.ini, &s), ERR_STATE);
	assert_int_equal(noise_handshake_split(&p.resp, &s), ERR_STATE);
	/* the errors above changed nothing: the handshake still completes */
	pair_initiate(&p);
	assert_int_equal(noise_create_initiation(&p.ini, NULL, 0, buf, sizeof(buf), &n), ERR_STATE);
	pair_respond(&p);
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, buf, sizeof(buf), &n),
			 ERR_STATE);
	assert_int_equal(noise_create_response(&p.resp, NULL, 0, buf, sizeof(buf), &n), ERR_STATE);
	pair_finish(&p);
	/* split wiped the handshakes */
	assert_int_equal(noise_handshake_split(&p.ini, &s), ERR_STATE);
	assert_int_equal(noise_consume_response(&p.ini, p.m2, p.m2_len, buf, sizeof(buf), &n),
			 ERR_STATE);
	/* a wiped cipher has no key */
	noise_session_wipe(&p.si);
	assert_int_equal(noise_session_encrypt(&p.si.send, buf, 1, buf + 8, 64, &n), ERR_STATE);
	assert_int_equal(noise_session_decrypt(&p.si.recv, buf, 17, buf + 32, 64, &n), ERR_STATE);
	noise_session_wipe(&p.sr);
}

static void test_init_invalid(void **state)
{
	struct noise_handshake hs;
	struct keypair kp;
	(void)state;

	keypair_random(&kp);
	assert_int_equal(noise_handshake_init(&hs, NOISE_INITIATOR, NULL, 0, kp.priv, kp.pub, NULL),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, NOISE_RESPONDER, NULL, 0, kp.priv, kp.pub, kp.pub),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, (enum noise_role)3, NULL, 0, kp.priv, kp.pub,
					      kp.pub), ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, NOISE_RESPONDER, NULL, 1, kp.priv, kp.pub, NULL),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, NOISE_RESPONDER, NULL, 0, NULL, kp.pub, NULL),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, NOISE_RESPONDER, NULL, 0, kp.priv, NULL, NULL),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(NULL, NOISE_RESPONDER, NULL, 0, kp.priv, kp.pub, NULL),
			 ERR_INVAL);
	assert_int_equal(noise_handshake_init(&hs, NOISE_RESPONDER, NULL, 0, kp.priv, kp.pub, NULL),
			 0);
	noise_handshake_wipe(&hs);
	sodium_memzero(&kp, sizeof(kp));
}

static void test_wrong_responder_key(void **state)
{
	struct pair p;
	struct keypair other;
	uint8_t pl[64];
	size_t n;
	(void)state;

	pair_init(&p);
	keypair_random(&other);
	assert_int_equal(noise_handshake_init(&p.ini, NOISE_INITIATOR, prologue, sizeof(prologue) - 1,
					      p.is.priv, p.is.pub, other.pub), 0);
	pair_initiate(&p);
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
			 ERR_CRYPTO);
}

static void test_wrong_prologue(void **state)
{
	struct pair p;
	uint8_t pl[64];
	size_t n;
	(void)state;

	pair_init(&p);
	assert_int_equal(noise_handshake_init(&p.resp, NOISE_RESPONDER, (const uint8_t *)"coex/2", 6,
					      p.rs.priv, p.rs.pub, NULL), 0);
	pair_initiate(&p);
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
			 ERR_CRYPTO);
}

static void test_transport_tamper_keeps_nonce(void **state)
{
	struct pair p;
	uint8_t ct[64], out[64];
	size_t ct_len, n = 999;
	(void)state;

	pair_handshake(&p);
	assert_int_equal(noise_session_encrypt(&p.si.send, (const uint8_t *)"data", 4, ct, sizeof(ct),
					       &ct_len), 0);
	assert_int_equal(p.si.send.n, 1);
	for (size_t i = 0; i < ct_len; i++) {
		ct[i] ^= 0x40;
		assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, out, sizeof(out), &n),
				 ERR_CRYPTO);
		ct[i] ^= 0x40;
		assert_int_equal(p.sr.recv.n, 0);
	}
	assert_int_equal(n, 999);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "data", 4);
	assert_int_equal(p.sr.recv.n, 1);
	/* a replay is decrypted under the next nonce and fails */
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, out, sizeof(out), &n),
			 ERR_CRYPTO);
	noise_session_wipe(&p.si);
	noise_session_wipe(&p.sr);
}

/* Rekey() has no official vector: this one was cross-checked against python3-dissononce's
 * ChaChaPolyCipher.rekey() (the first 32 bytes of ENCRYPT(k, 2^64-1, empty, zeros)). */
static void test_rekey_known_answer(void **state)
{
	struct noise_cipher c = {.n = 5, .has_key = true};
	uint8_t want[NOISE_KEY_LEN];
	(void)state;

	for (size_t i = 0; i < NOISE_KEY_LEN; i++)
		c.k[i] = (uint8_t)i;
	tu_hex_exact("50835543a205b22c9323f2022bc4f67d838f90e61d5ccf33c4513e01f85b5042", want,
		     sizeof(want));
	noise_cipher_rekey(&c);
	assert_memory_equal(c.k, want, NOISE_KEY_LEN);
	assert_int_equal(c.n, 5); /* the nonce is kept */
	assert_true(c.has_key);
	/* a cipher without a key stays without one */
	noise_session_wipe(NULL);
	memset(&c, 0, sizeof(c));
	noise_cipher_rekey(&c);
	assert_false(c.has_key);
	assert_true(sodium_is_zero(c.k, NOISE_KEY_LEN));
}

static void test_rekey(void **state)
{
	struct pair p;
	struct noise_cipher before;
	uint8_t ct[64], out[64];
	size_t ct_len, n;
	(void)state;

	pair_handshake(&p);
	transport_check(&p.si.send, &p.sr.recv, (const uint8_t *)"one", 3, NULL, 0);
	before = p.si.send;
	noise_cipher_rekey(&p.si.send);
	noise_cipher_rekey(&p.sr.recv);
	assert_int_equal(p.si.send.n, before.n);
	assert_memory_not_equal(p.si.send.k, before.k, NOISE_KEY_LEN);
	assert_memory_equal(p.si.send.k, p.sr.recv.k, NOISE_KEY_LEN);
	transport_check(&p.si.send, &p.sr.recv, (const uint8_t *)"two", 3, NULL, 0);
	transport_check(&p.sr.send, &p.si.recv, (const uint8_t *)"back", 4, NULL, 0);
	/* rekeying one side only breaks the link */
	noise_cipher_rekey(&p.sr.send);
	assert_int_equal(noise_session_encrypt(&p.sr.send, (const uint8_t *)"x", 1, ct, sizeof(ct),
					       &ct_len), 0);
	assert_int_equal(noise_session_decrypt(&p.si.recv, ct, ct_len, out, sizeof(out), &n),
			 ERR_CRYPTO);
	noise_cipher_rekey(&p.si.recv);
	assert_int_equal(noise_session_decrypt(&p.si.recv, ct, ct_len, out, sizeof(out), &n), 0);
	sodium_memzero(&before, sizeof(before));
	noise_session_wipe(&p.si);
	noise_session_wipe(&p.sr);
}

/* Low-order X25519 points whose shared secret is all zeros, whatever the scalar. */
static const uint8_t low_order[][NOISE_DH_LEN] = {
	{0},
	{1},
	/* the point of order 8 */
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
};

static void test_low_order_ephemeral(void **state)
{
	uint8_t pl[64];
	size_t n;
	(void)state;

	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		struct pair p;

		pair_init(&p);
		pair_initiate(&p);
		memcpy(p.m1, low_order[i], NOISE_DH_LEN); /* e */
		assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
				 ERR_CRYPTO);
		pair_init(&p);
		pair_initiate(&p);
		pair_respond(&p);
		memcpy(p.m2, low_order[i], NOISE_DH_LEN); /* e */
		assert_int_equal(noise_consume_response(&p.ini, p.m2, p.m2_len, pl, sizeof(pl), &n),
				 ERR_CRYPTO);
	}
}

static void test_low_order_static(void **state)
{
	struct noise_handshake hs;
	struct keypair kp;
	uint8_t out[256];
	size_t n;
	(void)state;

	keypair_random(&kp);
	assert_int_equal(noise_handshake_init(&hs, NOISE_INITIATOR, NULL, 0, kp.priv, kp.pub,
					      low_order[0]), 0);
	/* es */
	assert_int_equal(noise_create_initiation(&hs, NULL, 0, out, sizeof(out), &n), ERR_CRYPTO);
	assert_int_equal(hs.role, 0);
	sodium_memzero(&kp, sizeof(kp));
}

/* A handshake between k's key pairs with fixed ephemeral keys; a side with a source takes
 * ss from it. */
static void pair_fixed(struct pair *p, const struct pair *k, const uint8_t ei[NOISE_DH_LEN],
		       const uint8_t er[NOISE_DH_LEN], struct ss_src *ini_src,
		       struct ss_src *resp_src)
{
	memset(p, 0, sizeof(*p));
	p->is = k->is;
	p->rs = k->rs;
	assert_int_equal(noise_handshake_init(&p->ini, NOISE_INITIATOR, prologue, sizeof(prologue) - 1,
					      p->is.priv, p->is.pub, p->rs.pub), 0);
	assert_int_equal(noise_handshake_init(&p->resp, NOISE_RESPONDER, prologue, sizeof(prologue) - 1,
					      p->rs.priv, p->rs.pub, NULL), 0);
	noise_handshake_set_ephemeral(&p->ini, ei);
	noise_handshake_set_ephemeral(&p->resp, er);
	if (ini_src)
		noise_handshake_set_ss_lookup(&p->ini, ss_lookup, ini_src);
	if (resp_src)
		noise_handshake_set_ss_lookup(&p->resp, ss_lookup, resp_src);
	pair_initiate(p);
	pair_respond(p);
	pair_finish(p);
}

static void pair_same(const struct pair *a, const struct pair *b)
{
	assert_int_equal(a->m1_len, b->m1_len);
	assert_memory_equal(a->m1, b->m1, a->m1_len);
	assert_int_equal(a->m2_len, b->m2_len);
	assert_memory_equal(a->m2, b->m2, a->m2_len);
	assert_memory_equal(a->si.send.k, b->si.send.k, NOISE_KEY_LEN);
	assert_memory_equal(a->si.recv.k, b->si.recv.k, NOISE_KEY_LEN);
	assert_memory_equal(a->sr.send.k, b->sr.send.k, NOISE_KEY_LEN);
	assert_memory_equal(a->sr.recv.k, b->sr.recv.k, NOISE_KEY_LEN);
	assert_memory_equal(a->si.handshake_hash, b->si.handshake_hash, NOISE_HASH_LEN);
}

/* Random static keys for both sides and random ephemeral secrets ei, er. */
static void pair_keys_random(struct pair *k, uint8_t ei[NOISE_DH_LEN], uint8_t er[NOISE_DH_LEN])
{
	keypair_random(&k->is);
	keypair_random(&k->rs);
	randombytes_buf(ei, NOISE_DH_LEN);
	randombytes_buf(er, NOISE_DH_LEN);
}

/* Precomputed ss on either side, both or neither: the same messages and session keys. */
static void test_ss_precomputed_same_session(void **state)
{
	struct pair k, computed, p;
	struct ss_src ini_src, resp_src;
	uint8_t ei[NOISE_DH_LEN], er[NOISE_DH_LEN];
	(void)state;

	pair_keys_random(&k, ei, er);
	ss_src_make(&ini_src, k.is.priv, k.rs.pub);
	ss_src_make(&resp_src, k.rs.priv, k.is.pub);
	pair_fixed(&computed, &k, ei, er, NULL, NULL);
	pair_fixed(&p, &k, ei, er, &ini_src, &resp_src);
	pair_same(&computed, &p);
	assert_int_equal(ini_src.calls, 1);
	assert_int_equal(resp_src.calls, 1);
	pair_fixed(&p, &k, ei, er, &ini_src, NULL);
	pair_same(&computed, &p);
	pair_fixed(&p, &k, ei, er, NULL, &resp_src);
	pair_same(&computed, &p);
	assert_int_equal(resp_src.calls, 2);
	transport_check(&p.si.send, &p.sr.recv, (const uint8_t *)"x", 1, NULL, 0);
}

/* A source that does not know rs (an unknown initiator): ss is computed, the handshake works. */
static void test_ss_lookup_unknown_computes(void **state)
{
	struct pair k, computed, p;
	struct ss_src src;
	uint8_t ei[NOISE_DH_LEN], er[NOISE_DH_LEN];
	(void)state;

	pair_keys_random(&k, ei, er);
	ss_src_make(&src, k.rs.priv, k.rs.pub); /* knows another key only */
	pair_fixed(&computed, &k, ei, er, NULL, NULL);
	pair_fixed(&p, &k, ei, er, NULL, &src);
	assert_int_equal(src.calls, 1);
	pair_same(&computed, &p);
	src.known = false;
	memcpy(src.rs, k.is.pub, NOISE_DH_LEN);
	pair_fixed(&p, &k, ei, er, NULL, &src);
	assert_int_equal(src.calls, 2);
	pair_same(&computed, &p);
}

/* A wrong precomputed secret on either side: the responder cannot read the initiation; a
 * zero one (what a low-order key would give) is refused before anything is written. */
static void test_ss_lookup_wrong_secret_refused(void **state)
{
	struct pair p;
	struct ss_src src;
	uint8_t pl[64], out[256];
	size_t n = 999;
	(void)state;

	pair_init(&p);
	ss_src_make(&src, p.rs.priv, p.is.pub);
	src.ss[5] ^= 0x10;
	noise_handshake_set_ss_lookup(&p.resp, ss_lookup, &src);
	pair_initiate(&p);
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
			 ERR_CRYPTO);
	assert_int_equal(n, 999);
	assert_int_equal(p.resp.role, 0); /* wiped */

	pair_init(&p);
	ss_src_make(&src, p.is.priv, p.rs.pub);
	src.ss[0] ^= 0x01;
	noise_handshake_set_ss_lookup(&p.ini, ss_lookup, &src);
	pair_initiate(&p);
	assert_int_equal(noise_consume_initiation(&p.resp, p.m1, p.m1_len, pl, sizeof(pl), &n),
			 ERR_CRYPTO);

	pair_init(&p);
	ss_src_make(&src, p.is.priv, p.rs.pub);
	memset(src.ss, 0, sizeof(src.ss));
	noise_handshake_set_ss_lookup(&p.ini, ss_lookup, &src);
	assert_int_equal(noise_create_initiation(&p.ini, NULL, 0, out, sizeof(out), &n), ERR_CRYPTO);
	assert_int_equal(n, 999);
	assert_int_equal(p.ini.role, 0);
}

static void test_noise_dh(void **state)
{
	struct keypair a, b;
	uint8_t x[NOISE_DH_LEN], y[NOISE_DH_LEN], before[NOISE_DH_LEN];
	(void)state;

	keypair_random(&a);
	keypair_random(&b);
	assert_int_equal(noise_dh(x, a.priv, b.pub), 0);
	assert_int_equal(noise_dh(y, b.priv, a.pub), 0);
	assert_memory_equal(x, y, NOISE_DH_LEN);
	memset(before, 0xa5, sizeof(before));
	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		memcpy(x, before, sizeof(x));
		assert_int_equal(noise_dh(x, a.priv, low_order[i]), ERR_CRYPTO);
		assert_memory_equal(x, before, sizeof(x)); /* written only on success */
	}
}

static void test_max_sizes(void **state)
{
	struct pair p;
	size_t cap = NOISE_MAX_MSG + 1, n, m;
	uint8_t *pl = malloc(cap), *msg = malloc(cap), *back = malloc(cap);
	size_t max1 = NOISE_MAX_MSG - NOISE_INITIATION_OVERHEAD;
	size_t max2 = NOISE_MAX_MSG - NOISE_RESPONSE_OVERHEAD;
	size_t max3 = NOISE_MAX_MSG - NOISE_TAG_LEN;
	(void)state;

	assert_non_null(pl);
	assert_non_null(msg);
	assert_non_null(back);
	randombytes_buf(pl, cap);
	pair_init(&p);
	n = 999;
	assert_int_equal(noise_create_initiation(&p.ini, pl, max1 + 1, msg, cap, &n), ERR_TOOBIG);
	assert_int_equal(noise_create_initiation(&p.ini, pl, max1, msg, NOISE_MAX_MSG - 1, &n),
			 ERR_TOOBIG);
	assert_int_equal(n, 999);
	assert_int_equal(noise_create_initiation(&p.ini, pl, max1, msg, cap, &n), 0);
	assert_int_equal(n, NOISE_MAX_MSG);
	assert_int_equal(noise_consume_initiation(&p.resp, msg, n + 1, back, cap, &m), ERR_TOOBIG);
	assert_int_equal(noise_consume_initiation(&p.resp, msg, n, back, max1 - 1, &m), ERR_TOOBIG);
	assert_int_equal(noise_consume_initiation(&p.resp, msg, n, back, max1, &m), 0);
	assert_int_equal(m, max1);
	assert_memory_equal(back, pl, max1);

	assert_int_equal(noise_create_response(&p.resp, pl, max2 + 1, msg, cap, &n), ERR_TOOBIG);
	assert_int_equal(noise_create_response(&p.resp, pl, max2, msg, cap, &n), 0);
	assert_int_equal(n, NOISE_MAX_MSG);
	assert_int_equal(noise_consume_response(&p.ini, msg, n + 1, back, cap, &m), ERR_TOOBIG);
	assert_int_equal(noise_consume_response(&p.ini, msg, n, back, max2 - 1, &m), ERR_TOOBIG);
	assert_int_equal(noise_consume_response(&p.ini, msg, n, back, cap, &m), 0);
	assert_int_equal(m, max2);
	assert_memory_equal(back, pl, max2);
	assert_int_equal(noise_handshake_split(&p.ini, &p.si), 0);
	assert_int_equal(noise_handshake_split(&p.resp, &p.sr), 0);

	assert_int_equal(noise_session_encrypt(&p.si.send, pl, max3 + 1, msg, cap, &n), ERR_TOOBIG);
	assert_int_equal(noise_session_encrypt(&p.si.send, pl, max3, msg, max3, &n), ERR_TOOBIG);
	assert_int_equal(noise_session_encrypt(&p.si.send, pl, max3, msg, cap, &n), 0);
	assert_int_equal(n, NOISE_MAX_MSG);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, msg, n + 1, back, cap, &m), ERR_TOOBIG);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, msg, n, back, max3 - 1, &m), ERR_TOOBIG);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, msg, n, back, max3, &m), 0);
	assert_int_equal(m, max3);
	assert_memory_equal(back, pl, max3);
	noise_session_wipe(&p.si);
	noise_session_wipe(&p.sr);
	free(pl);
	free(msg);
	free(back);
}

static void test_nonce_limit(void **state)
{
	struct pair p;
	uint8_t ct[64], out[64];
	size_t ct_len, n;
	(void)state;

	pair_handshake(&p);
	/* 2^64-1 is reserved: the last usable nonce is 2^64-2 */
	p.si.send.n = UINT64_MAX - 1;
	p.sr.recv.n = UINT64_MAX - 1;
	assert_int_equal(noise_session_encrypt(&p.si.send, (const uint8_t *)"z", 1, ct, sizeof(ct),
					       &ct_len), 0);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, out, sizeof(out), &n), 0);
	assert_int_equal(noise_session_encrypt(&p.si.send, (const uint8_t *)"z", 1, ct, sizeof(ct),
					       &ct_len), ERR_LIMIT);
	assert_int_equal(noise_session_decrypt(&p.sr.recv, ct, ct_len, out, sizeof(out), &n), ERR_LIMIT);
	noise_session_wipe(&p.si);
	noise_session_wipe(&p.sr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_cacophony),
		cmocka_unit_test(test_ss_precomputed_same_session),
		cmocka_unit_test(test_ss_lookup_unknown_computes),
		cmocka_unit_test(test_ss_lookup_wrong_secret_refused),
		cmocka_unit_test(test_noise_dh),
		cmocka_unit_test(test_vector_snow),
		cmocka_unit_test(test_vector_noise_c),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampered_initiation),
		cmocka_unit_test(test_tampered_response),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_state),
		cmocka_unit_test(test_init_invalid),
		cmocka_unit_test(test_wrong_responder_key),
		cmocka_unit_test(test_wrong_prologue),
		cmocka_unit_test(test_transport_tamper_keeps_nonce),
		cmocka_unit_test(test_rekey_known_answer),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_low_order_ephemeral),
		cmocka_unit_test(test_low_order_static),
		cmocka_unit_test(test_max_sizes),
		cmocka_unit_test(test_nonce_limit),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
