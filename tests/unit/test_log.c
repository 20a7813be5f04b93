/* SPDX-License-Identifier: MIT */
/*
 * Logging: spec parsing and the enabled check, destinations, output format
 * and order, the release logger, truncation, thread attach rules and the
 * init/term/init cycle.  Each criterion test runs in its own process.
 */
#define LOG_GROUP LOG_GROUP_EM
#include "test_log_util.h"

#include <uv.h>

static void set_spec_ok(const char *spec)
{
    struct ixvm_errinfo e = { 0 };
    int rc = log_set_spec(spec, &e);
    cr_assert_eq(rc, 0, "spec '%s': %d %s", spec, rc, e.msg);
}

Test(log_spec, all_e_enables_every_group_at_e_and_w)
{
    set_spec_ok("all.e");
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++) {
        cr_assert(log_is_enabled(g, LOG_LVL_E), "group %s", log_group_name(g));
        cr_assert(log_is_enabled(g, LOG_LVL_WARN));
        cr_assert_not(log_is_enabled(g, LOG_LVL_L2));
        cr_assert_not(log_is_enabled(g, LOG_LVL_FLOW));
    }
}

Test(log_spec, group_levels_and_disable)
{
    set_spec_ok("all.e em.l2 -iem");
    cr_assert_eq(log_group_flags[LOG_GROUP_EM], LOG_LVL_E | LOG_LVL_WARN | LOG_LVL_L2);
    cr_assert_eq(log_group_flags[LOG_GROUP_IEM], 0);
    cr_assert_eq(log_group_flags[LOG_GROUP_PGM], LOG_LVL_E | LOG_LVL_WARN);
    cr_assert(log_is_enabled(LOG_GROUP_EM, LOG_LVL_L2));
    cr_assert_not(log_is_enabled(LOG_GROUP_PGM, LOG_LVL_L2));
    cr_assert_not(log_is_enabled(LOG_GROUP_IEM, LOG_LVL_E));
}

Test(log_spec, flags_combine_and_remove)
{
    set_spec_ok("+pgm.l3.f.l6  tm ,dev_pic.w; -pgm.l6");
    cr_assert_eq(log_group_flags[LOG_GROUP_PGM], LOG_LVL_L3 | LOG_LVL_FLOW);
    cr_assert_eq(log_group_flags[LOG_GROUP_TM], LOG_LVL_E | LOG_LVL_WARN);
    cr_assert_eq(log_group_flags[LOG_GROUP_DEV_PIC], LOG_LVL_WARN);
    cr_assert_eq(log_group_flags[LOG_GROUP_IEM], 0);
    /* A new spec replaces the previous one. */
    set_spec_ok("iem.l4");
    cr_assert_eq(log_group_flags[LOG_GROUP_PGM], 0);
    cr_assert_eq(log_group_flags[LOG_GROUP_IEM], LOG_LVL_L4);
}

Test(log_spec, prefix_wildcard_and_case)
{
    set_spec_ok("DEV_*.L2");
    cr_assert_eq(log_group_flags[LOG_GROUP_DEV_PIC], LOG_LVL_L2);
    cr_assert_eq(log_group_flags[LOG_GROUP_DEV_FWCFG], LOG_LVL_L2);
    cr_assert_eq(log_group_flags[LOG_GROUP_DEV], 0, "'dev_*' must not match 'dev'");
    cr_assert_eq(log_group_flags[LOG_GROUP_EM], 0);
}

