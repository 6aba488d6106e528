/* Protocol constants and the defaults of every configurable limit, in one place.
 * Config (app/config.h) may override the configurable ones within their bounds. */
#ifndef COEX_WIRE_LIMITS_H
#define COEX_WIRE_LIMITS_H

#define COEX_PROLOGUE "coex/1"
#define COEX_PROTOCOL_VERSION 1u

enum {
	LIMIT_FRAME_HEADER = 2,               /* big-endian length before every Noise message */
	LIMIT_FRAME_MAX = 65535,              /* the largest length the header can carry */
	LIMIT_NAME_MAX = 64,                  /* node display name, bytes */
	LIMIT_ADDRESS_MAX = 255,              /* "host:port" */
	LIMIT_HELLO_LISTEN_MAX = 8,           /* listen addresses in a Hello */
	LIMIT_CLOSE_DETAIL_MAX = 200,         /* bytes of a Close detail kept */
	LIMIT_CTL_REQUEST_MAX = 8 << 20,      /* control request, bytes */
	LIMIT_REPLAY_CACHE = 8192,            /* recent initiator ephemeral keys remembered */
	LIMIT_REKEY_MESSAGES = 1 << 20,       /* Noise rekey after this many messages a direction */
	LIMIT_INVITE_ID = 16,
	LIMIT_INVITE_SECRET = 32,
	LIMIT_INVITE_MAC = 32,
	LIMIT_RTT_SAMPLE_PINGS = 1,
};

#endif
