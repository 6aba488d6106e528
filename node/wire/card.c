#include "wire/card.h"
#include "crypto/identity.h"
#include "crypto/sha256.h"
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

/* One link of a forwarding chain: the Signed message a Forwarded body wraps, verified. */
struct chain_link {
	uint8_t *packed;
	Coex__Body *body;
	struct message_meta meta;
};

static int chain_link_open(const Coex__Signed *s, struct chain_link *cl)
{
	const uint8_t *ib;
	size_t n = coex__signed__get_packed_size(s), ilen;
	int r;

	if (!(cl->packed = malloc(n ? n : 1)))
		return ERR_NOMEM;
	coex__signed__pack(s, cl->packed);
	if ((r = message_verify_signed(cl->packed, n, &cl->meta, &ib, &ilen)) != 0)
		return r;
	if (!(cl->body = coex__body__unpack(NULL, ilen, ib)))
		return ERR_PROTO;
	return 0;
}

/* Walks a forwarding chain from the outermost Forwarded inwards to the original proposal.
 * Each wrapped message must carry its author's valid signature and name the node that
 * wrapped it as its recipient; each inner Forwarded must have exactly one hop more left than
 * the one around it, and the proposal must consent to forwarding with a hop limit above the
 * innermost hops_left. */
static int body_facts_forwarded(const Coex__Forwarded *fw, const struct message_meta *outer,
				struct body_facts *f)
{
	struct chain_link chain[BODY_HOPS_MAX];
	const uint8_t *wrapper = outer->author;
	size_t n = 0;
	int r = ERR_PROTO;

	memset(chain, 0, sizeof(chain));
	f->hops_left = fw->hops_left;
	while (n < BODY_HOPS_MAX) {
		struct chain_link *cl = &chain[n++];

		if (fw->hops_left >= BODY_HOPS_MAX) {
			r = ERR_LIMIT; /* no proposal allows that many: and hops_left + 1 stays exact */
			goto out;
		}
		if (!fw->original)
			goto out;
		if ((r = chain_link_open(fw->original, cl)) != 0)
			goto out;
		if (memcmp(cl->meta.recipient, wrapper, 32) != 0) {
			r = ERR_DENIED;
			goto out;
		}
		if (cl->body->kind_case == COEX__BODY__KIND_PROPOSAL) {
			const Coex__Proposal *p = cl->body->proposal;

			r = !p->forwardable ? ERR_DENIED
			    : p->hop_limit > BODY_HOPS_MAX || fw->hops_left >= p->hop_limit ? ERR_LIMIT : 0;
			if (r != 0)
				goto out;
			sha256(f->original_signed_hash, cl->packed,
			       coex__signed__get_packed_size(fw->original));
			memcpy(f->origin, cl->meta.author, 32);
			memcpy(f->original_id, cl->meta.id, 16);
			memcpy(f->original_thread, cl->meta.has_thread ? cl->meta.thread : cl->meta.id, 16);
			f->original_expires_ms = cl->meta.expires_ms;
			f->n_path = n; /* path[0] is the origin, then each forwarder outwards */
			for (size_t i = 0; i < n; i++)
				memcpy(f->path[i], chain[n - 1 - i].meta.author, 32);
			goto out;
		}
		r = ERR_PROTO;
		if (cl->body->kind_case != COEX__BODY__KIND_FORWARDED)
			goto out;
		if (cl->body->forwarded->hops_left != fw->hops_left + 1) {
			r = ERR_LIMIT; /* a forward may only ever lower the hop count, by one */
			goto out;
		}
		wrapper = cl->meta.author;
		fw = cl->body->forwarded;
	}
	r = ERR_LIMIT;
out:
	for (size_t i = 0; i < n; i++) {
		if (chain[i].body)
			coex__body__free_unpacked(chain[i].body, NULL);
		free(chain[i].packed);
	}
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
