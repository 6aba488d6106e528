#include "testutil.h"

#include "app/config.h"
#include "lib/err.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct fixture {
	char dir[256];
	char path[512];
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", tu_tmpdir());
	snprintf(f->path, sizeof(f->path), "%s/coex.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int load(struct fixture *f, const char *text, struct config *cfg)
{
	write_text(f->path, text);
	f->err[0] = '\0';
	return config_load(f->path, cfg, f->err, sizeof(f->err));
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct config_limits d;

	assert_int_equal(load(f, "[node]\nname = Acme Logistics\n", &cfg), 0);
	assert_string_equal(cfg.name, "Acme Logistics");
	assert_string_equal(cfg.listen, "0.0.0.0:7400");
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 7400);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.data, "");
	assert_null(cfg.partners);
	assert_int_equal(cfg.n_partners, 0);
	assert_int_equal(cfg.limits.frame_bytes, 65535);
	assert_int_equal(cfg.limits.message_bytes, 4194304);
	assert_int_equal(cfg.limits.handshakes_per_address, 16);
	assert_int_equal(cfg.limits.handshakes_total, 256);
	assert_int_equal(cfg.limits.handshake_timeout_ms, 10000);
	assert_int_equal(cfg.limits.clock_skew_ms, 300000);
	assert_int_equal(cfg.limits.keepalive_ms, 15000);
	assert_int_equal(cfg.limits.dead_ms, 45000);
	assert_int_equal(cfg.limits.reconnect_min_ms, 1000);
	assert_int_equal(cfg.limits.reconnect_max_ms, 60000);
	assert_int_equal(cfg.limits.invite_ttl_s, 86400);
	assert_int_equal(cfg.limits.control_clients, 64);
	assert_int_equal(cfg.limits.outbox_per_partner, 100000);
	assert_int_equal(cfg.limits.inbound_per_s, 1000);
	config_limits_default(&d);
	assert_memory_equal(&d, &cfg.limits, sizeof(d));
	config_free(&cfg);
	config_free(NULL);
}

static const char every_key[] =
	"; a full file\n"
	"[node]\n"
	"name = Globex Corporation\n"
	"listen = [::1]:7401\n"
	"log_level = debug\n"
	"data = /var/lib/coex\n"
	"\n"
	"[limits]\n"
	"frame_bytes = 1024\n"
	"message_bytes = 1048576\n"
	"handshakes_per_address = 4\n"
	"handshakes_total = 100\n"
	"handshake_timeout_ms = 5000\n"
	"clock_skew_ms = 0\n"
	"keepalive_ms = 1000\n"
	"dead_ms = 3001\n"
	"reconnect_min_ms = 10\n"
	"reconnect_max_ms = 10\n"
	"invite_ttl_s = 60\n"
	"control_clients = 4096\n"
	"outbox_per_partner = 7\n"
	"inbound_per_s = 1000000\n"
	"\n"
	"[partner acme]\n"
	"id = " ID_A "\n"
	"address = coex.acme.example:7400\n"
	"forward_to = Initech Ltd , hooli,x\n"
	"[partner Initech Ltd]\n"
	"id = " ID_B "\n";

