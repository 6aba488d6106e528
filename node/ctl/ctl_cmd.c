/* The control commands: each turns a request into calls on the store and the net layer
 * and one reply. */
#include "crypto/identity.h"
#include "ctl/ctl_internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "net/addr.h"
#include "net/net.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "wire/invite.h"
#include "wire/log_entry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t ctl_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ctl_partner_info(const struct store_partner *p, char id[IDENTITY_ID_LEN + 1],
			     Coex__PartnerInfo *out)
{
	identity_id_format(p->id, id);
	out->name = (char *)p->name;
	out->id = id;
	out->address = (char *)p->address;
	out->added_ms = (uint64_t)p->added_ms;
	out->introduced_by = (char *)p->introduced_by;
}

static void ctl_cmd_id(struct ctl_client *c)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__IdResult res = COEX__ID_RESULT__INIT;
	char id[IDENTITY_ID_LEN + 1];

	identity_id_format(c->ctl->deps.self->pk, id);
	res.id = id;
	res.name = (char *)c->ctl->deps.name;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_ID;
	resp.id = &res;
	ctl_client_reply(c, &resp);
}

/* Alarms for status: each with its own strings and heads. */
struct ctl_alarm {
	Coex__Alarm a;
	Coex__SignedTreeHead seen, offered;
	struct store_alarm src;
	char partner[65], partner_id[IDENTITY_ID_LEN + 1];
};

struct ctl_alarms {
	struct ctl *ctl;
	struct ctl_alarm **items;
	Coex__Alarm **ptrs;
	size_t n;
};

static void ctl_head_pb(struct tree_head *h, Coex__SignedTreeHead *out)
{
	coex__signed_tree_head__init(out);
	out->size = h->size;
	out->root.data = h->root;
	out->root.len = 32;
	out->time_ms = h->time_ms;
	out->signature.data = h->signature;
	out->signature.len = 64;
}

static int ctl_alarm_add(void *arg, const struct store_alarm *src)
{
	struct ctl_alarms *al = arg;
	struct ctl_alarm *x = calloc(1, sizeof(*x)), **v;
	Coex__Alarm **pv;
	struct store_partner p;

	if (!x || !(v = realloc(al->items, (al->n + 1) * sizeof(*v)))) {
		free(x);
		return ERR_NOMEM;
	}
	al->items = v;
	if (!(pv = realloc(al->ptrs, (al->n + 1) * sizeof(*pv)))) {
		free(x);
		return ERR_NOMEM;
	}
	al->ptrs = pv;
	x->src = *src;
	identity_id_format(src->peer, x->partner_id);
	if (store_partner_get(al->ctl->deps.store, src->peer, &p) == 0)
		snprintf(x->partner, sizeof(x->partner), "%s", p.name);
	coex__alarm__init(&x->a);
	x->a.partner = x->partner;
	x->a.partner_id = x->partner_id;
	x->a.detected_ms = (uint64_t)src->detected_ms;
	x->a.reason = x->src.reason;
	ctl_head_pb(&x->src.seen, &x->seen);
	ctl_head_pb(&x->src.offered, &x->offered);
	x->a.seen = &x->seen;
	x->a.offered = &x->offered;
	al->items[al->n] = x;
	al->ptrs[al->n] = &x->a;
	al->n++;
	return 0;
}

static void ctl_alarms_free(struct ctl_alarms *al)
{
	for (size_t i = 0; i < al->n; i++)
		free(al->items[i]);
	free(al->items);
	free(al->ptrs);
}

static void ctl_cmd_status(struct ctl_client *c)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__StatusResult res = COEX__STATUS_RESULT__INIT;
	struct net_link_info *links = NULL;
	Coex__LinkInfo *li = NULL, **lp = NULL;
	char id[IDENTITY_ID_LEN + 1], (*ids)[IDENTITY_ID_LEN + 1] = NULL;
	char *listen = (char *)net_listen_address(c->ctl->deps.net);
	struct ctl_alarms al = {.ctl = c->ctl};
	size_t n = 0;
	int r;

	if ((r = net_links(c->ctl->deps.net, &links, &n)) != 0 ||
	    !(li = calloc(n + 1, sizeof(*li))) || !(lp = calloc(n + 1, sizeof(*lp))) ||
	    !(ids = calloc(n + 1, sizeof(*ids)))) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		coex__link_info__init(&li[i]);
		identity_id_format(links[i].id, ids[i]);
		li[i].partner = links[i].partner;
		li[i].id = ids[i];
		li[i].state = links[i].up ? "up" : "down";
		li[i].since_ms = links[i].since_ms;
		li[i].rtt_us = links[i].rtt_us;
		li[i].address = links[i].address;
		li[i].initiator = links[i].initiator;
		lp[i] = &li[i];
	}
	identity_id_format(c->ctl->deps.self->pk, id);
	res.id = id;
	res.name = (char *)c->ctl->deps.name;
	res.listen = listen[0] ? &listen : NULL;
	res.n_listen = listen[0] ? 1 : 0;
	res.started_ms = c->ctl->deps.started_ms;
	res.links = lp;
	res.n_links = n;
	store_alarm_list(c->ctl->deps.store, ctl_alarm_add, &al);
	res.alarms = al.ptrs;
	res.n_alarms = al.n;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_STATUS;
	resp.status = &res;
	ctl_client_reply(c, &resp);
	ctl_alarms_free(&al);
