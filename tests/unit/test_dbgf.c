/* SPDX-License-Identifier: MIT */
/*
 * DBGF info registry: register (names, duplicates), call with arguments,
 * unknown items, the sorted list, the built-in help, deregister, and
 * handlers that call into the registry themselves.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf.h"
#include "test_printer.h"

static void capture_reset(struct capture *c)
{
    free(c->buf);
    c->buf = NULL;
    c->len = 0;
}

/* Records its calls and echoes "<tag>:<args>". */
struct echo {
    const char *tag;
    int calls;
    char last_args[64];
};

static void echo_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct echo *e = user;
    e->calls++;
    cr_assert_not_null(args);
    snprintf(e->last_args, sizeof(e->last_args), "%s", args);
    ixvm_pr(pr, "%s:%s\n", e->tag, args);
}

static struct dbgf_info_reg *new_reg(void)
{
    struct dbgf_info_reg *reg = NULL;
    cr_assert_eq(dbgf_info_create(&reg), 0);
    cr_assert_not_null(reg);
    return reg;
}

Test(dbgf, register_and_call_with_args)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo cpu = { "cpu", 0, "" };
    cr_assert_eq(dbgf_info_register(reg, "cpu", "CPU state", echo_handler, &cpu), 0);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(dbgf_info_call(reg, "cpu", "1 verbose", &pr), 0);
    cr_assert_eq(cpu.calls, 1);
    cr_assert_str_eq(cpu.last_args, "1 verbose");
    cr_assert_str_eq(cap.buf, "cpu:1 verbose\n");
    capture_reset(&cap);
    /* NULL and "" arguments both reach the handler as "". */
    cr_assert_eq(dbgf_info_call(reg, "cpu", NULL, &pr), 0);
    cr_assert_str_eq(cap.buf, "cpu:\n");
    capture_reset(&cap);
    cr_assert_eq(dbgf_info_call(reg, "cpu", "", &pr), 0);
    cr_assert_str_eq(cap.buf, "cpu:\n");
    cr_assert_eq(cpu.calls, 3);
    capture_reset(&cap);
    /* A NULL printer is tolerated (output discarded). */
    cr_assert_eq(dbgf_info_call(reg, "cpu", "x", NULL), 0);
    cr_assert_eq(cpu.calls, 4);
    dbgf_info_destroy(reg);
}

