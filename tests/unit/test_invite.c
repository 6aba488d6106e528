/* Invite codes and invite proofs (wire/invite.h). */
#include "testutil.h"

#include "lib/base32.h"
#include "lib/err.h"
#include "wire/invite.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void code_random(struct invite_code *c, const char *address)
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(c->inviter, sizeof(c->inviter));
	randombytes_buf(c->invite_id, sizeof(c->invite_id));
	randombytes_buf(c->secret, sizeof(c->secret));
	c->expires_s = 1700000000 + randombytes_uniform(1000000);
	snprintf(c->address, sizeof(c->address), "%s", address);
}

static void code_equal(const struct invite_code *a, const struct invite_code *b)
{
	assert_memory_equal(a->inviter, b->inviter, sizeof(a->inviter));
	assert_memory_equal(a->invite_id, b->invite_id, sizeof(a->invite_id));
	assert_memory_equal(a->secret, b->secret, sizeof(a->secret));
	assert_int_equal(a->expires_s, b->expires_s);
	assert_string_equal(a->address, b->address);
}

/* Parses s, which must be refused, and checks out was not written. */
static void refused(const char *s)
{
	struct invite_code out, before;

	memset(&out, 0x5a, sizeof(out));
	before = out;
	if (invite_code_parse(s, &out) != ERR_PROTO)
		fail_msg("accepted: \"%s\"", s);
	assert_memory_equal(&out, &before, sizeof(out));
}

static void test_round_trip(void **state)
{
	static const char *const addresses[] = {
		"192.0.2.7:7400", "[2001:db8::7]:7400", "coex.acme.example:7401", "a:1",
	};
	char s[INVITE_CODE_MAX + 1];
	struct invite_code c, back;

	(void)state;
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		code_random(&c, addresses[i]);
		assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
		assert_true(strncmp(s, INVITE_CODE_PREFIX, strlen(INVITE_CODE_PREFIX)) == 0);
		for (const char *p = s; *p; p++)
			assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p));
		assert_int_equal(invite_code_parse(s, &back), 0);
		code_equal(&c, &back);
	}
	/* the extremes of the expiry field */
	c.expires_s = 0;
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	assert_int_equal(invite_code_parse(s, &back), 0);
	code_equal(&c, &back);
	c.expires_s = UINT64_MAX;
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	assert_int_equal(invite_code_parse(s, &back), 0);
	code_equal(&c, &back);
}

static void test_longest_address(void **state)
{
	char s[INVITE_CODE_MAX + 1], addr[LIMIT_ADDRESS_MAX + 1];
	struct invite_code c, back;

	(void)state;
	memset(addr, 'h', LIMIT_ADDRESS_MAX - 5);
	memcpy(addr + LIMIT_ADDRESS_MAX - 5, ":7400", 6);
	code_random(&c, addr);
	assert_int_equal(strlen(c.address), LIMIT_ADDRESS_MAX);
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	assert_int_equal(strlen(s), INVITE_CODE_MAX);
	assert_int_equal(invite_code_parse(s, &back), 0);
	code_equal(&c, &back);
	/* one byte short of room */
	assert_int_equal(invite_code_format(&c, s, INVITE_CODE_MAX), ERR_TOOBIG);
}

static void test_format_refusals(void **state)
{
	char s[INVITE_CODE_MAX + 1];
	struct invite_code c;

	(void)state;
	code_random(&c, "");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), ERR_INVAL);
	code_random(&c, "192.0.2.7:7400");
	assert_int_equal(invite_code_format(&c, s, 10), ERR_TOOBIG);
}

/* Every code with one character replaced by any other byte is refused, unless the change
 * only flips the case of a letter, in which case it is refused or means the same code. */
static void test_every_single_change(void **state)
{
	char s[INVITE_CODE_MAX + 1], m[INVITE_CODE_MAX + 1];
	struct invite_code c, back;
	size_t len, accepted_case = 0;

	(void)state;
	code_random(&c, "192.0.2.7:7400");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		for (int v = 1; v < 256; v++) {
			char orig = s[i], ch = (char)v;
			if (ch == orig)
				continue;
			memcpy(m, s, len + 1);
			m[i] = ch;
			memset(&back, 0, sizeof(back));
			if (invite_code_parse(m, &back) != 0)
				continue;
			if (tolower((unsigned char)ch) != (unsigned char)orig)
				fail_msg("changing position %zu from '%c' to 0x%02x was accepted",
					 i, orig, v);
			code_equal(&c, &back);
			accepted_case++;
		}
	}
	/* the base32 part is case-insensitive: every letter in it may be upper case */
	{
		size_t letters = 0;
		for (size_t i = strlen(INVITE_CODE_PREFIX); i < len; i++)
			letters += isalpha((unsigned char)s[i]) != 0;
		assert_true(accepted_case >= letters);
	}
}

