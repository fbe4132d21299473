/* TLS to https:// endpoints: the upstream's certificate verified (its CAs, or the system's),
 * its name checked and sent as SNI, an optional client certificate (mTLS to the backend), and
 * sessions resumed: each pool keeps the last session an endpoint gave, so a new connection to
 * it skips the full handshake. Records go straight into the connection's output queue. */
#include <stdlib.h>
#include <string.h>

#include "core/tls.h"
#include "upstream/proxy.h"
#include "upstream/upconn.h"

static const unsigned char ALPN_HTTP11[] = "\x08http/1.1";

/* A session (TLS 1.3: a ticket after the handshake) for the connection's pool to reuse. */
static int on_new_session(SSL *ssl, SSL_SESSION *session)
{
    gh_upconn *up = SSL_get_app_data(ssl);
    if (!up || !up->pool)
        return 0;
    gh__pool_forget_session(up->pool);
    up->pool->session = session;
    up->pool->session_ctx = SSL_get_SSL_CTX(ssl);
    SSL_CTX_up_ref(up->pool->session_ctx);
    return 1; /* the pool keeps the reference */
}

static void prepare(SSL_CTX *ctx)
{
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    SSL_CTX_set_alpn_protos(ctx, ALPN_HTTP11, sizeof(ALPN_HTTP11) - 1);
}

void gh_upstreams_prepare(gh_config *c)
{
    for (size_t i = 0; i < c->nupstreams; i++)
        if (c->upstreams[i].tls)
            prepare(c->upstreams[i].tls);
}

static int sink_to_outq(void *arg, const char *data, size_t len)
{
    gh_upconn *up = arg;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    return gh_outq_write(&up->out, &b, 1) == 0 ? 0 : -1;
}

void gh__pool_forget_session(gh_pool *pool)
{
    SSL_SESSION_free(pool->session);
    SSL_CTX_free(pool->session_ctx);
    pool->session = NULL;
    pool->session_ctx = NULL;
}

int gh__up_tls_start(gh_upconn *up, char *why, size_t whylen)
{
    const gh_upstream_conf *u = up->req->upstream;
    const gh_endpoint_conf *e = up->req->endpoint;
    gh_tls_pipe *p = malloc(sizeof(*p));
    const char *name = u->server_name ? u->server_name : e->host;
    if (!p || gh_tls_pipe_sink(p, u->tls, false, name, &up->svc->tls_io, sink_to_outq, up) != 0) {
        free(p);
        snprintf(why, whylen, "cannot start a TLS session for '%s'", name);
        return -1;
    }
    SSL_set_app_data(p->ssl, up);
    /* A resumed session skips the certificate check: only a session verified under this very
     * configuration (its CAs, its name) is offered; after a reload the first connection does a
     * full handshake. */
    if (up->pool->session && up->pool->session_ctx == u->tls)
        SSL_set_session(p->ssl, up->pool->session);
    up->tls = p;
    int hs = gh_tls_pipe_handshake(p, why, whylen); /* the ClientHello */
    return gh_tls_pipe_flush(p) == 0 && hs >= 0 ? 0 : -1;
}

void gh__up_tls_free(gh_upconn *up)
{
    if (!up->tls)
        return;
    /* Closing a connection that worked is not a failure of its session: without this,
     * OpenSSL marks the session unresumable when the connection goes without close_notify. */
    if (up->tls->established && !up->tls->failure)
        SSL_set_shutdown(up->tls->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    gh_tls_pipe_free(up->tls);
    free(up->tls);
    up->tls = NULL;
}

int gh__up_tls_feed(gh_upconn *up, const char *data, size_t len, char *why, size_t whylen)
{
    gh_tls_pipe *p = up->tls;
    if (gh_tls_pipe_feed(p, data, len) != 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (p->established)
        return 1;
    int hs = gh_tls_pipe_handshake(p, why, whylen);
    if (gh_tls_pipe_flush(p) != 0 && hs >= 0) {
        snprintf(why, whylen, "the connection broke during the TLS handshake");
        return -1;
    }
    return hs;
}

int gh__up_tls_fill(gh_upconn *up, size_t *got)
{
    *got = 0;
    if (!up->in && !(up->in = gh_block_get(&up->svc->blocks)))
        return -1;
    gh_block *in = up->in;
    if (in->off == in->len)
        in->off = in->len = 0;
    int rc = gh_tls_pipe_read_into(up->tls, in->data + in->len, GH_BLOCK_SIZE - in->len, got);
    in->len += (uint32_t)*got;
    return rc;
}

bool gh__up_tls_idle_input(gh_upconn *up, const char *data, size_t len)
{
    char plain[64];
    size_t got = 0;
    /* Records of the TLS layer itself (a late session ticket) are fine; application bytes, an
     * alert or the end of the session retire the connection. */
    return gh_tls_pipe_feed(up->tls, data, len) == 0 &&
           gh_tls_pipe_read_into(up->tls, plain, sizeof(plain), &got) == 0 && got == 0;
}

int gh__up_write(gh_upconn *up, const uv_buf_t *bufs, unsigned n)
{
    if (!up->tls)
        return gh_outq_write(&up->out, bufs, n);
    return gh_tls_pipe_writev(up->tls, bufs, n) == 0 ? 0 : UV_EPIPE;
}
