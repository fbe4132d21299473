/* Upstream response heads. An upstream is trusted less than a spec: anything that could make
 * the gateway and the client disagree on where the response ends is refused (502). */
#include <string.h>

#include "wire/h1.h"
#include "wire/h1_lines.h"

static gh_reason bad(gh_h1_response *resp, const char *detail)
{
    resp->detail = detail;
    return GH_R_UPSTREAM_BAD_RESPONSE;
}

gh_reason gh_h1_parse_response(const char *buf, size_t len, size_t max_head, size_t max_headers,
                               bool req_method_head, gh_h1_header *hdrs, gh_h1_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    size_t scanned = 0;
    size_t end = gh__h1_find_head_end(buf, len, 0, &scanned);
    if (end == SIZE_MAX) {
        if (len >= max_head)
            return bad(resp, "the response head is larger than the gateway's buffer");
        if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
            return bad(resp, "the response does not start with HTTP/");
        return GH_R_AGAIN;
    }
    resp->head_len = end + 4;
    const char *block_end = buf + end + 2;
    const char *eol = memmem(buf, (size_t)(block_end - buf), "\r\n", 2);
    size_t line = (size_t)(eol - buf);
    if (line < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || (line > 12 && buf[12] != ' '))
        return bad(resp, "a malformed status line");
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return bad(resp, "a malformed status code");
        status = status * 10 + (buf[i] - '0');
    }
    if (status < 100)
        return bad(resp, "a status code below 100");
    for (size_t i = 13; i < line; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return bad(resp, "a control character in the reason phrase");
    }
    resp->status = status;
    resp->minor = buf[7] - '0';
    resp->headers = hdrs;
    const char *detail = NULL;
    if (gh__h1_parse_fields(eol + 2, block_end, hdrs, max_headers, &resp->nheaders, &detail) !=
        GH_R_OK)
        return bad(resp, detail);

    size_t lengths = 0, te = 0;
    uint64_t cl = 0;
    bool close = false, ka = false;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const gh_h1_header *h = &hdrs[i];
        if (GH_H1_NAME_IS(h, "content-length")) {
            uint64_t v;
            if (gh__h1_parse_length(h->value, h->value_len, &v) != 0)
                return bad(resp, "a malformed Content-Length");
            if (lengths++ && v != cl)
                return bad(resp, "conflicting Content-Length fields");
            cl = v;
        } else if (GH_H1_NAME_IS(h, "transfer-encoding")) {
            te++;
        } else if (GH_H1_NAME_IS(h, "connection")) {
            close |= gh_h1_list_has(h->value, h->value_len, "close");
            ka |= gh_h1_list_has(h->value, h->value_len, "keep-alive");
        }
    }
    resp->keep_alive = resp->minor == 1 ? !close : (ka && !close);

    if (status < 200 || status == 204 || status == 304 || req_method_head) {
        resp->body = GH_BODY_NONE;
        return GH_R_OK;
    }
    if (te) {
        if (lengths)
            return bad(resp, "both Transfer-Encoding and Content-Length");
        if (gh__h1_check_te(hdrs, resp->nheaders, &detail) != GH_R_OK)
            return bad(resp, "a Transfer-Encoding other than chunked");
        resp->body = GH_BODY_CHUNKED;
    } else if (lengths) {
        resp->content_length = cl;
        resp->body = GH_BODY_LENGTH;
    } else {
        resp->body = GH_BODY_UNTIL_CLOSE;
        resp->keep_alive = false;
    }
    return GH_R_OK;
}