out:
	free(links);
	free(li);
	free(lp);
	free(ids);
}

/* The address put in an invite: the listen address, or for a wildcard listener the first
 * non-loopback IPv4 address of this host (127.0.0.1 if there is none). */
void ctl_invite_address(struct ctl *c, char *out, size_t cap)
{
	const char *listen = net_listen_address(c->deps.net);
	char host[256], port[16], ip[64] = "127.0.0.1";
	uv_interface_address_t *ifs;
	int count;

	if (addr_split(listen, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(out, cap, "%s", listen);
		return;
	}
	if (!addr_is_wildcard(host)) {
		snprintf(out, cap, "%s", listen);
		return;
	}
	if (uv_interface_addresses(&ifs, &count) == 0) {
		for (int i = 0; i < count; i++) {
			if (!ifs[i].is_internal && ifs[i].address.address4.sin_family == AF_INET) {
				uv_ip4_name(&ifs[i].address.address4, ip, sizeof(ip));
				break;
			}
		}
		uv_free_interface_addresses(ifs, count);
	}
	snprintf(out, cap, "%s:%s", ip, port);
}

static void ctl_cmd_invite(struct ctl_client *c, const Coex__InviteRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__InviteResult res = COEX__INVITE_RESULT__INIT;
	struct store_invite inv;
	struct invite_code code;
	char text[INVITE_CODE_MAX + 1];
	uint64_t ttl = req->ttl_s ? req->ttl_s : c->ctl->deps.invite_ttl_s, now = ctl_wall_ms();
	int r;

	memset(&inv, 0, sizeof(inv));
	memset(&code, 0, sizeof(code));
	if (ttl > 366ull * 86400) {
		ctl_client_error(c, ERR_INVAL, "invite lifetime of %llu s is too long (at most 366 days)",
				 (unsigned long long)ttl);
		return;
	}
	randombytes_buf(inv.invite_id, sizeof(inv.invite_id));
	randombytes_buf(inv.secret, sizeof(inv.secret));
	store_invite_prune(c->ctl->deps.store, (int64_t)now, NULL); /* old, unused codes go */
	inv.created_ms = (int64_t)now;
	inv.expires_ms = (int64_t)(now + ttl * 1000);
	memcpy(code.inviter, c->ctl->deps.self->pk, 32);
	memcpy(code.invite_id, inv.invite_id, sizeof(code.invite_id));
	memcpy(code.secret, inv.secret, sizeof(code.secret));
	code.expires_s = (uint64_t)inv.expires_ms / 1000;
	ctl_invite_address(c->ctl, code.address, sizeof(code.address));
	if ((r = invite_code_format(&code, text, sizeof(text))) != 0 ||
	    (r = store_invite_add(c->ctl->deps.store, &inv)) != 0) {
		ctl_client_error(c, r, "cannot create an invite: %s", err_str(r));
		goto out;
	}
	res.code = text;
	res.expires_ms = (uint64_t)inv.expires_ms;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_INVITE;
	resp.invite = &res;
	ctl_client_reply(c, &resp);
	log_info("invite_created", "expires_ms=%lld", (long long)inv.expires_ms);
out:
	sodium_memzero(&inv, sizeof(inv));
	sodium_memzero(&code, sizeof(code));
	sodium_memzero(text, sizeof(text));
}

static void ctl_join_done(void *arg, int err, const char *msg, const struct store_partner *p)
{
	struct ctl_client *c = arg;
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__PartnerInfo info = COEX__PARTNER_INFO__INIT;
	char id[IDENTITY_ID_LEN + 1];

	ctl_client_resume(c);
	if (err != 0) {
		ctl_client_error(c, err, "%s", msg);
		return;
	}
	ctl_partner_info(p, id, &info);
	resp.result_case = COEX__CTL_RESPONSE__RESULT_PARTNER;
	resp.partner = &info;
	ctl_client_reply(c, &resp);
}

static void ctl_cmd_join(struct ctl_client *c, const Coex__JoinRequest *req)
{
	char err[512];
	int r;

	if (req->name[0] && strlen(req->name) > 64) {
		ctl_client_error(c, ERR_INVAL, "name '%s' is too long (at most 64 bytes)", req->name);
		return;
	}
	c->busy = true;
	r = net_join(c->ctl->deps.net, req->code, req->name, ctl_join_done, c, &c->join, err,
		     sizeof(err));
	if (r != 0) {
		ctl_client_resume(c);
		ctl_client_error(c, r, "%s", err);
	}
}

void ctl_cmd_abandon(struct ctl_client *c)
{
	net_join_abandon(c->join);
	c->join = NULL;
	net_wait_abandon(c->wait);
	c->wait = NULL;
}

/* Local names: 1..64 of [a-z0-9._-], starting with a letter or digit, and not something
 * that could be mistaken for an id prefix of another partner is the user's business. */
static int ctl_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		      ch == '.'))
			return 0;
	}
	return 1;
}

