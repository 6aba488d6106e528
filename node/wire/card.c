#include "wire/card.h"
#include "crypto/identity.h"
#include "lib/err.h"
#include "wire/message.h"

#include "coex.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The signed bytes: id || time || name 0 || address 0. */
static size_t card_message(const struct card *c, uint8_t *out)
{
	size_t n = 0, nl = strlen(c->name), al = strlen(c->address);

	memcpy(out, c->id, 32), n += 32;
	for (int i = 7; i >= 0; i--)
		out[n++] = (uint8_t)(c->time_ms >> (8 * i));
	memcpy(out + n, c->name, nl + 1), n += nl + 1;
	memcpy(out + n, c->address, al + 1), n += al + 1;
	return n;
}

int card_sign(const struct identity *id, struct card *c)
{
	uint8_t msg[32 + 8 + sizeof(c->name) + sizeof(c->address)];
	size_t n;

	if (memcmp(id->pk, c->id, 32) != 0)
		return ERR_INVAL;
	n = card_message(c, msg);
	if (identity_sign(id, CARD_DOMAIN, msg, n, c->signature) != 0)
		return ERR_CRYPTO;
	c->has_signature = true;
	return 0;
}

int card_verify(const struct card *c)
{
	uint8_t msg[32 + 8 + sizeof(c->name) + sizeof(c->address)];
	size_t n;

	if (!c->has_signature)
		return ERR_CRYPTO;
	n = card_message(c, msg);
	return identity_verify(c->id, CARD_DOMAIN, msg, n, c->signature);
}

static int body_facts_card(const Coex__Card *pc, struct card *c)
{
	size_t nl;

	if (!pc || pc->id.len != 32 || (nl = strlen(pc->name)) > LIMIT_NAME_MAX || pc->n_addresses > 1 ||
	    (pc->signature.len != 0 && pc->signature.len != 64))
		return ERR_PROTO;
	memset(c, 0, sizeof(*c));
	memcpy(c->id, pc->id.data, 32);
	memcpy(c->name, pc->name, nl + 1);
	if (pc->n_addresses == 1) {
		if (strlen(pc->addresses[0]) > LIMIT_ADDRESS_MAX)
			return ERR_PROTO;
		strcpy(c->address, pc->addresses[0]);
	}
	c->time_ms = pc->time_ms;
	c->has_signature = pc->signature.len == 64;
	if (c->has_signature)
		memcpy(c->signature, pc->signature.data, 64);
	return 0;
}

static int body_facts_intro(const ProtobufCBinaryData *id, struct body_facts *f)
{
	if (id->len == 0)
		return 0;
	if (id->len != 16)
		return ERR_PROTO;
	f->has_intro = true;
	memcpy(f->intro_id, id->data, 16);
	return 0;
}

static int body_facts_forwarded(const Coex__Forwarded *fw, const struct message_meta *outer,
				struct body_facts *f)
{
	Coex__Body *inner = NULL;
	struct message_meta meta;
	const uint8_t *ib;
	uint8_t *packed;
	size_t n, ilen;
	int r;

	if (!fw->original)
		return ERR_PROTO;
	n = coex__signed__get_packed_size(fw->original);
	if (!(packed = malloc(n ? n : 1)))
		return ERR_NOMEM;
	coex__signed__pack(fw->original, packed);
	if ((r = message_verify_signed(packed, n, &meta, &ib, &ilen)) != 0)
		goto out;
	crypto_hash_sha256(f->original_signed_hash, packed, n);
	r = ERR_PROTO;
	if (!(inner = coex__body__unpack(NULL, ilen, ib)) || inner->kind_case != COEX__BODY__KIND_PROPOSAL)
		goto out;
	r = ERR_DENIED;
	if (memcmp(meta.recipient, outer->author, 32) != 0 || !inner->proposal->forwardable ||
	    fw->hops_left >= inner->proposal->hop_limit)
		goto out;
	memcpy(f->origin, meta.author, 32);
	memcpy(f->original_id, meta.id, 16);
	f->hops_left = fw->hops_left;
	r = 0;
out:
	if (inner)
		coex__body__free_unpacked(inner, NULL);
	free(packed);
	return r;
}

int body_facts_read(const uint8_t *body, size_t len, const struct message_meta *meta,
		    struct body_facts *out)
{
	Coex__Body *b = coex__body__unpack(NULL, len, body);
	struct body_facts f;
	int r = 0;

	if (!b)
		return ERR_PROTO;
	memset(&f, 0, sizeof(f));
	switch (b->kind_case) {
	case COEX__BODY__KIND_PROPOSAL:
		f.forwardable = b->proposal->forwardable;
		f.hop_limit = b->proposal->hop_limit;
		break;
	case COEX__BODY__KIND_REFERRAL:
		if ((r = body_facts_intro(&b->referral->intro_id, &f)) == 0 &&
		    b->referral->subject_case == COEX__REFERRAL__SUBJECT_CARD) {
			f.has_card = true;
			r = body_facts_card(b->referral->card, &f.card);
		}
		break;
	case COEX__BODY__KIND_REFERRAL_ANSWER:
		f.accept = b->referral_answer->accept;
		if ((r = body_facts_intro(&b->referral_answer->intro_id, &f)) == 0 && b->referral_answer->card) {
			f.has_card = true;
			r = body_facts_card(b->referral_answer->card, &f.card);
		}
		break;
	case COEX__BODY__KIND_FORWARDED:
		r = body_facts_forwarded(b->forwarded, meta, &f);
		break;
	default:
		break;
	}
	coex__body__free_unpacked(b, NULL);
	if (r == 0)
		*out = f;
	return r;
}
