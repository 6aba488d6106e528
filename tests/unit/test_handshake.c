/* The link handshake engine (wire/handshake.h) in memory: real identities, both roles, no
 * sockets. Every refusal of the responder must leave nothing to send (out_len untouched)
 * and peer_out untouched. Every test runs twice: with a responder that knows its partners'
 * precomputed keys (as coexd does) and with one that computes everything. */
#include "testutil.h"

#include "crypto/identity.h"
#include "crypto/noise.h"
#include "lib/err.h"
#include "wire/handshake.h"
#include "wire/hello.h"
#include "wire/limits.h"
#include "wire/replay.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS UINT64_C(1700000000000) /* any fixed wall-clock time */
enum { SKEW_MS = 300000, SENTINEL = 0x5a5a };

/* Admission: the responder's partner list (with each partner's precomputed keys), and how
 * often it was asked. */
struct allow {
	const uint8_t *keys[4];
	struct handshake_partner hp[4];
	size_t n;
	int calls;
	int found;                            /* partner() lookups that found a partner */
};

static int allow_admit(void *arg, const struct hello *peer)
{
	struct allow *a = arg;

	a->calls++;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->keys[i], peer->identity, 32) == 0)
			return 0;
	return ERR_DENIED;
}

static const struct handshake_partner *allow_partner(void *arg, const uint8_t x_pk[32])
{
	struct allow *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->hp[i].x_pk, x_pk, 32) == 0) {
			a->found++;
			return &a->hp[i];
		}
	return NULL;
}

struct fx {
	struct identity ini, rsp, other;      /* other: a third node, never a party */
	struct hello ini_hello, rsp_hello;
	struct replay_cache *rc;
	struct allow allow;
	struct handshake_responder r;
	struct handshake_partner to_rsp, to_other; /* the initiator's keys for them */
	struct noise_handshake ihs, rhs;
	uint8_t m1[1024], m2[1024];
	size_t m1_len, m2_len;
};

static void hello_fill(struct hello *h, const struct identity *id, const char *name, uint64_t ts)
{
	memset(h, 0, sizeof(*h));
	h->version_min = h->version_max = COEX_PROTOCOL_VERSION;
	memcpy(h->identity, id->pk, 32);
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->listen[0], sizeof(h->listen[0]), "%s", "127.0.0.1:7400");
	h->n_listen = 1;
	h->timestamp_ms = ts;
}

/* Makes pk a partner of the responder: admitted, and its keys precomputed. */
static void allow_add(struct fx *f, const uint8_t *pk)
{
	assert_true(f->allow.n < 4);
	assert_int_equal(handshake_partner_init(&f->allow.hp[f->allow.n], &f->rsp, pk), 0);
	f->allow.keys[f->allow.n++] = pk;
}

static int setup_with(void **state, bool precomputed)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(identity_generate(&f->ini), 0);
	assert_int_equal(identity_generate(&f->rsp), 0);
	assert_int_equal(identity_generate(&f->other), 0);
	assert_int_equal(handshake_partner_init(&f->to_rsp, &f->ini, f->rsp.pk), 0);
	assert_int_equal(handshake_partner_init(&f->to_other, &f->ini, f->other.pk), 0);
	hello_fill(&f->ini_hello, &f->ini, "Acme", NOW_MS);
	hello_fill(&f->rsp_hello, &f->rsp, "Globex", NOW_MS);
	assert_int_equal(replay_cache_new(LIMIT_REPLAY_CACHE, &f->rc), 0);
	allow_add(f, f->ini.pk);
	f->r = (struct handshake_responder){
		.self = &f->rsp, .hello = &f->rsp_hello, .now_ms = NOW_MS, .skew_ms = SKEW_MS,
		.replay = f->rc, .admit = allow_admit, .partner = precomputed ? allow_partner : NULL,
		.arg = &f->allow,
	};
	*state = f;
	return 0;
}

static int setup_precomputed(void **state)
{
	return setup_with(state, true);
}

static int setup_computed(void **state)
{
	return setup_with(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < f->allow.n; i++)
		handshake_partner_wipe(&f->allow.hp[i]);
	handshake_partner_wipe(&f->to_rsp);
	handshake_partner_wipe(&f->to_other);
	replay_cache_free(f->rc);
	identity_wipe(&f->ini);
	identity_wipe(&f->rsp);
	identity_wipe(&f->other);
	free(f);
	return 0;
}