static int ctl_address_ok(const char *s)
{
	char host[256], port[16], *end;
	long v;

	if (addr_split(s, host, sizeof(host), port, sizeof(port)) != 0 || !host[0])
		return 0;
	v = strtol(port, &end, 10);
	return *end == '\0' && v >= 1 && v <= 65535;
}

static int ctl_cmd_partner_add(struct ctl_client *c, const Coex__PartnerAddRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__PartnerInfo info = COEX__PARTNER_INFO__INIT;
	struct store_partner p;
	char id[IDENTITY_ID_LEN + 1];
	uint8_t x[32];
	int r;

	memset(&p, 0, sizeof(p));
	if (!ctl_name_ok(req->name))
		return ctl_client_error(c, ERR_INVAL, "invalid partner name '%s': use 1-64 of a-z 0-9 . _ -, starting with a letter or digit", req->name);
	if (identity_id_parse(req->id, p.id) != 0 || identity_pk_to_x25519(p.id, x) != 0)
		return ctl_client_error(c, ERR_INVAL, "invalid node id '%s': expected the 52-character id that 'coex id' prints", req->id);
	if (memcmp(p.id, c->ctl->deps.self->pk, 32) == 0)
		return ctl_client_error(c, ERR_INVAL, "that is this node's own id");
	if (!ctl_address_ok(req->address))
		return ctl_client_error(c, ERR_INVAL, "invalid address '%s': expected HOST:PORT (e.g. 192.0.2.7:7400 or [2001:db8::7]:7400)", req->address);
	snprintf(p.name, sizeof(p.name), "%s", req->name);
	snprintf(p.address, sizeof(p.address), "%s", req->address);
	p.added_ms = (int64_t)ctl_wall_ms();
	if ((r = store_partner_add(c->ctl->deps.store, &p)) != 0)
		return ctl_client_error(c, r, r == ERR_EXISTS ? "a partner with that name or id already exists" : "cannot store the partner: %s", err_str(r));
	if ((r = net_partner_added(c->ctl->deps.net, &p)) != 0)
		return ctl_client_error(c, r, "partner stored, but the node cannot dial it: %s", err_str(r));
	log_info("partner_added", "name=%s addr=%s", p.name, p.address);
	net_log_trust(c->ctl->deps.net, LOG_ENTRY_PARTNER_ADDED, p.id, p.name);
	ctl_partner_info(&p, id, &info);
	resp.result_case = COEX__CTL_RESPONSE__RESULT_PARTNER;
	resp.partner = &info;
	ctl_client_reply(c, &resp);
	return 0;
}

static void ctl_cmd_partner_list(struct ctl_client *c)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__PartnerListResult res = COEX__PARTNER_LIST_RESULT__INIT;
	struct store_partner *ps = NULL;
	Coex__PartnerInfo *infos = NULL, **ptrs = NULL;
	char (*ids)[IDENTITY_ID_LEN + 1] = NULL;
	size_t n = 0;
	int r;

	if ((r = store_partner_list(c->ctl->deps.store, &ps, &n)) != 0) {
		ctl_client_error(c, r, "cannot list partners: %s", err_str(r));
		return;
	}
	if (!(infos = calloc(n + 1, sizeof(*infos))) || !(ptrs = calloc(n + 1, sizeof(*ptrs))) ||
	    !(ids = calloc(n + 1, sizeof(*ids)))) {
		ctl_client_error(c, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		coex__partner_info__init(&infos[i]);
		ctl_partner_info(&ps[i], ids[i], &infos[i]);
		ptrs[i] = &infos[i];
	}
	res.partners = ptrs;
	res.n_partners = n;
	resp.result_case = COEX__CTL_RESPONSE__RESULT_PARTNERS;
	resp.partners = &res;
	ctl_client_reply(c, &resp);
out:
	free(ps);
	free(infos);
	free(ptrs);
	free(ids);
}