static void test_every_key(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	uint8_t id[IDENTITY_PK_LEN];

	assert_int_equal(load(f, every_key, &cfg), 0);
	assert_string_equal(cfg.name, "Globex Corporation");
	assert_string_equal(cfg.listen, "[::1]:7401");
	assert_string_equal(cfg.listen_host, "::1");
	assert_int_equal(cfg.listen_port, 7401);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.data, "/var/lib/coex");
	assert_int_equal(cfg.limits.frame_bytes, 1024);
	assert_int_equal(cfg.limits.message_bytes, 1048576);
	assert_int_equal(cfg.limits.handshakes_per_address, 4);
	assert_int_equal(cfg.limits.handshakes_total, 100);
	assert_int_equal(cfg.limits.handshake_timeout_ms, 5000);
	assert_int_equal(cfg.limits.clock_skew_ms, 0);
	assert_int_equal(cfg.limits.keepalive_ms, 1000);
	assert_int_equal(cfg.limits.dead_ms, 3001);
	assert_int_equal(cfg.limits.reconnect_min_ms, 10);
	assert_int_equal(cfg.limits.reconnect_max_ms, 10);
	assert_int_equal(cfg.limits.invite_ttl_s, 60);
	assert_int_equal(cfg.limits.control_clients, 4096);
	assert_int_equal(cfg.limits.outbox_per_partner, 7);
	assert_int_equal(cfg.limits.inbound_per_s, 1000000);
	assert_int_equal(cfg.n_partners, 2);
	assert_string_equal(cfg.partners[0].name, "acme");
	assert_int_equal(identity_id_parse(ID_A, id), 0);
	assert_memory_equal(cfg.partners[0].id, id, sizeof(id));
	assert_string_equal(cfg.partners[0].address, "coex.acme.example:7400");
	assert_int_equal(cfg.partners[0].line, 24);
	assert_string_equal(cfg.partners[1].name, "Initech Ltd");
	assert_int_equal(identity_id_parse(ID_B, id), 0);
	assert_memory_equal(cfg.partners[1].id, id, sizeof(id));
	assert_string_equal(cfg.partners[1].address, "");
	assert_int_equal(cfg.partners[1].line, 28);
	assert_int_equal(cfg.partners[0].n_forward_to, 3);
	assert_string_equal(cfg.partners[0].forward_to[0], "Initech Ltd");
	assert_string_equal(cfg.partners[0].forward_to[1], "hooli");
	assert_string_equal(cfg.partners[0].forward_to[2], "x");
	assert_int_equal(cfg.partners[1].n_forward_to, 0);
	config_free(&cfg);
	assert_null(cfg.partners);
	assert_int_equal(cfg.n_partners, 0);
}

static void test_many_partners(void **state)
{
	struct fixture *f = *state;
	char text[8192], *w = text;
	char id[IDENTITY_ID_LEN + 1];
	uint8_t pk[IDENTITY_PK_LEN] = {0};
	struct config cfg;

	w += sprintf(w, "[node]\nname = n\n");
	for (int i = 0; i < 20; i++) {
		pk[0] = (uint8_t)i;
		identity_id_format(pk, id);
		w += sprintf(w, "[partner p%d]\nid = %s\naddress = 10.0.0.%d:7400\n", i, id, i + 1);
	}
	assert_int_equal(load(f, text, &cfg), 0);
	assert_int_equal(cfg.n_partners, 20);
	assert_string_equal(cfg.partners[19].name, "p19");
	assert_string_equal(cfg.partners[19].address, "10.0.0.20:7400");
	assert_int_equal(cfg.partners[19].id[0], 19);
	config_free(&cfg);
}

/* Accepted syntax: comments, indentation, CRLF, a BOM, spaces in headers. */
static void test_syntax_accepted(void **state)
{
	struct fixture *f = *state;
	struct config cfg;

	assert_int_equal(load(f, "\xef\xbb\xbf# comment\r\n"
				 "; another\r\n"
				 "[ node ]   ; trailing comment\r\n"
				 "   name = Acme ; inline comment\r\n"
				 "\tlisten=localhost:1\r\n"
				 "[partner   x y  ]\r\n"
				 "  id = " ID_A "\r\n",
			 &cfg), 0);
	assert_string_equal(cfg.name, "Acme");
	assert_string_equal(cfg.listen_host, "localhost");
	assert_int_equal(cfg.listen_port, 1);
	assert_int_equal(cfg.n_partners, 1);
	assert_string_equal(cfg.partners[0].name, "x y");
	config_free(&cfg);

	/* the last line needs no line break; a value may hold '=', '#' and UTF-8 */
	assert_int_equal(load(f, "[node]\nname = Ac=me #1 Café", &cfg), 0);
	assert_string_equal(cfg.name, "Ac=me #1 Café");
	config_free(&cfg);
}

struct bad_case {
	const char *text;
	int line; /* 0: the message names no line */
	const char *msg;
};

