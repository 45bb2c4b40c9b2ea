; mem_avx2.asm: memmove, memcpy and memset with 32-byte AVX2 vectors. Every
; return after a ymm register was written goes through vzeroupper, so that
; SSE code in the caller pays no transition penalty.

%include "memcore.inc"

%define VEC    32
%define VMOVU  vmovdqu
%define VMOVA  vmovdqa
%define VMOVNT vmovntdq
%define MASKED_BELOW_VEC 0
%define R0  ymm0
%define R1  ymm1
%define R2  ymm2
%define R3  ymm3
%define R4  ymm4
%define R5  ymm5
%define R6  ymm6
%define R7  ymm7
%define R8  ymm8
%define R9  ymm9
%define R10 ymm10
%define R11 ymm11
%define HMOVU  vmovdqu
%define X0  xmm0
%define X1  xmm1
%define MOVQ   vmovq

%macro VRET 0
    vzeroupper
    ret
%endmacro

%macro SPLAT 2
    vmovd   xmm0, %2
    vpbroadcastb %1, xmm0
%endmacro

%define MEMMOVE_NAME am__memmove_avx2
%define MEMCPY_NAME  am__memcpy_avx2
%include "memmove.inc"

%define MEMSET_NAME  am__memset_avx2
%include "memset.inc"
