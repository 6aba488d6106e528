/* Small helpers for the CLI: the data directory, durations, times, and text made safe
 * for a terminal. No I/O beyond the environment and the file system calls named here. */
#ifndef COEX_CLI_UTIL_H
#define COEX_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Where the data directory came from. */
enum util_data_source { UTIL_DATA_FLAG, UTIL_DATA_ENV, UTIL_DATA_HOME };

/* Resolves the data directory: flag if not NULL, else $COEX_DATA if set and non-empty, else
 * $HOME/.coex (the password database if $HOME is unset). Writes the path and its source.
 * Returns 0, ERR_TOOBIG (path does not fit in len) or ERR_NOTFOUND (no home directory). */
int util_data_dir(const char *flag, char *out, size_t len, enum util_data_source *src);

/* Creates dir and any missing parents with mode (like mkdir -p). An existing directory is
 * fine. Returns 0 or -errno (ENOTDIR if a component exists and is not a directory). */
int util_mkdir_p(const char *dir, unsigned mode);

/* Joins dir and name with one '/'. Returns 0 or ERR_TOOBIG. */
int util_path_join(char *out, size_t len, const char *dir, const char *name);

/* Parses a duration: one or more groups of digits followed by a unit s, m, h or d
 * ("90s", "30m", "24h", "7d", "1h30m"); digits alone are seconds. Zero is refused.
 * Returns 0 and writes *out_s, or ERR_INVAL. */
int util_duration_parse(const char *s, uint64_t *out_s);

/* Formats a length of time coarsely, two units at most: "45s", "3m", "2h 5m", "3d 4h". */
void util_duration_format(uint64_t ms, char *out, size_t len);

/* Formats the wall-clock time ms relative to now_ms: "just now", "3m ago", "in 2h 5m";
 * "-" if ms is 0 (unknown). */
void util_time_relative(uint64_t ms, uint64_t now_ms, char *out, size_t len);

/* Formats ms as a local date and time, "2024-05-01 14:03 CEST"; "-" if ms is 0. */
void util_time_local(uint64_t ms, char *out, size_t len);

/* The wall clock in milliseconds since the Unix epoch. */
uint64_t util_now_ms(void);

/* Quotes s for a POSIX shell if it needs it (single quotes), so a printed command can be
 * pasted back. Returns NULL if out of memory; the caller frees. */
char *util_shell_quote(const char *s);

/* Decodes one UTF-8 sequence at s (len bytes available, len >= 1). Returns its length (1-4)
 * and writes *cp, or 0 if the bytes there are not valid UTF-8 (overlong forms, surrogates and
 * values above U+10FFFF are invalid). */
size_t util_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Copies s into a new string fit for a terminal: control characters (C0, DEL, C1) and bytes
 * that are not valid UTF-8 become '?', so a hostile partner name cannot drive the terminal.
 * Returns NULL if out of memory; the caller frees. */
char *util_term_safe(const char *s);

/* The number of columns s takes on a terminal, counting one per UTF-8 code point. */
size_t util_text_width(const char *s);

#endif