static void test_every_deletion_and_insertion(void **state)
{
	static const char extra[] = "a7 -Z";
	char s[INVITE_CODE_MAX + 1], m[INVITE_CODE_MAX + 2];
	struct invite_code c;
	size_t len;

	(void)state;
	code_random(&c, "coex.acme.example:7400");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		memcpy(m, s, i);
		memcpy(m + i, s + i + 1, len - i);
		refused(m);
	}
	/* an extra character anywhere inside (at the ends, whitespace is trimmed) */
	for (size_t i = 1; i < len; i++) {
		for (const char *e = extra; *e; e++) {
			memcpy(m, s, i);
			m[i] = *e;
			memcpy(m + i + 1, s + i, len - i + 1);
			refused(m);
		}
	}
	/* two adjacent characters swapped */
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == s[i + 1])
			continue;
		memcpy(m, s, len + 1);
		m[i] = s[i + 1];
		m[i + 1] = s[i];
		refused(m);
	}
}

static void test_truncated(void **state)
{
	char s[INVITE_CODE_MAX + 1], m[INVITE_CODE_MAX + 1];
	struct invite_code c;
	size_t len;

	(void)state;
	code_random(&c, "192.0.2.7:7400");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	len = strlen(s);
	for (size_t n = 0; n < len; n++) {
		memcpy(m, s, n);
		m[n] = '\0';
		refused(m);
		/* and cut from the front */
		refused(s + len - n);
	}
}

static void test_wrong_prefix(void **state)
{
	static const char *const prefixes[] = {"", "coex", "coex2", "coex0", "xoex1", "coex11",
					       "coex:", "coex1:", "coex1 ", "c0ex1"};
	char s[INVITE_CODE_MAX + 1], m[INVITE_CODE_MAX + 16];
	const char *body;
	struct invite_code c;

	(void)state;
	code_random(&c, "192.0.2.7:7400");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	body = s + strlen(INVITE_CODE_PREFIX);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(m, sizeof(m), "%s%s", prefixes[i], body);
		refused(m);
	}
	refused("");
	refused("   ");
	refused(INVITE_CODE_PREFIX);
}

static void test_surrounding_whitespace(void **state)
{
	static const char *const around[][2] = {
		{" ", ""}, {"", "\n"}, {"\t ", "\r\n"}, {"\n\n", "  \t\n"}, {"\v\f", " "},
	};
	char s[INVITE_CODE_MAX + 1], m[INVITE_CODE_MAX + 16];
	struct invite_code c, back;

	(void)state;
	code_random(&c, "192.0.2.7:7400");
	assert_int_equal(invite_code_format(&c, s, sizeof(s)), 0);
	for (size_t i = 0; i < sizeof(around) / sizeof(around[0]); i++) {
		snprintf(m, sizeof(m), "%s%s%s", around[i][0], s, around[i][1]);
		memset(&back, 0, sizeof(back));
		assert_int_equal(invite_code_parse(m, &back), 0);
		code_equal(&c, &back);
	}
}

/* Builds a code by hand: version, address length field and address as given, with a
 * correct check, so only the rule under test is broken. */
static void craft(char *out, size_t cap, uint8_t version, size_t alen_field, const char *addr,
		  size_t alen)
{
	uint8_t buf[1 + 32 + 16 + 32 + 8 + 1 + 300 + 4], h[32];
	size_t n = 0;

	buf[n++] = version;
	randombytes_buf(buf + n, 32 + 16 + 32), n += 32 + 16 + 32;
	memset(buf + n, 0, 8), n += 8;
	buf[n++] = (uint8_t)alen_field;
	memcpy(buf + n, addr, alen), n += alen;
	crypto_generichash(h, sizeof(h), buf, n, NULL, 0);
	memcpy(buf + n, h, 4), n += 4;
	memcpy(out, INVITE_CODE_PREFIX, strlen(INVITE_CODE_PREFIX));
	assert_int_equal(base32_encode(buf, n, out + strlen(INVITE_CODE_PREFIX),
				       cap - strlen(INVITE_CODE_PREFIX)), 0);
}

static void test_crafted(void **state)
{
	char s[INVITE_CODE_MAX + 64];
	struct invite_code back;

	(void)state;
	/* the crafting is right: a well-formed one parses */
	craft(s, sizeof(s), 1, 9, "a.b:7400x", 9);
	assert_int_equal(invite_code_parse(s, &back), 0);
	assert_string_equal(back.address, "a.b:7400x");
	craft(s, sizeof(s), 0, 8, "a.b:7400", 8);
	refused(s);
	craft(s, sizeof(s), 2, 8, "a.b:7400", 8);
	refused(s);
	craft(s, sizeof(s), 1, 0, "", 0);
	refused(s);
	craft(s, sizeof(s), 1, 9, "a.b:7400", 8); /* length says more than there is */
	refused(s);
	craft(s, sizeof(s), 1, 7, "a.b:7400", 8); /* and less */
	refused(s);
	craft(s, sizeof(s), 1, 9, "a b:74000", 9); /* not printable */
	refused(s);
	craft(s, sizeof(s), 1, 9, "a\nb:7400x", 9);
	refused(s);
	craft(s, sizeof(s), 1, 9, "a\0b:7400x", 9);
	refused(s);
}

