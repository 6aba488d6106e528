#include "draft.h"

#include "app/config.h"
#include "lib/err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	/* What one message may carry: the recipient's default limit (a node configured for
	 * more still refuses what its partners would not take). */
	DRAFT_MAX_BYTES = CONFIG_DEFAULT_MESSAGE_BYTES,
	DRAFT_HOPS_MAX = 3,       /* forwarding hops a proposal may allow (design.md 4) */
	DRAFT_CURRENCY_LEN = 3,   /* ISO 4217 code */
	READ_CHUNK = 64 * 1024,
};

static const struct cli_opt draft_opts[] = {
	DRAFT_OPTS,
	{ 0 },
};

/* ------------------------------------------------------------------ small parsers */

/* Whether s is valid UTF-8 (protobuf strings must be). */
static int utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	for (; i < len; i += n)
		if ((n = util_utf8_decode(p + i, len - i, &cp)) == 0)
			return 0;
	return 1;
}

int draft_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return ERR_INVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return ERR_INVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return ERR_INVAL;
	*out = v;
	return 0;
}

static const char *media_type_guess(const char *name)
{
	static const char *const types[][2] = {
		{ ".pdf", "application/pdf" }, { ".md", "text/markdown" },
		{ ".txt", "text/plain" },      { ".png", "image/png" },
		{ ".jpg", "image/jpeg" },      { ".jpeg", "image/jpeg" },
		{ ".json", "application/json" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

/* ------------------------------------------------------------------ files */

/* Grows a full read buffer by a chunk, up to one byte past max: reading that byte proves
 * the input too long. Returns 0, ERR_TOOBIG or ERR_NOMEM. */
static int buf_grow(char **buf, size_t *cap, size_t max)
{
	size_t ncap = *cap + READ_CHUNK > max + 1 ? max + 1 : *cap + READ_CHUNK;
	char *nb;

	if (*cap > max)
		return ERR_TOOBIG;
	if (!(nb = realloc(*buf, ncap)))
		return ERR_NOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Reads all of fd, at most max bytes, into a new NUL-terminated buffer; hint is the size
 * expected. Returns 0, ERR_TOOBIG, ERR_NOMEM or -errno. */
static int fd_read_all(int fd, size_t hint, size_t max, char **out, size_t *len)
{
	size_t cap = (hint < max ? hint : max) + 1, n = 0;
	char *buf = malloc(cap);
	ssize_t got;
	int r = buf ? 0 : ERR_NOMEM;

	while (r == 0) {
		if (n == cap)
			r = buf_grow(&buf, &cap, max);
		else if ((got = read(fd, buf + n, cap - n)) > 0)
			n += (size_t)got;
		else if (got == 0)
			break;
		else if (errno != EINTR)
			r = -errno;
	}
	if (r != 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0'; /* a read returns 0 only with room left */
	*out = buf;
	*len = n;
	return 0;
}

/* Reads a whole file ("-": standard input) of at most max bytes. The size is checked
 * before anything is allocated. Returns 0, ERR_TOOBIG, ERR_NOMEM or -errno. */
static int file_read(const char *path, size_t max, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		r = ERR_TOOBIG;
	else
		r = fd_read_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : READ_CHUNK, max,
				out, len);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

/* ------------------------------------------------------------------ the draft */

const char *draft_opt_given(const struct cli *cli)
{
	const struct cli_opt *o;

	for (o = draft_opts; o->name; o++)
		if (cli_opt(cli, o->name))
			return o->name;
	return NULL;
}

void draft_free(struct draft *d)
{
	size_t i;

	for (i = 0; i < d->q.n_attachments; i++)
		free(d->att[i].data.data);
	free(d->body);
}

const char *draft_text_opt(const struct cli *cli, const char *name, int *rc)
{
	const char *v = cli_opt(cli, name);

	if (!v)
		return "";
	if (!utf8_ok(v, strlen(v))) {
		*rc = cli_usage(cli, "%s is not valid UTF-8 text", name);
		return NULL;
	}
	return v;
}

static int draft_body_file(const struct cli *cli, struct draft *d, const char *path)
{
	size_t len;
	int r = file_read(path, DRAFT_MAX_BYTES, &d->body, &len);

	if (r == ERR_TOOBIG)
		return cli_fail(cli, "%s is larger than %d MiB, the most a message can carry",
				strcmp(path, "-") ? path : "standard input", DRAFT_MAX_BYTES >> 20);
	if (r != 0)
		return cli_fail(cli, "cannot read %s: %s", path, err_str(r));
	if (strlen(d->body) != len || !utf8_ok(d->body, len))
		return cli_fail(cli, "%s is not UTF-8 text (the body is Markdown)", path);
	d->q.body = d->body;
	d->total += len;
	return CLI_EXIT_OK;
}

static int draft_text(const struct cli *cli, struct draft *d)
{
	const char *file = cli_opt(cli, "--body-file");
	int rc = CLI_EXIT_OK;

	if (!cli_opt(cli, "--title") || !*cli_opt(cli, "--title"))
		return cli_usage(cli, "missing --title TITLE");
	if (file && cli_opt(cli, "--body"))
		return cli_usage(cli, "give --body or --body-file, not both");
	if (!(d->q.title = (char *)draft_text_opt(cli, "--title", &rc)) ||
	    !(d->q.summary = (char *)draft_text_opt(cli, "--summary", &rc)) ||
	    !(d->q.body = (char *)draft_text_opt(cli, "--body", &rc)) ||
	    !(d->q.terms = (char *)draft_text_opt(cli, "--terms", &rc)))
		return rc;
	d->total += strlen(d->q.body);
	return file ? draft_body_file(cli, d, file) : CLI_EXIT_OK;
}

static int draft_tags(const struct cli *cli, struct draft *d)
{
	size_t i, n = cli_opt_values(cli, "--tag", d->tags, CLI_MAX_VALUES);

	for (i = 0; i < n; i++)
		if (!*d->tags[i] || !utf8_ok(d->tags[i], strlen(d->tags[i])))
			return cli_usage(cli, "invalid --tag '%s': empty or not UTF-8", d->tags[i]);
	d->q.tags = (char **)d->tags;
	d->q.n_tags = n;
	return CLI_EXIT_OK;
}

/* --value AMOUNT CURRENCY: a whole non-negative amount and an ISO 4217 code. */
static int draft_value(const struct cli *cli, struct draft *d)
{
	const char *v[2];
	size_t i;

	if (cli_opt_values(cli, "--value", v, 2) != 2)
		return CLI_EXIT_OK;
	if (draft_parse_u64(v[0], 0, UINT64_MAX, &d->value.amount) != 0)
		return cli_usage(cli, "invalid --value amount '%s': a whole number such as 25000",
				 v[0]);
	for (i = 0; i < DRAFT_CURRENCY_LEN && v[1][i] >= 'A' && v[1][i] <= 'Z'; i++)
		;
	if (i != DRAFT_CURRENCY_LEN || v[1][i])
		return cli_usage(cli, "invalid --value currency '%s': three capital letters such "
				 "as EUR or USD", v[1]);
	d->value.currency = (char *)v[1];
	d->q.value = &d->value;
	return CLI_EXIT_OK;
}

static int draft_attach_one(const struct cli *cli, struct draft *d, const char *path)
{
	Coex__Attachment *a = &d->att[d->q.n_attachments];
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	char *data;
	size_t len;
	int r;

	if (!*name)
		return cli_usage(cli, "invalid --attach '%s': a file, not a directory", path);
	if (!utf8_ok(name, strlen(name)))
		return cli_usage(cli, "invalid --attach '%s': the file name is not UTF-8", path);
	if ((r = file_read(path, DRAFT_MAX_BYTES, &data, &len)) == ERR_TOOBIG)
		return cli_fail(cli, "cannot attach %s: larger than %d MiB, the most a message can "
				"carry", path, DRAFT_MAX_BYTES >> 20);
	if (r != 0)
		return cli_fail(cli, "cannot attach %s: %s", path, err_str(r));
	coex__attachment__init(a);
	a->name = (char *)name;
	a->media_type = (char *)media_type_guess(name);
	a->data.data = (uint8_t *)data;
	a->data.len = len;
	d->attp[d->q.n_attachments++] = a;
	d->total += len;
	if (d->total > DRAFT_MAX_BYTES)
		return cli_fail(cli, "the body and attachments come to more than %d MiB, the most a "
				"message can carry", DRAFT_MAX_BYTES >> 20);
	return CLI_EXIT_OK;
}

static int draft_attach(const struct cli *cli, struct draft *d)
{
	const char *paths[CLI_MAX_VALUES];
	size_t i, n = cli_opt_values(cli, "--attach", paths, CLI_MAX_VALUES);
	int rc;

	d->q.attachments = d->attp;
	for (i = 0; i < n; i++)
		if ((rc = draft_attach_one(cli, d, paths[i])) != CLI_EXIT_OK)
			return rc;
	return CLI_EXIT_OK;
}

/* --expires, --forwardable and --hops. */
static int draft_reach(const struct cli *cli, struct draft *d)
{
	const char *exp = cli_opt(cli, "--expires"), *hops = cli_opt(cli, "--hops");
	uint64_t n;

	if (exp && util_duration_parse(exp, &d->q.expires_s) != 0)
		return cli_usage(cli, "invalid --expires '%s' (a duration such as 48h or 30d)", exp);
	d->q.forwardable = cli_opt(cli, "--forwardable") != NULL;
	if (hops && !d->q.forwardable)
		return cli_usage(cli, "--hops goes with --forwardable");
	if (hops && draft_parse_u64(hops, 1, DRAFT_HOPS_MAX, &n) != 0)
		return cli_usage(cli, "invalid --hops '%s': 1 to %d", hops, DRAFT_HOPS_MAX);
	d->q.hop_limit = hops ? (uint32_t)n : 0;
	return CLI_EXIT_OK;
}

int draft_build(const struct cli *cli, struct draft *d)
{
	int rc;

	memset(d, 0, sizeof *d);
	coex__propose_request__init(&d->q);
	coex__value__init(&d->value);
	if ((rc = draft_text(cli, d)) != CLI_EXIT_OK || (rc = draft_tags(cli, d)) != CLI_EXIT_OK ||
	    (rc = draft_value(cli, d)) != CLI_EXIT_OK || (rc = draft_reach(cli, d)) != CLI_EXIT_OK)
		return rc;
	return draft_attach(cli, d);
}

