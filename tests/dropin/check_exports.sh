#!/usr/bin/env bash
# check_exports.sh: what every drop-in (allocators/<name>/libam-<name>.so)
# shows the outside world. Its dynamic symbols are exactly the malloc family
# and the am_dropin_* functions, and its code never calls __tls_get_addr
# (initial-exec TLS only: the fast path reads thread-local state with one
# %fs-relative load, as a reference's does). Usage: check_exports.sh LIB...
set -euo pipefail
want="__libc_calloc __libc_free __libc_malloc __libc_memalign __libc_pvalloc __libc_realloc
__libc_reallocarray __libc_valloc __posix_memalign aligned_alloc am_dropin_backend
am_dropin_stats am_dropin_verify calloc cfree free malloc malloc_usable_size memalign
posix_memalign pvalloc realloc reallocarray valloc"
want=$(echo $want | tr ' ' '\n' | sort)
status=0
for lib in "$@"; do
  got=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
  if [ "$got" != "$want" ]; then
    echo "FAIL $lib exports other symbols than the malloc family:"
    diff <(echo "$want") <(echo "$got") || true
    status=1
  fi
  if objdump -d "$lib" | grep -q '__tls_get_addr'; then
    echo "FAIL $lib calls __tls_get_addr (general-dynamic TLS):"
    objdump -d "$lib" | grep '__tls_get_addr' | head -5
    status=1
  fi
  if objdump -T "$lib" | grep -q '__tls_get_addr'; then
    echo "FAIL $lib imports __tls_get_addr"
    status=1
  fi
  [ $status -eq 0 ] && echo "ok $lib: $(echo "$got" | wc -l) symbols, no __tls_get_addr"
done
exit $status
