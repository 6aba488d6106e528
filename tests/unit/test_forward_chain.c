/* wire/card: body_facts_read on forwarding chains. Node 0 authors a forwardable proposal for
 * node 1; node 1 forwards it to node 2, node 2 to node 3, ... Each Forwarded body is signed by
 * its forwarder and wraps the previous Signed message verbatim. Built with the generated
 * protobuf code, so the tests do not trust the module to build what it checks. */
#include "testutil.h"

#include "crypto/identity.h"
#include "lib/err.h"
#include "wire/card.h"
#include "wire/message.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { NODES = 6 };

static struct identity N[NODES];

struct signed_buf {
	uint8_t *data;
	size_t len;
};

static uint8_t *pack_body(Coex__Body *b, size_t *len)
{
	uint8_t *out;

	*len = coex__body__get_packed_size(b);
	out = malloc(*len);
	assert_non_null(out);
	coex__body__pack(b, out);
	return out;
}

static struct signed_buf sign_body(const struct identity *by, const uint8_t *body, size_t len)
{
	Coex__Signed s = COEX__SIGNED__INIT;
	uint8_t sig[64];
	struct signed_buf out;

	assert_int_equal(identity_sign(by, MESSAGE_DOMAIN_BODY, body, len, sig), 0);
	s.body = (ProtobufCBinaryData){len, (uint8_t *)body};
	s.signature = (ProtobufCBinaryData){64, sig};
	out.len = coex__signed__get_packed_size(&s);
	out.data = malloc(out.len);
	assert_non_null(out.data);
	coex__signed__pack(&s, out.data);
	return out;
}

static void body_header(Coex__Body *b, uint8_t id[16], const struct identity *from,
			const struct identity *to)
{
	randombytes_buf(id, 16);
	b->id = (ProtobufCBinaryData){16, id};
	b->author = (ProtobufCBinaryData){32, (uint8_t *)from->pk};
	b->recipient = (ProtobufCBinaryData){32, (uint8_t *)to->pk};
	b->created_ms = 1700000000000ull;
}

/* Node 0's proposal for node 1, Signed. */
static struct signed_buf proposal(bool forwardable, uint32_t hop_limit)
{
	Coex__Body b = COEX__BODY__INIT;
	Coex__Proposal p = COEX__PROPOSAL__INIT;
	struct signed_buf s;
	uint8_t id[16], *body;
	size_t len;

	body_header(&b, id, &N[0], &N[1]);
	p.title = "cold chain";
	p.forwardable = forwardable;
	p.hop_limit = hop_limit;
	b.kind_case = COEX__BODY__KIND_PROPOSAL;
	b.proposal = &p;
	body = pack_body(&b, &len);
	s = sign_body(&N[0], body, len);
	free(body);
	return s;
}

/* The Body bytes of node `by`'s Forwarded, wrapping inner, for node `to`. */
static uint8_t *forward_body(const struct signed_buf *inner, int by, int to, uint32_t hops,
			     size_t *len)
{
	Coex__Body b = COEX__BODY__INIT;
	Coex__Forwarded f = COEX__FORWARDED__INIT;
	Coex__Signed *orig = coex__signed__unpack(NULL, inner->len, inner->data);
	uint8_t id[16], *out;

	if (!orig)
		return NULL;
	body_header(&b, id, &N[by], &N[to]);
	f.original = orig;
	f.hops_left = hops;
	b.kind_case = COEX__BODY__KIND_FORWARDED;
	b.forwarded = &f;
	out = pack_body(&b, len);
	coex__signed__free_unpacked(orig, NULL);
	return out;
}

/* A chain of forwards 1 -> 2 -> ... -> hops.len + 1 with the given hops_left at each hop;
 * returns the outermost body (by node hops.len) and its meta. */
static uint8_t *chain(struct signed_buf start, const uint32_t *hops, int n, struct message_meta *meta,
		      size_t *len)
{
	struct signed_buf cur = start;
	uint8_t *body = NULL;

	for (int i = 0; i < n; i++) {
		free(body);
		body = forward_body(&cur, i + 1, i + 2, hops[i], len);
		assert_non_null(body);
		free(cur.data);
		cur = sign_body(&N[i + 1], body, *len);
	}
	assert_int_equal(message_body_meta(body, *len, meta), 0);
	free(cur.data);
	return body;
}

static int facts(struct signed_buf start, const uint32_t *hops, int n, struct body_facts *f)
{
	struct message_meta meta;
	size_t len;
	uint8_t *body = chain(start, hops, n, &meta, &len);
	int r = body_facts_read(body, len, &meta, f);

	free(body);
	return r;
}