/* The initiator (f->ini, unless self says otherwise) writes a fresh initiation into m1. */
static void initiate_as(struct fx *f, const struct identity *self, const struct hello *h)
{
	struct handshake_partner keys;

	assert_int_equal(handshake_partner_init(&keys, self, f->rsp.pk), 0);
	assert_int_equal(handshake_initiate(&f->ihs, self, &keys, h, f->m1, sizeof(f->m1),
					    &f->m1_len), 0);
	handshake_partner_wipe(&keys);
	assert_true(f->m1_len > NOISE_INITIATION_OVERHEAD);
}

static void initiate(struct fx *f)
{
	initiate_as(f, &f->ini, &f->ini_hello);
}

/* Handshake state holds secrets (static and ephemeral keys, chaining key): once the
 * handshake ends, successfully or not, it must be all zero. */
static void hs_wiped(const struct noise_handshake *hs)
{
	assert_true(sodium_is_zero((const unsigned char *)hs, sizeof(*hs)));
}

/* Runs the responder on m1; on failure checks that nothing came out. */
static int respond(struct fx *f, struct hello *peer, struct noise_session *sess)
{
	struct hello before;
	size_t out_len = SENTINEL;
	int r;

	memset(peer, 0xa5, sizeof(*peer));
	before = *peer;
	r = handshake_respond(&f->rhs, &f->r, f->m1, f->m1_len, peer, f->m2, sizeof(f->m2),
			      &out_len, sess);
	hs_wiped(&f->rhs);
	if (r != 0) {
		assert_int_equal(out_len, SENTINEL);
		assert_memory_equal(peer, &before, sizeof(before));
	} else {
		assert_true(out_len > NOISE_RESPONSE_OVERHEAD && out_len <= sizeof(f->m2));
		f->m2_len = out_len;
	}
	return r;
}

/* Sends one transport message each way and checks it arrives intact. */
static void transport_both_ways(struct noise_session *si, struct noise_session *sr)
{
	static const uint8_t a[] = "ping from the initiator", b[] = "pong from the responder";
	uint8_t ct[128], pt[128];
	size_t ct_len, pt_len;

	assert_int_equal(noise_session_encrypt(&si->send, a, sizeof(a), ct, sizeof(ct), &ct_len),
			 0);
	assert_int_equal(noise_session_decrypt(&sr->recv, ct, ct_len, pt, sizeof(pt), &pt_len), 0);
	assert_int_equal(pt_len, sizeof(a));
	assert_memory_equal(pt, a, sizeof(a));
	assert_int_equal(noise_session_encrypt(&sr->send, b, sizeof(b), ct, sizeof(ct), &ct_len),
			 0);
	assert_int_equal(noise_session_decrypt(&si->recv, ct, ct_len, pt, sizeof(pt), &pt_len), 0);
	assert_int_equal(pt_len, sizeof(b));
	assert_memory_equal(pt, b, sizeof(b));
	/* a message sent by one side does not decrypt as its own incoming direction */
	assert_int_equal(noise_session_encrypt(&si->send, a, sizeof(a), ct, sizeof(ct), &ct_len),
			 0);
	assert_int_equal(noise_session_decrypt(&si->recv, ct, ct_len, pt, sizeof(pt), &pt_len),
			 ERR_CRYPTO);
}

static void test_full_handshake(void **state)
{
	struct fx *f = *state;
	struct hello peer_at_rsp, peer_at_ini;
	struct noise_session si, sr;

	initiate(f);
	assert_int_equal(respond(f, &peer_at_rsp, &sr), 0);
	assert_int_equal(f->allow.calls, 1);
	assert_memory_equal(peer_at_rsp.identity, f->ini.pk, 32);
	assert_string_equal(peer_at_rsp.name, "Acme");
	assert_int_equal(peer_at_rsp.n_listen, 1);
	assert_string_equal(peer_at_rsp.listen[0], "127.0.0.1:7400");
	assert_int_equal(peer_at_rsp.timestamp_ms, NOW_MS);
	assert_false(peer_at_rsp.has_invite);

	assert_int_equal(handshake_complete(&f->ihs, f->rsp.pk, f->m2, f->m2_len, &peer_at_ini,
					    &si), 0);
	hs_wiped(&f->ihs);
	assert_memory_equal(peer_at_ini.identity, f->rsp.pk, 32);
	assert_string_equal(peer_at_ini.name, "Globex");
	assert_memory_equal(si.handshake_hash, sr.handshake_hash, NOISE_HASH_LEN);
	transport_both_ways(&si, &sr);
	noise_session_wipe(&si);
	noise_session_wipe(&sr);
}

