# SPDX-License-Identifier: MIT
# The module list: name, source globs, link dependencies.  Order matters
# only for readability; link order is resolved through DEPS.
ixvm_module(base   GLOBS src/core/err*.c src/core/util*.c)
ixvm_module(log    GLOBS src/core/log*.c  DEPS ixvm_base PkgConfig::UV)
ixvm_module(cfg    GLOBS src/core/cfg*.c  DEPS ixvm_base PkgConfig::INIH)
ixvm_module(stam   GLOBS src/core/stam*.c DEPS ixvm_base PkgConfig::CJSON)
ixvm_module(dbgf   GLOBS src/core/dbgf*.c DEPS ixvm_base PkgConfig::CAPSTONE)
ixvm_module(ssm    GLOBS src/core/ssm*.c  DEPS ixvm_base PkgConfig::LZ4 PkgConfig::ZLIB)
ixvm_module(vmm    GLOBS src/core/vmm*.c src/core/emt*.c src/core/ff*.c src/core/req*.c
                         src/core/cpum*.c src/core/selftest*.c
                   DEPS ixvm_base ixvm_log ixvm_cfg ixvm_stam ixvm_dbgf ixvm_ssm PkgConfig::UV)
ixvm_module(pgm    GLOBS src/core/pgm*.c src/core/iom*.c DEPS ixvm_base ixvm_log)
ixvm_module(iem    GLOBS src/iem/*.c      DEPS ixvm_base ixvm_log ixvm_stam ixvm_pgm)
# IEM dispatch: guaranteed tail calls (clang >= 13 musttail) or the portable
# trampoline (IEM-DESIGN.md 3); both variants must build.
include(CheckCSourceCompiles)
check_c_source_compiles("
typedef int (*fn_t)(int);
static int g(int x) { return x; }
static int f(int x) { __attribute__((musttail)) return g(x); }
int main(void) { fn_t p = f; return p(0); }" IXVM_HAVE_MUSTTAIL)
option(IXVM_IEM_TRAMPOLINE "IEM: trampoline dispatch instead of musttail tail calls" OFF)
if(TARGET ixvm_iem)
  if(IXVM_HAVE_MUSTTAIL AND NOT IXVM_IEM_TRAMPOLINE)
    target_compile_definitions(ixvm_iem PUBLIC IEM_USE_MUSTTAIL=1)
  endif()
endif()
ixvm_module(fe     GLOBS src/frontend/fe_*.c DEPS ixvm_base ixvm_log ixvm_dbgf PkgConfig::UV PkgConfig::SDL2 PkgConfig::PNG edit)
ixvm_module(blk    GLOBS src/core/blk*.c DEPS ixvm_base ixvm_log PkgConfig::UV)
# Time manager + device manager, and the devices (docs/devices.md).
ixvm_module(tm     GLOBS src/core/tm*.c src/core/pdm*.c
                   DEPS ixvm_base ixvm_log ixvm_pgm ixvm_ssm ixvm_dbgf ixvm_stam PkgConfig::UV)
ixvm_module(dev    GLOBS src/devices/*.c
                   DEPS ixvm_tm ixvm_pgm ixvm_log ixvm_stam ixvm_ssm ixvm_dbgf ixvm_blk ixvm_iem ixvm_vmm)
