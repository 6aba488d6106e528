/* Fuzzes message opening for a fixed recipient B. The first input byte picks the mode:
 *   0: the rest is a raw envelope, as anyone on the network sends it;
 *   1: then 16 bytes of envelope id, then Signed bytes, correctly boxed from a fixed author A
 *      to B, so Signed decoding and signature checking are reached;
 *   2: then 16 bytes of envelope id, then Body bytes, signed by A and boxed to B, so body
 *      decoding and the author, recipient and id checks are reached.
 * In every mode the rest is also given to the envelope, Signed and Body decoders directly. */
#include "crypto/identity.h"
#include "wire/message.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MODE_RAW, MODE_SIGNED, MODE_BODY, MODES };

static struct identity author, self;
static uint8_t box_key[32];

static bool fuzz_init(void)
{
	static int ready = -1;
	uint8_t seed[32];

	if (ready >= 0)
		return ready == 1;
	ready = 0;
	if (sodium_init() < 0)
		return false;
	memset(seed, 1, sizeof(seed));
	if (identity_from_seed(&author, seed) != 0)
		return false;
	memset(seed, 2, sizeof(seed));
	if (identity_from_seed(&self, seed) != 0 || message_box_key(&author, self.pk, box_key) != 0)
		return false;
	ready = 1;
	return true;
}

/* Boxes Signed bytes from author to self in an envelope with the given id (fixed nonce). */
static uint8_t *fuzz_seal(const uint8_t id[16], const uint8_t *s, size_t slen, size_t *len)
{
	Coex__Envelope e = COEX__ENVELOPE__INIT;
	uint8_t nonce[24] = {0}, *sealed = malloc(slen + crypto_box_MACBYTES), *env = NULL;

	if (!sealed || crypto_box_easy_afternm(sealed, s, slen, nonce, box_key) != 0)
		goto out;
	e.id = (ProtobufCBinaryData){16, (uint8_t *)id};
	e.from = (ProtobufCBinaryData){32, author.pk};
	e.to = (ProtobufCBinaryData){32, self.pk};
	e.hops_left = 2;
	e.nonce = (ProtobufCBinaryData){sizeof(nonce), nonce};
	e.sealed = (ProtobufCBinaryData){slen + crypto_box_MACBYTES, sealed};
	*len = coex__envelope__get_packed_size(&e);
	if ((env = malloc(*len)))
		coex__envelope__pack(&e, env);
out:
	free(sealed);
	return env;
}

/* Signs body as author and packs it as Signed. */
static uint8_t *fuzz_sign(const uint8_t *body, size_t blen, size_t *len)
{
	Coex__Signed s = COEX__SIGNED__INIT;
	uint8_t sig[64], *out;

	if (identity_sign(&author, MESSAGE_DOMAIN_BODY, body, blen, sig) != 0)
		return NULL;
	s.body = (ProtobufCBinaryData){blen, (uint8_t *)body};
	s.signature = (ProtobufCBinaryData){sizeof(sig), sig};
	*len = coex__signed__get_packed_size(&s);
	if ((out = malloc(*len)))
		coex__signed__pack(&s, out);
	return out;
}

static void fuzz_decoders(const uint8_t *p, size_t n)
{
	struct message_meta meta;
	uint8_t from[32], to[32], id[16];
	const uint8_t *body;
	size_t blen;
	uint32_t hops;

	message_envelope_peek(p, n, from, to, id, &hops);
	message_body_meta(p, n, &meta);
	if (message_verify_signed(p, n, &meta, &body, &blen) == 0 &&
	    (body < p || blen > n || body + blen > p + n))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_opened m;
	const uint8_t *p = data + 1, *payload = data + 17;
	uint8_t *env = NULL, *s = NULL;
	size_t n = size > 0 ? size - 1 : 0, elen = n, slen, plen = size > 17 ? size - 17 : 0;
	int mode;

	if (size == 0 || !fuzz_init())
		return 0;
	fuzz_decoders(p, n);
	mode = data[0] % MODES;
	if (mode != MODE_RAW && size < 17)
		return 0;
	if (mode == MODE_SIGNED) {
		env = fuzz_seal(p, payload, plen, &elen);
	} else if (mode == MODE_BODY) {
		if ((s = fuzz_sign(payload, plen, &slen)))
			env = fuzz_seal(p, s, slen, &elen);
	}
	if (mode != MODE_RAW && !env)
		goto out;
	if (message_open(&self, box_key, env ? env : p, elen, &m) == 0) {
		/* whatever opened was signed by A, for B, and says so */
		if (memcmp(m.meta.author, author.pk, 32) != 0 ||
		    memcmp(m.meta.recipient, self.pk, 32) != 0 ||
		    (mode == MODE_BODY && (m.body_len != plen || memcmp(m.body, payload, plen) != 0)))
			__builtin_trap();
		message_opened_free(&m);
	}
out:
	free(s);
	free(env);
	return 0;
}