static void test_invite_proof_carried(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	f->ini_hello.has_invite = true;
	memset(f->ini_hello.invite_id, 0x11, sizeof(f->ini_hello.invite_id));
	memset(f->ini_hello.invite_mac, 0x22, sizeof(f->ini_hello.invite_mac));
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	assert_true(peer.has_invite);
	assert_memory_equal(peer.invite_id, f->ini_hello.invite_id, LIMIT_INVITE_ID);
	assert_memory_equal(peer.invite_mac, f->ini_hello.invite_mac, LIMIT_INVITE_MAC);
	noise_session_wipe(&sr);
}

static void test_unknown_key_denied_silently(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	handshake_partner_wipe(&f->allow.hp[0]);
	f->allow.n = 0;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), ERR_DENIED);
	assert_int_equal(f->allow.calls, 1);
	assert_int_equal(f->allow.found, 0); /* an unknown static key: the computed path */
	/* A refusal records nothing: the same bytes are answered once the key is allowed
	 * (the replay check comes after admission). */
	allow_add(f, f->ini.pk);
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);
}

static int admit_used(void *arg, const struct hello *peer)
{
	(void)arg;
	(void)peer;
	return ERR_USED;
}

static void test_admit_code_passed_through(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	/* admit() names its own reason (the node uses ERR_USED and ERR_EXPIRED for invites) */
	f->r.admit = admit_used;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), ERR_USED);
}

static void test_identity_not_bound_to_static_key(void **state)
{
	struct fx *f = *state;
	struct hello forged, peer;
	struct noise_session sr;

	/* ini runs Noise with its own key but claims to be `other`, a partner of the responder */
	allow_add(f, f->other.pk);
	hello_fill(&forged, &f->other, "Other", NOW_MS);
	initiate_as(f, &f->ini, &forged);
	assert_int_equal(respond(f, &peer, &sr), ERR_PROTO);
	assert_int_equal(f->allow.calls, 0); /* refused before admission is even asked */
}

static void test_identity_not_a_curve_point(void **state)
{
	struct fx *f = *state;
	struct hello bad, peer;
	struct noise_session sr;

	hello_fill(&bad, &f->ini, "Acme", NOW_MS);
	memset(bad.identity, 0, 32); /* small order: no X25519 form */
	initiate_as(f, &f->ini, &bad);
	assert_int_equal(respond(f, &peer, &sr), ERR_PROTO);
	assert_int_equal(f->allow.calls, 0);
}

/* One fresh handshake with the initiator's timestamp at ts. */
static int respond_at(struct fx *f, uint64_t ts)
{
	struct hello peer;
	struct noise_session sr;
	int r;

	f->ini_hello.timestamp_ms = ts;
	initiate(f);
	r = respond(f, &peer, &sr);
	noise_session_wipe(&sr);
	return r;
}

static void test_timestamp_skew(void **state)
{
	struct fx *f = *state;

	assert_int_equal(respond_at(f, NOW_MS - SKEW_MS - 1), ERR_EXPIRED);
	assert_int_equal(respond_at(f, NOW_MS + SKEW_MS + 1), ERR_EXPIRED);
	assert_int_equal(f->allow.calls, 0);
	assert_int_equal(respond_at(f, 0), ERR_EXPIRED);
	assert_int_equal(respond_at(f, UINT64_MAX), ERR_EXPIRED);
	/* exactly at the edge, both ways: accepted */
	assert_int_equal(respond_at(f, NOW_MS - SKEW_MS), 0);
	assert_int_equal(respond_at(f, NOW_MS + SKEW_MS), 0);
	assert_int_equal(respond_at(f, NOW_MS), 0);
	/* no skew tolerated at all: only the exact time */
	f->r.skew_ms = 0;
	assert_int_equal(respond_at(f, NOW_MS), 0);
	assert_int_equal(respond_at(f, NOW_MS + 1), ERR_EXPIRED);
	assert_int_equal(respond_at(f, NOW_MS - 1), ERR_EXPIRED);
}

static void test_replay_refused(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);
	/* the very same bytes again, at once and at the edge of the tolerance */
	assert_int_equal(respond(f, &peer, &sr), ERR_REPLAY);
	f->r.now_ms = NOW_MS + SKEW_MS;
	assert_int_equal(respond(f, &peer, &sr), ERR_REPLAY);
	/* later its timestamp is out of the window anyway */
	f->r.now_ms = NOW_MS + SKEW_MS + 1;
	assert_int_equal(respond(f, &peer, &sr), ERR_EXPIRED);
	/* a new initiation from the same partner with the same timestamp is no replay:
	 * there is no strictly-increasing rule */
	f->r.now_ms = NOW_MS;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);
}

