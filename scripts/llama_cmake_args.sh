#!/usr/bin/env bash
# Print CMAKE_ARGS for compiling llama-cpp-python on this machine.
#
# On x86-64 the build gets exactly the SIMD extensions this CPU reports, and
# never AMX: a native build (-march=native) died with "Illegal instruction" at
# its first prompt on a Xeon that reports AMX. AVX-512 makes prompt evaluation
# about 1.8x faster than AVX2 alone there. Elsewhere llama.cpp's defaults apply.
# CPUINFO names another cpuinfo file (for the tests).
set -euo pipefail
cpuinfo="${CPUINFO:-/proc/cpuinfo}"
args="-DLLAVA_BUILD=OFF"
if [[ "$(uname -m)" == "x86_64" && -r "$cpuinfo" ]]; then
    flags=" $(grep -m1 '^flags' "$cpuinfo" | cut -d: -f2) "
    args+=" -DGGML_NATIVE=OFF"
    for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C avx512f:AVX512 avx512vbmi:AVX512_VBMI \
        avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
        if [[ "$flags" == *" ${pair%%:*} "* ]]; then
            args+=" -DGGML_${pair##*:}=ON"
        fi
    done
fi
echo "$args"
