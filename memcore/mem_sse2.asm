; mem_sse2.asm: memmove, memcpy and memset with 16-byte SSE2 vectors: the
; baseline that every x86-64 CPU can run.

%include "memcore.inc"

%define VEC    16
%define VMOVU  movdqu
%define VMOVA  movdqa
%define VMOVNT movntdq
%define MASKED_BELOW_VEC 0
%define R0  xmm0
%define R1  xmm1
%define R2  xmm2
%define R3  xmm3
%define R4  xmm4
%define R5  xmm5
%define R6  xmm6
%define R7  xmm7
%define R8  xmm8
%define R9  xmm9
%define R10 xmm10
%define R11 xmm11
%define HMOVU  movdqu
%define X0  xmm0
%define X1  xmm1
%define MOVQ   movq

%macro VRET 0
    ret
%endmacro

%macro SPLAT 2
    movd    %1, %2
    punpcklbw %1, %1
    pshuflw %1, %1, 0
    punpcklqdq %1, %1
%endmacro

%define MEMMOVE_NAME am__memmove_sse2
%define MEMCPY_NAME  am__memcpy_sse2
%include "memmove.inc"

%define MEMSET_NAME  am__memset_sse2
%include "memset.inc"