Test(dbgf, names_and_duplicates)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo e = { "e", 0, "" };
    static const char *const good[] = { "pic", "a", "io_apic", "vga2", "0", "_" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_expect_eq(dbgf_info_register(reg, good[i], "d", echo_handler, &e), 0, "'%s'", good[i]);
    static const char *const bad[] = { "", "PIC", "io-apic", "a b", "fflags!", "é",
                                       "abcdefghijklmnopqrstuvwxyz0123456789" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(dbgf_info_register(reg, bad[i], "d", echo_handler, &e),
                     IXVM_ERR_INVALID_PARAMETER, "'%s'", bad[i]);
    cr_assert_eq(dbgf_info_register(reg, NULL, "d", echo_handler, &e), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(dbgf_info_register(reg, "nofn", "d", NULL, &e), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(dbgf_info_register(reg, "pic", "again", echo_handler, &e), IXVM_ERR_ALREADY_EXISTS);
    cr_assert_eq(dbgf_info_register(reg, "help", "mine", echo_handler, &e), IXVM_ERR_ALREADY_EXISTS);
    /* NULL description is allowed. */
    cr_assert_eq(dbgf_info_register(reg, "nodesc", NULL, echo_handler, &e), 0);
    dbgf_info_destroy(reg);
}

Test(dbgf, unknown_item)
{
    struct dbgf_info_reg *reg = new_reg();
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(dbgf_info_call(reg, "nosuch", NULL, &pr), IXVM_ERR_NOT_FOUND);
    cr_assert_str_eq(cap.buf, "unknown info item 'nosuch'; try 'info help'\n");
    capture_reset(&cap);
    cr_assert_eq(dbgf_info_call(reg, "", "x", &pr), IXVM_ERR_NOT_FOUND);
    cr_assert_str_eq(cap.buf, "unknown info item ''; try 'info help'\n");
    capture_reset(&cap);
    cr_assert_eq(dbgf_info_call(reg, NULL, "x", &pr), IXVM_ERR_INVALID_PARAMETER);
    dbgf_info_destroy(reg);
}

static void register_three(struct dbgf_info_reg *reg, struct echo *e)
{
    cr_assert_eq(dbgf_info_register(reg, "pic", "8259A interrupt controllers", echo_handler, e), 0);
    cr_assert_eq(dbgf_info_register(reg, "cpu", "CPU state", echo_handler, e), 0);
    cr_assert_eq(dbgf_info_register(reg, "fflags", "Forced-action flags", echo_handler, e), 0);
}

Test(dbgf, list_sorted_and_aligned)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo e = { "e", 0, "" };
    register_three(reg, &e);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    dbgf_info_list(reg, &pr);
    cr_assert_str_eq(cap.buf,
                     "cpu     CPU state\n"
                     "fflags  Forced-action flags\n"
                     "help    List the info items, or describe one (help NAME)\n"
                     "pic     8259A interrupt controllers\n");
    cr_assert_eq(e.calls, 0);
    capture_reset(&cap);
    dbgf_info_destroy(reg);
}

Test(dbgf, help)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo e = { "e", 0, "" };
    register_three(reg, &e);
    struct capture list = { 0 }, help = { 0 };
    struct ixvm_printer lpr = { capture_print, &list }, hpr = { capture_print, &help };
    dbgf_info_list(reg, &lpr);
    cr_assert_eq(dbgf_info_call(reg, "help", NULL, &hpr), 0);
    cr_assert_str_eq(help.buf, list.buf);
    capture_reset(&help);
    cr_assert_eq(dbgf_info_call(reg, "help", "  pic ", &hpr), 0);
    cr_assert_str_eq(help.buf, "pic  8259A interrupt controllers\n");
    capture_reset(&help);
    cr_assert_eq(dbgf_info_call(reg, "help", "nosuch", &hpr), 0);
    cr_assert_str_eq(help.buf, "unknown info item 'nosuch'; try 'info help'\n");
    capture_reset(&help);
    capture_reset(&list);
    /* An empty registry still has help. */
    struct dbgf_info_reg *empty = new_reg();
    cr_assert_eq(dbgf_info_call(empty, "help", "", &hpr), 0);
    cr_assert_str_eq(help.buf, "help  List the info items, or describe one (help NAME)\n");
    capture_reset(&help);
    dbgf_info_destroy(empty);
    dbgf_info_destroy(reg);
}

Test(dbgf, deregister)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo e = { "e", 0, "" };
    register_three(reg, &e);
    cr_assert_eq(dbgf_info_deregister(reg, "cpu"), 0);
    cr_assert_eq(dbgf_info_deregister(reg, "cpu"), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(dbgf_info_deregister(reg, NULL), IXVM_ERR_INVALID_PARAMETER);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(dbgf_info_call(reg, "cpu", NULL, &pr), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(e.calls, 0);
    capture_reset(&cap);
    dbgf_info_list(reg, &pr);
    cr_assert_null(strstr(cap.buf, "cpu"));
    cr_assert_not_null(strstr(cap.buf, "fflags"));
    capture_reset(&cap);
    /* The name is free again. */
    cr_assert_eq(dbgf_info_register(reg, "cpu", "new", echo_handler, &e), 0);
    cr_assert_eq(dbgf_info_call(reg, "cpu", "z", &pr), 0);
    cr_assert_eq(e.calls, 1);
    capture_reset(&cap);
    dbgf_info_destroy(reg);
}

/* A handler that calls another item and registers a new one: no deadlock. */
struct nested {
    struct dbgf_info_reg *reg;
    struct echo inner;
};

static void nested_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct nested *n = user;
    cr_assert_eq(dbgf_info_call(n->reg, "inner", args, pr), 0);
    cr_assert_eq(dbgf_info_register(n->reg, "late", "added from a handler", echo_handler,
                                    &n->inner), 0);
}

Test(dbgf, handler_reenters_registry)
{
    struct dbgf_info_reg *reg = new_reg();
    struct nested n = { reg, { "inner", 0, "" } };
    cr_assert_eq(dbgf_info_register(reg, "inner", "inner", echo_handler, &n.inner), 0);
    cr_assert_eq(dbgf_info_register(reg, "outer", "outer", nested_handler, &n), 0);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(dbgf_info_call(reg, "outer", "a1", &pr), 0);
    cr_assert_str_eq(cap.buf, "inner:a1\n");
    capture_reset(&cap);
    cr_assert_eq(dbgf_info_call(reg, "late", "q", &pr), 0);
    cr_assert_str_eq(cap.buf, "inner:q\n");
    capture_reset(&cap);
    dbgf_info_destroy(reg);
}

Test(dbgf, many_entries_stay_sorted)
{
    struct dbgf_info_reg *reg = new_reg();
    struct echo e = { "e", 0, "" };
    /* Insert in a scrambled order, more than the initial capacity. */
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof(name), "item%02d", (i * 37) % 100);
        cr_assert_eq(dbgf_info_register(reg, name, "d", echo_handler, &e), 0);
    }
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    dbgf_info_list(reg, &pr);
    char prev[64] = "";
    int lines = 0;
    for (char *line = cap.buf; *line; line = strchr(line, '\n') + 1) {
        char name[64];
        cr_assert_eq(sscanf(line, "%63s", name), 1);
        cr_assert_gt(strcmp(name, prev), 0, "'%s' after '%s'", name, prev);
        strcpy(prev, name);
        lines++;
    }
    cr_assert_eq(lines, 101);
    capture_reset(&cap);
    for (int i = 0; i < 100; i += 2) {
        char name[16];
        snprintf(name, sizeof(name), "item%02d", i);
        cr_assert_eq(dbgf_info_deregister(reg, name), 0);
    }
    cr_assert_eq(dbgf_info_call(reg, "item51", "", NULL), 0);
    cr_assert_eq(dbgf_info_call(reg, "item50", "", NULL), IXVM_ERR_NOT_FOUND);
    dbgf_info_destroy(reg);
}