static void test_earlier_timestamp_after_later_accepted(void **state)
{
	struct fx *f = *state;

	/* a partner whose clock was set back (e.g. across a restart) is not locked out */
	assert_int_equal(respond_at(f, NOW_MS + 1000), 0);
	assert_int_equal(respond_at(f, NOW_MS - 1000), 0);
}

static void test_tampered_initiation(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	initiate(f);
	for (size_t i = 0; i < f->m1_len; i += 7) {
		f->m1[i] ^= 0x01;
		assert_int_not_equal(respond(f, &peer, &sr), 0);
		f->m1[i] ^= 0x01;
	}
	assert_int_equal(f->allow.calls, 0);
	/* truncated, to every length */
	for (size_t len = f->m1_len, n = 0; n < len; n++) {
		f->m1_len = n;
		assert_int_not_equal(respond(f, &peer, &sr), 0);
		f->m1_len = len;
	}
	/* the untouched message still works: failed attempts left no replay entry */
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);
}

static void test_initiation_for_another_responder(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	/* ini believes it talks to `other`; the responder cannot decrypt */
	assert_int_equal(handshake_initiate(&f->ihs, &f->ini, &f->to_other, &f->ini_hello, f->m1,
					    sizeof(f->m1), &f->m1_len), 0);
	assert_int_equal(respond(f, &peer, &sr), ERR_CRYPTO);
	assert_int_equal(f->allow.calls, 0);
}

static void test_initiator_refuses_wrong_responder_identity(void **state)
{
	struct fx *f = *state;
	struct hello peer, before;
	struct noise_session sr, si;

	/* the responder holds its own key but names another identity in its Hello */
	hello_fill(&f->rsp_hello, &f->other, "Other", NOW_MS);
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	memset(&before, 0xa5, sizeof(before));
	peer = before;
	assert_int_equal(handshake_complete(&f->ihs, f->rsp.pk, f->m2, f->m2_len, &peer, &si),
			 ERR_DENIED);
	hs_wiped(&f->ihs);
	assert_memory_equal(&peer, &before, sizeof(before));
	noise_session_wipe(&sr);
}

static void test_initiator_refuses_tampered_response(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr, si;

	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	f->m2[f->m2_len - 1] ^= 0x80;
	assert_int_equal(handshake_complete(&f->ihs, f->rsp.pk, f->m2, f->m2_len, &peer, &si),
			 ERR_CRYPTO);
	hs_wiped(&f->ihs);
	noise_session_wipe(&sr);
}

static void test_version_mismatch(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr, si;

	/* initiator speaks only versions the responder does not */
	f->ini_hello.version_min = COEX_PROTOCOL_VERSION + 1;
	f->ini_hello.version_max = COEX_PROTOCOL_VERSION + 3;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), ERR_PROTO);
	assert_int_equal(f->allow.calls, 0);
	f->ini_hello.version_min = 0;
	f->ini_hello.version_max = COEX_PROTOCOL_VERSION - 1;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), ERR_PROTO);

	/* a range that includes ours is fine */
	f->ini_hello.version_min = 0;
	f->ini_hello.version_max = COEX_PROTOCOL_VERSION + 5;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);

	/* responder speaks only a newer version: the initiator refuses the answer */
	f->ini_hello.version_min = f->ini_hello.version_max = COEX_PROTOCOL_VERSION;
	f->rsp_hello.version_min = f->rsp_hello.version_max = COEX_PROTOCOL_VERSION + 1;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	assert_int_equal(handshake_complete(&f->ihs, f->rsp.pk, f->m2, f->m2_len, &peer, &si),
			 ERR_DENIED);
	noise_session_wipe(&sr);
}

static void test_invalid_peer_key(void **state)
{
	struct fx *f = *state;
	uint8_t zero[32] = {0};
	struct handshake_partner hp, before;
	size_t len = SENTINEL;

	memset(&hp, 0xa5, sizeof(hp));
	before = hp;
	assert_int_equal(handshake_partner_init(&hp, &f->ini, zero), ERR_CRYPTO);
	assert_memory_equal(&hp, &before, sizeof(hp));
	/* out too small for the initiation */
	assert_int_not_equal(handshake_initiate(&f->ihs, &f->ini, &f->to_rsp, &f->ini_hello, f->m1,
						NOISE_INITIATION_OVERHEAD, &len), 0);
	assert_int_equal(len, SENTINEL);
}

/* The partner keys are what the computed path would use: X25519 form and ss = DH(s, rs)
 * seen from either side. */
