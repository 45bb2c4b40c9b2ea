; mem_avx512.asm: memmove, memcpy and memset with 64-byte EVEX vectors
; (AVX-512 F, BW and VL, and BMI2 for bzhi). Sizes below one vector use a
; byte mask instead of a ladder of smaller moves. Only zmm16-zmm27 (and
; their ymm and xmm halves) are used: they have no legacy-SSE alias, so no
; vzeroupper is needed on the way out.

%include "memcore.inc"

%define VMOVU  vmovdqu64
%define VMOVA  vmovdqa64
%define VMOVNT vmovntdq
%define MASKED_BELOW_VEC 1
; FULL_WIDTH: R0..R11 are zmm16..zmm27; NARROW_NT: ymm16..ymm27, 32 bytes at
; a time, for the non-temporal copy where the per-CPU table asks for it
; (tuning nt_copy_narrow; dispatch.c says on which CPU and why).
%macro FULL_WIDTH 0
    %define VEC 64
    %define R0  zmm16
    %define R1  zmm17
    %define R2  zmm18
    %define R3  zmm19
    %define R4  zmm20
    %define R5  zmm21
    %define R6  zmm22
    %define R7  zmm23
    %define R8  zmm24
    %define R9  zmm25
    %define R10  zmm26
    %define R11  zmm27
%endmacro
%macro NARROW_NT 0
    %define VEC 32
    %define R0  ymm16
    %define R1  ymm17
    %define R2  ymm18
    %define R3  ymm19
    %define R4  ymm20
    %define R5  ymm21
    %define R6  ymm22
    %define R7  ymm23
    %define R8  ymm24
    %define R9  ymm25
    %define R10  ymm26
    %define R11  ymm27
%endmacro
FULL_WIDTH
%define HMOVU  vmovdqu64            ; EVEX: xmm16/ymm16 need no vzeroupper either
%define X0  xmm16
%define X1  xmm17
%define Y0  ymm16
%define Y1  ymm17
%define MOVQ   vmovq

%macro VRET 0
    ret
%endmacro

; SPLAT reg, r32: every byte of reg = the low byte of r32.
%macro SPLAT 2
    vpbroadcastb %1, %2
%endmacro

%define MEMMOVE_NAME am__memmove_avx512
%define MEMCPY_NAME  am__memcpy_avx512
%include "memmove.inc"

%define MEMSET_NAME  am__memset_avx512
%include "memset.inc"
