/* Fuzzes the responder's side of the handshake. The first input byte picks the mode:
 *   even: the rest is a raw initiation message, as a stranger on the network sends it;
 *   odd:  the rest is the Hello payload of a correctly encrypted initiation from a fixed
 *         initiator, so Hello decoding and every admission check are reached. */
#include "crypto/identity.h"
#include "crypto/noise.h"
#include "wire/handshake.h"
#include "wire/limits.h"
#include "wire/replay.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int admit_all(void *arg, const struct hello *peer)
{
	(void)arg;
	(void)peer;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[LIMIT_FRAME_MAX], out[LIMIT_FRAME_MAX];
	struct identity resp, init;
	uint8_t seed[32];
	struct noise_handshake hs, ihs;
	struct noise_session sess;
	struct replay_cache *rc;
	struct hello mine = {.version_min = 1, .version_max = 1, .name = "fuzz", .timestamp_ms = 1};
	struct hello peer;
	struct handshake_responder rsp = {.now_ms = 1000, .skew_ms = 300000, .admit = admit_all};
	const uint8_t *m = data + 1;
	size_t mlen = size > 0 ? size - 1 : 0, out_len;

	if (size == 0 || sodium_init() < 0 || replay_cache_new(16, &rc) != 0)
		return 0;
	memset(seed, 1, sizeof(seed));
	identity_from_seed(&resp, seed);
	memset(seed, 2, sizeof(seed));
	identity_from_seed(&init, seed);
	memcpy(mine.identity, resp.pk, 32);
	if (data[0] & 1) {
		if (noise_handshake_init(&ihs, NOISE_INITIATOR, (const uint8_t *)COEX_PROLOGUE,
					 strlen(COEX_PROLOGUE), init.x_sk, init.x_pk, resp.x_pk) != 0 ||
		    noise_create_initiation(&ihs, m, mlen, msg, sizeof(msg), &mlen) != 0)
			goto out;
		m = msg;
	}
	rsp.self = &resp;
	rsp.hello = &mine;
	rsp.replay = rc;
	handshake_respond(&hs, &rsp, m, mlen, &peer, out, sizeof(out), &out_len, &sess);
	noise_session_wipe(&sess);
out:
	noise_handshake_wipe(&ihs);
	replay_cache_free(rc);
	return 0;
}
