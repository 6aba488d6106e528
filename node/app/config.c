/* Reading, validating and writing coex.conf.
 *
 * inih splits lines into sections and keys; this file does everything else. inih (as
 * Debian builds it) gives the handler no line number and cuts section names at 50 bytes,
 * so config_read_line feeds inih one line at a time, counts lines and parses section
 * headers itself. It also strips leading whitespace, which turns off inih's indented
 * continuation lines: an indented key is just a key. */
#include "app/config.h"
#include "lib/err.h"
#include "lib/fsutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	CONFIG_PATH_BUF = 4096,
	CONFIG_MSG_MAX = 512,
	CONFIG_PARTNERS_INIT = 8,
	CONFIG_IPV6_TEXT_MAX = 45,
	CONFIG_LABEL_MAX = 63,
	CONFIG_FILE_MODE = 0644,
};

/* Every [limits] key: its default (config.h), its range and what it means. */
struct config_limit_def {
	const char *key;
	size_t offset;
	uint32_t def, min, max;
	const char *doc;
};

#define LIMIT(k, d, lo, hi, doc) {#k, offsetof(struct config_limits, k), d, lo, hi, doc}
static const struct config_limit_def limit_defs[] = {
	LIMIT(frame_bytes, CONFIG_DEFAULT_FRAME_BYTES, 1024, 65535,
	      "Largest frame on a partner link, in bytes."),
	LIMIT(message_bytes, CONFIG_DEFAULT_MESSAGE_BYTES, 1024, 67108864,
	      "Largest message (proposal, response, referral) accepted, in bytes."),
	LIMIT(handshakes_per_address, CONFIG_DEFAULT_HANDSHAKES_PER_ADDRESS, 1, 65535,
	      "Handshakes in progress from one IP address."),
	LIMIT(handshakes_total, CONFIG_DEFAULT_HANDSHAKES_TOTAL, 1, 65535,
	      "Handshakes in progress in all (at least handshakes_per_address)."),
	LIMIT(handshake_timeout_ms, CONFIG_DEFAULT_HANDSHAKE_TIMEOUT_MS, 100, 600000,
	      "Time a handshake may take, in milliseconds."),
	LIMIT(clock_skew_ms, CONFIG_DEFAULT_CLOCK_SKEW_MS, 0, 86400000,
	      "Largest difference tolerated between a partner's clock and ours, in milliseconds."),
	LIMIT(keepalive_ms, CONFIG_DEFAULT_KEEPALIVE_MS, 100, 3600000,
	      "Idle time after which a link sends a keepalive, in milliseconds."),
	LIMIT(dead_ms, CONFIG_DEFAULT_DEAD_MS, 200, 86400000,
	      "Silence after which a link is dropped, in milliseconds (more than keepalive_ms)."),
	LIMIT(reconnect_min_ms, CONFIG_DEFAULT_RECONNECT_MIN_MS, 10, 3600000,
	      "First wait before redialling a partner, in milliseconds; doubles on each failure."),
	LIMIT(reconnect_max_ms, CONFIG_DEFAULT_RECONNECT_MAX_MS, 10, 86400000,
	      "Longest wait between redials, in milliseconds (at least reconnect_min_ms)."),
	LIMIT(invite_ttl_s, CONFIG_DEFAULT_INVITE_TTL_S, 60, 2592000,
	      "How long an invite code stays valid, in seconds."),
	LIMIT(control_clients, CONFIG_DEFAULT_CONTROL_CLIENTS, 1, 4096,
	      "Clients connected to the control socket at once."),
	LIMIT(outbox_per_partner, CONFIG_DEFAULT_OUTBOX_PER_PARTNER, 1, 100000000,
	      "Messages queued for one partner before new ones are refused."),
	LIMIT(inbound_per_s, CONFIG_DEFAULT_INBOUND_PER_S, 1, 1000000,
	      "Messages accepted from one partner per second."),
};
#undef LIMIT
enum { LIMIT_COUNT = sizeof(limit_defs) / sizeof(limit_defs[0]) };
_Static_assert(LIMIT_COUNT * sizeof(uint32_t) == sizeof(struct config_limits),
	       "every field of struct config_limits needs a row in limit_defs");

