#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tls.h"
#include "tls/client_cert.h"
#include "http/conn_tls.h"

/* Ciphertext waiting in a session beyond which the socket is not read: one block's worth. */
#define GH_TLS_MAX_PENDING_INPUT GH_BLOCK_SIZE

static int sink_to_outq(void *arg, const char *data, size_t len)
{
    gh_conn *c = arg;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    return gh_outq_write(&c->out, &b, 1) == 0 ? 0 : -1;
}

int gh_conn_tls_start(gh_conn *c, gh_tls_server *server)
{
    gh_tls_pipe *p = malloc(sizeof(*p));
    if (!p || gh_tls_pipe_sink(p, gh_tls_server_ctx(server), true, NULL, &c->svc->tls_io, sink_to_outq,
                               c) != 0) {
        free(p);
        return -1;
    }
    gh_tls_server_ref(server); /* its contexts outlive a reload while this connection lives */
    c->tls = p;
    c->tls_server = server;
    return 0;
}

const gh_client_cert *gh_conn_client_cert(gh_conn *c)
{
    if (!c->tls)
        return NULL;
    if (!c->peer_cert)
        c->peer_cert = gh_client_cert_read(c->tls->ssl);
    return c->peer_cert;
}

void gh_conn_tls_end(gh_conn *c)
{
    gh_client_cert_free(c->peer_cert);
    c->peer_cert = NULL;
    if (!c->tls)
        return;
    gh_tls_pipe_free(c->tls);
    free(c->tls);
    c->tls = NULL;
    gh_tls_server_unref(c->tls_server);
    c->tls_server = NULL;
}

gh_tls_input gh_conn_tls_input(gh_conn *c, const char *data, size_t len)
{
    gh_tls_pipe *p = c->tls;
    if (gh_tls_pipe_feed(p, data, len) != 0) {
        p->failure = "out_of_memory";
        return GH_TLS_IN_FAILED;
    }
    if (p->established)
        return GH_TLS_IN_READY;
    char why[256];
    int hs = gh_tls_pipe_handshake(p, why, sizeof(why));
    gh_tls_pipe_flush(p); /* the server's flight, or its alert */
    if (hs < 0)
        return GH_TLS_IN_FAILED;
    if (hs == 0)
        return GH_TLS_IN_WAIT;
    gh_metrics_handshake(&c->svc->metrics, SSL_session_reused(p->ssl) ? "resumed" : NULL);
    return GH_TLS_IN_READY;
}

int gh_conn_tls_fill(gh_conn *c)
{
    gh_tls_pipe *p = c->tls;
    if (!p->established || (!c->in && !gh_tls_pipe_buffered(p)))
        return 0; /* an idle connection holds no block */
    if (!c->in && !(c->in = gh_block_get(&c->svc->blocks)))
        return -1;
    gh_block *in = c->in;
    if (in->off == in->len)
        in->off = in->len = 0;
    size_t got = 0;
    int rc = gh_tls_pipe_read_into(p, in->data + in->len, GH_BLOCK_SIZE - in->len, &got);
    in->len += (uint32_t)got;
    if (in->off == in->len && c->state == GH_CS_IDLE) { /* only part of a record came */
        gh_block_put(&c->svc->blocks, in);
        c->in = NULL;
    }
    return rc;
}

int gh_conn_tls_write(gh_conn *c, const uv_buf_t *bufs, unsigned n)
{
    return gh_tls_pipe_writev(c->tls, bufs, n) == 0 ? 0 : UV_EPIPE;
}

bool gh_conn_tls_alpn_h2(const gh_conn *c)
{
    gh_tls_info t;
    gh_tls_pipe_info(c->tls, &t);
    return t.alpn_len == 2 && memcmp(t.alpn, "h2", 2) == 0;
}

void gh_conn_tls_close_notify(gh_conn *c)
{
    gh_tls_pipe *p = c->tls;
    if (!p || c->tls_notified || !p->established)
        return;
    c->tls_notified = true;
    SSL_shutdown(p->ssl);
    gh_tls_pipe_flush(p);
}

bool gh_conn_tls_wants_input(const gh_conn *c)
{
    return BIO_ctrl_pending(c->tls->in) < GH_TLS_MAX_PENDING_INPUT;
}
