/* SPDX-License-Identifier: MIT */
/*
 * CFG: the typed configuration tree.  The key table comes from cfg_keys.def;
 * a struct cfg holds one value per key.  Values arrive as text (--set, INI
 * files) and are parsed by the per-type rules in cfg_type_ops; every failure
 * produces a one-line message naming the key, the value and the reason.
 * Key lookup is exact (case-sensitive); an unknown key's message suggests
 * the nearest known key (case-insensitive edit distance <= 3).
 *
 * Threads: a struct cfg is built on one thread (the loop, at VM creation)
 * and read-only afterwards; it has no lock.  INI loading lives in cfg_ini.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cfg_int.h"

const struct cfg_key_desc cfg_keys[] = {
#define CFG_KEY(path, type, def, min, max, flags, desc) \
    { (path), CFG_TYPE_##type, (def), (int64_t)(min), (int64_t)(max), (flags), (desc) },
#include "ixvm/cfg_keys.def"
#undef CFG_KEY
};
const size_t cfg_key_count = IXVM_ARRAY_SIZE(cfg_keys);

/* Longest user text quoted in a message, so a message always stays readable. */
#define CFG_MSG_TEXT_MAX 64
/* Suggest a key only when it is at most this many edits away. */
#define CFG_SUGGEST_MAX_DIST 3

/* ------------------------------------------------------------------------ */
/* Number parsing                                                            */
/* ------------------------------------------------------------------------ */

static int cfg_digit(char c, unsigned base)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (base == 16 && isxdigit((unsigned char)c))
        return tolower((unsigned char)c) - 'a' + 10;
    return -1;
}

/*
 * Scan an unsigned decimal or 0x-prefixed hex number at *ps and advance *ps.
 * No octal: "010" is ten, as a user would expect.  Returns 0,
 * IXVM_ERR_WRONG_TYPE (no digits) or IXVM_ERR_OUT_OF_RANGE (overflow).
 */
static int cfg_scan_u64(const char **ps, uint64_t *out)
{
    const char *s = *ps;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
        base = 16;
        s += 2;
    }
    const char *start = s;
    uint64_t v = 0;
    bool overflow = false;
    for (int d; (d = cfg_digit(*s, base)) >= 0; s++) {
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            overflow = true;
        else
            v = v * base + (uint64_t)d;
    }
    if (s == start)
        return IXVM_ERR_WRONG_TYPE;
    *ps = s;
    *out = v;
    return overflow ? IXVM_ERR_OUT_OF_RANGE : 0;
}

