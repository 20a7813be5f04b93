/* SPDX-License-Identifier: MIT */
/*
 * RTC/Base (--rtc base=, as QEMU -rtc): the parser's accepted and refused
 * forms, and a machine whose RTC starts at a given date shows that date in
 * the CMOS clock registers (MC146818: BCD, 24-hour after power-on).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "ixvm/dev.h"
#include "ixvm/pc.h"

Test(pc_rtc, parse_forms)
{
    static const struct {
        const char *in;
        int rc;
        bool localtime;
        int64_t epoch;
    } cases[] = {
        { "utc", 0, false, -1 },
        { "", 0, false, -1 },
        { "localtime", 0, true, -1 },
        { "1970-01-01", 0, false, 0 },
        { "2001-02-03T04:05:06", 0, false, 981173106 },
        { "2024-02-29", 0, false, 1709164800 },
        { "2023-02-29", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "2001-13-01", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "1969-12-31", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "2001-02-03T24:00:00", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "2001-02-03T04:05:06Z", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "2001-02-03x", IXVM_ERR_INVALID_PARAMETER, false, -1 },
        { "yesterday", IXVM_ERR_INVALID_PARAMETER, false, -1 },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct ixvm_errinfo err = { 0 };
        bool lt = !cases[k].localtime;
        int64_t epoch = 12345;
        int rc = pc_parse_rtc_base(cases[k].in, &lt, &epoch, &err);
        cr_assert_eq(rc, cases[k].rc, "'%s': rc %d", cases[k].in, rc);
        if (rc < 0) {
            cr_assert(strstr(err.msg, "RTC/Base") && strstr(err.msg, cases[k].in), "'%s': %s", cases[k].in, err.msg);
            continue;
        }
        cr_assert_eq(lt, cases[k].localtime, "'%s'", cases[k].in);
        cr_assert_eq(epoch, cases[k].epoch, "'%s': %lld", cases[k].in, (long long)epoch);
    }
}

static uint8_t cmos(struct pc *pc, unsigned index)
{
    uint8_t v = 0;
    cr_assert_eq(rtc_cmos_read(pc_device(pc, "rtc"), index, &v), 0);
    return v;
}

Test(pc_rtc, machine_starts_at_the_given_date)
{
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };
    struct pc *pc = NULL;
    cr_assert_eq(cfg_create(&cfg), 0);
    cr_assert_eq(cfg_set(cfg, "Memory/Size", "16M", &err), 0, "%s", err.msg);
    cr_assert_eq(cfg_set(cfg, "RTC/Base", "2001-02-03T04:05:06", &err), 0, "%s", err.msg);
    struct pc_options o = { .boot_fail_wait_ms = -1 };
    cr_assert_eq(pc_create(cfg, &o, &pc, &err), 0, "%s", err.msg);
    /* The virtual clock has not run (the VM is not powered on). */
    cr_assert_eq(cmos(pc, 9), 0x01, "year %02x", cmos(pc, 9));
    cr_assert_eq(cmos(pc, 8), 0x02, "month %02x", cmos(pc, 8));
    cr_assert_eq(cmos(pc, 7), 0x03, "day %02x", cmos(pc, 7));
    cr_assert_eq(cmos(pc, 4), 0x04, "hours %02x", cmos(pc, 4));
    cr_assert_eq(cmos(pc, 2), 0x05, "minutes %02x", cmos(pc, 2));
    cr_assert_eq(cmos(pc, 0) & 0xf0, 0x00, "seconds %02x", cmos(pc, 0));
    cr_assert_eq(cmos(pc, 0x32), 0x20, "century %02x", cmos(pc, 0x32));
    pc_destroy(pc);
    cfg_destroy(cfg);
}

Test(pc_rtc, bad_base_refuses_the_machine)
{
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };
    struct pc *pc = NULL;
    cr_assert_eq(cfg_create(&cfg), 0);
    cr_assert_eq(cfg_set(cfg, "RTC/Base", "2001-02-30", &err), 0, "%s", err.msg);
    struct pc_options o = { .boot_fail_wait_ms = -1 };
    cr_assert_lt(pc_create(cfg, &o, &pc, &err), 0);
    cr_assert_null(pc);
    cr_assert(strstr(err.msg, "RTC/Base"), "%s", err.msg);
    cfg_destroy(cfg);
}
