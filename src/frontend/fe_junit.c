/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML report writer.  The escaper decodes UTF-8 strictly (no overlong
 * forms, no surrogates, nothing above U+10FFFF: Unicode 15, table 3-7
 * "Well-Formed UTF-8 Byte Sequences") and keeps only characters of the XML
 * 1.0 Char production (XML 1.0 5th ed., section 2.2); everything else is
 * written as U+FFFD, one per bad byte, so the report always parses.
 */
#include "frontend/fe_junit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char fe_replacement[] = "\xef\xbf\xbd";

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if none. */
static size_t fe_utf8_len(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        *cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        *cp = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0;          /* no overlong forms */
        else if (b == 0xed)
            hi = 0x9f;          /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        *cp = b & 0x07;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;          /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    return n;
}

static bool fe_xml_char_ok(uint32_t cp)
{
    if (cp < 0x20)
        return cp == 0x09 || cp == 0x0a || cp == 0x0d;
    return cp != 0xfffe && cp != 0xffff;
}

size_t fe_xml_escape(FILE *f, const char *s, size_t len, bool attr)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t bad = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = fe_utf8_len(p + i, len - i, &cp);
        if (n == 0 || !fe_xml_char_ok(cp)) {
            fputs(fe_replacement, f);
            bad++;
            i += n ? n : 1;
            continue;
        }
        switch (cp) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs(attr ? "&quot;" : "\"", f); break;
        case '\'': fputs(attr ? "&apos;" : "'", f); break;
        case '\t': fputs(attr ? "&#9;" : "\t", f); break;
        case '\n': fputs(attr ? "&#10;" : "\n", f); break;
        /* A raw CR would be normalized away by the parser (XML 2.11). */
        case '\r': fputs("&#13;", f); break;
        default: fwrite(p + i, 1, n, f); break;
        }
        i += n;
    }
    return bad;
}

static void fe_xml_attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    fe_xml_escape(f, value, strlen(value), true);
    fputc('"', f);
}

static void fe_junit_body(FILE *f, const struct fe_junit_case *c)
{
    const char *suite = c->suite ? c->suite : "ixvm";
    int failures = c->kind == FE_VERDICT_FAILURE, errors = c->kind == FE_VERDICT_ERROR;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuites tests=\"1\" failures=\"%d\" errors=\"%d\" time=\"%.3f\">\n", failures,
            errors, c->time_s);
    fputs("  <testsuite", f);
    fe_xml_attr(f, "name", suite);
    fprintf(f, " tests=\"1\" failures=\"%d\" errors=\"%d\" skipped=\"0\" time=\"%.3f\"", failures,
            errors, c->time_s);
    if (c->timestamp)
        fe_xml_attr(f, "timestamp", c->timestamp);
    fputs(">\n    <testcase", f);
    fe_xml_attr(f, "name", c->name ? c->name : "run");
    fe_xml_attr(f, "classname", c->classname ? c->classname : suite);
    fprintf(f, " time=\"%.3f\">\n", c->time_s);
    if (c->kind != FE_VERDICT_PASS) {
        const char *tag = c->kind == FE_VERDICT_ERROR ? "error" : "failure";
        const char *msg = c->message ? c->message : "";
        fprintf(f, "      <%s", tag);
        fe_xml_attr(f, "message", msg);
        fe_xml_attr(f, "type", c->type ? c->type : tag);
        fputc('>', f);
        fe_xml_escape(f, msg, strlen(msg), false);
        fprintf(f, "</%s>\n", tag);
    }
    fputs("      <system-out>", f);
    if (c->output)
        fe_xml_escape(f, c->output, c->output_len, false);
    fputs("</system-out>\n    </testcase>\n  </testsuite>\n</testsuites>\n", f);
}

int fe_junit_write(const char *path, const struct fe_junit_case *c, struct ixvm_errinfo *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: %s", tmp, strerror(errno));
    } else {
        fe_junit_body(f, c);
        bool bad = ferror(f) != 0;
        if ((fclose(f) != 0 || bad))
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        if (rc == 0 && rename(tmp, path) != 0)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: cannot rename from %s: %s", path, tmp,
                                  strerror(errno));
        if (rc < 0)
            remove(tmp);
    }
    free(tmp);
    return rc;
}