static int ctl_cmd_partner_remove(struct ctl_client *c, const Coex__PartnerRemoveRequest *req)
{
	Coex__CtlResponse resp = COEX__CTL_RESPONSE__INIT;
	Coex__PartnerInfo info = COEX__PARTNER_INFO__INIT;
	struct store_partner p;
	char id[IDENTITY_ID_LEN + 1];
	int r;

	r = store_partner_find(c->ctl->deps.store, req->partner, &p);
	if (r == ERR_AMBIGUOUS)
		return ctl_client_error(c, r, "'%s' matches more than one partner; give more of the id", req->partner);
	if (r != 0)
		return ctl_client_error(c, r, "no partner '%s' (see 'coex partner list')", req->partner);
	if ((r = store_partner_remove(c->ctl->deps.store, p.id)) != 0)
		return ctl_client_error(c, r, "cannot remove partner '%s': %s", p.name, err_str(r));
	net_partner_removed(c->ctl->deps.net, p.id);
	log_info("partner_removed", "name=%s", p.name);
	net_log_trust(c->ctl->deps.net, LOG_ENTRY_PARTNER_REMOVED, p.id, p.name);
	ctl_partner_info(&p, id, &info);
	resp.result_case = COEX__CTL_RESPONSE__RESULT_PARTNER;
	resp.partner = &info;
	ctl_client_reply(c, &resp);
	return 0;
}

void ctl_cmd_dispatch(struct ctl_client *c, const Coex__CtlRequest *req)
{
	switch (req->cmd_case) {
	case COEX__CTL_REQUEST__CMD_ID:
		ctl_cmd_id(c);
		break;
	case COEX__CTL_REQUEST__CMD_STATUS:
		ctl_cmd_status(c);
		break;
	case COEX__CTL_REQUEST__CMD_INVITE:
		ctl_cmd_invite(c, req->invite);
		break;
	case COEX__CTL_REQUEST__CMD_JOIN:
		ctl_cmd_join(c, req->join);
		break;
	case COEX__CTL_REQUEST__CMD_PARTNER_ADD:
		ctl_cmd_partner_add(c, req->partner_add);
		break;
	case COEX__CTL_REQUEST__CMD_PARTNER_LIST:
		ctl_cmd_partner_list(c);
		break;
	case COEX__CTL_REQUEST__CMD_PARTNER_REMOVE:
		ctl_cmd_partner_remove(c, req->partner_remove);
		break;
	case COEX__CTL_REQUEST__CMD_PROPOSE:
		ctl_cmd_propose(c, req->propose);
		break;
	case COEX__CTL_REQUEST__CMD_RESPOND:
		ctl_cmd_respond(c, req->respond);
		break;
	case COEX__CTL_REQUEST__CMD_LIST:
		ctl_cmd_list(c, req->list);
		break;
	case COEX__CTL_REQUEST__CMD_SHOW:
		ctl_cmd_show(c, req->show);
		break;
	case COEX__CTL_REQUEST__CMD_THREAD:
		ctl_cmd_thread(c, req->thread);
		break;
	case COEX__CTL_REQUEST__CMD_LOG:
	case COEX__CTL_REQUEST__CMD_LOG_VERIFY:
	case COEX__CTL_REQUEST__CMD_LOG_EXPORT:
		ctl_cmd_log(c, req);
		break;
	case COEX__CTL_REQUEST__CMD_REFER:
		ctl_cmd_refer(c, req->refer);
		break;
	case COEX__CTL_REQUEST__CMD_FORWARD:
		ctl_cmd_forward(c, req->forward);
		break;
	case COEX__CTL_REQUEST__CMD_ANSWER:
		ctl_cmd_answer(c, req->answer);
		break;
	case COEX__CTL_REQUEST__CMD_INTRODUCTIONS:
		ctl_cmd_introductions(c);
		break;
	case COEX__CTL_REQUEST__CMD_METRICS:
		ctl_cmd_metrics(c);
		break;
	case COEX__CTL_REQUEST__CMD_OUTBOX_COUNT:
		ctl_cmd_outbox_count(c, req->outbox_count);
		break;
	default:
		ctl_client_error(c, ERR_PROTO, "unknown control command");
	}
}
