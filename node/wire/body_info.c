#include "wire/body_info.h"
#include "wire/card.h"

#include "coex.pb-c.h"

#include <stdio.h>

/* The title of the proposal at the heart of a forwarding chain (a forward of a forward nests
 * one Forwarded in another, at most depth deep). */
static const char *body_info_forwarded_title(const Coex__Forwarded *f, int depth, char *buf,
					     size_t cap)
{
	Coex__Body *inner;

	buf[0] = '\0';
	if (!f->original || depth <= 0)
		return buf;
	inner = coex__body__unpack(NULL, f->original->body.len, f->original->body.data);
	if (inner && inner->kind_case == COEX__BODY__KIND_PROPOSAL)
		snprintf(buf, cap, "%s", inner->proposal->title);
	else if (inner && inner->kind_case == COEX__BODY__KIND_FORWARDED)
		body_info_forwarded_title(inner->forwarded, depth - 1, buf, cap);
	if (inner)
		coex__body__free_unpacked(inner, NULL);
	return buf;
}

void message_body_title(const uint8_t *body, size_t len, char *out, size_t cap)
{
	Coex__Body *b = coex__body__unpack(NULL, len, body);
	char inner[256];
	const char *t = "";

	if (cap == 0)
		return;
	if (b) {
		switch (b->kind_case) {
		case COEX__BODY__KIND_PROPOSAL:
			t = b->proposal->title;
			break;
		case COEX__BODY__KIND_RESPONSE:
			t = b->response->counter ? b->response->counter->title : b->response->note;
			break;
		case COEX__BODY__KIND_REFERRAL:
			t = b->referral->note;
			break;
		case COEX__BODY__KIND_REFERRAL_ANSWER:
			t = b->referral_answer->note;
			break;
		case COEX__BODY__KIND_FORWARDED:
			t = body_info_forwarded_title(b->forwarded, BODY_HOPS_MAX, inner, sizeof(inner));
			break;
		default:
			break;
		}
	}
	snprintf(out, cap, "%s", t);
	if (b)
		coex__body__free_unpacked(b, NULL);
}
