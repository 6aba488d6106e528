/* One TCP connection to a partner: framing, the handshake in either role, transport
 * frames, keepalive. The net layer decides what links exist; a link reports to it. */
#include "lib/err.h"
#include "net/addr.h"
#include "net/net_internal.h"
#include "store/store.h"
#include "wire/handshake.h"
#include "wire/log_entry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output gathered past this is written at once rather than at the turn's end. */
enum { LINK_OUT_MAX = 256 * 1024, LINK_OUT_MIN = 16 * 1024 };

struct link_write {
	uv_write_t req;
	uv_buf_t buf;
	uint8_t *data;
};

void link_short_id(const uint8_t pk[32], char out[IDENTITY_FPR_LEN + 1])
{
	char id[IDENTITY_ID_LEN + 1];

	identity_id_format(pk, id);
	memcpy(out, id, IDENTITY_FPR_LEN);
	out[IDENTITY_FPR_LEN] = '\0';
}

static void link_on_close(uv_handle_t *h)
{
	struct link *l = h->data;
	struct net *n = l->net;

	if (l->prev)
		l->prev->next = l->next;
	else
		n->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	frame_reader_free(&l->fr);
	free(l->env_buf);
	free(l->out);
	noise_handshake_wipe(&l->hs);
	noise_session_wipe(&l->sess);
	free(l->join);
	free(l);
	net_handle_closed(n);
}

struct link *link_new(struct net *n, bool initiator)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (uv_tcp_init(n->loop, &l->tcp) != 0) {
		free(l);
		return NULL;
	}
	n->open_handles++;
	l->tcp.data = l;
	l->net = n;
	l->initiator = initiator;
	l->state = initiator ? LINK_CONNECTING : LINK_AWAIT_INITIATION;
	l->created_ms = uv_now(n->loop);
	frame_reader_init(&l->fr, n->cfg.frame_bytes);
	l->next = n->links;
	if (n->links)
		n->links->prev = l;
	n->links = l;
	return l;
}

static void link_on_write(uv_write_t *req, int status)
{
	struct link_write *w = (struct link_write *)req;
	struct link *l = req->data;

	free(w->data);
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		link_close(l, LINK_CLOSE_UNSPECIFIED, uv_strerror(status));
}

int link_flush(struct link *l)
{
	struct link_write *w;
	int r;

	if (!l->out_len)
		return 0;
	if (!(w = malloc(sizeof(*w))))
		return ERR_NOMEM;
	w->data = l->out;
	w->buf = uv_buf_init((char *)w->data, (unsigned)l->out_len);
	w->req.data = l;
	l->out = NULL;
	l->out_len = l->out_cap = 0;
	if ((r = uv_write(&w->req, (uv_stream_t *)&l->tcp, &w->buf, 1, link_on_write)) != 0) {
		free(w->data);
		free(w);
		return r;
	}
	return 0;
}

/* Takes l off the net's flush list (it is closing). */
static void link_unlist(struct link *l)
{
	struct link **pp = &l->net->flush_list;

	if (!l->out_listed)
		return;
	while (*pp && *pp != l)
		pp = &(*pp)->flush_next;
	if (*pp)
		*pp = l->flush_next;
	l->flush_next = NULL;
	l->out_listed = false;
}

/* Sends one frame (header, then msg): gathered with the turn's other frames for the link,
 * written at the turn's end (net_turn_end_soon), or at once before the net runs. */
