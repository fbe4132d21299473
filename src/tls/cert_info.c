#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "tls/cert_info.h"

/* The name in RFC 4514 form, cut with "..." when it does not fit. */
static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    out[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *p;
        long n = BIO_get_mem_data(bio, &p);
        size_t len = n > 0 ? (size_t)n : 0;
        if (len >= cap) {
            len = cap - 4;
            memcpy(out + len, "...", 4);
        } else {
            out[len] = '\0';
        }
        memcpy(out, p, len);
    }
    BIO_free(bio);
}

static void hex_upper(const unsigned char *p, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i = 0;
    for (; i < n && 2 * i + 2 < cap; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * i] = '\0';
}

static void asn1_time(const ASN1_TIME *t, time_t *out_t, char *out, size_t cap)
{
    struct tm tm;
    *out_t = 0;
    out[0] = '\0';
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return;
    *out_t = timegm(&tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int gh_cert_info_of(X509 *x, gh_cert_info *info)
{
    memset(info, 0, sizeof(*info));
    if (!x)
        return -1;
    name_text(X509_get_subject_name(x), info->subject, sizeof(info->subject));
    name_text(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    if (serial)
        hex_upper(ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial), info->serial,
                  sizeof(info->serial));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(x, EVP_sha256(), md, &md_len) != 1)
        return -1;
    hex_upper(md, md_len, info->sha256, sizeof(info->sha256));
    asn1_time(X509_get0_notBefore(x), &info->not_before_t, info->not_before,
              sizeof(info->not_before));
    asn1_time(X509_get0_notAfter(x), &info->not_after_t, info->not_after, sizeof(info->not_after));
    return 0;
}

gh_cert_state gh_cert_state_at(time_t not_after, time_t now, uint64_t warn_s)
{
    if (not_after <= now)
        return GH_CERT_EXPIRED;
    return (uint64_t)(not_after - now) <= warn_s ? GH_CERT_EXPIRING : GH_CERT_VALID;
}
