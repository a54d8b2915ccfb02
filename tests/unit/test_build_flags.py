"""scripts/llama_cmake_args.sh: llama.cpp is compiled for the CPU's SIMD extensions, never AMX."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "llama_cmake_args.sh"
XEON = "fpu sse2 avx avx2 fma f16c avx512f avx512bw avx512vbmi avx512_vnni avx512_bf16 "
XEON += "avx_vnni amx_bf16 amx_tile amx_int8"

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 flags")


def cmake_args(tmp_path: Path, flags: str) -> list[str]:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n", encoding="utf-8")
    out = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "CPUINFO": str(cpuinfo)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_avx512_xeon_gets_avx512_and_no_amx(tmp_path: Path) -> None:
    assert cmake_args(tmp_path, XEON) == [
        "-DLLAVA_BUILD=OFF",
        "-DGGML_NATIVE=OFF",
        "-DGGML_AVX=ON",
        "-DGGML_AVX2=ON",
        "-DGGML_FMA=ON",
        "-DGGML_F16C=ON",
        "-DGGML_AVX512=ON",
        "-DGGML_AVX512_VBMI=ON",
        "-DGGML_AVX512_VNNI=ON",
        "-DGGML_AVX512_BF16=ON",
        "-DGGML_AVX_VNNI=ON",
    ]


def test_avx2_cpu_gets_no_avx512(tmp_path: Path) -> None:
    args = cmake_args(tmp_path, "fpu sse2 avx avx2 fma f16c")
    assert args[-4:] == ["-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"]
    assert "-DGGML_NATIVE=OFF" in args and len(args) == 6