static int link_write_raw(struct link *l, const uint8_t *msg, size_t len)
{
	struct net *n = l->net;
	size_t need = 2 + len;
	int r;

	if (len > LIMIT_FRAME_MAX)
		return ERR_TOOBIG;
	if (l->state == LINK_CLOSING)
		return ERR_STATE; /* its handle is being closed: nothing more goes out */
	if (l->out_len + need > LINK_OUT_MAX && (r = link_flush(l)) != 0) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, "send failed"); /* frames were lost */
		return r;
	}
	if (l->out_cap - l->out_len < need) {
		size_t cap = l->out_cap ? 2 * l->out_cap : LINK_OUT_MIN;
		uint8_t *grown;
		while (cap < l->out_len + need)
			cap *= 2;
		if (!(grown = realloc(l->out, cap)))
			return ERR_NOMEM;
		l->out = grown;
		l->out_cap = cap;
	}
	frame_header_write(l->out + l->out_len, len);
	memcpy(l->out + l->out_len + 2, msg, len);
	l->out_len += need;
	if (n->turn_end.data != n)
		return link_flush(l);
	if (!l->out_listed) {
		l->out_listed = true;
		l->flush_next = n->flush_list;
		n->flush_list = l;
		net_turn_end_soon(n);
	}
	return 0;
}

int link_send_frame(struct link *l, const struct link_frame *f)
{
	uint8_t pt[LIMIT_FRAME_MAX], ct[LIMIT_FRAME_MAX];
	size_t plen, clen;
	int r;

	if ((r = link_frame_encode(f, pt, sizeof(pt) - NOISE_TAG_LEN, &plen)) != 0)
		return r;
	if ((r = noise_session_encrypt(&l->sess.send, pt, plen, ct, sizeof(ct), &clen)) != 0)
		return r;
	if (l->sess.send.n % LIMIT_REKEY_MESSAGES == 0)
		noise_cipher_rekey(&l->sess.send);
	return link_write_raw(l, ct, clen);
}

static void link_send_ping(struct link *l)
{
	struct link_frame f = {.kind = LINK_FRAME_PING};

	randombytes_buf(&l->ping_nonce, sizeof(l->ping_nonce));
	f.nonce = l->ping_nonce;
	l->ping_sent_us = uv_hrtime() / 1000;
	l->last_ping_ms = uv_now(l->net->loop);
	if (link_send_frame(l, &f) != 0)
		link_close(l, LINK_CLOSE_UNSPECIFIED, "send failed");
}

int link_send_initiation(struct link *l)
{
	struct net *n = l->net;
	uint8_t out[LIMIT_FRAME_MAX];
	struct handshake_partner once;
	const struct handshake_partner *keys = l->peer ? &l->peer->keys : &once;
	struct hello h;
	size_t len;
	int r;

	net_hello_fill(n, &h);
	if (l->join) {
		h.has_invite = true;
		memcpy(h.invite_id, l->join->invite_id, sizeof(h.invite_id));
		memcpy(h.invite_mac, l->join->mac, sizeof(h.invite_mac));
	}
	/* a partner's keys are kept; an inviter's (joining) are made for this one handshake */
	if (!l->peer && (r = handshake_partner_init(&once, n->self, l->peer_pk)) != 0)
		return r;
	r = handshake_initiate(&l->hs, n->self, keys, &h, out, sizeof(out), &len);
	handshake_partner_wipe(&once);
	if (r != 0)
		return r;
	if ((r = link_write_raw(l, out, len)) != 0)
		return r;
	l->state = LINK_AWAIT_RESPONSE;
	return 0;
}

static const char *link_drop_reason(int err)
{
	switch (err) {
	case ERR_CRYPTO: return "decrypt_failed";
	case ERR_PROTO: return "bad_hello";
	case ERR_EXPIRED: return "clock_skew";
	case ERR_REPLAY: return "replay";
	case ERR_USED: return "invite_used";
	case ERR_DENIED: return "unknown_key";
	case ERR_NOTFOUND: return "unknown_invite";
	case ERR_STATE: return "invite_expired";
	default: return "error";
	}
}

