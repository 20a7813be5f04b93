# SPDX-License-Identifier: MIT
# The module list: name, source globs, link dependencies.  Order matters
# only for readability; link order is resolved through DEPS.
ixvm_module(base   GLOBS src/core/err*.c src/core/util*.c)
ixvm_module(log    GLOBS src/core/log*.c  DEPS ixvm_base PkgConfig::UV)
ixvm_module(cfg    GLOBS src/core/cfg*.c  DEPS ixvm_base PkgConfig::INIH)
ixvm_module(stam   GLOBS src/core/stam*.c DEPS ixvm_base PkgConfig::CJSON)
ixvm_module(dbgf   GLOBS src/core/dbgf*.c DEPS ixvm_base)
ixvm_module(ssm    GLOBS src/core/ssm*.c  DEPS ixvm_base PkgConfig::LZ4 PkgConfig::ZLIB)
ixvm_module(vmm    GLOBS src/core/vmm*.c src/core/emt*.c src/core/ff*.c src/core/req*.c
                         src/core/cpum*.c src/core/selftest*.c
                   DEPS ixvm_base ixvm_log ixvm_cfg ixvm_stam ixvm_dbgf ixvm_ssm PkgConfig::UV)
ixvm_module(pgm    GLOBS src/core/pgm*.c src/core/iom*.c DEPS ixvm_base ixvm_log)
ixvm_module(iem    GLOBS src/iem/*.c      DEPS ixvm_base ixvm_log ixvm_stam ixvm_pgm ixvm_vmm PkgConfig::CAPSTONE)
