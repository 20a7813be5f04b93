/* SPDX-License-Identifier: MIT */
/*
 * JUnit report: exact escaping (markup characters, attributes, control
 * characters, every kind of malformed UTF-8, characters XML forbids), and
 * whole reports written to a file and compared byte for byte.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_junit.h"

static char *escaped(const char *s, size_t len, bool attr, size_t *bad)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    *bad = fe_xml_escape(f, s, len, attr);
    fclose(f);
    return buf;
}

struct esc_case {
    const char *in;
    size_t len;
    bool attr;
    const char *out;
    size_t bad;
};

#define S(x) x, sizeof(x) - 1
#define R "\xef\xbf\xbd"
static const struct esc_case esc_cases[] = {
    { S("plain text"), false, "plain text", 0 },
    { S("a<b>&c\"d'e"), false, "a&lt;b&gt;&amp;c\"d'e", 0 },
    { S("a<b>&c\"d'e"), true, "a&lt;b&gt;&amp;c&quot;d&apos;e", 0 },
    { S("]]>"), false, "]]&gt;", 0 },
    { S("t\tn\nr\r"), false, "t\tn\nr&#13;", 0 },
    { S("t\tn\nr\r"), true, "t&#9;n&#10;r&#13;", 0 },
    { S("nul\0esc\x1b[0m\x7f"), false, "nul" R "esc" R "[0m\x7f", 2 },
    { S("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), false, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0 },
    { S("lone \x80 cont"), false, "lone " R " cont", 1 },
    { S("overlong \xc0\xaf"), false, "overlong " R R, 2 },
    { S("overlong3 \xe0\x80\xaf"), false, "overlong3 " R R R, 3 },
    { S("surrogate \xed\xa0\x80"), false, "surrogate " R R R, 3 },
    { S("too big \xf4\x90\x80\x80"), false, "too big " R R R R, 4 },
    { S("truncated \xe2\x82"), false, "truncated " R R, 2 },
    { S("truncated mid \xe2\x82x"), false, "truncated mid " R R "x", 2 },
    { S("latin1 \xe9t\xe9"), false, "latin1 " R "t" R, 2 },
    { S("nonchar \xef\xbf\xbe \xef\xbf\xbf"), false, "nonchar " R " " R, 2 },
    { S("max \xf4\x8f\xbf\xbf"), false, "max \xf4\x8f\xbf\xbf", 0 },
    { S("c1 \xc2\x85"), false, "c1 \xc2\x85", 0 },
};

Test(fe_junit, escape_table)
{
    for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
        const struct esc_case *c = &esc_cases[i];
        size_t bad = 0;
        char *out = escaped(c->in, c->len, c->attr, &bad);
        cr_assert_str_eq(out, c->out, "case %zu ('%s')", i, c->in);
        cr_assert_eq(bad, c->bad, "case %zu: %zu replaced", i, bad);
        free(out);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(fe_junit, failure_report_exact)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fe_junit_%d.xml", (int)getpid());
    const char out[] = "boot\r\nKernel panic <oops> & \x1b[1mbold\n";
    struct fe_junit_case c = {
        .name = "linux \"smoke\"", .classname = "guests.linux", .time_s = 12.3456,
        .timestamp = "2024-01-02T03:04:05", .kind = FE_VERDICT_FAILURE,
        .message = "matched fail-on pattern 'Kernel panic'", .type = "fail-on-matched",
        .output = out, .output_len = sizeof(out) - 1,
    };
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_junit_write(path, &c, &e), 0, "%s", e.msg);
    const char *want =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites tests=\"1\" failures=\"1\" errors=\"0\" time=\"12.346\">\n"
        "  <testsuite name=\"ixvm\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"12.346\""
        " timestamp=\"2024-01-02T03:04:05\">\n"
        "    <testcase name=\"linux &quot;smoke&quot;\" classname=\"guests.linux\" time=\"12.346\">\n"
        "      <failure message=\"matched fail-on pattern &apos;Kernel panic&apos;\" type=\"fail-on-matched\">"
        "matched fail-on pattern 'Kernel panic'</failure>\n"
        "      <system-out>boot&#13;\nKernel panic &lt;oops&gt; &amp; " R "[1mbold\n</system-out>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n";
    cr_assert_str_eq(slurp(path), want);
    unlink(path);
}

Test(fe_junit, pass_and_error_reports)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/fe_junit_p%d.xml", (int)getpid());
    struct fe_junit_case c = { .suite = "ci", .name = "t1", .time_s = 1, .kind = FE_VERDICT_PASS };
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_junit_write(path, &c, &e), 0, "%s", e.msg);
    const char *xml = slurp(path);
    cr_assert(strstr(xml, "<testcase name=\"t1\" classname=\"ci\" time=\"1.000\">\n"
                          "      <system-out></system-out>"), "%s", xml);
    cr_assert_null(strstr(xml, "<failure"));
    cr_assert_null(strstr(xml, "<error"));
    cr_assert(strstr(xml, "failures=\"0\" errors=\"0\""));
    c.kind = FE_VERDICT_ERROR;
    c.message = "interrupted (SIGINT)";
    c.type = "sigint";
    cr_assert_eq(fe_junit_write(path, &c, &e), 0, "%s", e.msg);
    xml = slurp(path);
    cr_assert(strstr(xml, "<error message=\"interrupted (SIGINT)\" type=\"sigint\">interrupted (SIGINT)</error>"),
              "%s", xml);
    cr_assert(strstr(xml, "failures=\"0\" errors=\"1\""));
    unlink(path);
    cr_assert_eq(fe_junit_write("/nonexistent/dir/r.xml", &c, &e), IXVM_ERR_IO);
    cr_assert(strstr(e.msg, "/nonexistent/dir/r.xml.tmp: No such file"), "%s", e.msg);
}