static void link_on_initiation(struct link *l, const uint8_t *msg, size_t len)
{
	struct net *n = l->net;
	struct handshake_responder rsp = {
		.self = n->self, .now_ms = net_wall_ms(), .skew_ms = n->cfg.clock_skew_ms,
		.replay = n->replay, .admit = net_admit_hello, .partner = net_handshake_partner,
		.arg = n,
	};
	uint8_t out[LIMIT_FRAME_MAX];
	struct hello mine, peer;
	size_t out_len;
	int r;

	net_hello_fill(n, &mine);
	rsp.hello = &mine;
	r = handshake_respond(&l->hs, &rsp, msg, len, &peer, out, sizeof(out), &out_len, &l->sess);
	if (r != 0) {
		/* Silence: an unknown or replaying initiator learns nothing, not even that we are here. */
		net_log_drop(n, l, link_drop_reason(r));
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	l->peer_hello = peer;
	memcpy(l->peer_pk, peer.identity, 32);
	l->via_invite = net_peer_by_pk(n, peer.identity) == NULL;
	if (l->via_invite)
		memcpy(l->invite_id, peer.invite_id, sizeof(l->invite_id));
	if ((r = link_write_raw(l, out, out_len)) != 0) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, err_str(r));
		return;
	}
	l->state = LINK_AWAIT_CONFIRM;
}

/* The address a peer announced, with a wildcard host replaced by the one it connected from. */
void link_peer_address(const struct link *l, char *out, size_t cap)
{
	char host[256], port[16];

	out[0] = '\0';
	if (l->peer_hello.n_listen == 0 ||
	    addr_split(l->peer_hello.listen[0], host, sizeof(host), port, sizeof(port)) != 0)
		return;
	if (addr_is_wildcard(host))
		snprintf(out, cap, strchr(l->ip, ':') ? "[%s]:%s" : "%s:%s", l->ip, port);
	else
		snprintf(out, cap, "%s", l->peer_hello.listen[0]);
}

/* Redeems the invite (one transaction: invite used + partner stored) for a confirmed joiner. */
static struct peer *link_redeem_invite(struct link *l)
{
	struct net *n = l->net;
	struct store_partner p, stored;
	int r;

	memset(&p, 0, sizeof(p));
	memcpy(p.id, l->peer_pk, 32);
	net_partner_name_from(l->peer_hello.name, p.name, sizeof(p.name));
	link_peer_address(l, p.address, sizeof(p.address));
	p.added_ms = (int64_t)net_wall_ms();
	if ((r = store_invite_redeem(n->store, l->invite_id, p.added_ms, &p, &stored)) != 0) {
		net_log_drop(n, l, link_drop_reason(r));
		return NULL;
	}
	log_info("invite_redeemed", "addr=%s name=%s", l->addr, stored.name);
	net_log_trust(n, LOG_ENTRY_INVITE_USED, stored.id, stored.name);
	return net_peer_add(n, &stored);
}

/* The first transport message decrypted: the initiator holds its static key (key
 * confirmation). Only now is anything stored or any link replaced. */
static int link_on_confirm(struct link *l)
{
	struct net *n = l->net;

	l->peer = l->via_invite ? link_redeem_invite(l) : net_peer_by_pk(n, l->peer_pk);
	if (!l->peer) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return ERR_DENIED;
	}
	l->state = LINK_UP;
	listener_hs_remove(n, l);
	net_link_established(n, l);
	if (l->state == LINK_UP)
		link_send_ping(l);
	return 0;
}

static void link_on_response(struct link *l, const uint8_t *msg, size_t len)
{
	struct hello peer;
	struct link_frame confirm = {.kind = LINK_FRAME_PING};
	int r;

	if ((r = handshake_complete(&l->hs, l->peer_pk, msg, len, &peer, &l->sess)) != 0) {
		log_warn("handshake_failed", "addr=%s error=\"%s\"", l->addr, err_str(r));
		if (l->join)
			join_link_failed(l, r, "the inviter's answer did not verify");
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		return;
	}
	l->peer_hello = peer;
	l->state = LINK_UP;
	/* Key confirmation for the responder: our first transport message, at once. */
	randombytes_buf(&l->ping_nonce, sizeof(l->ping_nonce));
	confirm.nonce = l->ping_nonce;
	l->ping_sent_us = uv_hrtime() / 1000;
	l->last_ping_ms = uv_now(l->net->loop);
	if ((r = link_send_frame(l, &confirm)) != 0) {
		link_close(l, LINK_CLOSE_UNSPECIFIED, err_str(r));
		return;
	}
	if (l->join)
		join_link_done(l->net, l);
	if (l->state == LINK_UP && l->peer)
		net_link_established(l->net, l);
}