Test(log_spec, unknown_group_is_named_and_changes_nothing)
{
    set_spec_ok("em.l2");
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(log_set_spec("all.e bogus.l2", &e), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(e.rc, IXVM_ERR_NOT_FOUND);
    cr_assert_not_null(strstr(e.msg, "'bogus'"), "message: %s", e.msg);
    cr_assert_eq(log_group_flags[LOG_GROUP_EM], LOG_LVL_L2);
    cr_assert_eq(log_group_flags[LOG_GROUP_PGM], 0, "a failed spec must not be half-applied");
    cr_assert_eq(log_set_spec("nope*", &e), IXVM_ERR_NOT_FOUND);
}

Test(log_spec, bad_flags_and_syntax)
{
    static const struct {
        const char *spec, *named;
    } cases[] = {
        { "em.l9", "'l9'" }, { "em.e.x", "'x'" }, { "em..e", "''" }, { "em.", "''" },
        { "-", "missing group" }, { ".e", "missing group" }, { "+.l2", "missing group" },
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(cases); i++) {
        struct ixvm_errinfo e = { 0 };
        int rc = log_set_spec(cases[i].spec, &e);
        cr_assert_eq(rc, IXVM_ERR_SYNTAX, "spec '%s' gave %d", cases[i].spec, rc);
        cr_assert_not_null(strstr(e.msg, cases[i].named), "spec '%s': %s", cases[i].spec, e.msg);
    }
    cr_assert_eq(log_set_spec(NULL, NULL), IXVM_ERR_INVALID_PARAMETER);
}

Test(log_spec, get_spec_is_canonical_and_round_trips)
{
    char buf[512];
    set_spec_ok("all.e em.l2 -iem");
    log_get_spec(buf, sizeof(buf));
    cr_assert_str_eq(buf, "all.e em.e.l2 -iem");

    static const char *specs[] = {
        "", "iem.l4", "all.e.f -pgm.w", "dev_*.l3 -dev_vga tm.e -tm.w", "all.l6 em.e.l2.l3.l4.l5.f",
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(specs); i++) {
        uint8_t want[LOG_GROUP_COUNT];
        set_spec_ok(specs[i]);
        memcpy(want, log_group_flags, sizeof(want));
        log_get_spec(buf, sizeof(buf));
        set_spec_ok("all.l5");   /* something different in between */
        set_spec_ok(buf);
        cr_assert_arr_eq(log_group_flags, want, sizeof(want), "spec '%s' -> '%s'", specs[i], buf);
    }
    /* A tiny buffer truncates without overflowing. */
    char small[6];
    log_get_spec(small, sizeof(small));
    cr_assert_eq(strlen(small), 5);
}

Test(log_spec, group_table)
{
    cr_assert_str_eq(log_group_name(LOG_GROUP_EM), "em");
    cr_assert_str_eq(log_group_name(LOG_GROUP_DEV_PIC), "dev_pic");
    cr_assert_not_null(log_group_desc(LOG_GROUP_IEM));
    cr_assert_null(log_group_name(LOG_GROUP_COUNT));
}

Test(log_dest, bad_destinations_are_named)
{
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(log_set_dest("stderr stdout", &e), IXVM_ERR_SYNTAX);
    cr_assert_not_null(strstr(e.msg, "'stdout'"), "%s", e.msg);
    cr_assert_eq(log_set_dest("file=/nonexistent-dir/x.log", &e), IXVM_ERR_IO);
    cr_assert_not_null(strstr(e.msg, "/nonexistent-dir/x.log"), "%s", e.msg);
    cr_assert_eq(log_set_dest("none", &e), 0);
    cr_assert_eq(log_set_dest("stderr", &e), 0);
}

Test(log_init, bad_options_are_rejected)
{
    struct ixvm_errinfo e = { 0 };
    struct log_options o = { .spec = "", .dest = "none", .buf_size = 16 };
    cr_assert_eq(log_init(&o, &e), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_not_null(strstr(e.msg, "buf_size"), "%s", e.msg);
    o.buf_size = 0;
    o.bufs_per_thread = 100000;
    cr_assert_eq(log_init(&o, &e), IXVM_ERR_OUT_OF_RANGE);
    o.bufs_per_thread = 0;
    o.spec = "em.zz";
    cr_assert_eq(log_init(&o, &e), IXVM_ERR_SYNTAX);
    cr_assert_eq(log_thread_attach("cpu0"), IXVM_ERR_INVALID_STATE, "not running");
}

Test(log_init, spec_from_environment)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    setenv("IXVM_LOG", "all.e em.l2 -iem", 1);
    struct log_options o = { .dest = d.dest };
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(log_init(&o, &e), 0, "%s", e.msg);
    cr_assert(log_is_enabled(LOG_GROUP_EM, LOG_LVL_L2));
    cr_assert_not(log_is_enabled(LOG_GROUP_IEM, LOG_LVL_E));
    log_term();
    cr_assert_not(log_is_enabled(LOG_GROUP_EM, LOG_LVL_E), "term resets the groups");
    tlog_dir_remove(&d);
}

Test(log_output, shared_entries_in_order_with_group_names)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "em iem.l2 -pgm", 16, 1024);   /* small buffers: hand-offs, room for all */
    for (int i = 0; i < 200; i++)
        LOG("entry %d", i);
    log_printf(LOG_GROUP_IEM, LOG_LVL_L2, "iem detail\n");
    log_printf(LOG_GROUP_IEM, LOG_LVL_E, "iem not enabled at e");
    log_printf(LOG_GROUP_PGM, LOG_LVL_E, "pgm disabled");
    log_flush();
    char *out = tlog_read(d.dbg);
    const char *p = out;
    for (int i = 0; i < 200; i++) {
        char want[64];
        snprintf(want, sizeof(want), " main em: entry %d\n", i);
        const char *hit = strstr(p, want);
        cr_assert_not_null(hit, "entry %d missing or out of order", i);
        p = hit + strlen(want);
    }
    cr_assert_eq(tlog_count(out, " main iem: iem detail\n"), 1, "one newline, not two");
    cr_assert_null(strstr(out, "not enabled"));
    cr_assert_null(strstr(out, "pgm disabled"));
    struct log_thread_stats st;
    cr_assert_eq(log_thread_stats("main", &st), 0);
    cr_assert_eq(st.entries, 201);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(log_written_total(), 201);
    free(out);
    log_term();
    tlog_dir_remove(&d);
}

