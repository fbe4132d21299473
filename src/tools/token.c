/* `gatehouse token keygen|mint|jwks`: a signing key for development, tokens signed with it, and
 * the public JWK set to give the gateway. Signatures are the same as an identity provider's, so
 * tests and the demo exercise the real verification path. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/yaml_walk.h"
#include "core/b64url.h"
#include "identity/jwk.h"
#include "identity/jws_sign.h"
#include "tools/token.h"


static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "gatehouse token: --key %s: cannot open\n", path ? path : "(missing)");
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        fprintf(stderr, "gatehouse token: %s is not a PEM private key\n", path);
    return k;
}

static json_t *claims_from_flags(int argc, char **argv)
{
    json_t *c = json_object();
    long long now = (long long)time(NULL);
    uint64_t ttl_ms = 300000;
    const char *ttl = flag(argc, argv, "--ttl");
    if (ttl && gh_parse_duration_ms(ttl, &ttl_ms) != 0) {
        fprintf(stderr, "gatehouse token: --ttl %s: a duration such as 5m\n", ttl);
        json_decref(c);
        return NULL;
    }
    json_object_set_new(c, "iat", json_integer(now));
    json_object_set_new(c, "exp", json_integer(now + (long long)(ttl_ms / 1000)));
    static const char *const simple[][2] = {{"--iss", "iss"}, {"--aud", "aud"}, {"--sub", "sub"},
                                            {"--scope", "scope"}};
    for (size_t i = 0; i < 4; i++) {
        const char *v = flag(argc, argv, simple[i][0]);
        if (v)
            json_object_set_new(c, simple[i][1], json_string(v));
    }
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--claim") != 0)
            continue;
        const char *eq = strchr(argv[i + 1], '=');
        if (!eq) {
            fprintf(stderr, "gatehouse token: --claim %s: write name=value\n", argv[i + 1]);
            json_decref(c);
            return NULL;
        }
        char name[128];
        if (eq - argv[i + 1] >= (ptrdiff_t)sizeof(name)) { /* cut, it would be another claim */
            fprintf(stderr, "gatehouse token: --claim: a name longer than %zu characters\n", sizeof(name) - 1);
            json_decref(c);
            return NULL;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - argv[i + 1]), argv[i + 1]);
        json_error_t err; /* a JSON value (number, array, true) or else a string */
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &err);
        json_object_set_new(c, name, v ? v : json_string(eq + 1));
    }
    return c;
}

static int mint(int argc, char **argv)
{
    EVP_PKEY *k = read_key(flag(argc, argv, "--key"));
    if (!k)
        return 1;
    unsigned algs = gh_jws_key_algs(k), alg = algs & -algs; /* the first algorithm the key can do */
    const char *alg_name = flag(argc, argv, "--alg");
    if (alg_name)
        alg = gh_alg_from_name(alg_name, strlen(alg_name));
    json_t *claims = claims_from_flags(argc, argv);
    int rc = 1;
    if (!alg || !(alg & algs)) {
        fprintf(stderr, "gatehouse token: --alg %s does not fit this key\n", alg_name ? alg_name : "?");
    } else if (claims) {
        json_t *hdr = json_pack("{s:s, s:s}", "alg", gh_alg_name(alg), "typ", "JWT");
        const char *kid = flag(argc, argv, "--kid");
        if (kid)
            json_object_set_new(hdr, "kid", json_string(kid));
        char *h = json_dumps(hdr, JSON_COMPACT), *p = json_dumps(claims, JSON_COMPACT);
        char *token = h && p ? gh_jws_sign(k, NULL, 0, alg, h, p) : NULL;
        if (token) {
            printf("%s\n", token);
            rc = 0;
        } else {
            fprintf(stderr, "gatehouse token: signing failed\n");
        }
        free(token);
        free(h);
        free(p);
        json_decref(hdr);
    }
    json_decref(claims);
    EVP_PKEY_free(k);
    return rc;
}

static int jwks(int argc, char **argv)
{
    EVP_PKEY *k = read_key(flag(argc, argv, "--key"));
    if (!k)
        return 1;
    json_t *jwk = gh_jwk_public(k, flag(argc, argv, "--kid"), 0);
    EVP_PKEY_free(k);
    if (!jwk) {
        fprintf(stderr, "gatehouse token: unsupported key type\n");
        return 1;
    }
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *text = json_dumps(set, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(set);
    return 0;
}

static int keygen(int argc, char **argv)
{
    const char *alg = flag(argc, argv, "--alg");
    if (!alg)
        alg = "ES256";
    EVP_PKEY *k = NULL;
    if (strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0 || strcmp(alg, "ES512") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg[2] == '2' ? "P-256" : alg[2] == '3' ? "P-384" : "P-521");
    else if (strcmp(alg, "EdDSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (alg[0] == 'R' || alg[0] == 'P')
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    if (!k) {
        fprintf(stderr, "gatehouse token keygen: --alg ES256|ES384|ES512|EdDSA|RS256|PS256\n");
        return 2;
    }
    int ok = PEM_write_PrivateKey(stdout, k, NULL, NULL, 0, NULL, NULL);
    EVP_PKEY_free(k);
    return ok ? 0 : 1;
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse token keygen [--alg ES256|ES384|ES512|EdDSA|RS256]   a PEM private key\n"
            "       gatehouse token jwks --key KEY.pem [--kid KID]               its public JWK set\n"
            "       gatehouse token mint --key KEY.pem [--alg ALG] [--kid KID] [--iss ISS] [--aud AUD]\n"
            "                            [--sub SUB] [--scope \"a b\"] [--ttl 5m] [--claim k=v]...\n");
    return out == stderr ? 2 : 0;
}

/* Each argument after the subcommand is one of its flags and the flag's value. Returns 0, 1
 * for --help, or -1 after saying what is wrong. */
static int check_flags(int argc, char **argv, const char *const *allowed)
{
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        bool known = false;
        for (size_t k = 0; allowed[k] && !known; k++)
            known = strcmp(argv[i], allowed[k]) == 0;
        if (!known || i + 1 == argc) {
            fprintf(stderr, "gatehouse token %s: %s '%s'\n", argv[0],
                    known ? "a value is missing after" : "unknown option", argv[i]);
            return -1;
        }
    }
    return 0;
}

int gh_token_main(int argc, char **argv)
{
    static const char *const keygen_flags[] = {"--alg", NULL};
    static const char *const jwks_flags[] = {"--key", "--kid", NULL};
    static const char *const mint_flags[] = {"--key", "--alg",   "--kid", "--iss",   "--aud",
                                             "--sub", "--scope", "--ttl", "--claim", NULL};
    static const struct {
        const char *name;
        int (*run)(int, char **);
        const char *const *flags;
    } subs[] = {{"keygen", keygen, keygen_flags}, {"jwks", jwks, jwks_flags},
                {"mint", mint, mint_flags}};
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        return usage(stdout);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        int r = check_flags(argc - 1, argv + 1, subs[i].flags);
        return r == 0 ? subs[i].run(argc - 1, argv + 1) : usage(r > 0 ? stdout : stderr);
    }
    if (*sub)
        fprintf(stderr, "gatehouse token: unknown subcommand '%s'\n", sub);
    return usage(stderr);
}