/* Closes a live link on bad input from its partner, counting why (coex metrics). */
static void link_fail(struct link *l, const char *reason, enum link_close_reason cr,
		      const char *detail)
{
	net_reason_count(l->net->metrics.message_refusals, reason);
	link_close(l, cr, detail);
}

/* Reassembles an envelope from its chunks; its length is checked before any allocation. */
/* One message read from the partner: over inbound_per_s, stop reading once this read's
 * bytes are handled (they are in the loop's shared buffer), until link_tick refills. */
static void link_take_token(struct link *l)
{
	if (!l->net->cfg.inbound_per_s)
		return;
	l->tokens -= 1;
	if (l->tokens < 0 && !l->read_paused) {
		l->read_paused = true;
		l->net->metrics.inbound_paused++;
		uv_read_stop((uv_stream_t *)&l->tcp);
	}
}

static void link_refill(struct link *l, uint64_t now)
{
	double rate = l->net->cfg.inbound_per_s;

	if (!rate)
		return;
	l->tokens += rate * (double)(now - l->tokens_ms) / 1000.0;
	if (l->tokens > rate)
		l->tokens = rate;
	l->tokens_ms = now;
	if (l->read_paused && l->tokens >= 1 && l->state == LINK_UP) {
		l->read_paused = false;
		l->last_rx_ms = now; /* it was us who did not read */
		if (link_start_read(l) != 0)
			link_close(l, LINK_CLOSE_UNSPECIFIED, "cannot read");
	}
}

static void link_on_envelope_chunk(struct link *l, const struct link_frame *f)
{
	uint8_t *env;

	if (!l->env_buf) {
		if (f->total_len == 0 || f->total_len > l->net->cfg.message_bytes) {
			link_fail(l, f->total_len ? "envelope_too_large" : "envelope_empty",
				  LINK_CLOSE_LIMIT, f->total_len ? "envelope larger than max_message_bytes"
								 : "empty envelope");
			return;
		}
		if (!(l->env_buf = malloc(f->total_len))) {
			link_close(l, LINK_CLOSE_LIMIT, "out of memory");
			return;
		}
		l->env_len = f->total_len;
		l->env_have = 0;
	}
	if (f->total_len != l->env_len || f->data_len > l->env_len - l->env_have) {
		link_fail(l, "envelope_chunks_mismatch", LINK_CLOSE_PROTOCOL, "envelope chunks do not add up");
		return;
	}
	memcpy(l->env_buf + l->env_have, f->data, f->data_len);
	l->env_have += f->data_len;
	if (l->env_have < l->env_len)
		return;
	env = l->env_buf;
	l->env_buf = NULL;
	link_take_token(l);
	exchange_on_envelope(l->net, l, env, l->env_len);
}

int link_send_envelope(struct link *l, const uint8_t *env, size_t len)
{
	struct link_frame f = {.kind = LINK_FRAME_ENVELOPE, .total_len = (uint32_t)len};
	/* Room for the Frame's own fields and the AEAD tag within one Noise message. */
	size_t chunk = l->net->cfg.frame_bytes - NOISE_TAG_LEN - 32, off = 0;
	int r;

	if (len == 0 || len > l->net->cfg.message_bytes)
		return ERR_TOOBIG;
	while (off < len) {
		f.data = env + off;
		f.data_len = len - off < chunk ? len - off : chunk;
		if ((r = link_send_frame(l, &f)) != 0)
			return r;
		off += f.data_len;
	}
	return 0;
}

