#include <errno.h>
#include <string.h>

#include "config/config.h"
#include "core/http_client.h"
#include "gate/services.h"

static int stage_tools_init(gh_stage_tools *t)
{
    if (gh_jws_verifier_init(&t->verifier) != 0)
        return -ENOMEM;
    t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    t->md_ctx = EVP_MD_CTX_new();
    return t->sha256 && t->md_ctx ? 0 : -ENOMEM;
}

static void stage_tools_free(gh_stage_tools *t)
{
    EVP_MD_CTX_free(t->md_ctx);
    EVP_MD_free(t->sha256);
    gh_jws_verifier_free(&t->verifier);
}

int gh_services_init(gh_services *svc, int worker_id, uv_loop_t *loop, struct gh_shared *shared,
                     gh_config *cfg)
{
    svc->worker_id = worker_id;
    svc->loop = loop;
    svc->shared = shared;
    svc->redis = (gh_redis_env){loop, &svc->metrics, shared ? &shared->redis_up : NULL, NULL};
    if (!gh_snapshots_init(&svc->snapshots, cfg))
        return -ENOMEM;
    svc->log_enabled = strcmp(cfg->access_log, "off") != 0;
    gh_block_pool_init(&svc->blocks, 256);
    svc->arena_spares = (gh_arena_spares){NULL, 0, 256};
    gh_id_gen_seed(&svc->ids, (uint64_t)worker_id);
    if (stage_tools_init(&svc->stage_tools) != 0 || gh_metrics_init(&svc->metrics) != 0)
        return -ENOMEM;
    gh_outq_batch_init(&svc->batch, loop);
    if (gh_tls_io_init(&svc->tls_io) != 0)
        return -ENOMEM;
    if (!(svc->http = gh_http_client_start(loop, false)))
        return -ENOMEM;
    return 0;
}

void gh_services_close(gh_services *svc)
{
    if (!uv_is_closing((uv_handle_t *)&svc->batch.check))
        gh_outq_batch_close(&svc->batch);
}

void gh_services_free(gh_services *svc)
{
    gh_block_pool_free(&svc->blocks);
    gh_arena_spares_free(&svc->arena_spares);
    gh_tls_io_free(&svc->tls_io);
    stage_tools_free(&svc->stage_tools);
    gh_metrics_free(&svc->metrics);
    /* Every request has ended, so retired snapshots are normally gone already. */
    gh_snapshots_free(&svc->snapshots);
}