static void test_one_hop(void **state)
{
	struct body_facts f;
	const uint32_t hops[] = {1};
	(void)state;

	assert_int_equal(facts(proposal(true, 2), hops, 1, &f), 0);
	assert_memory_equal(f.origin, N[0].pk, 32);
	assert_int_equal(f.n_path, 1);
	assert_memory_equal(f.path[0], N[0].pk, 32);
	assert_int_equal(f.hops_left, 1);
}

static void test_two_and_three_hops(void **state)
{
	struct body_facts f;
	const uint32_t two[] = {1, 0}, three[] = {2, 1, 0};
	(void)state;

	assert_int_equal(facts(proposal(true, 2), two, 2, &f), 0);
	assert_int_equal(f.n_path, 2);
	assert_memory_equal(f.path[0], N[0].pk, 32);
	assert_memory_equal(f.path[1], N[1].pk, 32);
	assert_memory_equal(f.origin, N[0].pk, 32);
	assert_int_equal(f.hops_left, 0);

	assert_int_equal(facts(proposal(true, 3), three, 3, &f), 0);
	assert_int_equal(f.n_path, 3);
	assert_memory_equal(f.path[2], N[2].pk, 32);
}

static void test_hop_counts(void **state)
{
	struct body_facts f;
	const uint32_t same[] = {1, 1}, raised[] = {0, 1}, skipped[] = {2, 0}, too_many[] = {1, 0, 0},
		       four[] = {3, 2, 1, 0}, limit1_twice[] = {0, 0}, wrapped[] = {0, UINT32_MAX};
	(void)state;

	assert_int_equal(facts(proposal(true, 2), same, 2, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(true, 2), raised, 2, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(true, 3), skipped, 2, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(true, 2), too_many, 3, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(true, 4), four, 4, &f), ERR_LIMIT); /* at most 3 hops */
	assert_int_equal(facts(proposal(true, 1), limit1_twice, 2, &f), ERR_LIMIT);
	/* UINT32_MAX + 1 wraps to 0: it must not pass for "one lower than 0" */
	assert_int_equal(facts(proposal(true, 1), wrapped, 2, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(true, 0), (const uint32_t[]){0}, 1, &f), ERR_LIMIT);
	assert_int_equal(facts(proposal(false, 2), (const uint32_t[]){1}, 1, &f), ERR_DENIED);
	assert_int_equal(facts(proposal(false, 2), (const uint32_t[]){1, 0}, 2, &f), ERR_DENIED);
}

/* Node 1 forwards to node 2, but node 3 signs the next forward as if node 2 had sent it. */
static void test_wrong_wrapper(void **state)
{
	struct signed_buf p = proposal(true, 2), s1, s3;
	struct message_meta meta;
	struct body_facts f;
	uint8_t *b1, *b3;
	size_t l1, l3;
	(void)state;

	b1 = forward_body(&p, 1, 2, 1, &l1);
	s1 = sign_body(&N[1], b1, l1);
	b3 = forward_body(&s1, 3, 4, 0, &l3); /* node 1's forward was for node 2, not node 3 */
	s3 = sign_body(&N[3], b3, l3);
	assert_int_equal(message_body_meta(b3, l3, &meta), 0);
	assert_int_equal(body_facts_read(b3, l3, &meta, &f), ERR_DENIED);
	free(p.data);
	free(b1);
	free(s1.data);
	free(b3);
	free(s3.data);
}

/* Every byte of a wrapped Signed message matters: a flipped bit anywhere inside the outer
 * Forwarded's original (which nests the first forward and the proposal) is refused. */
static void test_tampered_inner(void **state)
{
	struct signed_buf p = proposal(true, 2), s1;
	struct message_meta meta;
	struct body_facts f;
	uint8_t *b1, *b2;
	size_t l1, l2;
	int refused = 0, n = 0;
	(void)state;

	b1 = forward_body(&p, 1, 2, 1, &l1);
	s1 = sign_body(&N[1], b1, l1);
	for (size_t i = 0; i < s1.len; i++, n++) {
		s1.data[i] ^= 0x01;
		b2 = forward_body(&s1, 2, 3, 0, &l2);
		if (!b2 || message_body_meta(b2, l2, &meta) != 0 || body_facts_read(b2, l2, &meta, &f) != 0)
			refused++;
		free(b2);
		s1.data[i] ^= 0x01;
	}
	assert_int_equal(refused, n);
	free(p.data);
	free(b1);
	free(s1.data);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < NODES; i++)
		if (identity_generate(&N[i]) != 0)
			return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_hop),
		cmocka_unit_test(test_two_and_three_hops),
		cmocka_unit_test(test_hop_counts),
		cmocka_unit_test(test_wrong_wrapper),
		cmocka_unit_test(test_tampered_inner),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
