/* SPDX-License-Identifier: MIT */
/*
 * CFG internals shared by cfg.c (the tree, parsing) and cfg_ini.c (INI
 * files): the key table and a few helpers.  Not for other modules.
 */
#ifndef IXVM_CORE_CFG_INT_H
#define IXVM_CORE_CFG_INT_H

#include "ixvm/cfg.h"

/* One row of cfg_keys.def. */
struct cfg_key_desc {
    const char *path;
    enum cfg_type type;
    const char *def;        /* default, as text */
    int64_t min, max;       /* inclusive, INT and SIZE only */
    unsigned flags;         /* CFG_F_* */
    const char *desc;
};

extern const struct cfg_key_desc cfg_keys[];
extern const size_t cfg_key_count;

/* Index of key in cfg_keys (exact match), or -1. */
int cfg_key_find(const char *key);
/* The known key nearest to key (case-insensitive edit distance <= 3), or NULL. */
const char *cfg_key_suggest(const char *key);
/* Exchange the values of two trees (INI load: apply to a clone, then swap). */
void cfg_swap(struct cfg *a, struct cfg *b);
/* "bool", "int", "size", "str". */
const char *cfg_type_name(enum cfg_type type);

#endif
