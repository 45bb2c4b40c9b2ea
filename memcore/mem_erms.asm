; mem_erms.asm: memmove, memcpy and memset as nothing but `rep movsb` and
; `rep stosb`, the baseline of seed 000 ("Optimize this!"). On a CPU with
; ERMS (and FSRM for short sizes) the microcode picks its own strategy.
; A move whose destination lies inside its source runs backward with the
; direction flag set, which the microcode does not accelerate; the flag is
; cleared again before returning, as the ABI requires.

%include "memcore.inc"

AM_ENTRY am__memmove_erms, am__memcpy_erms
    mov     rax, rdi
    mov     rcx, rdi
    sub     rcx, rsi
    cmp     rcx, rdx
    jb      .backward               ; dst - src < n: dst lies inside the source
    mov     rcx, rdx
    rep movsb
    ret
.backward:
    test    rcx, rcx
    jz      .done                   ; dst == src
    lea     rsi, [rsi + rdx - 1]
    lea     rdi, [rdi + rdx - 1]
    mov     rcx, rdx
    std
    rep movsb
    cld
.done:
    ret
AM_END am__memmove_erms

AM_ENTRY am__memset_erms
    mov     r8, rdi
    movzx   eax, sil
    mov     rcx, rdx
    rep stosb
    mov     rax, r8
    ret
AM_END am__memset_erms
