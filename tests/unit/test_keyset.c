/* Key sources: what a fetched document does to the keys in use, how failures age them out at
 * max_stale, how a refetch is rate-limited, how the registry shares a source across reloads,
 * and which URLs keys may be fetched from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "identity/keyset.h"
#include "identity/remote_url.h"

/* Two P-256 public keys (RFC 7515 A.3's, and another). */
#define KEY1                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"one\","                                           \
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","                                      \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define KEY2                                                                                       \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"two\","                                           \
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","                                      \
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\"}"

static const gh_key_source_def DEF = {"corp", "https://idp.test", "https://idp.test/jwks", NULL,
                                      NULL,   600000,             30000,                   3600000,
                                      5000};

static gh_key_source *fresh(gh_key_registry *r)
{
    gh_key_registry_init(r);
    gh_key_source *s = gh_key_registry_get(r, &DEF);
    assert_non_null(s);
    return s;
}

static void publish_swaps_only_on_change(void **state)
{
    (void)state;
    gh_key_registry r;
    gh_key_source *s = fresh(&r);
    assert_null(gh_key_source_acquire(s));
    const char *err = NULL;
    bool changed = false;
    const char *one = "{\"keys\":[" KEY1 "]}", *both = "{\"keys\":[" KEY1 "," KEY2 "]}";
    assert_int_equal(gh_key_source_publish(s, one, strlen(one), 1000, &err, &changed), 0);
    assert_true(changed);
    assert_int_equal(atomic_load(&s->generation), 1);
    gh_keyset *held = gh_key_source_acquire(s);
    assert_non_null(held);
    assert_int_equal(gh_key_source_publish(s, one, strlen(one), 2000, &err, &changed), 0);
    assert_false(changed); /* same document: same set, same generation */
    assert_int_equal(atomic_load(&s->generation), 1);
    assert_int_equal(gh_key_source_publish(s, both, strlen(both), 3000, &err, &changed), 0);
    assert_true(changed);
    assert_int_equal(gh_key_source_key_count(s), 2);
    /* A request still holding the first set keeps it whole, and the key it verified with is
     * found in the new set by its material. */
    assert_int_equal(held->jwks.n, 1);
    gh_keyset *now = gh_key_source_acquire(s);
    assert_non_null(gh_jwks_find_print(&now->jwks, "one", held->jwks.keys[0].print));
    assert_null(gh_jwks_find_print(&now->jwks, "two", held->jwks.keys[0].print));
    gh_keyset_release(now);
    gh_keyset_release(held);
    gh_key_source_put(s);
    gh_key_registry_free(&r);
}

static void refused_documents_keep_the_last_good_set(void **state)
{
    (void)state;
    gh_key_registry r;
    gh_key_source *s = fresh(&r);
    const char *err = NULL;
    bool changed;
    const char *one = "{\"keys\":[" KEY1 "]}";
    const char *bad[] = {"<html>", "{\"keys\":[]}", "{\"keys\":[{\"kty\":\"oct\",\"k\":"
                                                    "\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}]}"};
    const char *why[] = {"not a JSON object", "no usable signature key", "HMAC secret"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gh_key_source_publish(s, bad[i], strlen(bad[i]), 0, &err, &changed), -1);
        assert_non_null(strstr(err, why[i]));
    }
    assert_null(gh_key_source_acquire(s));
    assert_int_equal(gh_key_source_publish(s, one, strlen(one), 1000, &err, &changed), 0);
    assert_int_equal(gh_key_source_publish(s, bad[0], strlen(bad[0]), 2000, &err, &changed), -1);
    assert_int_equal(gh_key_source_key_count(s), 1);
    gh_key_source_put(s);
    gh_key_registry_free(&r);
}

static void failures_drop_the_keys_at_max_stale(void **state)
{
    (void)state;
    gh_key_registry r;
    gh_key_source *s = fresh(&r);
    const char *err = NULL;
    bool changed;
    const char *one = "{\"keys\":[" KEY1 "]}";
    assert_int_equal(gh_key_source_publish(s, one, strlen(one), 1000, &err, &changed), 0);
    assert_false(gh_key_source_failed(s, "connection refused", 1000 + 3599999));
    assert_int_equal(gh_key_source_key_count(s), 1);
    char text[GH_KEY_ERROR_MAX];
    gh_key_source_last_error(s, text, sizeof(text));
    assert_string_equal(text, "connection refused");
    uint64_t gen = atomic_load(&s->generation);
    assert_true(gh_key_source_failed(s, "connection refused", 1000 + 3600000));
    assert_int_equal(gh_key_source_key_count(s), 0);
    assert_true(atomic_load(&s->generation) > gen); /* cached tokens die with the keys */
    assert_int_equal(atomic_load(&s->fetch_failed), 2);
    gh_key_source_put(s);
    gh_key_registry_free(&r);
}

static void refetch_cool_down(void **state)
{
    (void)state;
    gh_key_registry r;
    gh_key_source *s = fresh(&r);
    assert_true(gh_key_source_may_refetch(s, 0)); /* never tried */
    atomic_store(&s->last_attempt_ms, 100000);
    assert_false(gh_key_source_may_refetch(s, 100000 + 29999));
    assert_true(gh_key_source_may_refetch(s, 100000 + 30000));
    atomic_store(&s->fetching, true);
    assert_true(gh_key_source_may_refetch(s, 100001)); /* one in flight: waiting is worth it */
    gh_key_source_put(s);
    gh_key_registry_free(&r);
}

static void registry_shares_equal_definitions(void **state)
{
    (void)state;
    gh_key_registry r;
    gh_key_source *s = fresh(&r);
    gh_key_source *again = gh_key_registry_get(&r, &DEF);
    assert_ptr_equal(s, again);
    assert_int_equal(atomic_load(&s->users), 2);
    gh_key_source_def other = DEF;
    other.refresh_ms = 60000;
    gh_key_source *o = gh_key_registry_get(&r, &other);
    assert_ptr_not_equal(o, s);
    gh_key_source_put(o);
    gh_key_registry_prune(&r); /* unused: freed */
    assert_ptr_equal(r.head, s);
    assert_null(s->next);
    gh_key_source_put(again);
    gh_key_source_put(s);
    gh_key_registry_prune(&r);
    assert_null(r.head);
    gh_key_registry_free(&r);
}

static void fetchable_urls(void **state)
{
    (void)state;
    assert_true(gh_remote_url_allowed("https://idp.example.com/.well-known/jwks.json"));
    assert_true(gh_remote_url_allowed("http://127.0.0.1:8080/jwks"));
    assert_true(gh_remote_url_allowed("http://localhost/jwks"));
    assert_true(gh_remote_url_allowed("http://[::1]:9/jwks"));
    assert_false(gh_remote_url_allowed("http://idp.example.com/jwks"));
    assert_false(gh_remote_url_allowed("http://127.0.0.1.evil.com/jwks"));
    assert_false(gh_remote_url_allowed("http://localhost.evil.com/jwks"));
    assert_false(gh_remote_url_allowed("https://user:pw@idp.example.com/jwks"));
    assert_false(gh_remote_url_allowed("https:///jwks"));
    assert_false(gh_remote_url_allowed("ftp://idp.example.com/jwks"));
    assert_false(gh_remote_url_allowed("file:///etc/passwd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publish_swaps_only_on_change),
        cmocka_unit_test(refused_documents_keep_the_last_good_set),
        cmocka_unit_test(failures_drop_the_keys_at_max_stale),
        cmocka_unit_test(refetch_cool_down),
        cmocka_unit_test(registry_shares_equal_definitions),
        cmocka_unit_test(fetchable_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
