#include "wire/link_frame.h"
#include "lib/err.h"

#include "coex.pb-c.h"

#include <stdlib.h>
#include <string.h>

int link_frame_encode(const struct link_frame *f, uint8_t *out, size_t out_cap, size_t *out_len)
{
	Coex__Frame m = COEX__FRAME__INIT;
	Coex__Ping ping = COEX__PING__INIT;
	Coex__Pong pong = COEX__PONG__INIT;
	Coex__Close cl = COEX__CLOSE__INIT;
	Coex__EnvelopeChunk ch = COEX__ENVELOPE_CHUNK__INIT;
	Coex__ProofRequest pq = COEX__PROOF_REQUEST__INIT;
	Coex__ProofAnswer pa = COEX__PROOF_ANSWER__INIT;
	ProtobufCBinaryData proof[LINK_PROOF_MAX];
	size_t n;

	switch (f->kind) {
	case LINK_FRAME_PING:
		ping.nonce = f->nonce;
		m.kind_case = COEX__FRAME__KIND_PING;
		m.ping = &ping;
		break;
	case LINK_FRAME_PONG:
		pong.nonce = f->nonce;
		m.kind_case = COEX__FRAME__KIND_PONG;
		m.pong = &pong;
		break;
	case LINK_FRAME_CLOSE:
		cl.reason = (Coex__CloseReason)f->reason;
		cl.detail = (char *)f->detail;
		m.kind_case = COEX__FRAME__KIND_CLOSE;
		m.close = &cl;
		break;
	case LINK_FRAME_ENVELOPE:
		ch.total_len = f->total_len;
		ch.data.data = (uint8_t *)f->data;
		ch.data.len = f->data_len;
		m.kind_case = COEX__FRAME__KIND_ENVELOPE;
		m.envelope = &ch;
		break;
	case LINK_FRAME_RECEIPT:
		m.kind_case = COEX__FRAME__KIND_RECEIPT;
		m.receipt.data = (uint8_t *)f->data;
		m.receipt.len = f->data_len;
		break;
	case LINK_FRAME_PROOF_REQUEST:
		pq.size1 = f->size1;
		pq.size2 = f->size2;
		m.kind_case = COEX__FRAME__KIND_PROOF_REQUEST;
		m.proof_request = &pq;
		break;
	case LINK_FRAME_PROOF_ANSWER:
		if (f->n_proof > LINK_PROOF_MAX)
			return ERR_INVAL;
		pa.size1 = f->size1;
		pa.size2 = f->size2;
		for (size_t i = 0; i < f->n_proof; i++) {
			proof[i].data = (uint8_t *)f->proof[i];
			proof[i].len = 32;
		}
		pa.proof = proof;
		pa.n_proof = f->n_proof;
		pa.error = (char *)f->detail;
		m.kind_case = COEX__FRAME__KIND_PROOF_ANSWER;
		m.proof_answer = &pa;
		break;
	default:
		return ERR_INVAL;
	}
	n = coex__frame__get_packed_size(&m);
	if (n > out_cap)
		return ERR_TOOBIG;
	coex__frame__pack(&m, out);
	*out_len = n;
	return 0;
}

static int link_frame_copy_data(struct link_frame *f, const ProtobufCBinaryData *b)
{
	uint8_t *copy;

	if (b->len == 0)
		return ERR_PROTO;
	if (!(copy = malloc(b->len)))
		return ERR_NOMEM;
	memcpy(copy, b->data, b->len);
	f->data = copy;
	f->data_len = b->len;
	return 0;
}

static int link_frame_copy(const Coex__Frame *m, struct link_frame *f)
{
	switch (m->kind_case) {
	case COEX__FRAME__KIND_ENVELOPE:
		f->kind = LINK_FRAME_ENVELOPE;
		f->total_len = m->envelope->total_len;
		return link_frame_copy_data(f, &m->envelope->data);
	case COEX__FRAME__KIND_RECEIPT:
		f->kind = LINK_FRAME_RECEIPT;
		return link_frame_copy_data(f, &m->receipt);
	case COEX__FRAME__KIND_PROOF_REQUEST:
		f->kind = LINK_FRAME_PROOF_REQUEST;
		f->size1 = m->proof_request->size1;
		f->size2 = m->proof_request->size2;
		return 0;
	case COEX__FRAME__KIND_PROOF_ANSWER:
		f->kind = LINK_FRAME_PROOF_ANSWER;
		f->size1 = m->proof_answer->size1;
		f->size2 = m->proof_answer->size2;
		if (m->proof_answer->n_proof > LINK_PROOF_MAX)
			return ERR_PROTO;
		for (size_t i = 0; i < m->proof_answer->n_proof; i++) {
			if (m->proof_answer->proof[i].len != 32)
				return ERR_PROTO;
			memcpy(f->proof[i], m->proof_answer->proof[i].data, 32);
		}
		f->n_proof = m->proof_answer->n_proof;
		strncpy(f->detail, m->proof_answer->error, LIMIT_CLOSE_DETAIL_MAX);
		f->detail[LIMIT_CLOSE_DETAIL_MAX] = '\0';
		return 0;
	case COEX__FRAME__KIND_PING:
		f->kind = LINK_FRAME_PING;
		f->nonce = m->ping->nonce;
		return 0;
	case COEX__FRAME__KIND_PONG:
		f->kind = LINK_FRAME_PONG;
		f->nonce = m->pong->nonce;
		return 0;
	case COEX__FRAME__KIND_CLOSE:
		f->kind = LINK_FRAME_CLOSE;
		f->reason = (int)m->close->reason >= 0 && (int)m->close->reason <= (int)LINK_CLOSE_LIMIT
				    ? (enum link_close_reason)m->close->reason
				    : LINK_CLOSE_UNSPECIFIED;
		strncpy(f->detail, m->close->detail, LIMIT_CLOSE_DETAIL_MAX);
		f->detail[LIMIT_CLOSE_DETAIL_MAX] = '\0';
		return 0;
	default:
		return ERR_PROTO;
	}
}

int link_frame_decode(const uint8_t *in, size_t len, struct link_frame *out)
{
	Coex__Frame *m = coex__frame__unpack(NULL, len, in);
	struct link_frame f;
	int r;

	if (!m)
		return ERR_PROTO;
	memset(&f, 0, sizeof(f));
	r = link_frame_copy(m, &f);
	coex__frame__free_unpacked(m, NULL);
	if (r == 0)
		*out = f;
	return r;
}

void link_frame_release(struct link_frame *f)
{
	free((void *)f->data);
	f->data = NULL;
	f->data_len = 0;
}

const char *link_close_reason_str(enum link_close_reason r)
{
	static const char *const names[] = {"unspecified", "shutdown", "duplicate", "removed",
					    "protocol", "timeout", "limit"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unspecified";
}