static const char *cfg_skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* The text without surrounding white space: returns its start, *len its length. */
static const char *cfg_trim(const char *s, size_t *len)
{
    s = cfg_skip_space(s);
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* True when only white space is left. */
static bool cfg_at_end(const char *s)
{
    return *cfg_skip_space(s) == '\0';
}

/* INT: optional sign, decimal or 0x hex, surrounding white space allowed. */
static int cfg_parse_int(const char *text, int64_t *out)
{
    const char *s = cfg_skip_space(text);
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t v;
    int rc = cfg_scan_u64(&s, &v);
    if (rc == IXVM_ERR_WRONG_TYPE || !cfg_at_end(s))
        return IXVM_ERR_WRONG_TYPE;
    if (rc < 0)
        return rc;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return IXVM_ERR_OUT_OF_RANGE;
    /* -(INT64_MIN) does not exist: negate in unsigned arithmetic. */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Size suffixes in KiB units: "K", "KB", "KiB" (any case); bare "B" for bytes. */
static const struct cfg_size_suffix {
    char letter;
    unsigned shift;
} cfg_size_suffixes[] = { { 'k', 10 }, { 'm', 20 }, { 'g', 30 } };

static const char *cfg_scan_size_suffix(const char *s, unsigned *shift)
{
    *shift = 0;
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(cfg_size_suffixes); i++) {
        if (tolower((unsigned char)*s) == cfg_size_suffixes[i].letter) {
            *shift = cfg_size_suffixes[i].shift;
            s++;
            if (strncasecmp(s, "ib", 2) == 0)
                return s + 2;
            break;
        }
    }
    if (tolower((unsigned char)*s) == 'b')
        s++;
    return s;
}

/* SIZE: a non-negative number of bytes with an optional K/M/G suffix. */
static int cfg_parse_size(const char *text, int64_t *out)
{
    const char *s = cfg_skip_space(text);
    uint64_t v;
    int rc = cfg_scan_u64(&s, &v);
    if (rc == IXVM_ERR_WRONG_TYPE)
        return rc;
    unsigned shift;
    s = cfg_scan_size_suffix(cfg_skip_space(s), &shift);
    if (!cfg_at_end(s))
        return IXVM_ERR_WRONG_TYPE;
    if (rc < 0)
        return rc;
    if (v > ((uint64_t)INT64_MAX >> shift))
        return IXVM_ERR_OUT_OF_RANGE;
    *out = (int64_t)(v << shift);
    return 0;
}

static const struct cfg_bool_word {
    const char *word;
    bool value;
} cfg_bool_words[] = {
    { "true", true }, { "false", false }, { "yes", true }, { "no", false },
    { "on", true },   { "off", false },   { "1", true },   { "0", false },
};

/* BOOL: one of cfg_bool_words, any case, surrounding white space allowed. */
static int cfg_parse_bool(const char *text, int64_t *out)
{
    size_t len;
    const char *s = cfg_trim(text, &len);
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(cfg_bool_words); i++) {
        const struct cfg_bool_word *w = &cfg_bool_words[i];
        if (strlen(w->word) == len && strncasecmp(s, w->word, len) == 0) {
            *out = w->value;
            return 0;
        }
    }
    return IXVM_ERR_WRONG_TYPE;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                */
/* ------------------------------------------------------------------------ */

static void cfg_format_bool(int64_t v, char *buf, size_t n)
{
    snprintf(buf, n, "%s", v ? "true" : "false");
}

static void cfg_format_int(int64_t v, char *buf, size_t n)
{
    snprintf(buf, n, "%lld", (long long)v);
}

/* Largest exact K/M/G unit, so 134217728 reads as 128M. */
static void cfg_format_size(int64_t v, char *buf, size_t n)
{
    for (size_t i = IXVM_ARRAY_SIZE(cfg_size_suffixes); i-- > 0;) {
        int64_t unit = (int64_t)1 << cfg_size_suffixes[i].shift;
        if (v != 0 && v % unit == 0) {
            snprintf(buf, n, "%lld%c", (long long)(v / unit),
                     toupper((unsigned char)cfg_size_suffixes[i].letter));
            return;
        }
    }
    snprintf(buf, n, "%lld", (long long)v);
}

/* Per-type rules; STR has no parser (any text is a string). */
static const struct cfg_type_ops {
    const char *name;       /* short type name ("int") */
    const char *not_a;      /* "is not ..." in the wrong-type message */
    bool ranged;            /* min/max apply */
    int (*parse)(const char *text, int64_t *out);
    void (*format)(int64_t v, char *buf, size_t n);
    void (*canon)(int64_t v, char *buf, size_t n);   /* for the digest */
} cfg_type_ops[] = {
    [CFG_TYPE_BOOL] = { "bool", "a boolean (true/false, yes/no, on/off, 1/0)", false,
                        cfg_parse_bool, cfg_format_bool, cfg_format_bool },
    [CFG_TYPE_INT]  = { "int", "an integer", true, cfg_parse_int, cfg_format_int, cfg_format_int },
    [CFG_TYPE_SIZE] = { "size", "a size (bytes, or a number with a K, M or G suffix)", true,
                        cfg_parse_size, cfg_format_size, cfg_format_int },
    [CFG_TYPE_STR]  = { "str", NULL, false, NULL, NULL, NULL },
};

/* ------------------------------------------------------------------------ */
/* Key lookup and suggestions                                                */
/* ------------------------------------------------------------------------ */

int cfg_key_find(const char *key)
{
    if (!key)
        return -1;
    for (size_t i = 0; i < cfg_key_count; i++)
        if (strcmp(cfg_keys[i].path, key) == 0)
            return (int)i;
    return -1;
}

/* Levenshtein distance ignoring case; SIZE_MAX when b is too long to bother. */
static size_t cfg_edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 128 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN)
        return SIZE_MAX;
    size_t row[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            bool same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + !same;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cfg_key_suggest(const char *key)
{
    const char *best = NULL;
    size_t best_dist = CFG_SUGGEST_MAX_DIST + 1;
    for (size_t i = 0; i < cfg_key_count; i++) {
        size_t d = cfg_edit_distance(cfg_keys[i].path, key);
        if (d < best_dist) {
            best_dist = d;
            best = cfg_keys[i].path;
        }
    }
    return best;
}

static int cfg_err_unknown_key(const char *key, struct ixvm_errinfo *err)
{
    const char *hint = cfg_key_suggest(key);
    if (hint)
        return ixvm_errinfo_set(err, IXVM_ERR_UNKNOWN_KEY,
                                "unknown configuration key '%.*s'; did you mean '%s'?",
                                CFG_MSG_TEXT_MAX, key, hint);
    return ixvm_errinfo_set(err, IXVM_ERR_UNKNOWN_KEY, "unknown configuration key '%.*s'",
                            CFG_MSG_TEXT_MAX, key);
}

/* ------------------------------------------------------------------------ */
/* The tree                                                                  */
/* ------------------------------------------------------------------------ */

/* One value per key.  BOOL/INT/SIZE live in i, STR in s (heap). */
struct cfg_value {
    int64_t i;
    char *s;
    bool set;           /* given explicitly, not the default */
};

struct cfg {
    /* [creator thread; read-only once the VM runs] */
    struct cfg_value *vals;     /* cfg_key_count entries, table order */
};

static void cfg_values_free(struct cfg_value *vals)
{
    if (!vals)
        return;
    for (size_t i = 0; i < cfg_key_count; i++)
        free(vals[i].s);
    free(vals);
}

/* Parse text for key idx into *val (val->s is replaced for STR). */
static int cfg_value_parse(size_t idx, const char *text, struct cfg_value *val,
                           struct ixvm_errinfo *err)
{
    const struct cfg_key_desc *k = &cfg_keys[idx];
    const struct cfg_type_ops *ops = &cfg_type_ops[k->type];
    if (!ops->parse) {
        char *copy = strdup(text);
        if (!copy)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", k->path);
        free(val->s);
        val->s = copy;
        return 0;
    }
    int64_t v = 0;
    int rc = ops->parse(text, &v);
    if (rc == IXVM_ERR_WRONG_TYPE)
        return ixvm_errinfo_set(err, rc, "%s: '%.*s' is not %s", k->path, CFG_MSG_TEXT_MAX, text,
                                ops->not_a);
    if (rc == 0 && (!ops->ranged || (v >= k->min && v <= k->max))) {
        val->i = v;
        return 0;
    }
    char lo[32], hi[32];
    ops->format(k->min, lo, sizeof(lo));
    ops->format(k->max, hi, sizeof(hi));
    size_t len;
    const char *t = cfg_trim(text, &len);
    return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "%s: %.*s is out of range (%s..%s)",
                            k->path, (int)(len < CFG_MSG_TEXT_MAX ? len : CFG_MSG_TEXT_MAX), t,
                            lo, hi);
}