/* Pairs of limits where the first must exceed (strict) or reach the second. */
static const struct {
	const char *big, *small;
	int strict;
} limit_orders[] = {
	{"dead_ms", "keepalive_ms", 1},
	{"reconnect_max_ms", "reconnect_min_ms", 0},
	{"handshakes_total", "handshakes_per_address", 0},
};

enum config_section { SEC_NONE, SEC_NODE, SEC_LIMITS, SEC_PARTNER };
enum { NODE_KEYS = 5, PARTNER_KEYS = 3 };

struct config_parser {
	const char *path;
	FILE *f;
	int line;
	enum config_section sec;
	char sec_text[CONFIG_LINE_MAX + 1]; /* the header as written, for messages */
	struct config cfg;
	size_t partners_cap;
	int node_line, limits_line;         /* header lines, 0 if absent */
	int node_lines[NODE_KEYS];          /* where each key was set, 0 if not */
	int partner_lines[PARTNER_KEYS];    /* same, for the current partner */
	int limit_lines[LIMIT_COUNT];
	int err_line;                       /* line of the first error, -1 while none */
	int nomem;
	char *err;
	size_t errlen;
};

typedef int (*config_setter)(struct config_parser *p, const char *value, char *why, size_t n);

struct config_key {
	const char *name;
	config_setter set;
};

__attribute__((format(printf, 3, 4)))
static int config_fail(struct config_parser *p, int line, const char *fmt, ...)
{
	char msg[CONFIG_MSG_MAX];
	va_list ap;

	if (p->err_line >= 0)
		return ERR_INVAL;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errlen == 0)
		return ERR_INVAL;
	if (line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	return ERR_INVAL;
}

/* ---- values ---- */

static int config_utf8_check(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

		if (n == 0 || i + n > len)
			return ERR_INVAL;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
		else if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		for (size_t k = 1; k < n; k++) {
			if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xbf))
				return ERR_INVAL;
		}
		i += n;
	}
	return 0;
}

int config_name_check(const char *name)
{
	size_t len = strnlen(name, CONFIG_NAME_MAX + 1);

	if (len == 0 || len > CONFIG_NAME_MAX || name[0] == ' ' || name[len - 1] == ' ')
		return ERR_INVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == ';')
			return ERR_INVAL;
	}
	return config_utf8_check((const unsigned char *)name, len);
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-', not starting or
 * ending with '-'; the last label is not all digits (so "1.2.3.999" is no name). */
static int config_hostname_check(const char *h, size_t len)
{
	size_t label = 0, digits = 0;

	if (len == 0 || len > CONFIG_HOST_MAX)
		return ERR_INVAL;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? h[i] : '.';
		if (c == '.') {
			if (label == 0 || label > CONFIG_LABEL_MAX || h[i - 1] == '-')
				return ERR_INVAL;
			if (i == len && digits == label)
				return ERR_INVAL;
			label = digits = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
			   (c >= '0' && c <= '9')) {
			if (c == '-' && label == 0)
				return ERR_INVAL;
			digits += c >= '0' && c <= '9';
			label++;
		} else {
			return ERR_INVAL;
		}
	}
	return 0;
}

static int config_port_parse(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 5)
		return ERR_INVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_INVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return ERR_INVAL;
	*out = (uint16_t)v;
	return 0;
}

int config_parse_hostport(const char *s, char *host, size_t hostcap, uint16_t *port)
{
	char h[CONFIG_HOST_MAX + 1];
	const char *hs, *ps, *end;
	size_t hlen;
	uint8_t addr[16];
	uint16_t pt;
	int v6 = s[0] == '[';

	if (v6) {
		hs = s + 1;
		if (!(end = strchr(hs, ']')) || end[1] != ':')
			return ERR_INVAL;
		ps = end + 2;
	} else {
		if (!(end = strchr(s, ':')) || strchr(end + 1, ':'))
			return ERR_INVAL; /* none, or an IPv6 address without brackets */
		hs = s;
		ps = end + 1;
	}
	hlen = (size_t)(end - hs);
	if (hlen == 0 || hlen > CONFIG_HOST_MAX || config_port_parse(ps, &pt) != 0)
		return ERR_INVAL;
	memcpy(h, hs, hlen);
	h[hlen] = '\0';
	if (v6 ? hlen > CONFIG_IPV6_TEXT_MAX || inet_pton(AF_INET6, h, addr) != 1
	       : inet_pton(AF_INET, h, addr) != 1 && config_hostname_check(h, hlen) != 0)
		return ERR_INVAL;
	if (hlen >= hostcap)
		return ERR_TOOBIG;
	memcpy(host, h, hlen + 1);
	*port = pt;
	return 0;
}

