/* SPDX-License-Identifier: MIT */
/*
 * CFG: loading INI files with libinih.  A section is the first path
 * component ([Memory] + "Size = 256M" is Memory/Size); a key before any
 * section is taken as a full path.  Loading is all-or-nothing: the file is
 * applied to a clone of the tree, which replaces the tree's values only when
 * every line parsed.  Errors name file and line: "vm.ini:4: CPU/Count: 'abc'
 * is not an integer".
 *
 * libinih does not hand line numbers to the handler in this build, so the
 * reader below counts physical lines itself.
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg_int.h"

struct cfg_ini_ctx {
    FILE *file;
    struct cfg *cfg;            /* the clone being filled */
    int line;                   /* physical line inih is working on */
    int next_line;
    int err_line;               /* line of the first error we found; 0: none */
    struct ixvm_errinfo err;
};

/* fgets-style reader that tracks line numbers and refuses truncated lines. */
static char *cfg_ini_read(char *str, int num, void *stream)
{
    struct cfg_ini_ctx *ctx = stream;
    if (ctx->err_line)
        return NULL;            /* stop reading: the result is an error anyway */
    if (!fgets(str, num, ctx->file))
        return NULL;
    ctx->line = ctx->next_line;
    size_t len = strlen(str);
    if (len && str[len - 1] == '\n') {
        ctx->next_line++;
    } else if (!feof(ctx->file)) {
        /* inih would parse the rest of the line as a line of its own. */
        ctx->err_line = ctx->line;
        ixvm_errinfo_set(&ctx->err, IXVM_ERR_SYNTAX, "line too long (at most %d characters)",
                         num - 3);
        return NULL;
    }
    return str;
}

static int cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_ini_ctx *ctx = user;
    if (ctx->err_line)
        return 1;               /* only the first error is reported */
    char key[512];
    int n = section[0] ? snprintf(key, sizeof(key), "%s/%s", section, name)
                       : snprintf(key, sizeof(key), "%s", name);
    int rc;
    if (!value)
        rc = ixvm_errinfo_set(&ctx->err, IXVM_ERR_SYNTAX, "'%s': expected key = value", key);
    else if (n < 0 || (size_t)n >= sizeof(key))
        rc = ixvm_errinfo_set(&ctx->err, IXVM_ERR_UNKNOWN_KEY, "unknown configuration key '%.64s'",
                              key);
    else
        rc = cfg_set(ctx->cfg, key, value, &ctx->err);
    if (rc >= 0)
        return 1;
    ctx->err_line = ctx->line;
    return 0;
}

/* Turn the parse outcome into a status and message; 0 when the file was clean. */
static int cfg_ini_result(const char *path, int ret, const struct cfg_ini_ctx *ctx,
                          struct ixvm_errinfo *err)
{
    if (ret == -2)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", path);
    if (ferror(ctx->file))
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: read error", path);
    int syntax_line = ret > 0 ? ret : INT_MAX;
    int our_line = ctx->err_line ? ctx->err_line : INT_MAX;
    if (syntax_line == INT_MAX && our_line == INT_MAX)
        return 0;
    if (our_line <= syntax_line)
        return ixvm_errinfo_set(err, ctx->err.rc, "%s:%d: %s", path, our_line, ctx->err.msg);
    return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                            "%s:%d: syntax error (expected '[Section]' or 'Key = value')", path,
                            syntax_line);
}

int cfg_load_ini(struct cfg *cfg, const char *path, struct ixvm_errinfo *err)
{
    if (!cfg || !path)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "cfg_load_ini: no file");
    struct cfg_ini_ctx ctx = { .line = 1, .next_line = 1 };
    ctx.file = fopen(path, "r");
    if (!ctx.file)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open configuration file '%s': %s",
                                path, strerror(errno));
    int rc = cfg_clone(cfg, &ctx.cfg);
    if (rc < 0) {
        fclose(ctx.file);
        return ixvm_errinfo_set(err, rc, "%s: out of memory", path);
    }
    int ret = ini_parse_stream(cfg_ini_read, &ctx, cfg_ini_handler, &ctx);
    rc = cfg_ini_result(path, ret, &ctx, err);
    fclose(ctx.file);
    if (rc == 0)
        cfg_swap(cfg, ctx.cfg);
    cfg_destroy(ctx.cfg);
    return rc;
}
