"""Kernel levels chosen at run time: the release binary, unchanged, on emulated CPUs without
AVX-512 (`qemu-x86_64 -cpu Haswell`, AVX2) and without AVX at all (`-cpu Nehalem`, SSE4.2). Debian's
qemu-user traps any instruction the emulated CPU lacks, so a run that completes proves that no
unguarded AVX-512 or AVX2 code is reached; its logits must be bitwise those of the same level on
this machine. `objdump -d`: zmm registers only in the AVX-512 level's own code, ymm only in the
AVX-512 and AVX2 levels'."""
import json
import platform
import re
import shutil
import subprocess

import pytest

from conftest import specula_binary
from test_hardening import coordinator  # noqa: F401 (the fixture)
from tiny_gguf import ARCHITECTURES, T, write_tiny_model

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 CPU models only")

EMULATED = {"Haswell": "AVX2, no AVX-512", "Nehalem": "SSE4.2, no AVX"}
TOKENS = [1, 5, 9, 33, 2, 70]


def run(*args, cpu=None, check=True):
    command = [specula_binary(), *args]
    if cpu:
        qemu = shutil.which("qemu-x86_64")
        assert qemu, "qemu-x86_64 missing: `make deps` installs qemu-user"
        command = [qemu, "-cpu", cpu, *command]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=600)


def logits(path, *extra, cpu=None):
    out = run("models", "logits", "--model", path, "--tokens", ",".join(map(str, TOKENS)), "--all-positions", "--top", "16",
              *extra, cpu=cpu).stdout
    return json.loads(out)


# What each emulated CPU runs, fastest first.
LEVELS_ON = {"Haswell": ["avx2", "portable"], "Nehalem": ["portable"]}


@pytest.mark.parametrize("cpu", list(EMULATED))
def test_an_older_cpu_runs_its_levels_with_their_exact_logits(tmp_path, cpu):
    """Each level the emulated CPU offers gives bitwise the logits that level gives on this
    machine; `auto` takes the fastest."""
    version = run("--version", cpu=cpu).stdout
    assert version.strip().endswith("kernel levels this CPU runs: " + ", ".join(LEVELS_ON[cpu])), version
    for kind in (T.Q8_0, T.Q4_K, T.Q6_K, T.Q4_1, T.Q5_0):
        path = write_tiny_model(str(tmp_path / f"tiny-{kind.name}.gguf"), kind, ARCHITECTURES[0])
        here = {level: logits(path, "--kernels", level) for level in LEVELS_ON[cpu]}
        assert logits(path, cpu=cpu) == here[LEVELS_ON[cpu][0]], f"{kind.name} on {cpu} ({EMULATED[cpu]}), auto"
        if cpu != "Nehalem":  # Nehalem's one level is the auto run above
            for level in LEVELS_ON[cpu]:
                assert logits(path, "--kernels", level, cpu=cpu) == here[level], f"{kind.name} on {cpu} at {level}"


def test_a_level_the_cpu_lacks_is_refused_with_what_it_lacks():
    result = run("models", "logits", "--model", "nowhere.gguf", "--tokens", "1", "--kernels", "avx512", cpu="Haswell", check=False)
    assert result.returncode != 0
    assert "cannot run the avx512 kernels" in result.stderr and "avx512f" in result.stderr and "portable" in result.stderr, result.stderr
    result = run("models", "logits", "--model", "nowhere.gguf", "--tokens", "1", "--kernels", "sse9", check=False)
    assert result.returncode != 0 and "unknown kernel level 'sse9'" in result.stderr, result.stderr


def test_wide_registers_appear_only_in_their_levels_code():
    """Every Swift function whose code touches a zmm register belongs to SpeculaKernelsAVX512; a
    ymm register, to that level or SpeculaKernelsAVX2: the rest is built for any x86-64 CPU.
    (C libraries linked in, such as BoringSSL, dispatch on the CPU themselves.)"""
    objdump = shutil.which("objdump")
    assert objdump, "objdump missing: `make deps` installs binutils"
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", specula_binary()], capture_output=True, text=True, check=True).stdout
    allowed = {"%zmm": ("SpeculaKernelsAVX512",), "%ymm": ("SpeculaKernelsAVX512", "SpeculaKernelsAVX2")}
    offenders, function, checked = set(), None, {register: set() for register in allowed}
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
            continue
        if not (function and function.startswith("$s")):
            continue
        for register, modules in allowed.items():
            if register in line:
                owner = next((m for m in modules if m in function), None)
                if owner:
                    checked[register].add(owner)
                else:
                    offenders.add((register, function))
    assert checked["%zmm"] == {"SpeculaKernelsAVX512"}, "no zmm code found: the AVX-512 level is missing"
    assert "SpeculaKernelsAVX2" in checked["%ymm"], "no ymm code found: the AVX2 level is missing"
    assert not offenders, f"wide registers outside their level: {sorted(offenders)[:10]}"


def test_workers_of_different_levels_form_different_pools(coordinator):  # noqa: F811
    """Levels round apart in the last bits, so a worker's draft fingerprint names its level: two
    workers of one model at two levels are two pools (and are never audited against each other)."""
    import time
    import urllib.request
    levels = run("--version").stdout.split("kernel levels this CPU runs:")[1].strip().split(", ")
    model = run("models", "fetch", "smollm2-135m").stdout.strip().splitlines()[-1]
    c = coordinator(model=model)
    workers = [subprocess.Popen([specula_binary(), "draft", "--model", model, "--coordinator", f"{c.address[0]}:{c.address[1]}",
                                 "--name", f"w-{level}", "--kernels", level, "--log-level", "error"]) for level in levels]
    try:
        pools = set()
        for _ in range(300):
            text = urllib.request.urlopen(c.metrics_url, timeout=5).read().decode()
            pools = set(re.findall(r'^specula_workers\{draft_model="[^"]*\+kernels-(\w+)[^"]*"\} 1', text, re.M))
            if len(pools) == len(levels):
                break
            time.sleep(0.2)
        assert pools == set(levels), text
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