Test(log_output, emt_line_format)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 0, 0);
    cr_assert_eq(log_thread_attach("cpu0"), 0);
    LOG("hello %s %d", "world", 42);
    log_flush();
    char *out = tlog_read(d.dbg);
    unsigned h, m, s, us;
    char id[16], grp[16], msg[64];
    int n = sscanf(out, "%2u:%2u:%2u.%6u %15s %15s %63[^\n]", &h, &m, &s, &us, id, grp, msg);
    cr_assert_eq(n, 7, "line: %s", out);
    cr_assert_eq(out[8], '.');
    cr_assert_eq(out[15], ' ', "six-digit microseconds: %s", out);
    cr_assert_lt(h * 3600 + m * 60 + s, 60u, "time since init");
    cr_assert_str_eq(id, "cpu0");
    cr_assert_str_eq(grp, "em:");
    cr_assert_str_eq(msg, "hello world 42");
    free(out);
    log_thread_detach();
    log_term();
    tlog_dir_remove(&d);
}

Test(log_output, idle_thread_is_written_by_the_periodic_pass)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 0, 0);
    cr_assert_eq(log_thread_attach("cpu5"), 0);
    LOG("lonely entry");
    char *out = NULL;
    for (int i = 0; i < 50; i++) {   /* up to 5 s; the period is 200 ms */
        free(out);
        usleep(100 * 1000);
        out = tlog_read(d.dbg);
        if (strstr(out, "cpu5 em: lonely entry\n"))
            break;
    }
    cr_assert_not_null(strstr(out, "cpu5 em: lonely entry\n"), "got: '%s'", out);
    free(out);
    log_term();   /* still attached: term must cope */
    tlog_dir_remove(&d);
}

Test(log_output, oversized_entry_is_truncated_with_marker)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 4, 256);   /* 4: nothing is dropped if the flusher is slow */
    cr_assert_eq(log_thread_attach("cpu1"), 0);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    LOG("before");
    LOG("%s", big);
    LOG("after");
    log_flush();
    char *out = tlog_read(d.dbg);
    cr_assert_not_null(strstr(out, "cpu1 em: before\n"));
    const char *t = strstr(out, "cpu1 em: xxx");
    cr_assert_not_null(t);
    const char *nl = strchr(t, '\n');
    cr_assert_not_null(nl);
    cr_assert_eq(strncmp(nl - 15, " [...truncated]", 15), 0, "got: %.*s", (int)(nl - t), t);
    cr_assert_not_null(strstr(nl, "cpu1 em: after\n"), "order kept after a truncated entry");
    struct log_thread_stats st;
    cr_assert_eq(log_thread_stats("cpu1", &st), 0);
    cr_assert_eq(st.truncated, 1);
    cr_assert_eq(st.entries, 3);
    cr_assert_eq(st.bytes, strlen(out));
    free(out);
    log_thread_detach();
    log_term();
    tlog_dir_remove(&d);
}

Test(log_release, goes_to_release_file_and_debug_file)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "", 0, 0);   /* debug groups all off: release is always on */
    LOG("debug off");
    log_rel_printf(LOG_GROUP_VMM, "VM started, %d vCPUs", 2);
    cr_assert_eq(log_thread_attach("cpu2"), 0);
    LOG_REL("release from an EMT\n");
    log_flush();
    char *rel = tlog_read(d.rel);
    char *dbg = tlog_read(d.dbg);
    cr_assert_eq(tlog_count(rel, " main vmm: VM started, 2 vCPUs\n"), 1, "rel: %s", rel);
    cr_assert_eq(tlog_count(rel, " cpu2 em: release from an EMT\n"), 1, "rel: %s", rel);
    cr_assert_eq(tlog_count(dbg, " main vmm: VM started, 2 vCPUs\n"), 1, "dbg: %s", dbg);
    cr_assert_eq(tlog_count(dbg, " cpu2 em: release from an EMT\n"), 1, "dbg: %s", dbg);
    cr_assert_null(strstr(dbg, "debug off"));
    free(rel);
    free(dbg);
    log_thread_detach();
    log_term();
    tlog_dir_remove(&d);
}