/* A whole decimal number in [min, max]: no sign, no spaces, nothing after it. */
static int config_u32_parse(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < (long long)min || v > (long long)max)
		return ERR_INVAL;
	*out = (uint32_t)v;
	return 0;
}

/* ---- [node] and [partner NAME] keys ---- */

static const char why_name[] = "must be 1 to 64 bytes of UTF-8 text without control"
			       " characters or ';'";
static const char why_address[] = "must be HOST:PORT (an IPv4 address, a host name or"
				  " [an IPv6 address]) with a port from 1 to 65535 (0 for listen: any free port)";

/* Port 0 is allowed only where the OS picks the port: a listen address. */
static int config_address_check(const char *v, char *host, size_t hostcap, uint16_t *port,
				char *why, size_t n, int allow_port0)
{
	if (strlen(v) > CONFIG_ADDRESS_MAX || config_parse_hostport(v, host, hostcap, port) != 0 ||
	    (*port == 0 && !allow_port0)) {
		snprintf(why, n, "%s", why_address);
		return ERR_INVAL;
	}
	return 0;
}

static int config_set_name(struct config_parser *p, const char *v, char *why, size_t n)
{
	if (config_name_check(v) != 0) {
		snprintf(why, n, "%s", why_name);
		return ERR_INVAL;
	}
	snprintf(p->cfg.name, sizeof(p->cfg.name), "%s", v);
	return 0;
}

static int config_set_listen(struct config_parser *p, const char *v, char *why, size_t n)
{
	int r = config_address_check(v, p->cfg.listen_host, sizeof(p->cfg.listen_host),
				     &p->cfg.listen_port, why, n, 1);

	if (r == 0)
		snprintf(p->cfg.listen, sizeof(p->cfg.listen), "%s", v);
	return r;
}

static int config_set_log_level(struct config_parser *p, const char *v, char *why, size_t n)
{
	if (log_level_parse(v, &p->cfg.log_level) != 0) {
		snprintf(why, n, "must be debug, info, warn or error");
		return ERR_INVAL;
	}
	return 0;
}

static int config_set_metrics_listen(struct config_parser *p, const char *v, char *why,
				     size_t n)
{
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;
	uint8_t addr[16];
	int r = config_address_check(v, host, sizeof(host), &port, why, n, 0);

	if (r == 0 && inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1) {
		snprintf(why, n, "must be an IP address and port, such as 127.0.0.1:9400");
		return ERR_INVAL;
	}
	if (r == 0)
		snprintf(p->cfg.metrics_listen, sizeof(p->cfg.metrics_listen), "%s", v);
	return r;
}

static int config_set_data(struct config_parser *p, const char *v, char *why, size_t n)
{
	size_t len = strlen(v);

	if (v[0] != '/' || len > CONFIG_PATH_MAX) {
		snprintf(why, n, "must be an absolute path of at most %d bytes", CONFIG_PATH_MAX);
		return ERR_INVAL;
	}
	memcpy(p->cfg.data, v, len + 1);
	return 0;
}

static struct config_partner *config_cur_partner(struct config_parser *p)
{
	return &p->cfg.partners[p->cfg.n_partners - 1];
}

static int config_set_partner_id(struct config_parser *p, const char *v, char *why, size_t n)
{
	struct config_partner *cur = config_cur_partner(p);

	if (identity_id_parse(v, cur->id) != 0) {
		snprintf(why, n, "must be a node id (%d base32 characters)", IDENTITY_ID_LEN);
		return ERR_INVAL;
	}
	for (size_t i = 0; i + 1 < p->cfg.n_partners; i++) {
		const struct config_partner *o = &p->cfg.partners[i];
		if (memcmp(o->id, cur->id, sizeof(o->id)) == 0) {
			snprintf(why, n, "same id as [partner %s] on line %d", o->name, o->line);
			return ERR_INVAL;
		}
	}
	return 0;
}

