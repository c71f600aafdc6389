/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * api_scan.c: where does the first JSON value in a byte stream end?
 *
 * Theory of operation: slirp4netns answers whatever its single read()
 * returned, so clients never need to half-close, and text after the first
 * JSON value is ignored.  We read asynchronously and in pieces, so we need
 * to know when the bytes so far hold one complete value: then we answer
 * at once (a client that sends a request and waits without SHUT_WR, as
 * slirp4netns allows, gets its reply).  This scanner only finds the end of
 * the value; it does not validate it (json-glib parses the extracted text
 * afterwards and reports "cannot parse JSON" if it is not JSON).  It
 * tracks string literals and escapes so that brackets inside strings do
 * not count, and treats '{' and '[' alike for nesting.  A first
 * character that cannot start a JSON value is reported at once, so that
 * "badjson" gets its error without waiting for EOF, as in slirp4netns.
 */
#include "pd_internal.h"

#include <string.h>

static gboolean
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Characters that may continue a number or a true/false/null literal. */
static gboolean
is_scalar_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '-' || c == '.';
}

/**
 * pd_json_scan:
 * @buf: bytes received so far
 * @len: their number
 * @eof: TRUE if no more bytes will come
 * @end: (out): on PD_SCAN_COMPLETE, the offset just past the value
 *
 * Returns: whether buf holds a complete value (then *end is set), may
 * still become one, or cannot.  With eof, INCOMPLETE is never returned.
 */
PdScanResult
pd_json_scan(const char *buf, gsize len, gboolean eof, gsize *end)
{
    gsize i = 0;
    guint depth = 0;
    gboolean in_string = FALSE, escaped = FALSE;

    /* parson skips a UTF-8 byte order mark; so do we. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_ws(buf[i]))
        i++;
    if (i == len)
        return eof ? PD_SCAN_INVALID : PD_SCAN_INCOMPLETE;

    if (buf[i] == '{' || buf[i] == '[' || buf[i] == '"') {
        for (; i < len; i++) {
            char c = buf[i];

            if (in_string) {
                if (escaped)
                    escaped = FALSE;
                else if (c == '\\')
                    escaped = TRUE;
                else if (c == '"')
                    in_string = FALSE;
                else
                    continue;
                if (!in_string && depth == 0) {
                    *end = i + 1; /* a top-level string */
                    return PD_SCAN_COMPLETE;
                }
                continue;
            }
            if (c == '"') {
                in_string = TRUE;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0)
                    return PD_SCAN_INVALID;
                if (--depth == 0) {
                    *end = i + 1;
                    return PD_SCAN_COMPLETE;
                }
            }
        }
        return eof ? PD_SCAN_INVALID : PD_SCAN_INCOMPLETE;
    }
    if (buf[i] == '-' || g_ascii_isdigit(buf[i]) || buf[i] == 't' ||
        buf[i] == 'f' || buf[i] == 'n') {
        while (i < len && is_scalar_char(buf[i]))
            i++;
        if (i < len || eof) {
            *end = i;
            return PD_SCAN_COMPLETE;
        }
        return PD_SCAN_INCOMPLETE;
    }
    return PD_SCAN_INVALID;
}