static void test_partner_keys(void **state)
{
	struct fx *f = *state;
	struct handshake_partner at_rsp;
	uint8_t x_pk[32], ss[32];

	assert_int_equal(identity_pk_to_x25519(f->rsp.pk, x_pk), 0);
	assert_memory_equal(f->to_rsp.pk, f->rsp.pk, 32);
	assert_memory_equal(f->to_rsp.x_pk, x_pk, 32);
	assert_int_equal(crypto_scalarmult_curve25519(ss, f->ini.x_sk, x_pk), 0);
	assert_memory_equal(f->to_rsp.ss, ss, 32);
	assert_int_equal(handshake_partner_init(&at_rsp, &f->rsp, f->ini.pk), 0);
	assert_memory_equal(at_rsp.ss, f->to_rsp.ss, 32);
	handshake_partner_wipe(&at_rsp);
	assert_true(sodium_is_zero((const unsigned char *)&at_rsp, sizeof(at_rsp)));
}

/* The responder uses the partner's keys when it has a partner() lookup, and only then. */
static void test_partner_keys_used(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr, si;

	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	assert_int_equal(f->allow.found, f->r.partner ? 1 : 0);
	assert_int_equal(handshake_complete(&f->ihs, f->rsp.pk, f->m2, f->m2_len, &peer, &si), 0);
	transport_both_ways(&si, &sr);
	noise_session_wipe(&si);
	noise_session_wipe(&sr);
}

/* A lookup that hands back a wrong secret for the right key is refused (the payload does not
 * decrypt), and nothing is recorded: the same bytes pass with the right secret. */
static void test_partner_wrong_ss_refused(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	f->r.partner = allow_partner;
	initiate(f);
	f->allow.hp[0].ss[0] ^= 0x01;
	assert_int_equal(respond(f, &peer, &sr), ERR_CRYPTO);
	assert_int_equal(f->allow.calls, 0);
	f->allow.hp[0].ss[0] ^= 0x01;
	assert_int_equal(respond(f, &peer, &sr), 0);
	noise_session_wipe(&sr);
}

static const struct handshake_partner *lookup_liar(void *arg, const uint8_t x_pk[32])
{
	struct allow *a = arg;

	(void)x_pk;
	a->found++;
	return &a->hp[1]; /* whatever the key: another partner's entry */
}

/* A lookup answering with another partner's entry is not trusted: its key does not match
 * the initiator's static key, so the responder computes ss itself. */
static void test_partner_lookup_mismatch_ignored(void **state)
{
	struct fx *f = *state;
	struct hello peer;
	struct noise_session sr;

	allow_add(f, f->other.pk);
	f->r.partner = lookup_liar;
	initiate(f);
	assert_int_equal(respond(f, &peer, &sr), 0);
	assert_int_equal(f->allow.found, 1);
	assert_memory_equal(peer.identity, f->ini.pk, 32);
	noise_session_wipe(&sr);
}

/* An Ed25519 key and the one with its sign bit flipped share an X25519 form. A Hello naming
 * the flipped key of a partner is bound to the partner's static key (as on the computed
 * path), but it is not the partner: admission decides, here a refusal. */
static void test_sign_flipped_identity(void **state)
{
	struct fx *f = *state;
	struct hello flipped, peer;
	struct noise_session sr;
	uint8_t a[32], b[32];

	hello_fill(&flipped, &f->ini, "Acme", NOW_MS);
	flipped.identity[31] ^= 0x80;
	assert_int_equal(identity_pk_to_x25519(flipped.identity, a), 0); /* -P: also a key */
	assert_int_equal(identity_pk_to_x25519(f->ini.pk, b), 0);
	assert_memory_equal(a, b, 32);
	initiate_as(f, &f->ini, &flipped);
	assert_int_equal(respond(f, &peer, &sr), ERR_DENIED);
	assert_int_equal(f->allow.calls, 1);
}

#define T(f)                                                                       \
	cmocka_unit_test_setup_teardown(f, setup_precomputed, teardown),           \
	cmocka_unit_test_setup_teardown(f, setup_computed, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_handshake),
		T(test_invite_proof_carried),
		T(test_unknown_key_denied_silently),
		T(test_admit_code_passed_through),
		T(test_identity_not_bound_to_static_key),
		T(test_identity_not_a_curve_point),
		T(test_timestamp_skew),
		T(test_replay_refused),
		T(test_earlier_timestamp_after_later_accepted),
		T(test_tampered_initiation),
		T(test_initiation_for_another_responder),
		T(test_initiator_refuses_wrong_responder_identity),
		T(test_initiator_refuses_tampered_response),
		T(test_version_mismatch),
		T(test_invalid_peer_key),
		T(test_partner_keys),
		T(test_partner_keys_used),
		T(test_partner_wrong_ss_refused),
		T(test_partner_lookup_mismatch_ignored),
		T(test_sign_flipped_identity),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