static int config_set_partner_address(struct config_parser *p, const char *v, char *why,
				      size_t n)
{
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;
	int r = config_address_check(v, host, sizeof(host), &port, why, n, 0);

	if (r == 0)
		snprintf(config_cur_partner(p)->address, CONFIG_ADDRESS_MAX + 1, "%s", v);
	return r;
}

/* forward_to = NAME[, NAME...]: the partners this partner's forwardable proposals go on to
 * without an operator's `coex forward` (names as in `coex partner list`; checked when used). */
static int config_set_partner_forward_to(struct config_parser *p, const char *v, char *why,
					 size_t n)
{
	struct config_partner *cur = config_cur_partner(p);
	char buf[CONFIG_LINE_MAX + 1], *name = buf, *next;

	snprintf(buf, sizeof(buf), "%s", v);
	cur->n_forward_to = 0;
	if (!strcmp(v, "") || strspn(v, " \t,") == strlen(v)) {
		snprintf(why, n, "must name at least one partner");
		return ERR_INVAL;
	}
	for (; name; name = next) {
		char *end;

		if ((next = strchr(name, ',')))
			*next++ = '\0';
		end = name + strlen(name);
		while (*name == ' ' || *name == '\t')
			name++;
		while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (config_name_check(name) != 0 || cur->n_forward_to == CONFIG_FORWARD_TO_MAX) {
			snprintf(why, n, "must be a comma-separated list of 1 to %d partner names",
				 CONFIG_FORWARD_TO_MAX);
			return ERR_INVAL;
		}
		memcpy(cur->forward_to[cur->n_forward_to++], name, strlen(name) + 1); /* checked: <= 64 */
	}
	return 0;
}

static const struct config_key node_keys[NODE_KEYS] = {
	{"name", config_set_name},
	{"listen", config_set_listen},
	{"log_level", config_set_log_level},
	{"data", config_set_data},
	{"metrics_listen", config_set_metrics_listen},
};
static const struct config_key partner_keys[PARTNER_KEYS] = {
	{"id", config_set_partner_id},
	{"address", config_set_partner_address},
	{"forward_to", config_set_partner_forward_to},
};

static int config_key_set(struct config_parser *p, const struct config_key *keys, size_t nkeys,
			  int *lines, const char *name, const char *value)
{
	char why[CONFIG_MSG_MAX / 2];

	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (lines[i])
			return config_fail(p, p->line, "[%s] %s: given twice (first on line %d)",
					   p->sec_text, name, lines[i]);
		lines[i] = p->line;
		if (keys[i].set(p, value, why, sizeof(why)) != 0)
			return config_fail(p, p->line, "[%s] %s: %s, got \"%s\"", p->sec_text, name,
					   why, value);
		return 0;
	}
	return config_fail(p, p->line, "[%s] %s: unknown key", p->sec_text, name);
}

/* ---- [limits] ---- */

static const struct config_limit_def *config_limit_find(const char *key, size_t *idx)
{
	for (size_t i = 0; i < LIMIT_COUNT; i++) {
		if (strcmp(limit_defs[i].key, key) == 0) {
			*idx = i;
			return &limit_defs[i];
		}
	}
	return NULL;
}

static uint32_t *config_limit_field(struct config_limits *l, const struct config_limit_def *d)
{
	return (uint32_t *)((char *)l + d->offset);
}

void config_limits_default(struct config_limits *out)
{
	for (size_t i = 0; i < LIMIT_COUNT; i++)
		*config_limit_field(out, &limit_defs[i]) = limit_defs[i].def;
}

static int config_limit_set(struct config_parser *p, const char *name, const char *value)
{
	const struct config_limit_def *d;
	size_t i;

	if (!(d = config_limit_find(name, &i)))
		return config_fail(p, p->line, "[limits] %s: unknown key", name);
	if (p->limit_lines[i])
		return config_fail(p, p->line, "[limits] %s: given twice (first on line %d)", name,
				   p->limit_lines[i]);
	p->limit_lines[i] = p->line;
	if (config_u32_parse(value, d->min, d->max, config_limit_field(&p->cfg.limits, d)) != 0)
		return config_fail(p, p->line,
				   "[limits] %s: must be an integer between %u and %u, got \"%s\"",
				   name, d->min, d->max, value);
	return 0;
}