struct proof_fx {
	uint8_t secret[LIMIT_INVITE_SECRET], id[LIMIT_INVITE_ID], joiner[32], inviter[32];
	uint8_t mac[LIMIT_INVITE_MAC];
};

static void proof_fill(struct proof_fx *p)
{
	randombytes_buf(p->secret, sizeof(p->secret));
	randombytes_buf(p->id, sizeof(p->id));
	randombytes_buf(p->joiner, sizeof(p->joiner));
	randombytes_buf(p->inviter, sizeof(p->inviter));
	invite_proof_mac(p->secret, p->id, p->joiner, p->inviter, p->mac);
}

static void test_proof_good(void **state)
{
	struct proof_fx p;
	crypto_generichash_state st;
	uint8_t want[LIMIT_INVITE_MAC];

	(void)state;
	proof_fill(&p);
	assert_int_equal(invite_proof_verify(p.secret, p.id, p.joiner, p.inviter, p.mac), 0);
	/* the documented construction: BLAKE2b-256 keyed by the secret over
	 * "coex/1/invite" || invite id || joiner || inviter */
	crypto_generichash_init(&st, p.secret, sizeof(p.secret), sizeof(want));
	crypto_generichash_update(&st, (const uint8_t *)"coex/1/invite", 13);
	crypto_generichash_update(&st, p.id, sizeof(p.id));
	crypto_generichash_update(&st, p.joiner, sizeof(p.joiner));
	crypto_generichash_update(&st, p.inviter, sizeof(p.inviter));
	crypto_generichash_final(&st, want, sizeof(want));
	assert_memory_equal(p.mac, want, sizeof(want));
}

static void test_proof_wrong_inputs(void **state)
{
	struct proof_fx p, q;

	(void)state;
	proof_fill(&p);
	/* a single bit anywhere in any input breaks it */
	for (size_t bit = 0; bit < 8 * LIMIT_INVITE_SECRET; bit++) {
		q = p;
		q.secret[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(invite_proof_verify(q.secret, q.id, q.joiner, q.inviter, q.mac),
				 ERR_CRYPTO);
	}
	for (size_t bit = 0; bit < 8 * 32; bit++) {
		q = p;
		q.joiner[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(invite_proof_verify(q.secret, q.id, q.joiner, q.inviter, q.mac),
				 ERR_CRYPTO);
		q = p;
		q.inviter[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(invite_proof_verify(q.secret, q.id, q.joiner, q.inviter, q.mac),
				 ERR_CRYPTO);
		q = p;
		q.mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(invite_proof_verify(q.secret, q.id, q.joiner, q.inviter, q.mac),
				 ERR_CRYPTO);
	}
	for (size_t bit = 0; bit < 8 * LIMIT_INVITE_ID; bit++) {
		q = p;
		q.id[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(invite_proof_verify(q.secret, q.id, q.joiner, q.inviter, q.mac),
				 ERR_CRYPTO);
	}
	/* another node's keys: the joiner and inviter swapped, or a third party */
	proof_fill(&q);
	assert_int_equal(invite_proof_verify(p.secret, p.id, p.inviter, p.joiner, p.mac),
			 ERR_CRYPTO);
	assert_int_equal(invite_proof_verify(p.secret, p.id, q.joiner, p.inviter, p.mac),
			 ERR_CRYPTO);
	assert_int_equal(invite_proof_verify(p.secret, p.id, p.joiner, q.inviter, p.mac),
			 ERR_CRYPTO);
	assert_int_equal(invite_proof_verify(q.secret, p.id, p.joiner, p.inviter, p.mac),
			 ERR_CRYPTO);
}

static void test_wipe(void **state)
{
	struct invite_code c, zero;

	(void)state;
	code_random(&c, "192.0.2.7:7400");
	invite_code_wipe(&c);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&c, &zero, sizeof(c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_longest_address),
		cmocka_unit_test(test_format_refusals),
		cmocka_unit_test(test_every_single_change),
		cmocka_unit_test(test_every_deletion_and_insertion),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_prefix),
		cmocka_unit_test(test_surrounding_whitespace),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_proof_good),
		cmocka_unit_test(test_proof_wrong_inputs),
		cmocka_unit_test(test_wipe),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