int cfg_create(struct cfg **out)
{
    *out = NULL;
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return IXVM_ERR_NO_MEMORY;
    cfg->vals = calloc(cfg_key_count, sizeof(*cfg->vals));
    if (!cfg->vals) {
        free(cfg);
        return IXVM_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < cfg_key_count; i++) {
        /* A default that does not parse is a bug in cfg_keys.def. */
        int rc = cfg_value_parse(i, cfg_keys[i].def, &cfg->vals[i], NULL);
        if (rc < 0) {
            cfg_destroy(cfg);
            return rc == IXVM_ERR_NO_MEMORY ? rc : IXVM_ERR_INVALID_STATE;
        }
    }
    *out = cfg;
    return 0;
}

void cfg_destroy(struct cfg *cfg)
{
    if (!cfg)
        return;
    cfg_values_free(cfg->vals);
    free(cfg);
}

int cfg_clone(const struct cfg *cfg, struct cfg **out)
{
    struct cfg *copy;
    int rc = cfg_create(&copy);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < cfg_key_count; i++) {
        char *s = copy->vals[i].s;
        copy->vals[i] = cfg->vals[i];
        copy->vals[i].s = s;
        if (cfg->vals[i].s) {
            free(s);
            copy->vals[i].s = strdup(cfg->vals[i].s);
            if (!copy->vals[i].s) {
                cfg_destroy(copy);
                return IXVM_ERR_NO_MEMORY;
            }
        }
    }
    *out = copy;
    return 0;
}