#define NODE "[node]\nname = n\n"
static const struct bad_case bad_cases[] = {
	/* integers: strict, in range */
	{NODE "[limits]\nkeepalive_ms = abc\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"abc\""},
	{NODE "[limits]\nkeepalive_ms = 100x\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"100x\""},
	{NODE "[limits]\nkeepalive_ms = -5\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"-5\""},
	{NODE "[limits]\nkeepalive_ms = +500\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"+500\""},
	{NODE "[limits]\nkeepalive_ms = 1e3\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"1e3\""},
	{NODE "[limits]\nkeepalive_ms =\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"\""},
	{NODE "[limits]\nkeepalive_ms = 1 000\n", 4,
	 "[limits] keepalive_ms: must be an integer between 100 and 3600000, got \"1 000\""},
	{NODE "[limits]\nframe_bytes = 99999999999999999999999\n", 4,
	 "[limits] frame_bytes: must be an integer between 1024 and 65535, got "
	 "\"99999999999999999999999\""},
	{NODE "[limits]\nframe_bytes = 1023\n", 4,
	 "[limits] frame_bytes: must be an integer between 1024 and 65535, got \"1023\""},
	{NODE "[limits]\n\nframe_bytes = 65536\n", 5,
	 "[limits] frame_bytes: must be an integer between 1024 and 65535, got \"65536\""},
	{NODE "[limits]\ninvite_ttl_s = 59\n", 4,
	 "[limits] invite_ttl_s: must be an integer between 60 and 2592000, got \"59\""},
	/* orders between limits */
	{NODE "[limits]\nkeepalive_ms = 1000\ndead_ms = 1000\n", 5,
	 "[limits] dead_ms: must be greater than keepalive_ms (1000), got 1000"},
	{NODE "[limits]\ndead_ms = 15000\n", 4,
	 "[limits] dead_ms: must be greater than keepalive_ms (15000), got 15000"},
	{NODE "[limits]\nkeepalive_ms = 50000\n", 4,
	 "[limits] keepalive_ms: must be less than dead_ms (45000), got 50000"},
	{NODE "[limits]\nreconnect_max_ms = 999\n", 4,
	 "[limits] reconnect_max_ms: must be at least reconnect_min_ms (1000), got 999"},
	{NODE "[limits]\nhandshakes_per_address = 300\n", 4,
	 "[limits] handshakes_per_address: must be at most handshakes_total (256), got 300"},
	/* unknown or repeated keys and sections */
	{NODE "colour = blue\n", 3, "[node] colour: unknown key"},
	{NODE "[limits]\nframes = 1\n", 4, "[limits] frames: unknown key"},
	{NODE "[partner a]\nid = " ID_A "\nport = 1\n", 5, "[partner a] port: unknown key"},
	{NODE "[nodes]\nx = 1\n", 3,
	 "[nodes]: unknown section (expected [node], [limits] or [partner NAME])"},
	{NODE "[empty]\n", 3,
	 "[empty]: unknown section (expected [node], [limits] or [partner NAME])"},
	{NODE "[partners x]\n", 3,
	 "[partners x]: unknown section (expected [node], [limits] or [partner NAME])"},
	{"name = n\n[node]\n", 1,
	 "name: key outside a section (put it under [node], [limits] or [partner NAME])"},
	{NODE "name = m\n", 3, "[node] name: given twice (first on line 2)"},
	{NODE "[limits]\ndead_ms = 50000\n\ndead_ms = 60000\n", 6,
	 "[limits] dead_ms: given twice (first on line 4)"},
	{NODE "[limits]\n[node]\n", 4, "[node]: section given twice (first on line 1)"},
	{NODE "[limits]\n[limits]\n", 4, "[limits]: section given twice (first on line 3)"},
	/* [node] */
	{"[node]\nlisten = 0.0.0.0:7400\n", 1, "[node] name: missing; every node needs a name"},
	{"[limits]\n", 0, "[node] name: missing; every node needs a name"},
	{"", 0, "[node] name: missing; every node needs a name"},
	{"[node]\nname =\n", 2,
	 "[node] name: must be 1 to 64 bytes of UTF-8 text without control characters or ';',"
	 " got \"\""},
	{"[node]\nname = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	 "[node] name: must be 1 to 64 bytes of UTF-8 text without control characters or ';',"
	 " got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
	{"[node]\nname = a;b\n", 2,
	 "[node] name: must be 1 to 64 bytes of UTF-8 text without control characters or ';',"
	 " got \"a;b\""},
	{"[node]\nname = \xff\xfe\n", 2,
	 "[node] name: must be 1 to 64 bytes of UTF-8 text without control characters or ';',"
	 " got \"\xff\xfe\""},
	{"[node]\nname = a\x01z\n", 2,
	 "[node] name: must be 1 to 64 bytes of UTF-8 text without control characters or ';',"
	 " got \"a\x01z\""},
	{NODE "listen = 0.0.0.0\n", 3,
	 "[node] listen: must be HOST:PORT (an IPv4 address, a host name or [an IPv6 address])"
	 " with a port from 1 to 65535 (0 for listen: any free port), got \"0.0.0.0\""},
	{NODE "listen = ::1:7400\n", 3,
	 "[node] listen: must be HOST:PORT (an IPv4 address, a host name or [an IPv6 address])"
	 " with a port from 1 to 65535 (0 for listen: any free port), got \"::1:7400\""},
	{NODE "listen = 1.2.3.4:65536\n", 3,
	 "[node] listen: must be HOST:PORT (an IPv4 address, a host name or [an IPv6 address])"
	 " with a port from 1 to 65535 (0 for listen: any free port), got \"1.2.3.4:65536\""},
	{NODE "log_level = verbose\n", 3,
	 "[node] log_level: must be debug, info, warn or error, got \"verbose\""},
	{NODE "data = relative/dir\n", 3,
	 "[node] data: must be an absolute path of at most 1023 bytes, got \"relative/dir\""},
	/* [partner NAME] */
	{NODE "[partner a]\nid = abc\n", 4,
	 "[partner a] id: must be a node id (52 base32 characters), got \"abc\""},
	{NODE "[partner a]\nid = " ID_A "1\n", 4,
	 "[partner a] id: must be a node id (52 base32 characters), got \"" ID_A "1\""},
	{NODE "[partner a]\naddress = a.example:1\n", 3,
	 "[partner a] id: missing; every partner needs its node id"},
	{NODE "[partner a]\naddress = a.example:1\n[limits]\n", 3,
	 "[partner a] id: missing; every partner needs its node id"},
	{NODE "[partner a]\nid = " ID_A "\naddress = a.example\n", 5,
	 "[partner a] address: must be HOST:PORT (an IPv4 address, a host name or"
	 " [an IPv6 address]) with a port from 1 to 65535 (0 for listen: any free port), got \"a.example\""},
	{NODE "[partner a]\nid = " ID_A "\n[partner a]\n", 5,
	 "[partner a]: section given twice (first on line 3)"},
	{NODE "[partner a]\nid = " ID_A "\n[partner b]\nid = " ID_A "\n", 6,
	 "[partner b] id: same id as [partner a] on line 3, got \"" ID_A "\""},
	{NODE "[partner a]\nid = " ID_A "\nforward_to = b,,c\n", 5,
	 "[partner a] forward_to: must be a comma-separated list of 1 to 16 partner names, got \"b,,c\""},
	{NODE "[partner a]\nid = " ID_A "\nforward_to = ,\n", 5,
	 "[partner a] forward_to: must name at least one partner, got \",\""},
	{NODE "[partner a]\nid = " ID_A "\nforward_to = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", 5,
	 "[partner a] forward_to: must be a comma-separated list of 1 to 16 partner names,"
	 " got \"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\""},
	{NODE "[partner]\n", 3,
	 "[partner]: the partner name must be 1 to 64 bytes of UTF-8 text without control"
	 " characters or ';', got \"\""},
	/* syntax */
	{NODE "just words\n", 3,
	 "syntax error: expected \"key = value\", \"[section]\" or a comment"},
	{NODE "just words\ncolour = blue\n", 3,
	 "syntax error: expected \"key = value\", \"[section]\" or a comment"},
	{NODE "[limits\n", 3, "syntax error: section header without ']'"},
	{NODE "[limits] x = 1\n", 3, "syntax error: text after the section header"},
};
#undef NODE

static void test_bad_values(void **state)
{
	struct fixture *f = *state;
	struct config cfg, untouched;
	char want[1024];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		memset(&cfg, 0xab, sizeof(cfg));
		untouched = cfg;
		if (c->line)
			snprintf(want, sizeof(want), "%s:%d: %s", f->path, c->line, c->msg);
		else
			snprintf(want, sizeof(want), "%s: %s", f->path, c->msg);
		print_message("case %zu: %s\n", i, want);
		assert_int_equal(load(f, c->text, &cfg), ERR_INVAL);
		assert_string_equal(f->err, want);
		assert_memory_equal(&cfg, &untouched, sizeof(cfg));
	}
}

