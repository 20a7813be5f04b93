/* SPDX-License-Identifier: MIT */
/*
 * CFG: the typed configuration tree (keys in cfg_keys.def).  Values are set
 * from strings (--set KEY=VALUE, an INI file) and read typed.  An unknown
 * key, a value of the wrong type or out of range is an error whose message
 * names the key, the value and the reason.
 *
 * INI files map sections to the first path component:
 *   [Memory]
 *   Size = 256M
 * is the key Memory/Size.  Comments start with ';' or '#'.
 */
#ifndef IXVM_CFG_H
#define IXVM_CFG_H

#include "ixvm/types.h"

#define CFG_F_STATE 0x1u

enum cfg_type { CFG_TYPE_BOOL, CFG_TYPE_INT, CFG_TYPE_SIZE, CFG_TYPE_STR };

struct cfg;

int cfg_create(struct cfg **out) IXVM_WUR;       /* every key at its default */
void cfg_destroy(struct cfg *cfg);
int cfg_clone(const struct cfg *cfg, struct cfg **out) IXVM_WUR;

/* Set one key from text.  Errors: IXVM_ERR_UNKNOWN_KEY, _WRONG_TYPE, _OUT_OF_RANGE. */
int cfg_set(struct cfg *cfg, const char *key, const char *value, struct ixvm_errinfo *err) IXVM_WUR;
/* "KEY=VALUE" as given to --set. */
int cfg_set_assignment(struct cfg *cfg, const char *kv, struct ixvm_errinfo *err) IXVM_WUR;
/* Load an INI file; the message names the file, line and key on error.
 * On error nothing from the file is applied. */
int cfg_load_ini(struct cfg *cfg, const char *path, struct ixvm_errinfo *err) IXVM_WUR;

/* Typed getters; IXVM_ERR_UNKNOWN_KEY / _WRONG_TYPE on misuse. */
int cfg_get_bool(const struct cfg *cfg, const char *key, bool *out) IXVM_WUR;
int cfg_get_int(const struct cfg *cfg, const char *key, int64_t *out) IXVM_WUR;  /* INT and SIZE */
int cfg_get_str(const struct cfg *cfg, const char *key, const char **out) IXVM_WUR;
/* True when the key was set explicitly rather than left at its default. */
bool cfg_is_set(const struct cfg *cfg, const char *key);

/* FNV-1a 64 over "key=value\n" of every CFG_F_STATE key, in table order. */
uint64_t cfg_state_digest(const struct cfg *cfg);

/* Print "key = value (default ...)  description" lines (info config). */
void cfg_print(const struct cfg *cfg, const struct ixvm_printer *pr);

#endif