int link_send_receipt(struct link *l, const uint8_t *data, size_t len)
{
	struct link_frame f = {.kind = LINK_FRAME_RECEIPT, .data = data, .data_len = len};

	return link_send_frame(l, &f);
}

static void link_on_frame(struct link *l, const struct link_frame *f)
{
	struct link_frame pong = {.kind = LINK_FRAME_PONG};
	char sid[IDENTITY_FPR_LEN + 1];

	switch (f->kind) {
	case LINK_FRAME_PING:
		pong.nonce = f->nonce;
		if (link_send_frame(l, &pong) != 0)
			link_close(l, LINK_CLOSE_UNSPECIFIED, "send failed");
		break;
	case LINK_FRAME_PONG:
		if (f->nonce == l->ping_nonce && l->ping_sent_us && l->peer) {
			l->peer->rtt_us = (uint32_t)(uv_hrtime() / 1000 - l->ping_sent_us);
			l->ping_sent_us = 0;
		}
		break;
	case LINK_FRAME_ENVELOPE:
		link_on_envelope_chunk(l, f);
		break;
	case LINK_FRAME_RECEIPT:
		exchange_on_receipt(l->net, l, f->data, f->data_len);
		break;
	case LINK_FRAME_PROOF_REQUEST:
		witness_on_request(l->net, l, f);
		break;
	case LINK_FRAME_PROOF_ANSWER:
		witness_on_answer(l->net, l, f);
		break;
	case LINK_FRAME_CLOSE:
		link_short_id(l->peer_pk, sid);
		log_info("link_closed_by_peer", "peer=%s reason=%s detail=\"%s\"", sid,
			 link_close_reason_str(f->reason), f->detail);
		link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		break;
	}
}

static void link_on_transport(struct link *l, const uint8_t *msg, size_t len)
{
	uint8_t pt[LIMIT_FRAME_MAX];
	struct link_frame f;
	size_t plen;

	if (noise_session_decrypt(&l->sess.recv, msg, len, pt, sizeof(pt), &plen) != 0) {
		if (l->state == LINK_AWAIT_CONFIRM) {
			net_log_drop(l->net, l, "confirm_failed");
			link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		} else {
			link_fail(l, "link_decrypt_failed", LINK_CLOSE_UNSPECIFIED, "decryption failed");
		}
		return;
	}
	if (l->sess.recv.n % LIMIT_REKEY_MESSAGES == 0)
		noise_cipher_rekey(&l->sess.recv);
	if (link_frame_decode(pt, plen, &f) != 0) {
		if (l->state == LINK_AWAIT_CONFIRM) {
			net_log_drop(l->net, l, "bad_confirm");
			link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
		} else {
			link_fail(l, "link_bad_frame", LINK_CLOSE_PROTOCOL, "undecodable frame");
		}
		return;
	}
	if (l->state == LINK_AWAIT_CONFIRM && link_on_confirm(l) != 0) {
		link_frame_release(&f);
		return;
	}
	link_on_frame(l, &f);
	link_frame_release(&f);
}

static void link_on_message(struct link *l, const uint8_t *msg, size_t len)
{
	switch (l->state) {
	case LINK_AWAIT_INITIATION:
		link_on_initiation(l, msg, len);
		break;
	case LINK_AWAIT_RESPONSE:
		link_on_response(l, msg, len);
		break;
	case LINK_AWAIT_CONFIRM:
	case LINK_UP:
		link_on_transport(l, msg, len);
		break;
	default:
		break;
	}
}

static void link_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct link *l = h->data;

	(void)suggested;
	/* One read buffer for the whole loop: a read callback consumes it before the next
	 * alloc, and a frame split across reads is copied by the frame reader. */
	*buf = uv_buf_init((char *)l->net->readbuf, sizeof(l->net->readbuf));
}