void cfg_swap(struct cfg *a, struct cfg *b)
{
    struct cfg_value *t = a->vals;
    a->vals = b->vals;
    b->vals = t;
}

int cfg_set(struct cfg *cfg, const char *key, const char *value, struct ixvm_errinfo *err)
{
    if (!cfg || !key || !value)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "cfg_set: missing key or value");
    int idx = cfg_key_find(key);
    if (idx < 0)
        return cfg_err_unknown_key(key, err);
    struct cfg_value *val = &cfg->vals[idx];
    int rc = cfg_value_parse((size_t)idx, value, val, err);
    if (rc < 0)
        return rc;
    val->set = true;
    return 0;
}

/* Copy [s, s+len) without surrounding white space into buf (NUL-terminated). */
static void cfg_copy_trimmed(char *buf, size_t n, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

int cfg_set_assignment(struct cfg *cfg, const char *kv, struct ixvm_errinfo *err)
{
    if (!cfg || !kv)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "cfg_set_assignment: no text");
    const char *eq = strchr(kv, '=');
    if (!eq)
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "'%.*s': expected KEY=VALUE",
                                CFG_MSG_TEXT_MAX, kv);
    /* Every real key is far shorter than this; a longer one stays unknown. */
    char key[256];
    cfg_copy_trimmed(key, sizeof(key), kv, (size_t)(eq - kv));
    size_t vlen = strlen(eq + 1);
    char *value = malloc(vlen + 1);
    if (!value)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory");
    cfg_copy_trimmed(value, vlen + 1, eq + 1, vlen);
    int rc = cfg_set(cfg, key, value, err);
    free(value);
    return rc;
}

/* The value of key for a getter expecting one of the types in mask. */
static int cfg_get_checked(const struct cfg *cfg, const char *key, unsigned type_mask,
                           const struct cfg_value **out)
{
    int idx = cfg ? cfg_key_find(key) : -1;
    if (idx < 0)
        return IXVM_ERR_UNKNOWN_KEY;
    if (!(type_mask & (1u << cfg_keys[idx].type)))
        return IXVM_ERR_WRONG_TYPE;
    *out = &cfg->vals[idx];
    return 0;
}

int cfg_get_bool(const struct cfg *cfg, const char *key, bool *out)
{
    const struct cfg_value *v;
    int rc = cfg_get_checked(cfg, key, 1u << CFG_TYPE_BOOL, &v);
    if (rc == 0)
        *out = v->i != 0;
    return rc;
}

int cfg_get_int(const struct cfg *cfg, const char *key, int64_t *out)
{
    const struct cfg_value *v;
    int rc = cfg_get_checked(cfg, key, (1u << CFG_TYPE_INT) | (1u << CFG_TYPE_SIZE), &v);
    if (rc == 0)
        *out = v->i;
    return rc;
}

int cfg_get_str(const struct cfg *cfg, const char *key, const char **out)
{
    const struct cfg_value *v;
    int rc = cfg_get_checked(cfg, key, 1u << CFG_TYPE_STR, &v);
    if (rc == 0)
        *out = v->s;
    return rc;
}

bool cfg_is_set(const struct cfg *cfg, const char *key)
{
    int idx = cfg ? cfg_key_find(key) : -1;
    return idx >= 0 && cfg->vals[idx].set;
}

/* ------------------------------------------------------------------------ */
/* Digest and printing                                                       */
/* ------------------------------------------------------------------------ */

#define CFG_FNV_OFFSET 0xcbf29ce484222325ull
#define CFG_FNV_PRIME  0x100000001b3ull

static uint64_t cfg_fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= CFG_FNV_PRIME;
    }
    return h;
}

