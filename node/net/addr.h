/* "host:port" strings and socket addresses. */
#ifndef COEX_NET_ADDR_H
#define COEX_NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Splits "host:port" or "[v6]:port". Returns 0 or ERR_INVAL. */
int addr_split(const char *s, char *host, size_t host_cap, char *port, size_t port_cap);

/* Formats sa as "ip:port" ("[v6]:port") into out, and the bare ip into ip (may be NULL). */
void addr_format(const struct sockaddr *sa, char *out, size_t cap, char *ip, size_t ip_cap);

/* True if host is a wildcard address (0.0.0.0, ::, or empty). */
int addr_is_wildcard(const char *host);

#endif