static void link_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct link *l = s->data;
	const uint8_t *in = (const uint8_t *)buf->base, *msg;
	size_t in_len = nread > 0 ? (size_t)nread : 0, mlen;
	int r;

	if (nread < 0) {
		/* An inviter that refuses a proof says nothing and closes. */
		if (l->join && l->state == LINK_AWAIT_RESPONSE)
			join_link_failed(l, ERR_DENIED, NULL);
		if (l->state == LINK_AWAIT_INITIATION && (l->fr.hdr_have || l->fr.partial))
			net_log_drop(l->net, l, "truncated");
		link_close(l, LINK_CLOSE_UNSPECIFIED, nread == UV_EOF ? "eof" : uv_strerror((int)nread));
		return;
	}
	l->last_rx_ms = uv_now(l->net->loop);
	while (l->state != LINK_CLOSING) {
		r = frame_reader_next(&l->fr, &in, &in_len, &msg, &mlen);
		if (r == 0)
			break;
		if (r < 0) {
			if (l->state == LINK_UP)
				link_fail(l, "link_bad_length", LINK_CLOSE_PROTOCOL, "bad frame length");
			else {
				net_log_drop(l->net, l, "bad_frame");
				link_close(l, LINK_CLOSE_UNSPECIFIED, NULL);
			}
			break;
		}
		link_on_message(l, msg, mlen);
	}
	net_read_snapshot_end(l->net); /* the messages' de-duplication reads shared it */
}

int link_start_read(struct link *l)
{
	/* Frames are whole messages the partner waits for (an envelope, a receipt): send each
	 * at once rather than wait, as Nagle would, for the ack of the previous one. Failing to
	 * set it only costs latency. */
	(void)uv_tcp_nodelay(&l->tcp, 1);
	return uv_read_start((uv_stream_t *)&l->tcp, link_alloc, link_on_read);
}

void link_close(struct link *l, enum link_close_reason reason, const char *detail)
{
	struct link_frame f = {.kind = LINK_FRAME_CLOSE, .reason = reason};

	if (l->state == LINK_CLOSING)
		return;
	if (l->state == LINK_UP && reason != LINK_CLOSE_UNSPECIFIED) {
		snprintf(f.detail, sizeof(f.detail), "%s", detail ? detail : "");
		link_send_frame(l, &f); /* best effort: the link goes either way */
	}
	if (l->state != LINK_CONNECTING)
		link_flush(l); /* what was gathered, best effort too */
	link_unlist(l);
	if (l->join)
		join_link_failed(l, ERR_UNAVAILABLE, detail ? detail : "the connection closed");
	l->state = LINK_CLOSING;
	listener_hs_remove(l->net, l);
	net_link_closed(l->net, l);
	uv_read_stop((uv_stream_t *)&l->tcp);
	uv_close((uv_handle_t *)&l->tcp, link_on_close);
}

void link_tick(struct link *l, uint64_t now)
{
	const struct net_config *c = &l->net->cfg;

	if (l->state == LINK_CLOSING)
		return;
	if (l->state != LINK_UP) {
		if (now - l->created_ms >= c->handshake_timeout_ms) {
			if (l->join)
				join_link_failed(l, ERR_TIMEOUT, NULL);
			if (!l->initiator)
				net_log_drop(l->net, l, "handshake_timeout");
			link_close(l, LINK_CLOSE_UNSPECIFIED, "handshake timeout");
		}
		return;
	}
	link_refill(l, now);
	if (l->read_paused)
		return;
	if (now - l->last_rx_ms >= c->dead_ms) {
		link_close(l, LINK_CLOSE_TIMEOUT, "no traffic");
		return;
	}
	if (now - l->last_rx_ms >= c->keepalive_ms && now - l->last_ping_ms >= c->keepalive_ms)
		link_send_ping(l);
}
