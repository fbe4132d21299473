/* One connection to Redis on a libuv loop, plain or TLS: commands are written in order and each
 * reply goes to the callback of the command it answers. hiredis does the protocol (command
 * encoding and the reply parser); the socket and TLS are ours, because the hiredis that Debian
 * ships (0.14) cannot speak TLS. */
#ifndef GH_STORE_REDIS_CONN_H
#define GH_STORE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <uv.h>

typedef struct gh_redis_conn gh_redis_conn;

/* A command's reply, freed after the call; NULL when the connection ended before it came. */
typedef void (*gh_redis_reply_fn)(void *privdata, redisReply *reply);

/* The network or the server ended the connection (a refused connection or TLS handshake
 * included). The connection frees itself after this: the owner forgets it and does not close
 * it. Commands in flight are answered NULL right after. */
typedef void (*gh_redis_ended_fn)(void *owner, const char *why);

/* Starts connecting to host (an IP address) and port; TLS when tls is not NULL, expecting
 * server_name in the server's certificate. NULL with a reason in err when it cannot start. */
gh_redis_conn *gh_redis_conn_open(uv_loop_t *loop, const char *host, int port, SSL_CTX *tls,
                                  const char *server_name, gh_redis_ended_fn ended, void *owner,
                                  char *err, size_t errlen);
/* Writes one command, sent as soon as the connection (and its TLS session) is established.
 * 0, or -1 when the connection has ended or holds too much unsent. fn runs exactly once, later. */
int gh_redis_conn_command(gh_redis_conn *c, int argc, const char **argv, gh_redis_reply_fn fn,
                          void *privdata);
/* Closes the connection: commands in flight are answered NULL now, ended does not run. */
void gh_redis_conn_close(gh_redis_conn *c);

#endif
