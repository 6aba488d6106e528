#include "util.h"

#include "lib/err.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { PARENT_DIR_MODE = 0755 };

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

int util_data_dir(const char *flag, char *out, size_t len, enum util_data_source *src)
{
	const char *env = getenv("COEX_DATA");
	const char *home;
	int n;

	if (flag) {
		n = snprintf(out, len, "%s", flag);
		*src = UTIL_DATA_FLAG;
	} else if (env && *env) {
		n = snprintf(out, len, "%s", env);
		*src = UTIL_DATA_ENV;
	} else {
		if (!(home = home_dir()))
			return ERR_NOTFOUND;
		n = snprintf(out, len, "%s/.coex", home);
		*src = UTIL_DATA_HOME;
	}
	return n < 0 || (size_t)n >= len ? ERR_TOOBIG : 0;
}

static int mkdir_one(const char *path, unsigned mode)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int util_mkdir_p(const char *dir, unsigned mode)
{
	char *path = strdup(dir);
	char *p;
	int r = 0;

	if (!path)
		return ERR_NOMEM;
	/* Parents get the usual mode, only the last component gets the caller's (mkdir -p -m). */
	for (p = path + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = mkdir_one(path, PARENT_DIR_MODE);
		*p = '/';
	}
	if (r == 0)
		r = mkdir_one(path, mode);
	free(path);
	return r;
}

int util_path_join(char *out, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	n = snprintf(out, len, "%.*s/%s", (int)dl, dir, name);
	return n < 0 || (size_t)n >= len ? ERR_TOOBIG : 0;
}

static uint64_t unit_seconds(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	default: return 0;
	}
}

int util_duration_parse(const char *s, uint64_t *out_s)
{
	uint64_t total = 0;
	int groups = 0;

	if (!s || !*s)
		return ERR_INVAL;
	for (; *s; groups++) {
		uint64_t v = 0, unit;

		if (*s < '0' || *s > '9')
			return ERR_INVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > (UINT64_MAX - 9) / 10)
				return ERR_INVAL;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		/* Bare digits mean seconds, but only on their own: "1d1" is a typo, not 1d 1s. */
		if (!*s)
			unit = groups == 0 ? 1 : 0;
		else
			unit = unit_seconds(*s++);
		if (unit == 0 || v > UINT64_MAX / unit || total > UINT64_MAX - v * unit)
			return ERR_INVAL;
		total += v * unit;
	}
	if (total == 0)
		return ERR_INVAL;
	*out_s = total;
	return 0;
}

void util_duration_format(uint64_t ms, char *out, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, len, "%llum", (unsigned long long)(s / 60));
	else if (s < 86400 && s % 3600 / 60)
		snprintf(out, len, "%lluh %llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s < 86400)
		snprintf(out, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s % 86400 / 3600)
		snprintf(out, len, "%llud %lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else
		snprintf(out, len, "%llud", (unsigned long long)(s / 86400));
}

void util_time_relative(uint64_t ms, uint64_t now_ms, char *out, size_t len)
{
	enum { JUST_NOW_MS = 5000 };
	char d[32];

	if (ms == 0) {
		snprintf(out, len, "-");
		return;
	}
	/* A few seconds either way (clock steps, rounding) read as "just now". */
	if (ms <= now_ms + JUST_NOW_MS && now_ms <= ms + JUST_NOW_MS) {
		snprintf(out, len, "just now");
		return;
	}
	if (ms < now_ms) {
		util_duration_format(now_ms - ms, d, sizeof d);
		snprintf(out, len, "%s ago", d);
	} else {
		/* Rounded up: an invite made for 10m reads "in 10m", not "in 9m". */
		util_duration_format(ms - now_ms + 999, d, sizeof d);
		snprintf(out, len, "in %s", d);
	}
}

void util_time_local(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0 || !localtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(out, len, "-");
}

uint64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *util_shell_quote(const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_./:@%+=,-";
	size_t len = strlen(s), quotes = 0, i, o = 0;
	char *out;

	if (len > 0 && strspn(s, safe) == len)
		return strdup(s);
	for (i = 0; i < len; i++)
		quotes += s[i] == '\'';
	/* Each ' becomes '\'' (3 more bytes); two quotes around and the NUL. */
	if (!(out = malloc(len + quotes * 3 + 3)))
		return NULL;
	out[o++] = '\'';
	for (i = 0; i < len; i++) {
		if (s[i] == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = s[i];
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

size_t util_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min_cp[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

char *util_term_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, o = 0;
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	while (i < len) {
		uint32_t cp;
		size_t n = util_utf8_decode(p + i, len - i, &cp);

		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			out[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

size_t util_text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, w = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = util_utf8_decode(p + i, len - i, &cp);

		i += n ? n : 1;
		w++;
	}
	return w;
}
