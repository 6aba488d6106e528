#include "net/addr.h"
#include "lib/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_split(const char *s, char *host, size_t host_cap, char *port, size_t port_cap)
{
	const char *colon, *h = s;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return ERR_INVAL;
		h = s + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		if (!(colon = strrchr(s, ':')) || strchr(s, ':') != colon)
			return ERR_INVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= host_cap || strlen(colon + 1) >= port_cap || colon[1] == '\0')
		return ERR_INVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

void addr_format(const struct sockaddr *sa, char *out, size_t cap, char *ip, size_t ip_cap)
{
	char buf[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
		port = ntohs(a->sin_port);
		snprintf(out, cap, "%s:%u", buf, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
		port = ntohs(a->sin6_port);
		snprintf(out, cap, "[%s]:%u", buf, port);
	} else {
		snprintf(out, cap, "?");
	}
	if (ip)
		snprintf(ip, ip_cap, "%s", buf);
}

int addr_is_wildcard(const char *host)
{
	return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}
