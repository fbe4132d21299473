/* Who a request is from, as the controls that count or stop clients key it: the rate limiter
 * (a bucket per client address, by prefix) and the bans (store/bans.h), which name a client by
 * text so that an operator can list, share and lift it:
 *   "sub:<subject>"   a verified token's subject (auth_sub),
 *   "key:<client>"    the client of a presented API key,
 *   "ip:<address>"    the client's address (behind trusted proxies, the forwarded one), cut to
 *                     ipv4_prefix or ipv6_prefix bits and written "ip:192.0.2.0/24" when cut;
 *                     text from a trusted proxy that is no address counts as written. */
#ifndef GH_GATE_CLIENT_KEY_H
#define GH_GATE_CLIENT_KEY_H

#include <stddef.h>

#include "gate/exchange.h"

/* The client address as bytes for a bucket: its family's length (never a text key's first
 * byte) and its first ipv4_prefix or ipv6_prefix bits; an IPv4-mapped IPv6 address counts as
 * the IPv4 address. Text that is no address is returned as it is. *len: the key's length. */
const char *gh_client_address_bits(const gh_request *req, int ipv4_prefix, int ipv6_prefix,
                                   unsigned char buf[17], size_t *len);
/* "ip:..." into out (cap bytes, NUL-terminated); returns its length, 0 when it does not fit. */
size_t gh_client_address_key(const gh_request *req, int ipv4_prefix, int ipv6_prefix, char *out,
                             size_t cap);
/* An "ip:" key as an operator wrote it ("ip:2001:db8::1", "ip:::ffff:192.0.2.7",
 * "ip:192.0.2.0/24") into the key a request from that address gets, so that a ban on it holds:
 * the address cut to ipv4_prefix or ipv6_prefix bits, an IPv4-mapped address as the IPv4 one.
 * Returns the length written into out; 0 when key is no "ip:" key with an address (it stays as
 * written); -1 when it names a range wider than a client's prefix, or does not fit. */
long gh_client_address_key_canon(const char *key, size_t len, int ipv4_prefix, int ipv6_prefix,
                                 char *out, size_t cap);
/* "sub:..." for a verified subject, else "key:..." for an API-key client; 0 when the request
 * has neither (yet: both are set by the authentication stages), or it does not fit. */
size_t gh_client_identity_key(const gh_request *req, char *out, size_t cap);
/* The identity key when there is one, else the address key: the client a detector names. */
size_t gh_client_key(const gh_request *req, int ipv4_prefix, int ipv6_prefix, char *out,
                     size_t cap);

#endif