static void attach_dup_thread(void *arg)
{
    *(int *)arg = log_thread_attach("cpu0");
}

Test(log_threads, attach_rules)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 0, 0);
    cr_assert_eq(log_thread_attach(""), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(log_thread_attach("has space"), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(log_thread_attach("a-name-that-is-far-too-long"), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(log_thread_attach("main"), IXVM_ERR_ALREADY_EXISTS, "reserved for the shared set");
    cr_assert_eq(log_thread_attach("cpu0"), 0);
    cr_assert_eq(log_thread_attach("cpu9"), IXVM_ERR_INVALID_STATE, "already attached");
    uv_thread_t th;
    int rc = 1;
    cr_assert_eq(uv_thread_create(&th, attach_dup_thread, &rc), 0);
    cr_assert_eq(uv_thread_join(&th), 0);
    cr_assert_eq(rc, IXVM_ERR_ALREADY_EXISTS, "id in use by another thread");
    struct log_thread_stats st;
    cr_assert_eq(log_thread_stats("cpu7", &st), IXVM_ERR_NOT_FOUND);

    /* Detach, re-attach: the same stream carries on. */
    LOG("one");
    log_thread_detach();
    LOG("two");                   /* now on the shared stream */
    cr_assert_eq(log_thread_attach("cpu0"), 0);
    LOG("three");
    log_thread_detach();
    cr_assert_eq(log_thread_stats("cpu0", &st), 0);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(log_thread_stats("main", &st), 0);
    cr_assert_eq(st.entries, 1);
    char *out = tlog_read(d.dbg);
    cr_assert_eq(tlog_count(out, " cpu0 em: one\n"), 1);
    cr_assert_eq(tlog_count(out, " main em: two\n"), 1);
    cr_assert_eq(tlog_count(out, " cpu0 em: three\n"), 1);
    free(out);
    log_term();
    tlog_dir_remove(&d);
}

Test(log_init, init_term_init_and_reconfigure)
{
    struct tlog_dir d[3];
    for (int i = 0; i < 3; i++)
        tlog_dir_make(&d[i]);
    tlog_start(&d[0], "all.e", 0, 0);
    cr_assert_eq(log_thread_attach("cpu0"), 0);
    LOG("first run");
    /* A second init while running reconfigures: new spec and files; what
     * was logged before still goes to the old file. */
    tlog_start(&d[1], "em.l2", 0, 0);
    cr_assert_not(log_is_enabled(LOG_GROUP_EM, LOG_LVL_E));
    LOG("not enabled any more");
    LOG2("second file");
    log_term();

    /* Term made the attachment stale: this thread now logs to "main". */
    tlog_start(&d[2], "all.e", 4, 1024);
    LOG("second run");
    log_flush();
    struct log_thread_stats st;
    cr_assert_eq(log_thread_stats("cpu0", &st), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(log_thread_stats("main", &st), 0);
    cr_assert_eq(st.entries, 1);
    log_term();
    log_term();   /* harmless twice */

    static const char *want[3] = { " cpu0 em: first run\n", " cpu0 em: second file\n",
                                   " main em: second run\n" };
    for (int i = 0; i < 3; i++) {
        char *o = tlog_read(d[i].dbg);
        for (int j = 0; j < 3; j++)
            cr_assert_eq(tlog_count(o, want[j]), i == j, "file %d, '%s': %s", i, want[j], o);
        cr_assert_null(strstr(o, "not enabled"));
        free(o);
        tlog_dir_remove(&d[i]);
    }
}

Test(log_init, logging_without_init_goes_to_dest_directly)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(log_set_dest(d.dest, &e), 0, "%s", e.msg);
    set_spec_ok("em");
    LOG("early %d", 1);
    log_flush();   /* no-op when not running */
    char *out = tlog_read(d.dbg);
    cr_assert_not_null(strstr(out, " main em: early 1\n"), "%s", out);
    free(out);
    cr_assert_eq(log_set_dest("stderr", &e), 0);
    tlog_dir_remove(&d);
}