/* Reports a broken order at the line of whichever key was written (the bigger one if
 * both were). */
static int config_limit_order_check(struct config_parser *p, const char *big, const char *small,
				    int strict)
{
	size_t bi = 0, si = 0;
	const struct config_limit_def *bd = config_limit_find(big, &bi);
	const struct config_limit_def *sd = config_limit_find(small, &si);
	uint32_t bv = *config_limit_field(&p->cfg.limits, bd);
	uint32_t sv = *config_limit_field(&p->cfg.limits, sd);

	if (strict ? bv > sv : bv >= sv)
		return 0;
	if (p->limit_lines[bi] || !p->limit_lines[si])
		return config_fail(p, p->limit_lines[bi],
				   "[limits] %s: must be %s %s (%u), got %u", big,
				   strict ? "greater than" : "at least", small, sv, bv);
	return config_fail(p, p->limit_lines[si], "[limits] %s: must be %s %s (%u), got %u",
			   small, strict ? "less than" : "at most", big, bv, sv);
}

/* ---- sections ---- */

static int config_section_end(struct config_parser *p)
{
	const struct config_partner *cur;

	if (p->sec != SEC_PARTNER)
		return 0;
	cur = config_cur_partner(p);
	if (!p->partner_lines[0])
		return config_fail(p, cur->line,
				   "[%s] id: missing; every partner needs its node id",
				   p->sec_text);
	return 0;
}

static int config_partner_begin(struct config_parser *p, const char *name)
{
	struct config_partner *grown, *cur;
	size_t cap;

	if (config_name_check(name) != 0)
		return config_fail(p, p->line, "[%s]: the partner name %s, got \"%s\"", p->sec_text,
				   why_name, name);
	for (size_t i = 0; i < p->cfg.n_partners; i++) {
		if (strcmp(p->cfg.partners[i].name, name) == 0)
			return config_fail(p, p->line,
					   "[%s]: section given twice (first on line %d)",
					   p->sec_text, p->cfg.partners[i].line);
	}
	if (p->cfg.n_partners == p->partners_cap) {
		cap = p->partners_cap ? p->partners_cap * 2 : CONFIG_PARTNERS_INIT;
		if (!(grown = realloc(p->cfg.partners, cap * sizeof(*grown)))) {
			p->nomem = 1;
			return config_fail(p, p->line, "out of memory");
		}
		p->cfg.partners = grown;
		p->partners_cap = cap;
	}
	cur = &p->cfg.partners[p->cfg.n_partners++];
	memset(cur, 0, sizeof(*cur));
	snprintf(cur->name, sizeof(cur->name), "%s", name);
	cur->line = p->line;
	memset(p->partner_lines, 0, sizeof(p->partner_lines));
	p->sec = SEC_PARTNER;
	return 0;
}

static int config_section_once(struct config_parser *p, int *seen, enum config_section sec)
{
	if (*seen)
		return config_fail(p, p->line, "[%s]: section given twice (first on line %d)",
				   p->sec_text, *seen);
	*seen = p->line;
	p->sec = sec;
	return 0;
}

