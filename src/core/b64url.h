/* Strict base64url (RFC 4648 §5) without padding, as JOSE uses it, and strict padded base64. */
#ifndef GH_CORE_B64URL_H
#define GH_CORE_B64URL_H

#include <stddef.h>

/* Decoded size of n input characters (an upper bound for invalid input). */
static inline size_t gh_b64url_decoded_len(size_t n) { return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0); }

/* Decodes in[0..n) into out (gh_b64url_decoded_len(n) bytes). Refuses padding, characters
 * outside the alphabet, a length of 1 mod 4 and non-zero trailing bits (one encoding per value).
 * Returns the decoded length or -1. */
long gh_b64url_decode(const char *in, size_t n, unsigned char *out);

/* Strict base64 (RFC 4648 §4), padded as HTTP Basic credentials are: a length that is a multiple
 * of four, '=' only as the last one or two characters, the bits they leave over zero. out has
 * room for n / 4 * 3 bytes. Returns the decoded length or -1. */
long gh_b64_decode(const char *in, size_t n, unsigned char *out);

/* Encodes in[0..n) into out (at least 4 * ((n + 2) / 3) + 1 bytes), without padding, with a
 * terminating NUL. Returns the length. */
size_t gh_b64url_encode(const unsigned char *in, size_t n, char *out);

#endif