static void test_long_line(void **state)
{
	struct fixture *f = *state;
	char text[512], want[600];
	struct config cfg;

	/* the longest line inih takes is accepted ... */
	snprintf(text, sizeof(text), "[node]\nname = n\ndata = /%0*d\n", CONFIG_LINE_MAX - 8, 0);
	assert_int_equal(load(f, text, &cfg), 0);
	assert_int_equal(strlen(cfg.data), CONFIG_LINE_MAX - 7);
	config_free(&cfg);
	/* ... one byte more is refused, not cut */
	snprintf(text, sizeof(text), "[node]\nname = n\ndata = /%0*d\n", CONFIG_LINE_MAX - 7, 0);
	assert_int_equal(load(f, text, &cfg), ERR_INVAL);
	snprintf(want, sizeof(want), "%s:3: line longer than %d bytes, or a NUL byte in it",
		 f->path, CONFIG_LINE_MAX);
	assert_string_equal(f->err, want);
	/* ... also as the last line, without a newline */
	text[strlen(text) - 1] = '\0';
	assert_int_equal(load(f, text, &cfg), ERR_INVAL);
	assert_string_equal(f->err, want);
	snprintf(text, sizeof(text), "[node]\nname = n\ndata = /%0*d", CONFIG_LINE_MAX - 8, 0);
	assert_int_equal(load(f, text, &cfg), 0);
	config_free(&cfg);
}