/*
 * Values enter the digest in canonical form (sizes in plain bytes, booleans
 * as true/false) so "128M" and "134217728" give the same digest.
 */
uint64_t cfg_state_digest(const struct cfg *cfg)
{
    uint64_t h = CFG_FNV_OFFSET;
    for (size_t i = 0; i < cfg_key_count; i++) {
        const struct cfg_key_desc *k = &cfg_keys[i];
        if (!(k->flags & CFG_F_STATE))
            continue;
        char buf[32];
        const char *text = cfg->vals[i].s;
        if (cfg_type_ops[k->type].canon) {
            cfg_type_ops[k->type].canon(cfg->vals[i].i, buf, sizeof(buf));
            text = buf;
        }
        h = cfg_fnv(h, k->path);
        h = cfg_fnv(h, "=");
        h = cfg_fnv(h, text);
        h = cfg_fnv(h, "\n");
    }
    return h;
}

/* Display form (heap): sizes with units, strings quoted so "" is visible. */
static char *cfg_display_alloc(size_t idx, int64_t i, const char *str)
{
    const struct cfg_type_ops *ops = &cfg_type_ops[cfg_keys[idx].type];
    if (!ops->format) {
        size_t n = strlen(str) + 3;
        char *q = malloc(n);
        if (q)
            snprintf(q, n, "\"%s\"", str);
        return q;
    }
    char buf[32];
    ops->format(i, buf, sizeof(buf));
    return strdup(buf);
}

static char *cfg_default_display_alloc(size_t idx)
{
    const struct cfg_key_desc *k = &cfg_keys[idx];
    int64_t v = 0;
    /* Defaults always parse (cfg_create checked); show them in display form. */
    if (cfg_type_ops[k->type].parse && cfg_type_ops[k->type].parse(k->def, &v) < 0)
        return NULL;
    return cfg_display_alloc(idx, v, k->def);
}

/* "(default)" when the key was not set, else "(default X)" (heap). */
static char *cfg_note_alloc(const struct cfg *cfg, size_t idx)
{
    if (!cfg->vals[idx].set)
        return strdup("(default)");
    char *def = cfg_default_display_alloc(idx);
    size_t n = (def ? strlen(def) : 1) + sizeof("(default )");
    char *note = malloc(n);
    if (note)
        snprintf(note, n, "(default %s)", def ? def : "?");
    free(def);
    return note;
}

/* Column widths for cfg_print; very long strings do not widen a column. */
struct cfg_print_widths {
    int key, val, note;
};

static void cfg_widen(int *w, const char *text)
{
    int l = text ? (int)strlen(text) : 1;
    if (l <= 40 && l > *w)
        *w = l;
}

/* One "key = value (default ...)  description" line. */
static void cfg_print_one(const struct cfg *cfg, size_t idx, const struct cfg_print_widths *w,
                          const struct ixvm_printer *pr)
{
    const struct cfg_value *v = &cfg->vals[idx];
    char *val = cfg_display_alloc(idx, v->i, v->s);
    char *note = cfg_note_alloc(cfg, idx);
    ixvm_pr(pr, "%-*s = %-*s %-*s  %s\n", w->key, cfg_keys[idx].path, w->val, val ? val : "?",
            w->note, note ? note : "?", cfg_keys[idx].desc);
    free(val);
    free(note);
}

void cfg_print(const struct cfg *cfg, const struct ixvm_printer *pr)
{
    struct cfg_print_widths w = { 0, 0, 0 };
    for (size_t i = 0; i < cfg_key_count; i++) {
        char *val = cfg_display_alloc(i, cfg->vals[i].i, cfg->vals[i].s);
        char *note = cfg_note_alloc(cfg, i);
        cfg_widen(&w.key, cfg_keys[i].path);
        cfg_widen(&w.val, val);
        cfg_widen(&w.note, note);
        free(val);
        free(note);
    }
    for (size_t i = 0; i < cfg_key_count; i++)
        cfg_print_one(cfg, i, &w, pr);
}

const char *cfg_type_name(enum cfg_type type)
{
    return (size_t)type < IXVM_ARRAY_SIZE(cfg_type_ops) ? cfg_type_ops[type].name : "?";
}