static char *config_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Parses "[name]" at the start of line (leading whitespace already gone). */
static int config_section_begin(struct config_parser *p, const char *line)
{
	char text[CONFIG_LINE_MAX + 1], *name, *close, *rest;
	int r;

	if ((r = config_section_end(p)) != 0)
		return r;
	snprintf(text, sizeof(text), "%s", line + 1);
	if (!(close = strchr(text, ']')))
		return config_fail(p, p->line, "syntax error: section header without ']'");
	*close = '\0';
	rest = close + 1 + strspn(close + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return config_fail(p, p->line, "syntax error: text after the section header");
	name = config_trim(text);
	snprintf(p->sec_text, sizeof(p->sec_text), "%s", name);
	if (strcmp(name, "node") == 0)
		return config_section_once(p, &p->node_line, SEC_NODE);
	if (strcmp(name, "limits") == 0)
		return config_section_once(p, &p->limits_line, SEC_LIMITS);
	/* strchr also matches the NUL: a bare [partner] is an empty (invalid) name */
	if (strncmp(name, "partner", 7) == 0 && strchr(" \t", name[7]))
		return config_partner_begin(p, config_trim(name + 7));
	return config_fail(p, p->line,
			   "[%s]: unknown section (expected [node], [limits] or [partner NAME])",
			   name);
}

/* ---- inih callbacks ---- */

/* Reads a line as fgets does (at most cap - 1 bytes, through the '\n'). Returns its length,
 * 0 at the end of the file, or -1 if it holds a NUL byte (which fgets would keep, hiding the
 * rest of the line from strlen) or more than cap - 2 bytes before its '\n' or the end of
 * the file. */
static int config_getline(FILE *f, char *buf, int cap)
{
	int c = 0, n = 0;

	while (n < cap - 1 && c != '\n' && (c = getc(f)) != EOF) {
		if (c == '\0')
			return -1;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return n == cap - 1 && c != '\n' ? -1 : n;
}

/* inih's fgets: one line per call, counted; stops the parse after the first error. */
static char *config_read_line(char *buf, int cap, void *stream)
{
	struct config_parser *p = stream;
	size_t len, lead;
	int n;

	if (p->err_line >= 0 || (n = config_getline(p->f, buf, cap)) == 0)
		return NULL;
	p->line++;
	if (n < 0) {
		config_fail(p, p->line, "line longer than %d bytes, or a NUL byte in it", cap - 2);
		return NULL;
	}
	len = (size_t)n;
	if (p->line == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0)
		memmove(buf, buf + 3, len - 2);
	lead = strspn(buf, " \t");
	memmove(buf, buf + lead, strlen(buf + lead) + 1);
	if (buf[0] == '[' && config_section_begin(p, buf) != 0)
		return NULL;
	return buf;
}

static int config_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct config_parser *p = user;
	int r;

	(void)section; /* cut at 50 bytes by inih; config_read_line tracked it */
	switch (p->sec) {
	case SEC_NODE:
		r = config_key_set(p, node_keys, NODE_KEYS, p->node_lines, name, value);
		break;
	case SEC_PARTNER:
		r = config_key_set(p, partner_keys, PARTNER_KEYS, p->partner_lines, name, value);
		break;
	case SEC_LIMITS:
		r = config_limit_set(p, name, value);
		break;
	default:
		r = config_fail(p, p->line, "%s: key outside a section (put it under [node],"
				" [limits] or [partner NAME])", name);
		break;
	}
	return r == 0;
}

/* Checks that need the whole file: required keys and orders between limits. */
static int config_finish(struct config_parser *p)
{
	int r;

	if ((r = config_section_end(p)) != 0)
		return r;
	if (!p->cfg.name[0])
		return config_fail(p, p->node_line,
				   "[node] name: missing; every node needs a name");
	for (size_t i = 0; i < sizeof(limit_orders) / sizeof(limit_orders[0]); i++) {
		if ((r = config_limit_order_check(p, limit_orders[i].big, limit_orders[i].small,
						  limit_orders[i].strict)) != 0)
			return r;
	}
	return 0;
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", CONFIG_DEFAULT_LISTEN);
	config_parse_hostport(cfg->listen, cfg->listen_host, sizeof(cfg->listen_host),
			      &cfg->listen_port);
	cfg->log_level = LOG_INFO;
	config_limits_default(&cfg->limits);
}

/* Runs inih over p->f and reports the first error in file order: ours, or a line inih
 * could not split (inih goes on after those; we stop at ours). */
static int config_parse(struct config_parser *p)
{
	int bad = ini_parse_stream(config_read_line, p, config_on_key, p);

	if (bad > 0 && (p->err_line < 0 || bad < p->err_line)) {
		p->err_line = -1;
		return config_fail(p, bad, "syntax error: expected \"key = value\", \"[section]\""
				   " or a comment");
	}
	if (p->err_line < 0 && ferror(p->f)) {
		config_fail(p, 0, "cannot read");
		return -EIO;
	}
	if (p->err_line < 0)
		config_finish(p);
	if (p->err_line >= 0)
		return p->nomem ? ERR_NOMEM : ERR_INVAL;
	return 0;
}

int config_load(const char *path, struct config *out, char *err, size_t errlen)
{
	struct config_parser p;
	int r;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	p.err_line = -1;
	config_defaults(&p.cfg);
	if (!(p.f = fopen(path, "re"))) {
		r = -errno;
		if (errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	if ((r = config_parse(&p)) == 0) {
		*out = p.cfg;
		p.cfg.partners = NULL;
	}
	fclose(p.f);
	config_free(&p.cfg);
	return r;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->partners);
	cfg->partners = NULL;
	cfg->n_partners = 0;
}

/* ---- writing ---- */

static int config_write_body(FILE *f, const char *name, const char *listen)
{
	fprintf(f, "# coex node configuration. Every value is checked when coexd starts; an\n"
		   "# invalid one stops it with a message naming this file, the line and the key.\n"
		   "\n[node]\n"
		   "# This node's name, shown to partners (1 to %d bytes).\n"
		   "name = %s\n"
		   "# Address and TCP port for partner links: IPv4, host name or [IPv6]:port.\n"
		   "listen = %s\n"
		   "# Log level: debug, info, warn or error.\n"
		   "# log_level = info\n"
		   "# Serve Prometheus metrics over HTTP (keep it on loopback), e.g.:\n"
		   "# metrics_listen = 127.0.0.1:9400\n"
		   "\n[limits]\n"
		   "# Every limit has a default; uncomment a line to change it.\n",
		CONFIG_NAME_MAX, name, listen);
	for (size_t i = 0; i < LIMIT_COUNT; i++) {
		const struct config_limit_def *d = &limit_defs[i];
		fprintf(f, "\n# %s\n# From %u to %u.\n# %s = %u\n", d->doc, d->min, d->max, d->key,
			d->def);
	}
	fprintf(f, "\n# Partners may also be listed here; they are added to the store at start.\n"
		   "# [partner globex]\n"
		   "# id = <the partner's %d-character node id>\n"
		   "# address = coex.globex.example:7400\n",
		IDENTITY_ID_LEN);
	return ferror(f) ? -EIO : 0;
}

/* Writes the file to tmp (an mkstemp template, completed here) and syncs it. On failure
 * no file is left behind. */
static int config_write_tmp(char *tmp, const char *name, const char *listen)
{
	FILE *f = NULL;
	int fd, r;

	if ((fd = mkstemp(tmp)) < 0)
		return -errno;
	if (fchmod(fd, CONFIG_FILE_MODE) != 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		goto out;
	}
	r = config_write_body(f, name, listen);
	if (r == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
out:
	if (r != 0)
		unlink(tmp);
	return r;
}

static int config_write_check(const char *name, const char *listen, char *err, size_t errlen)
{
	char host[CONFIG_HOST_MAX + 1];
	uint16_t port;

	if (config_name_check(name) != 0) {
		if (errlen)
			snprintf(err, errlen, "name: %s, got \"%s\"", why_name, name);
		return ERR_INVAL;
	}
	if (strlen(listen) > CONFIG_ADDRESS_MAX ||
	    config_parse_hostport(listen, host, sizeof(host), &port) != 0) {
		if (errlen)
			snprintf(err, errlen, "listen: %s, got \"%s\"", why_address, listen);
		return ERR_INVAL;
	}
	return 0;
}

int config_write_initial(const char *path, const char *name, const char *listen, char *err,
			 size_t errlen)
{
	char tmp[CONFIG_PATH_BUF];
	int r, made = 0;

	if (!listen)
		listen = CONFIG_DEFAULT_LISTEN;
	if ((r = config_write_check(name, listen, err, errlen)) != 0)
		return r;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	if (access(path, F_OK) == 0) {
		r = ERR_EXISTS;
		goto out;
	}
	if ((r = config_write_tmp(tmp, name, listen)) != 0)
		goto out;
	made = 1;
	/* link, unlike rename, refuses to replace a file that appeared meanwhile */
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? ERR_EXISTS : -errno;
		goto out;
	}
	r = fsutil_sync_dir(path);
out:
	if (made)
		unlink(tmp);
	if (r == ERR_EXISTS && errlen)
		snprintf(err, errlen, "%s: already exists; not overwriting it", path);
	else if (r != 0 && errlen)
		snprintf(err, errlen, "%s: cannot write: %s", path, err_str(r));
	return r;
}