/* A NUL byte is refused wherever it is, also on the last line (once taken as its end). */
static void test_nul_byte(void **state)
{
	static const char *const texts[] = {"[node]\nname = a\0b\n", "[node]\nname = a\0b",
					    "[node]\nname = a\0b\nlisten = 1.2.3.4:5\n"};
	struct fixture *f = *state;
	struct config cfg;
	char want[600];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t len = strlen(texts[i]) + 1 + strlen(texts[i] + strlen(texts[i]) + 1);
		FILE *fp = fopen(f->path, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(texts[i], 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
		assert_int_equal(config_load(f->path, &cfg, f->err, sizeof(f->err)), ERR_INVAL);
		snprintf(want, sizeof(want), "%s:2: line longer than %d bytes, or a NUL byte in it",
			 f->path, CONFIG_LINE_MAX);
		assert_string_equal(f->err, want);
	}
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	char want[600];

	assert_int_equal(config_load(f->path, &cfg, f->err, sizeof(f->err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", f->path, strerror(ENOENT));
	assert_string_equal(f->err, want);
	/* no message buffer is fine too */
	assert_int_equal(config_load(f->path, &cfg, NULL, 0), -ENOENT);
	write_text(f->path, "[node]\n");
	assert_int_equal(config_load(f->path, &cfg, NULL, 0), ERR_INVAL);
}

static void test_hostport(void **state)
{
	static const struct {
		const char *in, *host;
		unsigned port;
	} good[] = {
		{"0.0.0.0:7400", "0.0.0.0", 7400},
		{"[::]:1", "::", 1},
		{"127.0.0.1:0", "127.0.0.1", 0},
		{"[2001:db8::1]:65535", "2001:db8::1", 65535},
		{"[::ffff:1.2.3.4]:80", "::ffff:1.2.3.4", 80},
		{"localhost:7400", "localhost", 7400},
		{"coex.acme-corp.example:7400", "coex.acme-corp.example", 7400},
		{"a1.example.com2:9", "a1.example.com2", 9},
		{"xn--caf-dma.example:1", "xn--caf-dma.example", 1},
	};
	static const char *const bad[] = {
		"", ":", ":7400", "host:", "host", "host:65536", "host:123456",
		"host:-1", "host:+1", "host:7400x", "host: 7400", " host:7400", "::1:7400",
		"[::1]7400", "[::1]", "[::1:7400", "[]:1", "[1.2.3.4]:1", "[zz::1]:1",
		"[fe80::1%eth0]:1", "1.2.3.999:1", "1.2.3:1", "-a.example:1", "a-.example:1",
		"a..b:1", ".a:1", "a.:1", "under_score:1", "caf\xc3\xa9:1", "a:1:2",
	};
	char host[CONFIG_HOST_MAX + 1];
	char longhost[300];
	uint16_t port;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		print_message("good %s\n", good[i].in);
		assert_int_equal(config_parse_hostport(good[i].in, host, sizeof(host), &port), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad %s\n", bad[i]);
		strcpy(host, "untouched");
		port = 1234;
		assert_int_equal(config_parse_hostport(bad[i], host, sizeof(host), &port),
				 ERR_INVAL);
		assert_string_equal(host, "untouched");
		assert_int_equal(port, 1234);
	}
	/* host name limits: labels of 63, names of 253 */
	snprintf(longhost, sizeof(longhost), "%0*d.example:1", 63, 0);
	longhost[0] = 'a';
	assert_int_equal(config_parse_hostport(longhost, host, sizeof(host), &port), 0);
	snprintf(longhost, sizeof(longhost), "%0*d.example:1", 64, 0);
	longhost[0] = 'a';
	assert_int_equal(config_parse_hostport(longhost, host, sizeof(host), &port), ERR_INVAL);
	memset(longhost, 'a', 254);
	for (int i = 1; i < 254; i += 2)
		longhost[i] = '.';
	strcpy(longhost + 253, ":1");
	assert_int_equal(config_parse_hostport(longhost, host, sizeof(host), &port), 0);
	assert_int_equal(strlen(host), 253);
	strcpy(longhost + 253, "a:1");
	assert_int_equal(config_parse_hostport(longhost, host, sizeof(host), &port), ERR_INVAL);
	/* a host that does not fit the caller's buffer */
	assert_int_equal(config_parse_hostport("localhost:1", host, 9, &port), ERR_TOOBIG);
	assert_int_equal(config_parse_hostport("localhost:1", host, 10, &port), 0);
}

static void test_name_check(void **state)
{
	(void)state;
	assert_int_equal(config_name_check("Acme Logistics"), 0);
	assert_int_equal(config_name_check("Société Générale 株式会社"), 0);
	assert_int_equal(config_name_check("a"), 0);
	assert_int_equal(config_name_check(""), ERR_INVAL);
	assert_int_equal(config_name_check(" lead"), ERR_INVAL);
	assert_int_equal(config_name_check("trail "), ERR_INVAL);
	assert_int_equal(config_name_check("tab\there"), ERR_INVAL);
	assert_int_equal(config_name_check("del\x7f"), ERR_INVAL);
	assert_int_equal(config_name_check("semi;colon"), ERR_INVAL);
	assert_int_equal(config_name_check("\xc3"), ERR_INVAL);          /* cut sequence */
	assert_int_equal(config_name_check("\xc0\xaf"), ERR_INVAL);      /* overlong */
	assert_int_equal(config_name_check("\xe0\x80\xaf"), ERR_INVAL);  /* overlong */
	assert_int_equal(config_name_check("\xed\xa0\x80"), ERR_INVAL);  /* surrogate */
	assert_int_equal(config_name_check("\xf4\x90\x80\x80"), ERR_INVAL); /* > U+10FFFF */
	assert_int_equal(config_name_check("\xf0\x9f\x98\x80"), 0);      /* U+1F600 */
}

static void test_write_initial(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct stat st;
	char *text, *before;

	assert_int_equal(config_write_initial(f->path, "Acme Logistics", "[::]:7401", f->err,
					      sizeof(f->err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(config_load(f->path, &cfg, f->err, sizeof(f->err)), 0);
	assert_string_equal(cfg.name, "Acme Logistics");
	assert_string_equal(cfg.listen, "[::]:7401");
	assert_int_equal(cfg.listen_port, 7401);
	config_free(&cfg);

	/* every limit is listed, commented out, with its default */
	text = tu_read_file(f->path, NULL);
	assert_non_null(strstr(text, "\n# frame_bytes = 65535\n"));
	assert_non_null(strstr(text, "\n# dead_ms = 45000\n"));
	assert_non_null(strstr(text, "\n# inbound_per_s = 1000\n"));
	assert_non_null(strstr(text, "\n# log_level = info\n"));

	/* never overwritten */
	assert_int_equal(config_write_initial(f->path, "Other", NULL, f->err, sizeof(f->err)),
			 ERR_EXISTS);
	assert_non_null(strstr(f->err, "already exists"));
	before = tu_read_file(f->path, NULL);
	assert_string_equal(before, text);
	free(before);
	free(text);
}

/* Uncommenting every "# key = value" line of the written file gives a valid file with
 * the same values as the defaults: the comments do not lie. */
static void test_write_initial_uncommented(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct config_limits d;
	char *text, *line, *save, out[8192];
	size_t used = 0;

	assert_int_equal(config_write_initial(f->path, "n", NULL, f->err, sizeof(f->err)), 0);
	text = tu_read_file(f->path, NULL);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int kv = strncmp(line, "# ", 2) == 0 && strstr(line, " = ") &&
			 !strstr(line, "<") && !strstr(line, "address");
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s\n",
					 kv ? line + 2 : line);
		assert_true(used < sizeof(out));
	}
	free(text);
	unlink(f->path);
	assert_int_equal(load(f, out, &cfg), 0);
	assert_string_equal(cfg.listen, CONFIG_DEFAULT_LISTEN);
	config_limits_default(&d);
	assert_memory_equal(&d, &cfg.limits, sizeof(d));
	config_free(&cfg);
}

static void test_write_initial_refuses(void **state)
{
	struct fixture *f = *state;
	char path[600];
	DIR *dir;
	struct dirent *e;

	assert_int_equal(config_write_initial(f->path, "", NULL, f->err, sizeof(f->err)),
			 ERR_INVAL);
	assert_string_equal(f->err, "name: must be 1 to 64 bytes of UTF-8 text without control"
				    " characters or ';', got \"\"");
	assert_int_equal(config_write_initial(f->path, "a ; b", NULL, f->err, sizeof(f->err)),
			 ERR_INVAL);
	assert_int_equal(config_write_initial(f->path, "n", "0.0.0.0", f->err, sizeof(f->err)),
			 ERR_INVAL);
	assert_string_equal(f->err, "listen: must be HOST:PORT (an IPv4 address, a host name or"
				    " [an IPv6 address]) with a port from 1 to 65535 (0 for listen:"
				    " any free port), got \"0.0.0.0\"");
	snprintf(path, sizeof(path), "%s/missing/coex.conf", f->dir);
	assert_int_equal(config_write_initial(path, "n", NULL, f->err, sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "cannot write"));

	/* nothing left behind: no config, no temporary file */
	dir = opendir(f->dir);
	assert_non_null(dir);
	while ((e = readdir(dir)))
		assert_true(e->d_name[0] == '.');
	closedir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_partners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test_setup_teardown(test_write_initial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_initial_uncommented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_initial_refuses, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
